"""Results every client can use: presets by clientInfo.name, old protocol versions, protocol details.

Driven as the clients drive the server: raw JSON-RPC over stdio with the client's own name and protocol
version (tests/raw_client.py), and the MCP SDK's client in memory for the current protocol.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from mcp_server_siliconflow_image.surface.presets import PRESETS, result_options
from tests.helpers import MCP_HEADERS, running_http_server
from tests.images import encode
from tests.raw_client import RawStdioClient

CONTENT_TYPES_2025_03_26 = {"text", "image", "audio", "resource"}
"""The content block types protocol 2025-03-26 defines (no resource_link)."""


class Session:
    """A raw stdio client that has done its handshake: `call` returns a tool call's `result`."""

    def __init__(self, client: RawStdioClient, init: dict[str, Any]) -> None:
        self.client = client
        self.init = init

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.request("tools/call", {"name": tool, "arguments": arguments})
        result: dict[str, Any] = answer["result"]
        return result

    def tools(self) -> dict[str, dict[str, Any]]:
        return {tool["name"]: tool for tool in self.client.request("tools/list", {})["result"]["tools"]}


@pytest.fixture
def connect(server_env: dict[str, str]) -> Iterator[Any]:
    clients: list[RawStdioClient] = []

    def start(name: str, version: str = "2025-06-18", first_id: int = 1, **env: str) -> Session:
        client = RawStdioClient({**server_env, **env}, first_id=first_id)
        clients.append(client)
        return Session(client, client.handshake(version, name=name))

    yield start
    for client in clients:
        client.close()


def kinds(result: dict[str, Any]) -> list[str]:
    return [block["type"] for block in result["content"]]


@pytest.mark.slow
def test_a_2025_03_26_client_gets_only_its_content_types(connect: Any, standin: RunningStandIn, tmp_path: Path) -> None:
    session = connect("old-client", "2025-03-26", SILICONFLOW_INPUT_DIRS=str(tmp_path))
    assert session.init["result"]["protocolVersion"] == "2025-03-26"
    source = tmp_path / "in.png"
    source.write_bytes(encode("PNG", (64, 48)))
    results = [
        session.call("generate_image", {"prompt": "x", "batch_size": 2}),
        session.call("generate_image", {"prompt": "x", "model": "black-forest-labs/FLUX.1-dev", "batch_size": 2}),
        session.call("edit_image", {"image": str(source), "prompt": "make it blue"}),
        session.call("list_models", {}),
    ]
    for result in results:
        assert result.get("isError") is not True, result
        assert set(kinds(result)) <= CONTENT_TYPES_2025_03_26, kinds(result)
    generated = results[0]
    text = next(block["text"] for block in generated["content"] if block["type"] == "text")
    for image in generated["structuredContent"]["images"]:  # the links' information, as text
        assert image["path"] in text and image["uri"] in text
    saved = [Path(image["path"]).read_bytes() for image in generated["structuredContent"]["images"]]
    shown = [base64.b64decode(block["data"]) for block in generated["content"] if block["type"] == "image"]
    assert shown == saved and len(saved) == 2
    assert len(results[1]["structuredContent"]["images"]) == 2  # the fan-out, too


@pytest.mark.slow
def test_a_current_client_still_gets_resource_links(connect: Any, standin: RunningStandIn) -> None:
    session = connect("some-client", "2025-06-18")
    assert kinds(session.call("generate_image", {"prompt": "x"})) == ["image", "resource_link", "text"]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_no_prompts_capability_is_advertised(connect: Any, standin: RunningStandIn, version: str) -> None:
    capabilities = connect("raw", version).init["result"]["capabilities"]
    assert "prompts" not in capabilities and "tools" in capabilities and "resources" in capabilities


@pytest.mark.slow
@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
def test_a_missing_resource_answers_resource_not_found(connect: Any, standin: RunningStandIn, version: str) -> None:
    session = connect("raw", version)
    answer = session.client.request("resources/read", {"uri": "siliconflow-image://images/20260101-000000_seed1_1.png"})
    assert answer["error"]["code"] == -32002
    assert "no saved image named" in answer["error"]["message"]


