"""Benchmarks: what this server costs beyond the bytes any wrapper must move.

    python bench/run.py            # full run (medians of 10+), prints a markdown table
    python bench/run.py --quick    # a smoke run (CI checks that it works; its figures mean little)
    python bench/run.py --docs     # also write the table into docs/performance.md

The stand-in provider runs in its own process on loopback, serving 1024x1024 incompressible PNGs (~3 MB,
like a detailed provider image) at expiring links, with a configurable inference delay. Three sides do the
same call against it in one run: the floor (a bare httpx script), this server, and the npm peer
`siliconflow-image-mcp` (see bench/peer.py; "n/a" with the reason where Node.js is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peer import Peer, install_peer

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-bench"
PROMPT = "benchmark"
SEED = 1234


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.05)


class StandIn:
    """The stand-in provider in its own process, so it never competes with the measured side for the GIL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcp_server_siliconflow_image",
                "stand-in",
                "--port",
                str(self.port),
                "--key",
                KEY,
                "--image-kind",
                "noise",
            ],
            stderr=subprocess.DEVNULL,
        )
        self.origin = f"http://127.0.0.1:{self.port}"
        wait_for(f"{self.origin}/v1/models", self.process)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def set_delay(self, seconds: float) -> None:
        httpx.post(f"{self.origin}/_standin/config", json={"inference_delay": seconds}).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def server_env(standin: StandIn, image_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SILICONFLOW_API_KEY": KEY,
        "SILICONFLOW_BASE_URL": standin.base_url,
        "SILICONFLOW_IMAGE_DIR": str(image_dir),
        "NO_PROXY": "127.0.0.1,localhost",
    }


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    await call()  # warm-up: connections, caches, lazy imports
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def floor_samples(standin: StandIn, batch: int, runs: int, folder: Path) -> list[float]:
    """What any wrapper must do: one POST, then every image fetched in parallel and written to disk."""
    async with httpx.AsyncClient(timeout=300) as http:

        async def one_call() -> None:
            answer = await http.post(
                f"{standin.base_url}/images/generations",
                headers={"Authorization": f"Bearer {KEY}"},
                json={"model": "Kwai-Kolors/Kolors", "prompt": PROMPT, "batch_size": batch, "seed": SEED},
            )
            urls = [item["url"] for item in answer.json()["images"]]

            async def fetch(index: int, url: str) -> None:
                body = (await http.get(url)).content
                (folder / f"floor-{index}.png").write_bytes(body)

            await asyncio.gather(*(fetch(index, url) for index, url in enumerate(urls)))

        return await timed(runs, one_call)


async def server_samples(
    standin: StandIn, batch: int, runs: int, folder: Path, extra_env: dict[str, str] | None = None
) -> list[float]:
    """The same work as one tools/call over stdio through the MCP SDK's client."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"],
        env={**server_env(standin, folder), **(extra_env or {})},
    )
    async with Client(params) as client:

        async def one_call() -> None:
            result = await client.call_tool("generate_image", {"prompt": PROMPT, "batch_size": batch, "seed": SEED})
            assert not result.is_error, result.content

        return await timed(runs, one_call)


async def peer_samples(peer: Peer, standin: StandIn, batch: int, runs: int, folder: Path) -> list[float]:
    """The same generation through the npm peer over stdio (it returns file paths, no inline images)."""
    assert peer.command is not None
    env = {**server_env(standin, folder), "PEER_API_BASE": standin.base_url}
    params = StdioServerParameters(command=peer.command[0], args=peer.command[1:], env=env)
    arguments = {"prompt": PROMPT, "model": "Kwai-Kolors/Kolors", "count": batch, "seed": SEED}
    async with Client(params) as client:

        async def one_call() -> None:
            result = await client.call_tool("generate_image", arguments)
            assert not result.is_error, result.content

        return await timed(runs, one_call)


async def sdk_result_cost(runs: int) -> tuple[float, float]:
    """Round trip of a one-tool MCPServer's tiny result and of a result the size of ours (a 660 KB image)."""
    params = StdioServerParameters(command=sys.executable, args=[str(Path(__file__).with_name("minimal_server.py"))])
    async with Client(params) as client:
        tiny = await timed(runs, lambda: client.call_tool("ping", {}))
        large = await timed(runs, lambda: client.call_tool("picture", {"base64_chars": PREVIEW_CHARS}))
    return statistics.median(tiny), statistics.median(large)


INLINE_OFF = {"SILICONFLOW_INLINE_MAX_BYTES": "0"}
PREVIEW_CHARS = 662_572
"""Base64 characters of this server's batch-1 preview of the bench's 3 MB PNG."""


INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        }
    ).encode()
    + b"\n"
)


