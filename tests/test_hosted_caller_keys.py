"""A caller's own provider key (X-SiliconFlow-Api-Key) sees its own account, never the team's, and the
team never sees what the provider said about someone else's key."""

from __future__ import annotations

import dataclasses

import pytest
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.pipeline import execute
from mcp_server_siliconflow_image.settings import Secret, Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import OWNER_TOKEN, USER_KEY, client_as, first_text, running_http_server, serving_http_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WRONG_KEY = "sk-someone-elses-revoked-key-42"


async def list_models(base: str, **headers: str) -> CallToolResult:
    async with client_as(base, OWNER_TOKEN, **headers) as client:
        return await client.call_tool("list_models", {})


@pytest.mark.parametrize("first", ["team", "caller with a wrong key"])
async def test_account_answers_are_kept_per_key(
    standin: RunningStandIn, server_env: dict[str, str], first: str
) -> None:
    standin.state.balance = "12.34"
    env = {**server_env, "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN}
    with running_http_server(env, "--stateless") as (base, _):
        wrong = {"X-SiliconFlow-Api-Key": WRONG_KEY}
        if first == "team":
            team = await list_models(base)
            stranger = await list_models(base, **wrong)
        else:
            stranger = await list_models(base, **wrong)
            team = await list_models(base)
        async with client_as(base, OWNER_TOKEN, **wrong) as client:
            generated = await client.call_tool("generate_image", {"prompt": "on my own key"})

    assert not team.is_error, first_text(team)
    assert team.structured_content is not None
    assert team.structured_content["balance"]["total_balance"] == "12.34"  # not "balance unavailable"
    assert team.structured_content["source"] == "live" and team.structured_content["balance_note"] is None

    said = first_text(stranger)
    assert stranger.is_error and "12.34" not in said  # the team's balance is not this key's
    assert "X-SiliconFlow-Api-Key" in said and "401" in said  # what is wrong, and with which key
    assert generated.is_error and "X-SiliconFlow-Api-Key" in first_text(generated)
    assert "SILICONFLOW_API_KEY" not in said + first_text(generated)  # the server's key is not the one at fault
    assert standin.state.requests == []  # nothing was generated on anyone's account


async def test_an_unexpected_failure_never_shows_the_callers_own_key(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(f"something internal broke near {USER_KEY}")

    monkeypatch.setattr(execute, "build_result", broken)
    monkeypatch.setattr(standin.state, "api_key", USER_KEY)  # the provider answers the caller's own key only
    hosted = dataclasses.replace(settings, transport="http", mcp_token=Secret(OWNER_TOKEN))
    with serving_http_in_thread(hosted) as base:
        async with client_as(base, OWNER_TOKEN, **{"X-SiliconFlow-Api-Key": USER_KEY}) as client:
            result = await client.call_tool("generate_image", {"prompt": "on my own key"})
    said = first_text(result)
    assert result.is_error and said.startswith("generate_image failed unexpectedly inside this server")
    assert USER_KEY[:8] not in said and "[redacted]" in said
    assert "something internal broke near [redacted]" in caplog.text and USER_KEY[:8] not in caplog.text
