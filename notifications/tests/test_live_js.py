"""static/js/live.js's pure parts (reconnect backoff, topics), run by node. The page behaviour is
tested in a browser (e2e/test_live_updates.py)."""

import subprocess
from pathlib import Path


def test_live_js(node):
    script = Path(__file__).parent / "js" / "live.test.js"
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout
