"""Streamable HTTP at /mcp: the same tool and resources for remote clients."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client
from mcp_types import ResourceLink

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.conftest import blob_bytes, server_command

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server(server_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [server_command(), "--transport", "http", "--port", str(port)],
        env={**os.environ, **server_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "HTTP server did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


async def test_generate_and_read_back_over_http(standin: RunningStandIn, http_server: str) -> None:
    async with Client(http_server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a comet", "seed": 3})
        assert not result.is_error, result.content
        link = next(block for block in result.content if isinstance(block, ResourceLink))
        read = await client.read_resource(link.uri)
    served = next(iter(standin.state.images.values())).data
    assert blob_bytes(read) == served
    assert "/" not in link.uri.removeprefix("siliconflow-image://images/")
