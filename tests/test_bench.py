"""The benchmark script runs and reports every figure (a smoke run: benchmarks are not timed tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    for row in (
        "| batch 1, provider delay 0 s | floor",
        "| batch 4, provider delay 0 s | floor",
        "| cold start: spawn → initialize |",
        "concurrent calls over HTTP",
        "| peak RSS, batch 4 × 3 MB |",
    ):
        assert row in table
    assert "0 errors" in table
