"""The server as a raw client sees it: JSON-RPC lines on stdout, older handshakes, result sizes on the wire."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.slow


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


def test_every_tools_call_gets_an_answer_even_with_odd_json(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    """Every tools/call line gets an answer (a result or a JSON-RPC error) within 10 s, even when its JSON is
    valid but odd: a lone surrogate escape (a prompt cut inside an emoji, as JSON.stringify writes "\\ud83d"),
    or an integer longer than Python's 4300-digit limit. An unanswered request leaves the client waiting forever."""
    client = RawStdioClient(server_env)
    lines = [
        '{"jsonrpc": "2.0", "id": 201, "method": "tools/call", '
        '"params": {"name": "generate_image", "arguments": {"prompt": "a kite \\ud83d"}}}',
        '{"jsonrpc": "2.0", "id": 202, "method": "tools/call", '
        '"params": {"name": "generate_image", "arguments": {"prompt": "x", "batch_size": 1' + "0" * 5000 + "}}}",
    ]
    unanswered: list[int] = []
    try:
        client.handshake()
        for request_id, line in zip((201, 202), lines, strict=True):
            client.send_line(line)
            try:
                answer = client.read_until(request_id, seconds=10)
            except AssertionError:
                unanswered.append(request_id)
                continue
            assert "result" in answer or "error" in answer
    finally:
        client.close()
    assert unanswered == [], f"requests {unanswered} got no answer within 10 s"
