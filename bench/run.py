"""Benchmarks: what this server costs beyond the bytes any wrapper must move, where users are.

    python bench/run.py            # full run (medians of 10 interleaved runs), prints two markdown tables
    python bench/run.py --quick    # a smoke run (CI checks that it works; its figures mean little)
    python bench/run.py --docs     # also write the tables into docs/performance.md
    python bench/run.py --against REV   # cold start and peak RSS compared with a git revision's

The stand-in provider runs in its own process on loopback. Each latency row is one network profile: what the
stand-in serves (photo-like deflated PNGs of real provider size, or incompressible ones) and how its image
links answer (a first-byte delay and a per-connection rate, as a CDN that far away does, or loopback at full
speed). Five sides make the same call against it, interleaved round by round so a busy minute on a shared
machine hits them all alike: the floor (a bare httpx script), this server and the npm peer
`siliconflow-image-mcp` (bench/peer.py), each through the MCP Python SDK's stdio client and through the
TypeScript SDK's (bench/ts_client.mjs: the client Claude Desktop, Cursor and VS Code use). Where Node.js is
missing, the peer and TypeScript columns say "n/a" and why.
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peer import TS_CLIENT, Peer, TypeScriptClient, install_peer, install_typescript_client

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


@dataclass(frozen=True)
class Profile:
    """Where the images come from: what the stand-in serves and how fast its links answer."""

    label: str
    image_kind: str
    first_byte_delay: float = 0.0
    rate: float = 0.0
    """Bytes per second per download connection; 0: loopback speed."""
    target: float | None = None
    """The server's latency target as a ratio to the floor (besides beating the peer); None: the peer only."""


REAL_NETWORK = Profile(
    "a CDN 60 ms away at 20 MB/s per connection, 2.5 MB photo-like PNG", "photo", 0.060, 20e6, target=1.05
)
NEAR_NETWORK = Profile("a CDN 20 ms away at 100 MB/s per connection, 2.5 MB photo-like PNG", "photo", 0.020, 100e6)
LOOPBACK = Profile("loopback, delay 0, 3 MB incompressible PNG", "noise")
PROFILES = {"network": REAL_NETWORK, "near": NEAR_NETWORK, "loopback": LOOPBACK}


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

    def configure(self, **changes: Any) -> None:
        httpx.post(f"{self.origin}/_standin/config", json=changes).raise_for_status()

    def set_delay(self, seconds: float) -> None:
        self.configure(inference_delay=seconds)

    def use(self, profile: Profile) -> None:
        self.configure(
            image_kind=profile.image_kind,
            download_first_byte_delay=profile.first_byte_delay,
            download_rate=profile.rate,
        )

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


Call = Callable[[], Awaitable[float]]
"""One timed call of a side: its seconds, measured by the side's own client."""


@asynccontextmanager
async def floor_side(standin: StandIn, batch: int, folder: Path) -> AsyncIterator[Call]:
    """What any wrapper must do: one POST, then every image fetched in parallel and written to disk."""
    folder.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(timeout=300) as http:

        async def one_call() -> float:
            started = time.perf_counter()
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
            return time.perf_counter() - started

        yield one_call


@asynccontextmanager
async def python_side(params: StdioServerParameters, arguments: dict[str, Any]) -> AsyncIterator[Call]:
    """A stdio server driven by the MCP Python SDK's client (tools listed first, as hosts do)."""
    async with Client(params) as client:
        await client.list_tools()

        async def one_call() -> float:
            started = time.perf_counter()
            result = await client.call_tool("generate_image", arguments)
            elapsed = time.perf_counter() - started
            assert not result.is_error, result.content
            return elapsed

        yield one_call


@asynccontextmanager
async def typescript_side(
    client: TypeScriptClient, params: StdioServerParameters, arguments: dict[str, Any]
) -> AsyncIterator[Call]:
    """A stdio server driven by the MCP TypeScript SDK's client (bench/ts_client.mjs), one call per line sent."""
    assert client.node is not None
    spec = {
        "sdk": str(client.sdk),
        "command": params.command,
        "args": params.args,
        "env": params.env,
        "tool": "generate_image",
        "arguments": arguments,
    }
    process = await asyncio.create_subprocess_exec(
        client.node,
        str(TS_CLIENT),
        json.dumps(spec),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1024 * 1024,
    )
    assert process.stdin and process.stdout
    stdin, stdout = process.stdin, process.stdout
    try:
        if not json.loads(await stdout.readline() or b"{}").get("ready"):
            raise RuntimeError(f"the TypeScript client did not start {params.command}")

        async def one_call() -> float:
            stdin.write(b"call\n")
            await stdin.drain()
            answer = json.loads(await stdout.readline() or b'{"error": "the TypeScript client stopped"}')
            if "error" in answer:
                raise RuntimeError(f"TypeScript client: {answer['error']}")
            return float(answer["seconds"])

        yield one_call
    finally:
        stdin.close()
        await process.wait()


