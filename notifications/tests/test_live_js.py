"""static/js/live.js's pure parts (reconnect backoff, topics), run by node. The page behaviour is
tested in a browser (e2e/test_live_updates.py)."""

import shutil
import subprocess
from pathlib import Path

import pytest


def test_live_js():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed (.ci/run installs it)")
    script = Path(__file__).parent / "js" / "live.test.js"
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout
