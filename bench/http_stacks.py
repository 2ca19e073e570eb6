"""httpx (this server's download client) against httpx2 (the HTTP stack the MCP SDK itself depends on).

    python bench/http_stacks.py [--runs 30]

The server process imports both today: the SDK imports httpx2 whatever we do, so the question is whether
downloading with httpx2 instead would be as fast and leave httpx out. Measured, each in fresh processes:
what importing httpx costs once httpx2 (and the SDK) is loaded, what making the client costs, and the
wall and CPU time of downloading the stand-in's images through each, at loopback speed and at the
real-network profile (bench/run.py REAL_NETWORK).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import KEY, LOOPBACK, PROMPT, REAL_NETWORK, StandIn

IMPORT_COST = """
import resource, sys, time
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
import mcp.server.mcpserver, httpx2  # what the server process has loaded anyway
before, started = rss_kb(), time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
print(elapsed, rss_kb() - before)
"""

DOWNLOAD = """
import asyncio, json, sys, time
import {module} as http

async def main(base, key, runs):
    started = time.perf_counter()
    async with http.AsyncClient(timeout=60) as client:
        made = time.perf_counter() - started
        answer = await client.post(base + "/images/generations", headers={{"Authorization": "Bearer " + key}},
                                   json={{"model": "Kwai-Kolors/Kolors", "prompt": "{prompt}", "seed": 1}})
        url = answer.json()["images"][0]["url"]
        walls, cpus = [], []
        for _ in range(runs + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            async with client.stream("GET", url) as response:
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    print(json.dumps({{"client": made, "wall": walls[1:], "cpu": cpus[1:], "bytes": size}}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def import_cost(module: str, runs: int) -> tuple[float, float]:
    times, sizes = [], []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", IMPORT_COST.format(module=module)], capture_output=True, text=True)
        seconds, kilobytes = done.stdout.split()
        times.append(float(seconds))
        sizes.append(float(kilobytes))
    return statistics.median(times), statistics.median(sizes)


def downloads(module: str, standin: StandIn, runs: int) -> dict[str, float]:
    script = DOWNLOAD.format(module=module, prompt=PROMPT)
    done = subprocess.run(
        [sys.executable, "-c", script, standin.base_url, KEY, str(runs)], capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout)
    return {
        "client": measured["client"],
        "wall": statistics.median(measured["wall"]),
        "cpu": statistics.median(measured["cpu"]),
        "bytes": measured["bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    lines = ["| what | httpx | httpx2 |", "| --- | --- | --- |"]
    costs = {module: import_cost(module, max(5, runs // 3)) for module in ("httpx", "httpx2")}
    lines.append(
        "| import, with the SDK and httpx2 loaded already | "
        + " | ".join(f"{seconds * 1000:.1f} ms, +{size / 1024:.1f} MB RSS" for seconds, size in costs.values())
        + " |"
    )
    standin = StandIn()
    try:
        for profile in (LOOPBACK, REAL_NETWORK):
            standin.use(profile)
            measured = {module: downloads(module, standin, runs) for module in ("httpx", "httpx2")}
            size = measured["httpx"]["bytes"] / 1e6
            lines.append(
                f"| download of one {size:.1f} MB image, {profile.label}: wall · CPU (medians of {runs}) | "
                + " | ".join(f"{m['wall'] * 1000:.1f} ms · {m['cpu'] * 1000:.1f} ms" for m in measured.values())
                + " |"
            )
        lines.append(
            "| making the AsyncClient (TLS context) | "
            + " | ".join(f"{m['client'] * 1000:.0f} ms" for m in measured.values())
            + " |"
        )
    finally:
        standin.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
