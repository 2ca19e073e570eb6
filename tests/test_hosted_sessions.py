"""A stateful HTTP session belongs to the token that opened it: any other token finds no such session."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import INITIALIZE, MCP_HEADERS, OWNER_TOKEN, TOKEN_A, TOKEN_B, running_http_server, write_tokens

LIST_RESOURCES = {"jsonrpc": "2.0", "id": 2, "method": "resources/list", "params": {}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}

pytestmark = pytest.mark.slow


def as_token(token: str, session: str | None = None) -> dict[str, str]:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}", "MCP-Protocol-Version": "2025-06-18"}
    return {**headers, "Mcp-Session-Id": session} if session is not None else headers


def open_session(http: httpx.Client, base: str, token: str) -> str:
    opened = http.post(f"{base}/mcp", json=INITIALIZE, headers=as_token(token))
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    http.post(f"{base}/mcp", json=INITIALIZED, headers=as_token(token, session)).raise_for_status()
    return session


def stream_status(http: httpx.Client, url: str, headers: dict[str, str]) -> int:
    """The status of a GET for the session's event stream, without waiting for events that may never come."""
    with http.stream("GET", url, headers={**headers, "Accept": "text/event-stream"}) as answer:
        return answer.status_code


def test_another_token_cannot_post_to_stream_from_or_delete_a_session(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    write_tokens(tokens, [f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"])
    env = {**server_env, "SILICONFLOW_MCP_TOKENS_FILE": str(tokens), "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN}
    with running_http_server(env) as (base, _), httpx.Client(timeout=10) as http:
        alices = open_session(http, base, TOKEN_A)
        strangers = {
            "bob": as_token(TOKEN_B, alices),
            "the server's own token": as_token(OWNER_TOKEN, alices),
        }
        answers, bodies = {}, set()
        for who, headers in strangers.items():
            bodies.add(http.post(f"{base}/mcp", json=LIST_RESOURCES, headers=headers).text)
            answers[who] = (
                http.post(f"{base}/mcp", json=LIST_RESOURCES, headers=headers).status_code,
                stream_status(http, f"{base}/mcp", headers),
                http.delete(f"{base}/mcp", headers=headers).status_code,
            )
        unknown = http.post(f"{base}/mcp", json=LIST_RESOURCES, headers=as_token(TOKEN_B, "no-such-session"))
        still_alices = http.post(f"{base}/mcp", json=LIST_RESOURCES, headers=as_token(TOKEN_A, alices))
        ended_by_alice = http.delete(f"{base}/mcp", headers=as_token(TOKEN_A, alices))

    assert answers == {who: (404, 404, 404) for who in strangers}
    assert unknown.status_code == 404 and bodies == {unknown.text}  # told nothing an unknown id would not tell
    assert still_alices.status_code == 200 and '"resources"' in still_alices.text  # the session survived
    assert ended_by_alice.status_code == 200
