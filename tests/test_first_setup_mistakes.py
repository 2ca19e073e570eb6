"""The first mistakes a new user makes get answers that say what to do, at once, through the installed server.

Each is driven as a user meets it: the console script over stdio with the MCP SDK's client (a key of the other
SiliconFlow site, a base URL without /v1, an address where nothing listens), or the command line (doctor's
flags after the subcommand, a closed stdin, images from before `~/Pictures` existed).
"""

from __future__ import annotations

import socket

import httpx
import pytest

from mcp_server_siliconflow_image.credentials import refused_key_advice
from mcp_server_siliconflow_image.httpclient import NAME_UNKNOWN, unreachable_address
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import first_text, generate, stdio_params, unused_port

pytestmark = [pytest.mark.anyio]


@pytest.mark.slow
async def test_a_refused_key_says_the_cn_and_com_sites_keys_do_not_mix(server_env: dict[str, str]) -> None:
    wrong_site = {**server_env, "SILICONFLOW_API_KEY": "sk-from-the-other-site-0123456789"}
    result = await generate(stdio_params(wrong_site))
    text = first_text(result)
    assert result.is_error and "HTTP 401" in text
    assert "cloud.siliconflow.cn" in text and "cloud.siliconflow.com" in text
    assert "https://api.siliconflow.cn/v1" in text and "https://api.siliconflow.com/v1" in text
    assert "sk-from-the-other-site" not in text


def test_the_refused_key_advice_names_the_base_url_of_the_other_site() -> None:
    on_cn = refused_key_advice("SILICONFLOW_API_KEY", "https://api.siliconflow.cn/v1")
    on_com = refused_key_advice("SILICONFLOW_API_KEY", "https://api.siliconflow.com/v1")
    assert "from cloud.siliconflow.com, set SILICONFLOW_BASE_URL=https://api.siliconflow.com/v1" in on_cn
    assert "from cloud.siliconflow.cn, set SILICONFLOW_BASE_URL=https://api.siliconflow.cn/v1" in on_com


@pytest.mark.slow
async def test_a_base_url_without_v1_is_named_as_the_likely_mistake(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    result = await generate(stdio_params({**server_env, "SILICONFLOW_BASE_URL": standin.origin}))
    text = first_text(result)
    assert result.is_error and "HTTP 404" in text
    assert f"SILICONFLOW_BASE_URL={standin.origin} probably lacks /v1" in text and f"{standin.origin}/v1" in text
    assert "valid model ids" not in text  # the model is fine; it is the address


@pytest.mark.slow
async def test_nothing_listening_on_loopback_is_a_setting_error_answered_without_retries(
    server_env: dict[str, str],
) -> None:
    port = unused_port()
    messages: list[str] = []
    env = {**server_env, "SILICONFLOW_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    result = await generate(stdio_params(env), messages=messages)
    text = first_text(result)
    assert result.is_error and f"nothing listens at 127.0.0.1:{port} (connection refused)" in text
    assert "SILICONFLOW_BASE_URL" in text and "https://api.siliconflow.cn/v1" in text
    assert not [message for message in messages if "retrying" in message]  # answered at once, not after 15 s


def resolver_says_names_do_not_exist() -> bool:
    try:
        socket.getaddrinfo("api.siliconflow.invalid", 443)
    except socket.gaierror as error:
        return error.errno in NAME_UNKNOWN
    return False


@pytest.mark.slow
async def test_a_host_name_that_does_not_resolve_is_a_setting_error(server_env: dict[str, str]) -> None:
    if not resolver_says_names_do_not_exist():
        pytest.skip("this machine's resolver cannot say that a name does not exist (no DNS): that case is retried")
    messages: list[str] = []
    env = {**server_env, "SILICONFLOW_BASE_URL": "https://api.siliconflow.invalid/v1"}
    result = await generate(stdio_params(env), messages=messages)
    assert result.is_error and "the host name api.siliconflow.invalid does not resolve" in first_text(result)
    assert not [message for message in messages if "retrying" in message]


def test_a_refused_connection_to_a_remote_host_may_pass_and_stays_retried() -> None:
    request = httpx.Request("POST", "https://gateway.example.com/v1/images/generations")
    error = httpx.ConnectError("All connection attempts failed", request=request)
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")  # a gateway restarting behind its address
    assert unreachable_address(error) is None
    error.__cause__ = socket.gaierror(-3, "Temporary failure in name resolution")  # a resolver down for now
    assert unreachable_address(error) is None
    error.__cause__ = socket.gaierror(next(iter(NAME_UNKNOWN)), "Name or service not known")
    assert unreachable_address(error) == "the host name gateway.example.com does not resolve"
