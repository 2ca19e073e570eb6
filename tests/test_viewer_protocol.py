"""The image viewer at the protocol level: what Apps hosts are offered, and that other clients see no change."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextResourceContents

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import MCP_HEADERS, running_http_server, stdio_params

pytestmark = pytest.mark.anyio
VIEW_URI = "ui://siliconflow-image/viewer.html"


def apps_host(settings: Settings) -> Client:
    """A client that negotiates MCP Apps, as Claude, VS Code and other Apps hosts do."""
    return Client(build_server(settings), extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})])


def plain_client(settings: Settings) -> Client:
    return Client(build_server(settings))


async def test_the_server_advertises_the_apps_extension(settings: Settings) -> None:
    async with apps_host(settings) as client:
        capabilities = client.server_capabilities
    assert capabilities.extensions is not None and EXTENSION_ID in capabilities.extensions


async def test_the_generating_tools_name_the_view_for_apps_hosts(settings: Settings) -> None:
    async with apps_host(settings) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("generate_image", "edit_image", "generate_video", "get_video"):
        meta = tools[name].meta or {}
        assert meta["ui"] == {"resourceUri": VIEW_URI}
        assert meta["anthropic/maxResultSizeChars"] == 500_000, "the view's meta joins the existing meta"
    assert "ui" not in (tools["list_models"].meta or {})


async def test_the_view_is_listed_and_readable_as_an_mcp_app(settings: Settings) -> None:
    async with apps_host(settings) as client:
        listed = (await client.list_resources()).resources
        read = await client.read_resource(VIEW_URI)
    view = next(resource for resource in listed if resource.uri == VIEW_URI)
    assert view.mime_type == APP_MIME_TYPE
    [contents] = read.contents
    assert isinstance(contents, TextResourceContents)
    assert contents.mime_type == APP_MIME_TYPE
    ui = (contents.meta or {})["ui"]
    assert all(domains == [] for domains in ui["csp"].values()), "the CSP allows no outside origin"
    assert set(ui["csp"]) == {"connectDomains", "resourceDomains", "frameDomains", "baseUriDomains"}
    assert contents.text.lstrip().lower().startswith("<!doctype html>")


async def test_the_view_loads_nothing_from_outside(settings: Settings) -> None:
    async with apps_host(settings) as client:
        read = await client.read_resource(VIEW_URI)
    [contents] = read.contents
    assert isinstance(contents, TextResourceContents)
    html = contents.text
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html, re.IGNORECASE)
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(", html)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html)
    assert "https://" not in html and "http://" not in html


async def test_clients_without_apps_see_no_view(settings: Settings) -> None:
    async with plain_client(settings) as client:
        tools = (await client.list_tools()).tools
        listed = (await client.list_resources()).resources
    assert all("ui" not in (tool.meta or {}) for tool in tools)
    generate = next(tool for tool in tools if tool.name == "generate_image")
    assert generate.meta == {"anthropic/maxResultSizeChars": 500_000}, "exactly the meta they had before"
    assert all(not str(resource.uri).startswith("ui://") for resource in listed)


async def test_results_are_the_same_with_and_without_apps(settings: Settings, standin: RunningStandIn) -> None:
    arguments = {"prompt": "a tidal pool", "seed": 11, "batch_size": 2}
    async with apps_host(settings) as client:
        with_apps = await client.call_tool("generate_image", arguments)
    async with plain_client(settings) as client:
        without = await client.call_tool("generate_image", arguments)
    assert _shape(with_apps) == _shape(without)
    assert not with_apps.is_error and len(_images(with_apps)) == 2


def _images(result: CallToolResult) -> list[dict[str, Any]]:
    assert result.structured_content is not None
    images: list[dict[str, Any]] = result.structured_content["images"]
    return images


def _shape(result: CallToolResult) -> Any:
    """The result with file names, times and the provider's trace ids taken out: the rest must be identical."""
    dumped = json.dumps(result.model_dump(mode="json", by_alias=True, exclude={"meta"}))
    dumped = re.sub(r"ti_[0-9a-f]+", "<trace id>", dumped)
    return json.loads(re.sub(r"\d{8}-\d{6}-\d{6}", "<stamp>", dumped))


async def test_the_saved_images_page_for_apps_hosts_starts_with_the_view_only_once(
    settings: Settings, standin: RunningStandIn
) -> None:
    async with apps_host(settings) as client:
        await client.call_tool("generate_image", {"prompt": "a heron", "batch_size": 2})
        listed = (await client.list_resources()).resources
    assert listed[0].uri == VIEW_URI
    assert [str(resource.uri) for resource in listed].count(VIEW_URI) == 1
    assert len([resource for resource in listed if str(resource.uri).startswith("siliconflow-image://")]) == 2


