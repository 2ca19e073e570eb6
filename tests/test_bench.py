"""The benchmark script runs and reports every figure (a smoke run: benchmarks are not timed tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = [pytest.mark.external, pytest.mark.slow]  # installs the npm peer it measures against


def quick_run(script: str, *options: str) -> str:
    """What `python bench/<script> --quick` prints, after it exits cleanly."""
    command = [sys.executable, str(ROOT / "bench" / script), "--quick", *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quick_benchmark_prints_every_row() -> None:
    in_git = (ROOT / ".git").exists()  # a checkout compares cold start and memory with its own HEAD; an sdist cannot
    table = quick_run("run.py", *(["--against", "HEAD"] if in_git else []))
    for row in (
        "| a CDN 60 ms away at 20 MB/s per connection, 2.5 MB photo-like PNG, batch 1 |",
        "| a CDN 60 ms away at 20 MB/s per connection, 2.5 MB photo-like PNG, batch 4 |",
        "| loopback, delay 0, 3 MB incompressible PNG, batch 1 |",
        "| loopback, delay 0, 3 MB incompressible PNG, batch 4 |",
        "| SDK alone: one-tool MCPServer",
        "| cold start: spawn → initialize |",
        "concurrent calls over HTTP, delay 1 s, a CDN 60 ms away",
        "| peak RSS, batch 1 then 4, loopback",
        "| CPU time per call (user + system), batch 1, a CDN 60 ms away",
    ):
        assert row in table
    assert "0 errors" in table and "load average" in table
    if in_git:
        assert re.search(r"\| cold start: spawn → initialize \|.* HEAD \d+ ms .*no worse than HEAD", table)
        assert re.search(r"\| peak RSS, batch 1 then 4, loopback.* HEAD \d+ MB .*no worse than HEAD", table)
    latency_rows = [line for line in table.splitlines() if re.match(r"\| (a CDN|loopback).*, batch \d \|", line)]
    # every latency row has the floor, and the server and the npm peer through the Python and TypeScript SDK
    # clients: measured, or "n/a" with the reason (no Node.js here)
    assert len(latency_rows) == 4
    for line in latency_rows:
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        assert re.fullmatch(r"\d+ ms", cells[1])
        assert all(re.fullmatch(r"\d+ ms \(\d+\.\d\d×\)|n/a \(.+\)", cell) for cell in cells[2:6]), cells
        if shutil.which("node") and shutil.which("npm"):
            assert not any(cell.startswith("n/a") for cell in cells[2:6]), cells


def test_hosting_checks_benchmark_prints_every_row() -> None:
    table = quick_run("hosting_checks.py")
    for row in ("| token lookup, 1 at once", "| token lookup, 50 at once", "| malformed check, 4 MB edit_image body"):
        assert row in table
