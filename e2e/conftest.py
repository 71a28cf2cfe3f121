"""Browser journeys: the real pages in headless Chromium (Playwright), served by pytest-django's
live server, with the Stripe emulator delivering its webhooks to it.

The system Chromium (Debian's ``chromium`` package) is used when present, otherwise the browser
Playwright installed; ``make test`` gets one of them first (``scripts/ensure_browser.py``). A
failing test leaves a screenshot of every page it had open under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from scripts.ensure_browser import CHROMIUM_ARGS, WHAT_TO_INSTALL, chromium_executable

BASE_DIR = Path(__file__).resolve().parent.parent
SCREENSHOTS_DIR = BASE_DIR / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
LAPTOP = {"width": 1280, "height": 800}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import Error, expect, sync_playwright

    expect.set_options(timeout=15_000)  # a busy machine: wait as long as for any other action

    # Playwright's sync API keeps an event loop in this thread; Django refuses database calls
    # from a thread with a running loop unless told they are safe (they are: nothing here is async).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            executable = chromium_executable()
            options = {"args": CHROMIUM_ARGS, **({"executable_path": executable} if executable else {})}
            try:
                browser = playwright.chromium.launch(headless=True, **options)
            except Error as exc:
                pytest.fail(f"{WHAT_TO_INSTALL}\n{exc}", pytrace=False)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Browsing:
    """Pages for one test: each ``page()`` is a separate browser context (a separate person)."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.pages: list[tuple[str, object]] = []
        self.contexts: list = []

    def page(self, name: str, *, viewport=None, user=None):
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport or LAPTOP)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        if user is not None:
            context.add_cookies([session_cookie(user, self.base_url)])
        page = context.new_page()
        # Irreversible actions ask window.confirm(); the person says yes.
        page.on("dialog", lambda dialog: dialog.accept())
        self.pages.append((name, page))
        return page

    def screenshots(self, test_name: str) -> list[Path]:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        saved = []
        for name, page in self.pages:
            safe = re.sub(r"[^\w.-]+", "_", f"{test_name}-{name}")
            path = SCREENSHOTS_DIR / f"{safe}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # noqa: BLE001 (a page that crashed has no picture; keep the others)
                print(f"no screenshot of {name}: {exc}")
            else:
                saved.append(path)
        return saved

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def session_cookie(user, base_url: str) -> dict:
    """A logged-in session for ``user``, as the log-in page would give (for tests not about log-in)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


@pytest.fixture
def browsing(request, browser, live_server):
    session = Browsing(browser, live_server.url)
    yield session
    failed = any(
        getattr(request.node, f"report_{when}", None) and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        for path in session.screenshots(request.node.nodeid.split("::", 1)[-1]):
            print(f"screenshot: {path}")
    session.close()


def wait_for(condition, *, timeout: float = 30.0, interval: float = 0.25, message: str = "condition"):
    """Poll ``condition`` (a webhook on its way, a worker's task) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)