def server_params(standin: StandIn, folder: Path, extra_env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"],
        env={**server_env(standin, folder), **(extra_env or {})},
    )


def peer_params(peer: Peer, standin: StandIn, folder: Path) -> StdioServerParameters:
    assert peer.command is not None
    env = {**server_env(standin, folder), "PEER_API_BASE": standin.base_url}
    return StdioServerParameters(command=peer.command[0], args=peer.command[1:], env=env)


def server_arguments(batch: int) -> dict[str, Any]:
    return {"prompt": PROMPT, "batch_size": batch, "seed": SEED}


def peer_arguments(batch: int) -> dict[str, Any]:
    return {"prompt": PROMPT, "model": "Kwai-Kolors/Kolors", "count": batch, "seed": SEED}


async def interleaved(sides: dict[str, Call], runs: int) -> dict[str, list[float]]:
    """`runs` rounds of one call per side, the order rotating each round, after one warm-up call each."""
    for call in sides.values():
        await call()  # warm-up: connections, caches, lazy imports
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(runs):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(await sides[name]())
    return samples


@dataclass(frozen=True)
class Clients:
    """The outside programs the bench measures with, each installed or with the reason it is not."""

    peer: Peer
    typescript: TypeScriptClient


async def latency(
    standin: StandIn, clients: Clients, batch: int, runs: int, folder: Path, *, inline_off: bool = False
) -> dict[str, float]:
    """Medians of every side for one (profile, batch): floor, server and peer, through each SDK's client."""
    extra = INLINE_OFF if inline_off else None
    async with AsyncExitStack() as stack:
        sides: dict[str, Call] = {}
        sides["floor"] = await stack.enter_async_context(floor_side(standin, batch, folder / "floor"))
        server = server_params(standin, folder / "server", extra)
        sides["server"] = await stack.enter_async_context(python_side(server, server_arguments(batch)))
        if clients.typescript.node is not None:
            sides["server ts"] = await stack.enter_async_context(
                typescript_side(clients.typescript, server, server_arguments(batch))
            )
        if clients.peer.command is not None and not inline_off:
            peer = peer_params(clients.peer, standin, folder / "peer")
            sides["peer"] = await stack.enter_async_context(python_side(peer, peer_arguments(batch)))
            if clients.typescript.node is not None:
                sides["peer ts"] = await stack.enter_async_context(
                    typescript_side(clients.typescript, peer, peer_arguments(batch))
                )
        samples = await interleaved(sides, runs)
    return {name: statistics.median(values) for name, values in samples.items()}


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


def cold_start_samples(runs: int, standin: StandIn, folder: Path, earlier: Path | None) -> dict[str, list[float]]:
    """Spawn -> initialize result: this server, the same for an earlier checkout (`earlier`: its `server/`
    folder), a bare `import mcp.server.mcpserver` and a one-tool MCPServer, interleaved round by round."""
    server = [sys.executable, "-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"]
    commands: dict[str, tuple[list[str], dict[str, str] | None, bytes]] = {
        "server": (server, server_env(standin, folder), INITIALIZE),
        "bare": ([sys.executable, "-c", "import mcp.server.mcpserver; print('imported', flush=True)"], None, b""),
        "minimal": ([sys.executable, str(Path(__file__).with_name("minimal_server.py"))], None, INITIALIZE),
    }
    if earlier is not None:
        commands["earlier"] = (server, earlier_env(server_env(standin, folder), earlier), INITIALIZE)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs + 1):  # the first round warms the file cache and is dropped
        for name, (command, env, send) in commands.items():
            samples[name].append(seconds_to_first_line(command, env, send))
    return {name: values[1:] for name, values in samples.items()}


