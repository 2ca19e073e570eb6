"""The benchmark script runs and reports every figure (a smoke run: benchmarks are not timed tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = [pytest.mark.external, pytest.mark.slow]  # installs the npm peer it measures against


def quick_run(script: str) -> str:
    """What `python bench/<script> --quick` prints, after it exits cleanly."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quick_benchmark_prints_every_row() -> None:
    table = quick_run("run.py")
    for row in (
        "| batch 1, provider delay 0 s | floor",
        "| batch 4, provider delay 0 s | floor",
        "| SDK alone: one-tool MCPServer",
        "| cold start: spawn → initialize |",
        "concurrent calls over HTTP",
        "| peak RSS, batch 4 × 3 MB |",
        "| CPU time per call (user + system), batch 1 | server",
    ):
        assert row in table
    assert "0 errors" in table
    latency_rows = [line for line in table.splitlines() if re.match(r"\| batch \d, provider delay", line)]
    # the npm peer is a column of every latency row: measured, or "n/a" with the reason (no Node.js here)
    assert latency_rows and all(re.search(r"· peer (\d+ ms|n/a \(.+\))", line) for line in latency_rows)
    if shutil.which("node") and shutil.which("npm"):
        assert all(re.search(r"· peer \d+ ms", line) for line in latency_rows), latency_rows


def test_hosting_checks_benchmark_prints_every_row() -> None:
    table = quick_run("hosting_checks.py")
    for row in ("| token lookup, 1 at once", "| token lookup, 50 at once", "| malformed check, 4 MB edit_image body"):
        assert row in table