@pytest.mark.anyio
async def test_a_2026_client_gets_sep_2164s_invalid_params(standin: RunningStandIn, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("siliconflow-image://images/20260101-000000_seed1_1.png")
    assert raised.value.code == -32602


@pytest.mark.slow
@pytest.mark.parametrize("name", ["claude-code", "codex-mcp-client", "Claude-Code"])
def test_structured_output_presets_leave_it_out_and_the_schema_too(
    connect: Any, standin: RunningStandIn, name: str
) -> None:
    session = connect(name)
    assert "outputSchema" not in session.tools()["generate_image"]
    result = session.call("generate_image", {"prompt": "x", "seed": 4})
    assert "structuredContent" not in result
    assert kinds(result) == ["image", "resource_link", "text"]
    text = result["content"][-1]["text"]
    assert "seed 4" in text and "Provider trace id: ti_" in text  # what the JSON would have said
    assert "structuredContent" not in session.call("list_models", {})


@pytest.mark.slow
@pytest.mark.parametrize("name", ["claude-code", "codex-mcp-client"])
def test_an_explicit_variable_wins_over_the_preset(connect: Any, standin: RunningStandIn, name: str) -> None:
    session = connect(name, SILICONFLOW_STRUCTURED_OUTPUT="true")
    assert "outputSchema" in session.tools()["generate_image"]
    assert session.call("generate_image", {"prompt": "x"})["structuredContent"]["images"]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_the_sdk_1x_default_name_gets_no_resource_links(connect: Any, standin: RunningStandIn, version: str) -> None:
    """SDK 1.x (LangChain's adapter, smolagents) sends clientInfo "mcp" and numbers its requests from 0."""
    result = connect("mcp", version, first_id=0).call("generate_image", {"prompt": "x"})
    assert kinds(result) == ["text", "image"]  # smolagents keeps only the first block: the paths
    assert result["structuredContent"]["images"][0]["uri"].startswith("siliconflow-image://images/")


@pytest.mark.slow
def test_the_sdk_1x_default_name_gets_typed_optional_arguments(connect: Any, standin: RunningStandIn) -> None:
    """smolagents reads only a property's own type and requires every argument not marked nullable."""
    sdk_1x = connect("mcp", "2025-11-25", first_id=0).tools()
    others = connect("some-client", "2025-11-25").tools()
    for name in ("generate_image", "edit_image"):
        schema = sdk_1x[name]["inputSchema"]
        optional = [prop for key, prop in schema["properties"].items() if key not in schema["required"]]
        assert optional and all(prop["nullable"] is True and "type" in prop for prop in optional)
        assert schema["properties"]["prompt"] == others[name]["inputSchema"]["properties"]["prompt"]
    generate = sdk_1x["generate_image"]["inputSchema"]["properties"]
    assert generate["seed"]["type"] == "integer" and generate["guidance_scale"]["type"] == "number"
    assert generate["seed"]["anyOf"] == others["generate_image"]["inputSchema"]["properties"]["seed"]["anyOf"]
    assert all("nullable" not in prop for prop in others["generate_image"]["inputSchema"]["properties"].values())


@pytest.mark.slow
def test_an_sdk_2x_handshake_session_named_mcp_keeps_its_links(connect: Any, standin: RunningStandIn) -> None:
    """SDK 2.x's low-level ClientSession (LlamaIndex's too) sends the same name and protocol, numbered from 1."""
    result = connect("mcp", "2025-11-25", first_id=1).call("generate_image", {"prompt": "x"})
    assert kinds(result) == ["image", "resource_link", "text"]


def http_answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer in a streamable HTTP response (a JSON body or the last SSE event)."""
    if response.text.startswith("{"):
        answer: dict[str, Any] = response.json()
        return answer
    events = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    return dict(json.loads(events[-1]))


@pytest.mark.slow
def test_an_http_session_keeps_its_initialize_id_for_its_calls(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    """Over streamable HTTP each session is told apart like a stdio connection: SDK 1.x numbering, SDK 2.x's."""
    seen = {}
    with running_http_server(server_env) as (base, _):
        for first_id in (0, 1):
            headers = dict(MCP_HEADERS)
            init = {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "mcp", "version": "0.1.0"},
            }
            opened = httpx.post(
                f"{base}/mcp",
                headers=headers,
                json={"jsonrpc": "2.0", "id": first_id, "method": "initialize", "params": init},
            )
            headers |= {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
            httpx.post(f"{base}/mcp", headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            call = {"name": "generate_image", "arguments": {"prompt": "x"}}
            answer = httpx.post(
                f"{base}/mcp",
                headers=headers,
                json={"jsonrpc": "2.0", "id": first_id + 1, "method": "tools/call", "params": call},
                timeout=60,
            )
            seen[first_id] = kinds(http_answer(answer)["result"])
    assert seen == {0: ["text", "image"], 1: ["image", "resource_link", "text"]}


@pytest.mark.slow
def test_resource_links_variable_wins_over_the_preset(connect: Any, standin: RunningStandIn) -> None:
    session = connect("mcp", "2025-06-18", first_id=0, SILICONFLOW_RESOURCE_LINKS="true")
    result = session.call("generate_image", {"prompt": "x"})
    assert kinds(result) == ["text", "image", "resource_link"]


@pytest.mark.slow
def test_resource_links_can_be_turned_off_for_any_client(connect: Any, standin: RunningStandIn) -> None:
    result = connect("some-client", SILICONFLOW_RESOURCE_LINKS="false").call("generate_image", {"prompt": "x"})
    assert kinds(result) == ["image", "text"]


def test_a_2026_sdk_client_named_mcp_keeps_its_links(settings: Settings) -> None:
    """MCP SDK 2.x also defaults to the name "mcp", but speaks 2026-07-28 and handles resource links."""
    assert result_options(settings, "mcp", "2026-07-28").resource_links is True
    assert result_options(settings, "mcp", "2025-11-25", initialize_id=0).resource_links is False
    assert result_options(settings, "mcp", "2025-11-25", initialize_id=1).resource_links is True
    assert result_options(settings, "mcp", "2025-11-25").resource_links is False  # id unknown: as before


def test_a_flag_wins_over_the_preset_like_a_variable(settings: Settings) -> None:
    from mcp_server_siliconflow_image.cli import build_parser, settings_from_args

    options = build_parser().parse_args(["--structured-output", "true", "--resource-links", "true"])
    chosen = settings_from_args(options)
    assert result_options(chosen, "claude-code", "2025-06-18").structured_output is True
    assert result_options(chosen, "mcp", "2025-06-18").resource_links is True


def test_every_preset_says_why() -> None:
    for preset in PRESETS:
        assert preset.names and len(preset.evidence) > 40
        assert any(value is not None for value in (preset.structured_output, preset.resource_links))


@pytest.mark.slow
def test_a_closed_stdin_ends_the_server_with_a_message(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    client = RawStdioClient(server_env)
    client.handshake()
    stderr = client.close()
    assert client.process.returncode == 0
    assert "stdin closed: the client ended the session; stopping" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_client_that_vanishes_mid_call_is_no_traceback_and_the_image_is_kept(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.inference_delay = 0.5
    client = RawStdioClient(server_env)
    client.handshake()
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "generate_image", "arguments": {"prompt": "x"}},
        }
    )
    client.process.stdout.close()  # type: ignore[union-attr]  # the client dies before the answer
    deadline = time.monotonic() + 30
    while not list(image_dir.glob("*.png")):  # the paid-for image is saved although nobody will read the answer
        assert time.monotonic() < deadline, "the image was never saved"
        time.sleep(0.05)
    time.sleep(1.0)  # the answer is written (and fails) right after the save
    client.process.stdout = None  # closed above; close() must not read it
    stderr = client.close()
    assert client.process.returncode == 0
    assert "the client closed its end of stdout" in stderr and "Traceback" not in stderr
    assert len(list(image_dir.glob("*.png"))) == 1  # the paid-for image was saved before the answer failed


@pytest.mark.slow
def test_a_malformed_read_is_invalid_params_not_resource_not_found(connect: Any, standin: RunningStandIn) -> None:
    answer = connect("raw", "2025-06-18").client.request("resources/read", {})
    assert answer["error"]["code"] == -32602


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_presets_apply_to_sdk_clients_on_both_protocol_eras(
    standin: RunningStandIn, settings: Settings, mode: str
) -> None:
    """A 2026-07-28 client names itself in each request's envelope, a legacy one at initialize: same preset."""
    from mcp_types import ImageContent, Implementation

    info = Implementation(name="claude-code", version="2.1")
    async with Client(build_server(settings), client_info=info, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("generate_image", {"prompt": "x"})
    assert tools["generate_image"].output_schema is None
    assert not result.is_error and result.structured_content is None
    assert any(isinstance(block, ImageContent) for block in result.content)


@pytest.mark.slow
def test_the_applied_preset_is_logged(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    client = RawStdioClient(server_env)
    client.handshake(name="codex-mcp-client")
    stderr = client.close()
    assert "client 'codex-mcp-client' version '1' (protocol '2025-06-18', initialize id 1): using the Codex" in stderr


def test_a_bad_resource_links_value_names_the_variable() -> None:
    from mcp_server_siliconflow_image.settings import SettingsError

    with pytest.raises(SettingsError, match="SILICONFLOW_RESOURCE_LINKS must be true or false"):
        Settings.load({"SILICONFLOW_RESOURCE_LINKS": "perhaps"})