def earlier_env(env: dict[str, str], earlier: Path) -> dict[str, str]:
    """`env` with an earlier checkout's package ahead of this one's on the import path."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(earlier), env.get("PYTHONPATH", "")]))}


@contextmanager
def earlier_checkout(revision: str | None) -> Iterator[Path | None]:
    """The `server/` folder of `revision` checked out into a temporary git worktree (None: no comparison)."""
    if revision is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "earlier"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            yield tree / "server"
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


async def throughput(
    standin: StandIn, folder: Path, concurrency: int, extra_env: dict[str, str] | None = None
) -> dict[str, float]:
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
        env={**server_env(standin, folder), **(extra_env or {})},
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


def server_usage(standin: StandIn, folder: Path, calls: int, earlier: Path | None = None) -> dict[str, float]:
    """This server's peak RSS and CPU per call (or an earlier checkout's: `earlier`, its `server/` folder)."""
    command = [sys.executable, "-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"]
    env = server_env(standin, folder)
    return memory_and_cpu(
        command,
        earlier_env(env, earlier) if earlier is not None else env,
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


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def versus(seconds: float | None, floor: float | None, reason: str = "") -> str:
    if seconds is None:
        return f"n/a ({reason})"
    return f"{ms(seconds)} ({seconds / floor:.2f}×)" if floor else ms(seconds)


def verdict(profile: Profile, medians: dict[str, float], client: str) -> str:
    """Whether the server met the profile's target through one client: ratio to the floor, below the peer."""
    suffix = "" if client == "Python" else " ts"
    server, peer, floor = medians.get("server" + suffix), medians.get("peer" + suffix), medians["floor"]
    if server is None:
        return f"{client}: n/a"
    met = peer is not None and server < peer
    if profile.target is not None:
        met = met and server / floor <= profile.target
    return f"{client}: {'met' if met else 'NOT met'}"


def latency_row(profile: Profile, batch: int, medians: dict[str, float], clients: Clients, load: str) -> str:
    floor = medians["floor"]
    typescript_reason = clients.typescript.reason
    peer_reason = clients.peer.reason or typescript_reason
    goal = "below the peer" if profile.target is None else f"≤ {profile.target}× the floor, below the peer"
    verdicts = verdict(profile, medians, "Python") + " · " + verdict(profile, medians, "TypeScript")
    return (
        f"| {profile.label}, batch {batch} | {ms(floor)} "
        f"| {versus(medians.get('server'), floor)} | {versus(medians.get('server ts'), floor, typescript_reason)} "
        f"| {versus(medians.get('peer'), floor, clients.peer.reason)} "
        f"| {versus(medians.get('peer ts'), floor, peer_reason)} | {goal}: {verdicts} | {load} |"
    )


