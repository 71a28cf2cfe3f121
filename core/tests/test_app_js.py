"""static/js/app.js, run by node against a stand-in DOM (core/tests/js/)."""

import subprocess
from pathlib import Path

import pytest

JS_TESTS = sorted((Path(__file__).parent / "js").glob("*.test.js"))


@pytest.mark.parametrize("script", JS_TESTS, ids=[p.name for p in JS_TESTS])
def test_app_js(script, node):
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout
