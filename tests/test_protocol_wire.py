"""The server as a raw client sees it: JSON-RPC lines on stdout, older handshakes, result sizes on the wire."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.conftest import server_command


class RawStdioClient:
    """Speaks newline-delimited JSON-RPC to the server process, the way Claude Desktop does."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [server_command()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            cwd=os.sep,
        )
        self.raw_lines: list[bytes] = []
        self._next_id = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        while True:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            assert line, f"server closed stdout; stderr: {self.process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            self.raw_lines.append(line)
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == self._next_id:
                return message

    def send(self, message: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def close(self) -> str:
        self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=10)
        finally:
            self.process.kill()
        self.raw_lines += self.process.stdout.read().splitlines(keepends=True)  # type: ignore[union-attr]
        return self.process.stderr.read().decode()  # type: ignore[union-attr]


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_handshake_era_clients_generate(standin: RunningStandIn, server_env: dict[str, str], version: str) -> None:
    client = RawStdioClient(server_env)
    try:
        init = client.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
        )
        assert init["result"]["protocolVersion"] == version
        assert init["result"]["serverInfo"]["name"] == "siliconflow-image"
        client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = client.request("tools/list", {})["result"]["tools"]
        generate = next(tool for tool in tools if tool["name"] == "generate_image")
        assert generate["annotations"]["openWorldHint"] is True
        assert generate["inputSchema"]["properties"]["batch_size"]["anyOf"][0]["maximum"] == 4
        call = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "a dune"}})
        result = call["result"]
        assert result.get("isError") is not True
        image = next(block for block in result["content"] if block["type"] == "image")
        assert base64.b64decode(image["data"]) == next(iter(standin.state.images.values())).data
        assert Path(result["structuredContent"]["images"][0]["path"]).is_file()
    finally:
        stderr = client.close()
    # Every byte on stdout is protocol; logs went to stderr.
    for line in client.raw_lines:
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert "saving images to" in stderr


def test_a_whole_result_with_two_3mb_images_is_under_1mib_on_the_wire(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.image_kind = "noise"
    client = RawStdioClient(server_env)
    try:
        client.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        )
        client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        call = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "x", "batch_size": 2}})
    finally:
        client.close()
    assert call["result"].get("isError") is not True
    wire = next(line for line in client.raw_lines if json.loads(line).get("id") == 2)
    assert len(wire) < 1_048_576
    assert sum(len(data.data) for data in standin.state.images.values()) > 6_000_000
