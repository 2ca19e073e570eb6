"""Streamable HTTP at /mcp: auth, DNS-rebinding defence, health, shutdown, and the full bytes for remote clients."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import ResourceLink

from mcp_server_siliconflow_image.hosting.http import check_http_exposure
from mcp_server_siliconflow_image.settings import Secret, Settings, SettingsError
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import (
    INITIALIZE,
    MCP_HEADERS,
    blob_bytes,
    first_text,
    running_http_server,
    server_command,
    unused_port,
)
from tests.images import encode

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
TOKEN = "mcp-token-for-tests-7f3a"
HttpServer = Callable[..., AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]]


@pytest.fixture
def http_server(server_env: dict[str, str]) -> HttpServer:
    def start(*args: str, **env: str) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
        return running_http_server({**server_env, **env}, *args)

    return start


def authorised_client(url: str, token: str = TOKEN) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http))


async def test_generate_and_read_back_over_http(standin: RunningStandIn, http_server: HttpServer) -> None:
    with http_server() as (base, _):
        async with Client(f"{base}/mcp") as client:
            result = await client.call_tool("generate_image", {"prompt": "a comet", "seed": 3})
            assert not result.is_error, result.content
            link = next(block for block in result.content if isinstance(block, ResourceLink))
            read = await client.read_resource(link.uri)
    assert blob_bytes(read) == next(iter(standin.state.images.values())).data
    assert "/" not in link.uri.removeprefix("siliconflow-image://images/")


async def test_token_is_required_and_checked(standin: RunningStandIn, http_server: HttpServer) -> None:
    with http_server(SILICONFLOW_MCP_TOKEN=TOKEN) as (base, _):
        missing = httpx.post(f"{base}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        wrong = httpx.post(f"{base}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": "Bearer nope"})
        health = httpx.get(f"{base}/healthz")
        async with authorised_client(f"{base}/mcp") as client:
            result = await client.call_tool("generate_image", {"prompt": "locked"})
            link = next(block for block in result.content if isinstance(block, ResourceLink))
            read = await client.read_resource(link.uri)
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in missing.text
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert not result.is_error
    assert blob_bytes(read) == next(iter(standin.state.images.values())).data


async def test_foreign_host_header_is_refused(standin: RunningStandIn, http_server: HttpServer) -> None:
    with http_server(SILICONFLOW_MCP_TOKEN=TOKEN) as (base, _):
        headers = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        rebinding = httpx.post(f"{base}/mcp", json=INITIALIZE, headers={**headers, "Host": "evil.example:8000"})
        foreign_origin = httpx.post(
            f"{base}/mcp", json=INITIALIZE, headers={**headers, "Origin": "https://evil.example"}
        )
        fine = httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers)
    assert rebinding.status_code == 421
    assert foreign_origin.status_code == 403
    assert fine.status_code == 200


async def test_allowed_host_lets_a_real_hostname_through(standin: RunningStandIn, http_server: HttpServer) -> None:
    with http_server("--allowed-host", "images.example.com") as (base, _):
        answer = httpx.post(f"{base}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Host": "images.example.com"})
    assert answer.status_code == 200


def test_refuses_to_listen_beyond_loopback_without_a_token(server_env: dict[str, str]) -> None:
    done = subprocess.run(
        [server_command(), "--transport", "http", "--host", "0.0.0.0", "--port", str(unused_port())],
        env={**os.environ, **server_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without SILICONFLOW_MCP_TOKEN" in done.stderr


@pytest.mark.parametrize("token", ["hunter2", "a token with spaces in it"])
def test_refuses_to_serve_behind_a_token_that_can_be_guessed(server_env: dict[str, str], token: str) -> None:
    """The operator's token is held to the rule of the tokens file's: a short one is guessed by whoever can reach
    the server, and that spends the key's credits."""
    done = subprocess.run(
        [server_command(), "--transport", "http", "--host", "0.0.0.0", "--port", str(unused_port())],
        env={**os.environ, **server_env, "SILICONFLOW_MCP_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SILICONFLOW_MCP_TOKEN must be at least 16 characters without spaces" in done.stderr
    assert "openssl rand" in done.stderr and token not in done.stderr


@pytest.mark.parametrize(
    ("token", "named"),
    [
        ("0123456789abcdef" * 3 + "\n", "a line break at character 49"),  # a secret file's last line break
        ("é" * 16, "a non-ASCII character at character 1"),
        ("0123456789abcde\u200b", "an invisible zero-width space at character 16"),
        ("\x00" * 16, "a control character at character 1"),
    ],
)
def test_a_token_clients_cannot_send_stops_the_server_naming_the_character(token: str, named: str) -> None:
    """A line break, a non-ASCII or an invisible character never reaches the server as written in a header, so
    every request would be refused; the refusal says which character, not that the token is short."""
    with pytest.raises(SettingsError) as refused:
        check_http_exposure(Settings(transport="http", host="0.0.0.0", mcp_token=Secret(token)))
    said = str(refused.value)
    assert said.startswith("SILICONFLOW_MCP_TOKEN must be at least 16 characters") and named in said
    assert "guessed" not in said and token not in said


def test_sigterm_shuts_down_gracefully(server_env: dict[str, str]) -> None:
    with running_http_server(server_env) as (_, process):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert "stopped after SIGTERM" in process.stderr.read().decode()  # type: ignore[union-attr]


async def test_stateless_mode_serves_independent_requests(standin: RunningStandIn, http_server: HttpServer) -> None:
    with http_server("--stateless") as (base, _):
        async with Client(f"{base}/mcp") as client:
            first = await client.call_tool("generate_image", {"prompt": "one"})
            second = await client.call_tool("list_models", {})
    assert not first.is_error and not second.is_error


async def test_edit_over_http_reads_no_local_files_by_default(
    standin: RunningStandIn, http_server: HttpServer, tmp_path: Path
) -> None:
    photo = tmp_path / "home" / "photo.png"
    photo.write_bytes(encode("PNG"))
    with http_server() as (base, _):
        async with Client(f"{base}/mcp") as client:
            refused = await client.call_tool("edit_image", {"image": str(photo), "prompt": "x"})
            inline = await client.call_tool(
                "edit_image", {"image": base64.b64encode(encode("PNG")).decode(), "prompt": "x"}
            )
    assert refused.is_error and "reads no local files" in first_text(refused)
    assert not inline.is_error
    assert len(standin.state.requests) == 1


async def test_edit_over_http_reads_local_files_when_allowed(
    standin: RunningStandIn, http_server: HttpServer, tmp_path: Path
) -> None:
    photo = tmp_path / "home" / "photo.png"
    photo.write_bytes(encode("PNG"))
    with http_server(SILICONFLOW_INPUT_DIRS=str(photo.parent)) as (base, _):
        async with Client(f"{base}/mcp") as client:
            result = await client.call_tool("edit_image", {"image": str(photo), "prompt": "x"})
    assert not result.is_error, first_text(result)
