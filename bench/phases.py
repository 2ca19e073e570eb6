"""Where one generate_image call's time goes, end to end, with the server as a real stdio subprocess.

    python bench/phases.py [--batch 1] [--calls 10] [--profile network|near|loopback]

The client is the MCP SDK's, over stdio, as in bench/run.py. The server process is this server with timers
wrapped around its phases (the same functions, timed from outside; nothing in the package knows); both
processes read the same monotonic clock, so the client's send and receive line up with the server's
phases. Prints the median of each phase over `--calls` calls (after a warm-up), in call order: the
sequential phases add up to the client's round trip; the ones marked · run inside their parent, once per
image (their figures are per image, and images run side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIMINGS_ENV = "BENCH_PHASE_LOG"


def _timed(owner: Any, name: str, label: str, log: Any) -> None:
    """Replace `owner.name` by a wrapper that logs (label, start, wall seconds, thread CPU seconds)."""
    original = getattr(owner, name)

    def record(started: float, cpu: float | None) -> None:
        log.write(json.dumps([label, started, time.perf_counter() - started, cpu]) + "\n")

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                record(started, None)

        setattr(owner, name, timed_coroutine)
        return

    @functools.wraps(original)
    def timed_function(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            record(started, time.thread_time() - cpu)

    setattr(owner, name, timed_function)


def serve() -> None:
    """This server over stdio, its phases timed into the file named by BENCH_PHASE_LOG."""
    from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

    from mcp_server_siliconflow_image import cli
    from mcp_server_siliconflow_image.pipeline import arriving, previews
    from mcp_server_siliconflow_image.pipeline import execute as generation
    from mcp_server_siliconflow_image.pipeline import preflight as calls
    from mcp_server_siliconflow_image.provider import client as provider
    from mcp_server_siliconflow_image.stores import folder as storage
    from mcp_server_siliconflow_image.surface import argument_errors as validation
    from mcp_server_siliconflow_image.surface import tools

    log = open(os.environ[TIMINGS_ENV], "a", buffering=1)  # noqa: SIM115 - open for the process's life
    _timed(validation.ToolArguments, "problems", "argument validation (middleware)", log)
    _timed(calls, "prepare", "checks before paying (prepare)", log)
    setattr(tools, "prepare", calls.prepare)  # noqa: B010 - the name tools imported, timed too
    _timed(storage.FolderStore, "problem", "image-folder write check", log)
    _timed(provider.ProviderClient, "create_images", "provider POST (generation answer)", log)
    _timed(generation, "_receive_all", "download every image", log)
    _timed(arriving.ArrivingImage, "end", "last byte", log)
    _timed(arriving, "_decode_and_hash", "decode and hash as the bytes arrive (own thread)", log)
    _timed(storage.PendingImage, "read_all", "read the file back for the preview", log)
    _timed(generation, "_publish_and_show", "publish and preview, side by side", log)
    _timed(arriving.ArrivingImage, "decoded", "wait for the rest of the decoding", log)
    _timed(previews, "inline_for", "preview (reduce, JPEG, base64; decode if not done)", log)
    setattr(generation, "inline_for", previews.inline_for)  # noqa: B010
    _timed(arriving.ArrivingImage, "sha256", "digest (hash what the thread has not)", log)
    _timed(storage.PendingImage, "publish", "publish (fsync, sha256, link)", log)
    _timed(storage, "write_sidecar", "sidecar (write, fsync, folder fsync)", log)
    setattr(generation, "write_sidecar", storage.write_sidecar)  # noqa: B010
    _timed(generation, "build_result", "build the result (pydantic)", log)
    _timed(FuncMetadata, "convert_result", "SDK output-schema validation", log)
    sys.argv = ["mcp-server-siliconflow-image", "--log-level", "WARNING"]
    cli.main()


SEQUENCE = [
    ("request: client → stdio → tool dispatch", None),
    ("argument validation (middleware)", None),
    ("checks before paying (prepare)", None),
    ("  image-folder write check", "checks before paying (prepare)"),
    ("provider POST (generation answer)", None),
    ("download every image", None),
    ("  decode and hash as the bytes arrive (own thread)", "download every image"),
    ("  read the file back for the preview", "download every image"),
    ("publish and preview, side by side", None),
    ("  wait for the rest of the decoding", "publish and preview, side by side"),
    ("  preview (reduce, JPEG, base64; decode if not done)", "publish and preview, side by side"),
    ("  digest (hash what the thread has not)", "publish and preview, side by side"),
    ("  publish (fsync, sha256, link)", "publish and preview, side by side"),
    ("  sidecar (write, fsync, folder fsync)", "publish and preview, side by side"),
    ("build the result (pydantic)", None),
    ("SDK output-schema validation", None),
    ("result: SDK serialise → stdio → client parse", None),
]


PER_IMAGE = {label.strip() for label, parent in SEQUENCE if parent is not None}


async def measure(batch: int, calls: int, profile_name: str) -> str:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from bench.run import PROFILES, PROMPT, SEED, StandIn, server_env

    standin = StandIn()
    profile = PROFILES[profile_name]
    standin.use(profile)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            log_path = Path(scratch) / "phases.jsonl"
            log_path.touch()
            env = {**server_env(standin, Path(scratch) / "images"), TIMINGS_ENV: str(log_path)}
            params = StdioServerParameters(command=sys.executable, args=[__file__, "--serve"], env=env)
            arguments = {"prompt": PROMPT, "batch_size": batch, "seed": SEED}
            rounds: list[tuple[float, float]] = []
            async with Client(params) as client:
                for _ in range(2):
                    await client.call_tool("generate_image", arguments)  # warm-up: connections, model list
                skip = len(log_path.read_text().splitlines())
                for _ in range(calls):
                    started = time.perf_counter()
                    result = await client.call_tool("generate_image", arguments)
                    rounds.append((started, time.perf_counter()))
                    assert not result.is_error, result.content
            records = [json.loads(line) for line in log_path.read_text().splitlines()[skip:]]
    finally:
        standin.stop()
    return f"{profile.label}, " + table(rounds, records, batch)


def table(rounds: list[tuple[float, float]], records: list[list[Any]], batch: int) -> str:
    """Per-call phase durations (medians), the gaps before and after the server's work included."""
    per_phase: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    totals = []
    for sent, received in rounds:
        inside = [record for record in records if sent <= record[1] <= received]
        totals.append(received - sent)
        sums: dict[str, float] = defaultdict(float)
        for label, _started, wall, thread_cpu in inside:
            if label == "last byte":
                continue
            if label in PER_IMAGE:
                per_phase[label].append(wall)  # once per image, side by side: a typical image's time
            else:
                sums[label] += wall
            if thread_cpu is not None:
                cpu[label].append(thread_cpu)
        for label, value in sums.items():
            per_phase[label].append(value)
        validation = [record for record in inside if record[0] == "argument validation (middleware)"]
        first = min(record[1] for record in validation) if validation else sent
        last_end = max(record[1] + record[2] for record in inside)
        per_phase["request: client → stdio → tool dispatch"].append(first - sent)
        per_phase["result: SDK serialise → stdio → client parse"].append(received - last_end)
        last_bytes = [record[1] for record in inside if record[0] == "last byte"]
        if last_bytes:
            per_phase["after the last byte"].append(received - max(last_bytes))
    total = statistics.median(totals)
    lines = [
        f"batch {batch}: client round trip {total * 1000:.1f} ms (median of {len(rounds)} calls)",
        "",
        "| phase | wall ms | share of the call | thread CPU ms |",
        "| --- | --- | --- | --- |",
    ]
    accounted = 0.0
    for label, parent in SEQUENCE:
        values = per_phase.get(label.strip())
        if not values:
            continue
        wall = statistics.median(values)
        share = "" if parent else f"{wall / total * 100:.0f}%"
        cpu_values = cpu.get(label.strip())
        cpu_text = f"{statistics.median(cpu_values) * 1000:.1f}" if cpu_values else ""
        shown = f"· {label.strip()}" if parent else label
        lines.append(f"| {shown} | {wall * 1000:.1f} | {share} | {cpu_text} |")
        if not parent:
            accounted += wall
    rest = total - accounted
    lines.append(f"| between phases (event loop, thread hand-offs) | {rest * 1000:.1f} | {rest / total * 100:.0f}% | |")
    if per_phase.get("after the last byte"):
        after = statistics.median(per_phase["after the last byte"])
        lines.append(
            f"| **after the (batch's) last byte, until the client has the result** | {after * 1000:.1f} "
            f"| {after / total * 100:.0f}% | |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--profile", choices=("network", "near", "loopback"), default="network")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve:
        serve()
        return
    print(asyncio.run(measure(options.batch, options.calls, options.profile)))


if __name__ == "__main__":
    main(sys.argv[1:])