async def test_each_images_sidecar_is_readable_next_to_it(settings: Settings, standin: RunningStandIn) -> None:
    async with plain_client(settings) as client:
        result = await client.call_tool("generate_image", {"prompt": "a fox in snow", "seed": 5})
        [image] = _images(result)
        read = await client.read_resource(image["uri"] + ".json")
        templates = (await client.list_resource_templates()).resource_templates
    [contents] = read.contents
    assert isinstance(contents, TextResourceContents) and contents.mime_type == "application/json"
    sidecar = json.loads(contents.text)
    assert sidecar["prompt"] == "a fox in snow" and sidecar["seed"] == 5 and sidecar["sha256"] == image["sha256"]
    assert sidecar == json.loads(Path(image["path"] + ".json").read_text())
    assert "siliconflow-image://images/{name}.json" in [template.uri_template for template in templates]


@pytest.mark.parametrize(
    "uri",
    [
        "siliconflow-image://images/notes.json",  # a JSON file that is no image's sidecar
        "siliconflow-image://images/20260101-000000-000000_seed1_9.png.json",  # no such image
        "siliconflow-image://images/..%2F..%2Fsecret.png.json",
        "siliconflow-image://images/.hidden.png.json",
        "siliconflow-image://images/linked.png.json",  # a symlink to a file outside the folder
        "siliconflow-image://images/folder.png.json",  # not a regular file
        "siliconflow-image://images/huge.png.json",
    ],
)
async def test_sidecars_outside_the_rules_are_refused(settings: Settings, image_dir: Path, uri: str) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    (image_dir / "notes.json").write_text('{"private": true}')
    (image_dir.parent / "secret.png.json").write_text('{"private": true}')
    (image_dir / ".hidden.png.json").write_text('{"private": true}')
    (image_dir / "linked.png.json").symlink_to(image_dir.parent / "secret.png.json")
    (image_dir / "folder.png.json").mkdir()
    (image_dir / "huge.png.json").write_text('{"private": "' + "x" * 2_000_000 + '"}')
    async with plain_client(settings) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert "private" not in str(refused.value)


LEGACY_HEADERS = {**MCP_HEADERS, "mcp-protocol-version": "2025-06-18"}


def _legacy_tools_list(base: str, capabilities: dict[str, Any]) -> dict[str, Any]:
    """tools/list after an initialize on the older (2025-06-18) handshake, as most hosts still speak it."""
    client = {"name": "legacy-host", "version": "1"}
    params = {"protocolVersion": "2025-06-18", "capabilities": capabilities, "clientInfo": client}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    session = httpx.post(f"{base}/mcp", json=initialize, headers=MCP_HEADERS).headers.get("mcp-session-id")
    headers = {**LEGACY_HEADERS, **({"mcp-session-id": session} if session else {})}
    httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    answer = httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
    body = answer.text
    tools: dict[str, Any] = json.loads(body[body.index("{") : body.rindex("}") + 1])["result"]
    return {tool["name"]: tool.get("_meta", {}) for tool in tools["tools"]}


@pytest.mark.slow
async def test_over_http_apps_hosts_get_the_view_even_when_stateless(server_env: dict[str, str]) -> None:
    apps = {"extensions": {EXTENSION_ID: {"mimeTypes": [APP_MIME_TYPE]}}}
    with running_http_server(server_env) as (base, _):
        stateful_apps, stateful_plain = _legacy_tools_list(base, apps), _legacy_tools_list(base, {})
    with running_http_server(server_env, "--stateless") as (base, _):
        stateless_apps = _legacy_tools_list(base, apps)
    assert stateful_apps["generate_image"]["ui"] == {"resourceUri": VIEW_URI}
    assert "ui" not in stateful_plain["generate_image"]
    # stateless, the server cannot know what was negotiated: it keeps the key other clients ignore
    assert stateless_apps["generate_image"]["ui"] == {"resourceUri": VIEW_URI}


@pytest.mark.slow
async def test_an_apps_host_over_stdio_is_offered_the_view(server_env: dict[str, str]) -> None:
    apps = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
    async with Client(stdio_params(server_env), extensions=apps) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        read = await client.read_resource(VIEW_URI)
    assert (tools["generate_image"].meta or {})["ui"]["resourceUri"] == VIEW_URI
    assert read.contents[0].mime_type == APP_MIME_TYPE