LATENCY_HEADER = [
    "| profile | floor | server, Python SDK client | server, TypeScript SDK client | peer, Python SDK client "
    "| peer, TypeScript SDK client | target | load average |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]


async def latency_rows(
    standin: StandIn, clients: Clients, profiles: list[Profile], runs: int, folder: Path
) -> list[str]:
    rows: list[str] = []
    for profile in profiles:
        standin.use(profile)
        for batch in (1, 4):
            load = load_average()
            medians = await latency(standin, clients, batch, runs, folder)
            rows.append(latency_row(profile, batch, medians, clients, f"{load}–{load_average()}"))
            plain = await latency(standin, clients, batch, runs, folder, inline_off=True)
            rows.append(
                f"| {profile.label}, batch {batch}, inline images off (what the preview and its transfer cost) "
                f"| {ms(plain['floor'])} | {versus(plain['server'], plain['floor'])} "
                f"| {versus(plain.get('server ts'), plain['floor'], clients.typescript.reason)} | | | | |"
            )
    return rows


NO_WORSE = 1.03
"""'No worse than before' for cold start and peak RSS: within 3 %, this machine's run-to-run noise for both."""


def cold_start_row(cold: dict[str, float], against: str | None) -> str:
    figures = (
        f"server {ms(cold['server'])} · one-tool MCPServer {ms(cold['minimal'])} · bare SDK import {ms(cold['bare'])}"
    )
    if "earlier" not in cold:
        return (
            f"| cold start: spawn → initialize | {figures} | **{(cold['server'] - cold['minimal']) * 1000:+.0f} ms** "
            "over the one-tool server | no worse than before (`--against REV` judges it) |"
        )
    met = cold["server"] <= cold["earlier"] * NO_WORSE
    return (
        f"| cold start: spawn → initialize | {figures} · {against} {ms(cold['earlier'])} "
        f"| **{(cold['server'] - cold['earlier']) * 1000:+.0f} ms** against {against} "
        f"| no worse than {against} (≤ {NO_WORSE}×): {'met' if met else 'NOT met'} |"
    )


def rss_row(
    profile: Profile,
    usage: dict[str, float],
    before: dict[str, float] | None,
    peer: dict[str, float] | None,
    against: str | None,
) -> str:
    rss = usage["rss_mb"]
    figures = f"server process {rss:.0f} MB" + (f" · {against} {before['rss_mb']:.0f} MB" if before else "")
    figures += f" · peer process {peer['rss_mb']:.0f} MB" if peer else ""
    if before is None:
        return f"| peak RSS, batch 1 then 4, {profile.label} | {figures} | **{rss:.0f} MB** | no worse than before |"
    met = rss <= before["rss_mb"] * NO_WORSE
    return (
        f"| peak RSS, batch 1 then 4, {profile.label} | {figures} | **{rss - before['rss_mb']:+.0f} MB** "
        f"against {against} | no worse than {against} (≤ {NO_WORSE}×): {'met' if met else 'NOT met'} |"
    )


async def main(quick: bool, runs: int, against: str | None) -> str:
    with earlier_checkout(against) as earlier:
        return await measure(quick, runs, against, earlier)


async def measure(quick: bool, runs: int, against: str | None, earlier: Path | None) -> str:
    standin = StandIn()
    clients = Clients(install_peer(), install_typescript_client())
    profiles = [REAL_NETWORK, LOOPBACK] if quick else [REAL_NETWORK, NEAR_NETWORK, LOOPBACK]
    started_load = load_average()
    rows: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            latencies = await latency_rows(standin, clients, profiles, runs, folder / "latency")
            standin.use(LOOPBACK)
            tiny, large = await sdk_result_cost(runs)
            rows.append(
                f"| SDK alone: one-tool MCPServer, tiny vs 660 KB image result | {ms(tiny)} · {ms(large)} "
                f"| **{(large - tiny) * 1000:+.0f} ms** | (the SDK's share of returning a preview) |"
            )
            cold = {
                name: statistics.median(values)
                for name, values in cold_start_samples(runs, standin, folder, earlier).items()
            }
            rows.append(cold_start_row(cold, against))
            concurrency = 4 if quick else 16
            standin.set_delay(1.0)
            runs_under_load = [(REAL_NETWORK, None), (REAL_NETWORK, INLINE_OFF), (LOOPBACK, None)]
            for profile, extra in runs_under_load:
                standin.use(profile)
                load = await throughput(standin, folder / "http", concurrency, extra)
                load_met = load["errors"] == 0 and load["p95"] <= 1.3 * load["single"]
                what = f"{profile.label}" + (", inline images off (what the previews cost)" if extra else "")
                rows.append(
                    f"| {concurrency} concurrent calls over HTTP, delay 1 s, {what} "
                    f"| {load['calls_per_s']:.1f} calls/s, p95 {ms(load['p95'])} (single call {ms(load['single'])}), "
                    f"{load['errors']:.0f} errors | **p95 {load['p95'] / load['single']:.2f}× single** "
                    + ("| |" if extra else f"| 0 errors, p95 ≤ 1.3× single ({'met' if load_met else 'NOT met'}) |")
                )
            standin.set_delay(0)
            calls = 1 if quick else 5
            for profile in (LOOPBACK, REAL_NETWORK):
                standin.use(profile)
                usage = server_usage(standin, folder / "rss", calls)
                before = server_usage(standin, folder / "rss-earlier", calls, earlier) if earlier else None
                peer_use = peer_usage(clients.peer, standin, folder / "peer-rss", calls)
                rows.append(rss_row(profile, usage, before, peer_use, against))
                for batch in (1, 4):
                    key = f"cpu_batch_{batch}"
                    peer_cpu = f" · peer {ms(peer_use[key])}" if peer_use else f" · peer n/a ({clients.peer.reason})"
                    earlier_cpu = f" · {against} {ms(before[key])}" if before else ""
                    rows.append(
                        f"| CPU time per call (user + system), batch {batch}, {profile.label} "
                        f"| server {ms(usage[key])}{earlier_cpu}{peer_cpu} | | (explains the rows above) |"
                    )
    finally:
        standin.stop()
    header = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; medians of {runs} interleaved runs"
        + (" (--quick: a smoke run, not a measurement)" if quick else "")
        + f"; load average {started_load} at the start, {load_average()} at the end.",
        "",
    ]
    rest = ["", "| what | measured | ratio | target |", "| --- | --- | --- | --- |"]
    return "\n".join(header + LATENCY_HEADER + latencies + rest + rows)


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
    parser.add_argument("--quick", action="store_true", help="two runs, fewer profiles: checks the benchmark works")
    parser.add_argument("--runs", type=int, help="runs per figure (default 10, --quick 2)")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument(
        "--against", metavar="REV", help="also measure cold start and peak RSS of this git revision, to compare"
    )
    options = parser.parse_args()
    runs = options.runs or (2 if options.quick else 10)
    table = asyncio.run(main(options.quick, runs, options.against))
    print(table)
    if options.docs:
        write_docs(table)
