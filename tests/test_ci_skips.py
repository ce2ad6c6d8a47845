"""In CI a skipped test is a failure: a missing prerequisite (Chromium, waitress, PostgreSQL, ../shared) breaks the build."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

SKIPPING = """
import pytest

@pytest.mark.skipif(True, reason="no system Chromium")
def test_marked():
    pass

def test_skipped_inside():
    pytest.skip("no PostgreSQL server")

def test_runs():
    pass
"""


@pytest.mark.parametrize("require, expected", [("1", {"failed": 1, "errors": 1, "passed": 1}), ("", {"skipped": 2})])
def test_skips_fail_when_every_test_is_required(tmp_path, require, expected):
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MAPAPP_REQUIRE_ALL")}
    env.update(MAPAPP_REQUIRE_ALL=require, PYTHONPATH=f"{REPO_ROOT / 'tests'}{os.pathsep}{REPO_ROOT}")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                           "test_skipping.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    summary = done.stdout.strip().splitlines()[-1]
    for word, count in expected.items():
        assert f"{count} {word.rstrip('s') if count == 1 and word == 'errors' else word}" in summary, done.stdout
    assert (done.returncode != 0) == bool(require), done.stdout
