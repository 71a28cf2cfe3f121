"""`make test` gets a Chromium for the browser journeys first, or stops at once with one sentence."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _ensure_browser(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/ensure_browser.py"], cwd=BASE_DIR, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_browser_that_cannot_start_stops_the_run_with_one_sentence_saying_what_to_install(tmp_path):
    run = _ensure_browser(HOLDFAST_E2E_CHROMIUM=str(tmp_path / "no-such-chromium"))
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "apt-get install chromium" in lines[0] and "playwright install --with-deps chromium" in lines[0]
    assert "no-such-chromium" in lines[0]


def test_the_browser_the_journeys_use_starts():
    run = _ensure_browser()
    assert (run.returncode, run.stderr) == (0, "")