def seconds_to_first_line(command: list[str], env: dict[str, str] | None = None, send: bytes = b"") -> float:
    """Spawn `command`, send `send`, and time until its first line of output (not until it exits)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin and process.stdout
    process.stdin.write(send)
    process.stdin.flush()
    process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.stdin.close()
    process.wait(timeout=10)
    return elapsed


def cold_start_samples(runs: int, standin: StandIn, folder: Path) -> tuple[list[float], list[float], list[float]]:
    """Spawn -> initialize result, against a bare `import mcp.server.mcpserver` and a one-tool MCPServer."""
    server = [sys.executable, "-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"]
    bare_import = [sys.executable, "-c", "import mcp.server.mcpserver; print('imported', flush=True)"]
    minimal_server = [sys.executable, str(Path(__file__).with_name("minimal_server.py"))]
    ours: list[float] = []
    bare: list[float] = []
    minimal: list[float] = []
    for _ in range(runs + 1):  # the first round warms the file cache and is dropped
        ours.append(seconds_to_first_line(server, server_env(standin, folder), INITIALIZE))
        bare.append(seconds_to_first_line(bare_import))
        minimal.append(seconds_to_first_line(minimal_server, send=INITIALIZE))
    return ours[1:], bare[1:], minimal[1:]


async def throughput(standin: StandIn, folder: Path, concurrency: int) -> dict[str, float]:
    """`concurrency` simultaneous calls over streamable HTTP, and one call alone for comparison."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_server_siliconflow_image",
            "--transport",
            "http",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        env=server_env(standin, folder),
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:

            async def call() -> tuple[float, bool]:
                started = time.perf_counter()
                result = await client.call_tool("generate_image", {"prompt": PROMPT, "seed": SEED})
                return time.perf_counter() - started, not result.is_error

            await call()
            single = statistics.median([(await call())[0] for _ in range(3)])
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(call() for _ in range(concurrency)))
            wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=15)
    latencies = sorted(latency for latency, _ in outcomes)
    return {
        "calls_per_s": concurrency / wall,
        "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "errors": sum(1 for _, ok in outcomes if not ok),
        "single": single,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_and_cpu(
    command: list[str], env: dict[str, str], arguments: Callable[[int], dict[str, Any]], calls: int
) -> dict[str, float]:
    """Peak resident memory (VmHWM) of a stdio server across batch-1 and batch-4 x 3 MB calls, and its
    CPU time per call, speaking JSON-RPC over its pipes directly (so the client costs the server nothing)."""
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin and process.stdout
    stdin, stdout = process.stdin, process.stdout

    def request(message_id: int, method: str, params: dict[str, Any]) -> None:
        message = {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()
        while json.loads(stdout.readline()).get("id") != message_id:
            pass

    request(
        0,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}},
    )
    stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    cpu: dict[str, float] = {}
    number = 0
    for batch in (1, 4):
        number += 1
        request(number, "tools/call", {"name": "generate_image", "arguments": arguments(batch)})  # warm-up
        before = cpu_seconds(process.pid)
        for _ in range(calls):
            number += 1
            request(number, "tools/call", {"name": "generate_image", "arguments": arguments(batch)})
        cpu[f"cpu_batch_{batch}"] = (cpu_seconds(process.pid) - before) / calls
    status = Path(f"/proc/{process.pid}/status").read_text()
    stdin.close()
    process.wait(timeout=10)
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return {"rss_mb": int(match.group(1)) / 1024 if match else float("nan"), **cpu}


def server_usage(standin: StandIn, folder: Path, calls: int) -> dict[str, float]:
    command = [sys.executable, "-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"]
    return memory_and_cpu(
        command,
        server_env(standin, folder),
        lambda batch: {"prompt": PROMPT, "batch_size": batch, "seed": SEED},
        calls,
    )


