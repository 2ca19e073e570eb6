"""Where a generate_image call spends its time, by pyinstrument (`pip install -e '.[bench]'`).

    python bench/profile.py [--batch 4] [--calls 20]

Runs the server in this process against the stand-in provider (its own process, ~3 MB noise PNGs, no
delay) and prints the call tree of `--calls` tool calls made through the MCP SDK's in-memory client.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client
from pyinstrument import Profiler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import KEY, PROMPT, SEED, StandIn
from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Secret, Settings


async def profile(batch: int, calls: int) -> None:
    standin = StandIn()
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(api_key=Secret(KEY), base_url=standin.base_url, image_dir=Path(folder))
            arguments = {"prompt": PROMPT, "seed": SEED, "batch_size": batch}
            async with Client(build_server(settings)) as client:
                await client.call_tool("generate_image", arguments)
                profiler = Profiler(interval=0.001)
                started = time.perf_counter()
                with profiler:
                    for _ in range(calls):
                        await client.call_tool("generate_image", arguments)
                elapsed = (time.perf_counter() - started) / calls
    finally:
        standin.stop()
    print(f"{elapsed * 1000:.1f} ms per call (batch {batch}, profiled)")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--calls", type=int, default=20)
    options = parser.parse_args()
    anyio.run(profile, options.batch, options.calls)
