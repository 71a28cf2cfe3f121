"""Before `make test`: make sure the browser journeys (e2e/) have a Chromium to drive.

In order: the browser named by ``HOLDFAST_E2E_CHROMIUM``; the machine's own Chromium; the one
Playwright downloaded earlier. With none, it gets one the way this machine can: Debian's
``chromium`` package when running as root on a system with apt (as ``.ci/run`` did before), else
Playwright's own download (``playwright install chromium``). Whatever it finds is started once,
headless, so a browser that cannot run is reported here in one sentence instead of by every
journey. Exit status 0: a browser works; 1: it could not get one, and says what to install.

``e2e/conftest.py`` asks ``chromium_executable()`` here which browser to launch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# The flags every journey starts Chromium with: no sandbox (root in a container), and none of the
# background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WHAT_TO_INSTALL = (
    "make test needs Chromium for its browser journeys and could not get one: install it with "
    "'sudo apt-get install chromium' (Debian/Ubuntu) or '.venv/bin/playwright install --with-deps chromium', "
    "then run make test again."
)


def system_chromium() -> str | None:
    """The browser named by ``HOLDFAST_E2E_CHROMIUM``, or the machine's own Chromium."""
    configured = os.environ.get("HOLDFAST_E2E_CHROMIUM")
    if configured:
        return configured
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_executable() -> str | None:
    """What the journeys launch: a system Chromium, or None for the one Playwright installed."""
    return system_chromium()


def launches(executable: str | None) -> str | None:
    """None if this Chromium (None: Playwright's own) starts headless and opens a page; else why not."""
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as playwright:
            options = {"executable_path": executable} if executable else {}
            browser = playwright.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
            try:
                browser.new_page().set_content("<p>ok</p>")
            finally:
                browser.close()
    except Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def _run(command: list[str]) -> bool:
    """Run an installer quietly; its output is shown only when it fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        print(f"{' '.join(command)} failed:\n  " + "\n  ".join(tail), file=sys.stderr)
    return result.returncode == 0


def install_with_apt() -> bool:
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return False
    print("Installing Debian's chromium package for the browser journeys (apt-get, about a minute)...", flush=True)
    return _run(["apt-get", "update", "-q"]) and _run(["apt-get", "install", "-y", "-q", "chromium"])


def install_with_playwright() -> bool:
    print("Downloading Playwright's Chromium for the browser journeys...", flush=True)
    return _run([str(BIN / "playwright"), "install", "chromium"])


def main() -> int:
    executable = system_chromium()
    if executable:
        problem = launches(executable)
        if problem is None:
            return 0
        print(f"{WHAT_TO_INSTALL} ({executable} does not start: {problem})", file=sys.stderr)
        return 1
    if launches(None) is None:
        return 0  # Playwright's own browser, downloaded by an earlier run
    if install_with_apt() and system_chromium() and launches(system_chromium()) is None:
        return 0
    if system_chromium() is None and install_with_playwright() and launches(None) is None:
        return 0
    print(WHAT_TO_INSTALL, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
