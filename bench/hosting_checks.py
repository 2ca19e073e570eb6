"""What the hosting checks cost per request: the token file read at each request, and the malformed-message check.

    python bench/hosting_checks.py [--quick]

Token lookups: `TokenFile.principal_for` against a 50-line file on local disk, one request at a time and 50 at
once (a burst shares reads; the read runs on a worker thread). Malformed check: `hosting.malformed.refusals` on a
small tools/call and on a 4 MB edit_image body (3 MB of base64), beside the SDK's own validation of the same
message, which every request pays anyway. Prints the median of several rounds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_types import jsonrpc_message_adapter  # noqa: E402

from mcp_server_siliconflow_image.hosting.malformed import refusals  # noqa: E402
from mcp_server_siliconflow_image.hosting.tenants import TokenFile  # noqa: E402


def token_lookups(tokens: TokenFile, concurrent: int, lookups: int) -> tuple[float, int]:
    """Microseconds per lookup and the file reads made, `lookups` lookups spread over `concurrent` tasks."""
    reads_before = tokens._reads_begun

    async def run() -> float:
        async def one_client() -> None:
            for _ in range(lookups // concurrent):
                assert await tokens.principal_for("token-0007-0123456789abcdef") == "user7"

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(concurrent):
                group.start_soon(one_client)
        return time.perf_counter() - started

    seconds = anyio.run(run)
    return seconds / lookups * 1e6, tokens._reads_begun - reads_before


def per_call_ms(function: Callable[[bytes], object], body: bytes, calls: int) -> float:
    function(body)
    started = time.perf_counter()
    for _ in range(calls):
        function(body)
    return (time.perf_counter() - started) / calls * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few rounds only (a smoke run)")
    options = parser.parse_args()
    rounds, lookups, big_calls = (1, 100, 2) if options.quick else (5, 2000, 20)

    folder = Path(tempfile.mkdtemp())
    path = folder / "tokens"
    path.write_text("".join(f"user{index}:token-{index:04d}-0123456789abcdef\n" for index in range(50)))
    tokens = TokenFile(path)
    print("| check | per request | note |\n| --- | --- | --- |")
    for concurrent in (1, 50):
        runs = [token_lookups(tokens, concurrent, lookups) for _ in range(rounds)]
        microseconds = statistics.median(run[0] for run in runs)
        reads = runs[-1][1]
        print(f"| token lookup, {concurrent} at once | {microseconds:.0f} µs | {reads} reads for {lookups} lookups |")

    small = json.dumps(
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "generate_image", "arguments": {}}}
    ).encode()
    image = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()
    big = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 6,
            "method": "tools/call",
            "params": {"name": "edit_image", "arguments": {"image": image}},
        }
    ).encode()

    def sdk(body: bytes) -> object:
        return jsonrpc_message_adapter.validate_json(body, by_name=False)

    for label, body, calls in (("small tools/call", small, 1000 * big_calls), ("4 MB edit_image body", big, big_calls)):
        check = statistics.median(per_call_ms(refusals, body, calls) for _ in range(rounds))
        sdk_ms = statistics.median(per_call_ms(sdk, body, calls) for _ in range(rounds))
        print(f"| malformed check, {label} | {check:.3f} ms | the SDK's own validation: {sdk_ms:.3f} ms |")


if __name__ == "__main__":
    main()
