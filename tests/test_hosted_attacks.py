"""What a hosted instance's callers must never share, tried the way a hostile or an unlucky caller would:
through real MCP clients over streamable HTTP, each with its own token or provider key."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.helpers import (
    INITIALIZE,
    MCP_HEADERS,
    OWNER_TOKEN,
    client_as,
    first_text,
    running_http_server,
    server_command,
    unused_port,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

KEY_A = "sk-alice-own-key-0123456789abcdef"
KEY_B = "sk-bob-own-key-fedcba9876543210"


class RecordingServer(ThreadingHTTPServer):
    seen: list[tuple[str, str | None]]
    """Each request's key and the cookie it came with."""


class CookieSettingGateway(BaseHTTPRequestHandler):
    """A compatible gateway that opens a session per key with a cookie, as many proxies and load balancers do,
    and records the cookie each request came with."""

    server: RecordingServer

    def do_GET(self) -> None:
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.server.seen.append((key, self.headers.get("Cookie")))
        if self.path.startswith("/v1/models"):
            body: object = {"data": [{"id": "Kwai-Kolors/Kolors"}]}
        else:
            body = {"data": {"totalBalance": "5.00" if key == KEY_A else "0.01"}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", f"gateway_session=session-of-{key}; Path=/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def cookie_setting_gateway() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    server = RecordingServer(("127.0.0.1", 0), CookieSettingGateway)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", server.seen
    finally:
        server.shutdown()
        server.server_close()


async def test_a_cookie_the_gateway_set_for_one_callers_key_never_rides_on_anothers(
    server_env: dict[str, str],
) -> None:
    with cookie_setting_gateway() as (gateway, seen):
        env = {**server_env, "SILICONFLOW_BASE_URL": gateway, "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN}
        with running_http_server(env, "--stateless") as (base, _):
            answers = {}
            for key in (KEY_A, KEY_B):
                async with client_as(base, OWNER_TOKEN, **{"X-SiliconFlow-Api-Key": key}) as client:
                    answers[key] = await client.call_tool("list_models", {})

    assert all(not answer.is_error for answer in answers.values()), [first_text(a) for a in answers.values()]
    assert {key for key, _ in seen} == {KEY_A, KEY_B}
    carried = [(key, cookie) for key, cookie in seen if cookie is not None]
    assert carried == []  # bob's requests went out without alice's gateway session (nor she with bob's)


@pytest.mark.parametrize(
    ("variables", "flags"),
    [
        ({"SILICONFLOW_MCP_TOKEN": "${MCP_TOKEN}"}, []),
        ({}, ["--mcp-token=${MCP_TOKEN}"]),
        ({"SILICONFLOW_MCP_TOKENS_FILE": "${TEAM_TOKENS_FILE}"}, []),
    ],
)
def test_an_unfilled_token_placeholder_stops_the_server_instead_of_opening_it(
    server_env: dict[str, str], variables: dict[str, str], flags: list[str]
) -> None:
    """A deploy template whose `${...}` was never filled must not start a server that asks nobody for a token."""
    port = unused_port()
    process = subprocess.Popen(
        [server_command(), "--transport", "http", "--port", str(port), *flags],
        env={**os.environ, **server_env, **variables},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            pytest.fail(f"the server started and answered a caller without a token: HTTP {answer.status_code}")
        assert process.poll() not in (None, 0), "the server neither stopped nor answered"
        stderr = process.stderr.read().decode() if process.stderr else ""
        name = next(iter(variables), "--mcp-token")
        assert f"{name} is the unfilled placeholder" in stderr, stderr
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)