def peer_usage(peer: Peer, standin: StandIn, folder: Path, calls: int) -> dict[str, float] | None:
    if peer.command is None:
        return None
    return memory_and_cpu(
        peer.command,
        {**server_env(standin, folder), "PEER_API_BASE": standin.base_url},
        lambda batch: {"prompt": PROMPT, "model": "Kwai-Kolors/Kolors", "count": batch, "seed": SEED},
        calls,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0].strip() if names else cpu
    return (
        f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def latency_row(delay: float, batch: int, floor: float, server: float, peer: float | None, peer_reason: str) -> str:
    """One latency row: the ratios to the floor, and at zero delay whether the server beats the peer."""
    target = 1.25 if delay == 0 else 1.02
    met = server / floor <= target
    peer_text = f"peer {ms(peer)} ({peer / floor:.3f}×)" if peer is not None else f"peer n/a ({peer_reason})"
    goal = f"≤ {target}"
    if delay == 0:
        goal += " and below the peer"
        met = met and peer is not None and server < peer
    return (
        f"| batch {batch}, provider delay {delay:g} s | floor {ms(floor)} · server {ms(server)} · {peer_text} "
        f"| **{server / floor:.3f}×** | {goal} ({'met' if met else 'NOT met'}) |"
    )


async def main(quick: bool, runs: int, delays: list[float]) -> str:
    standin = StandIn()
    rows: list[str] = []
    peer = install_peer()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            for delay in delays:
                standin.set_delay(delay)
                for batch in (1, 4):
                    floor = statistics.median(await floor_samples(standin, batch, runs, folder))
                    server = statistics.median(await server_samples(standin, batch, runs, folder / "srv"))
                    peer_median = None
                    if peer.command is not None:
                        peer_median = statistics.median(await peer_samples(peer, standin, batch, runs, folder / "peer"))
                    rows.append(latency_row(delay, batch, floor, server, peer_median, peer.reason))
                    if delay == 0:
                        plain = statistics.median(
                            await server_samples(standin, batch, runs, folder / "plain", INLINE_OFF)
                        )
                        rows.append(
                            f"| batch {batch}, delay 0 s, inline images off | floor {ms(floor)} · server {ms(plain)} "
                            f"| **{plain / floor:.3f}×** | (what the preview and its transfer cost) |"
                        )
            tiny, large = await sdk_result_cost(runs)
            rows.append(
                f"| SDK alone: one-tool MCPServer, tiny vs 660 KB image result | {ms(tiny)} · {ms(large)} "
                f"| **{(large - tiny) * 1000:+.0f} ms** | (the SDK's share of returning a preview) |"
            )
            ours, bare, minimal = cold_start_samples(runs, standin, folder)
            cold, bare_import = statistics.median(ours), statistics.median(bare)
            rows.append(
                f"| cold start: spawn → initialize | server {ms(cold)} · bare SDK import {ms(bare_import)} "
                f"· one-tool MCPServer {ms(statistics.median(minimal))} "
                f"| **{(cold - bare_import) * 1000:+.0f} ms** "
                f"| ≤ +100 ms ({'met' if cold - bare_import <= 0.1 else 'NOT met'}) |"
            )
            standin.set_delay(delays[-1])
            concurrency = 4 if quick else 16
            load = await throughput(standin, folder / "http", concurrency)
            load_met = load["errors"] == 0 and load["p95"] <= 1.3 * load["single"]
            rows.append(
                f"| {concurrency} concurrent calls over HTTP, delay {delays[-1]:g} s "
                f"| {load['calls_per_s']:.1f} calls/s, p95 {ms(load['p95'])} (single call {ms(load['single'])}), "
                f"{load['errors']:.0f} errors | **p95 {load['p95'] / load['single']:.2f}× single** "
                f"| 0 errors, p95 ≤ 1.3× single ({'met' if load_met else 'NOT met'}) |"
            )
            standin.set_delay(0)
            calls = 1 if quick else 5
            usage = server_usage(standin, folder / "rss", calls)
            peer_use = peer_usage(peer, standin, folder / "peer-rss", calls)
            rss = usage["rss_mb"]
            peer_rss = f" · peer process {peer_use['rss_mb']:.0f} MB" if peer_use else ""
            rows.append(
                f"| peak RSS, batch 4 × 3 MB | server process {rss:.0f} MB{peer_rss} | **{rss:.0f} MB** "
                f"| ≤ 150 MB ({'met' if rss <= 150 else 'NOT met'}) |"
            )
            for batch in (1, 4):
                key = f"cpu_batch_{batch}"
                peer_cpu = f" · peer {ms(peer_use[key])}" if peer_use else f" · peer n/a ({peer.reason})"
                rows.append(
                    f"| CPU time per call (user + system), batch {batch} | server {ms(usage[key])}{peer_cpu} "
                    "| | (explains the rows above) |"
                )
    finally:
        standin.stop()
    header = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; medians of {runs} runs"
        + (" (--quick: a smoke run, not a measurement)" if quick else "")
        + ".",
        "",
        "| what | measured | ratio | target |",
        "| --- | --- | --- | --- |",
    ]
    return "\n".join(header + rows)


def write_docs(table: str) -> None:
    page = ROOT / "docs" / "performance.md"
    text = page.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text:
        raise SystemExit("docs/performance.md has no <!-- bench:start --> marker")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    page.write_text(f"{before}{start}\n{table}\n{end}{after}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two runs, no delay: checks the benchmark works")
    parser.add_argument("--runs", type=int, help="runs per figure (default 10, --quick 2)")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/performance.md")
    options = parser.parse_args()
    runs = options.runs or (2 if options.quick else 10)
    table = asyncio.run(main(options.quick, runs, [0.0] if options.quick else [0.0, 1.0]))
    print(table)
    if options.docs:
        write_docs(table)
