"""The first mistakes a new user makes get answers that say what to do, at once, through the installed server.

Each is driven as a user meets it: the console script over stdio with the MCP SDK's client (a key of the other
SiliconFlow site, a base URL without /v1, an address where nothing listens), or the command line (doctor's
flags after the subcommand, a closed stdin, images from before `~/Pictures` existed).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from mcp_server_siliconflow_image.credentials import refused_key_advice
from mcp_server_siliconflow_image.httpclient import NAME_UNKNOWN, unreachable_address
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn, render_image
from tests.helpers import (
    API_KEY,
    OWNER_TOKEN,
    client_as,
    first_text,
    generate,
    running_http_server,
    server_command,
    stdio_params,
    unused_port,
)

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
async def test_nothing_listening_on_loopback_is_a_setting_error_answered_after_a_brief_retry(
    server_env: dict[str, str],
) -> None:
    """A local gateway may be restarting, so it is tried again for a few seconds (see test_faults); then the answer
    is the setting to fix, not the 5 attempts over 15-20 s a passing network failure gets."""
    port = unused_port()
    messages: list[str] = []
    env = {**server_env, "SILICONFLOW_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    result = await generate(stdio_params(env), messages=messages)
    text = first_text(result)
    assert result.is_error and f"nothing listens at 127.0.0.1:{port} (connection refused)" in text
    assert "SILICONFLOW_BASE_URL" in text and "https://api.siliconflow.cn/v1" in text
    assert len([message for message in messages if "retrying" in message]) <= 3  # a retry and its heartbeats at most


async def test_a_refused_local_address_is_tried_again_for_a_few_seconds_only(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """With the real backoff (1 s, 2 s, 4 s …), a passing failure gets 4 retries over 15-20 s; a refused local
    address only the retries whose waits end within 3 s."""
    refused = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{unused_port()}/v1", retry_base_delay=1.0)
    with caplog.at_level(logging.INFO, logger="mcp_server_siliconflow_image.provider.client"):
        result = await generate(refused)
    retries = [record for record in caplog.records if "retrying in" in record.getMessage()]
    assert result.is_error and "nothing listens at 127.0.0.1:" in first_text(result)
    assert 1 <= len(retries) <= 2


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
    request = httpx2.Request("POST", "https://gateway.example.com/v1/images/generations")
    error = httpx2.ConnectError("All connection attempts failed", request=request)
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")  # a gateway restarting behind its address
    assert unreachable_address(error) is None
    error.__cause__ = socket.gaierror(-3, "Temporary failure in name resolution")  # a resolver down for now
    assert unreachable_address(error) is None
    error.__cause__ = socket.gaierror(next(iter(NAME_UNKNOWN)), "Name or service not known")
    assert str(unreachable_address(error)) == "the host name gateway.example.com does not resolve"


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [server_command(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=env["HOME"],
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_doctor_takes_the_servers_flags_after_the_subcommand(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    env = {"HOME": server_env["HOME"], "NO_PROXY": "127.0.0.1"}  # no variables: everything by flag
    flags = ["--base-url", standin.base_url, "--api-key", API_KEY, "--image-dir", str(image_dir)]
    flags += ["--transport", "http", "--port", "9000", "--log-level", "warning"]  # as copied from a server command
    done = run_cli(env, "doctor", "--json", *flags)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    assert standin.base_url in checks["endpoint"]["detail"] and checks["key"]["verdict"] == "ok"
    assert str(image_dir) in checks["image folder"]["detail"]
    before = run_cli(env, "--base-url", standin.base_url, "doctor", "--json", "--api-key", API_KEY)
    assert standin.base_url in before.stdout  # a flag before the subcommand still counts


@pytest.mark.slow
def test_started_with_stdin_closed_the_server_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" 0<&-', server_command()],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0 and done.stdout == ""
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "stdin is closed" in done.stderr and "demo" in done.stderr


def default_folders(home: Path) -> tuple[Path, Path]:
    """The per-user data folder and `~/Pictures/SiliconFlow`, the two default image folders on Linux."""
    return home / ".local/share/mcp-server-siliconflow-image/images", home / "Pictures" / "SiliconFlow"


def without_image_dir(server_env: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in server_env.items() if name != "SILICONFLOW_IMAGE_DIR"}


@pytest.mark.slow
async def test_images_stay_where_the_earlier_ones_are_when_pictures_appears_later(server_env: dict[str, str]) -> None:
    env = without_image_dir(server_env)
    data_folder, _ = default_folders(Path(env["HOME"]))
    first = await generate(stdio_params(env), prompt="before")
    assert Path(first.structured_content["images"][0]["path"]).parent == data_folder
    (Path(env["HOME"]) / "Pictures").mkdir()  # a desktop installed later makes ~/Pictures
    second = await generate(stdio_params(env), prompt="after")
    assert Path(second.structured_content["images"][0]["path"]).parent == data_folder
    async with Client(stdio_params(env)) as client:
        listed = await client.list_resources()
    assert len([resource for resource in listed.resources if resource.uri.endswith(".png")]) == 2  # none vanished


@pytest.mark.slow
def test_images_in_both_default_folders_are_named_by_the_server_and_the_doctor(server_env: dict[str, str]) -> None:
    env = without_image_dir(server_env)
    data_folder, pictures_folder = default_folders(Path(env["HOME"]))
    for folder in (data_folder, pictures_folder):  # e.g. an older version switched folders when ~/Pictures came
        folder.mkdir(parents=True)
        (folder / "20260101-000000-000000_seed1_1.png").write_bytes(render_image("pattern", "x", 1, (32, 32), 1)[0])
    served = run_cli(env)  # stdin is empty: the server starts, says where images go, and ends
    assert served.returncode == 0 and f"images of earlier runs are in {data_folder}" in served.stderr
    doctor = run_cli(env, "doctor", "--json")
    folder_check = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}["image folder"]
    assert folder_check["verdict"] == "warn"
    assert str(pictures_folder) in folder_check["detail"] and str(data_folder) in folder_check["detail"]
    shutil.rmtree(pictures_folder.parent)


@pytest.mark.slow
async def test_remote_callers_get_the_advice_without_the_servers_provider_address(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    """Over HTTP the caller did not configure the server, and a gateway's address may be internal: the advice
    says what is wrong without naming it."""
    env = {**server_env, "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN}
    wrong_key = {"X-SiliconFlow-Api-Key": "sk-a-callers-key-of-the-other-site"}
    with running_http_server(env) as (base, _):
        async with client_as(base, OWNER_TOKEN, **wrong_key) as client:
            refused = first_text(await client.call_tool("generate_image", {"prompt": "x"}))
    with running_http_server({**env, "SILICONFLOW_BASE_URL": standin.origin}) as (base, _):
        async with client_as(base, OWNER_TOKEN) as client:
            lacking = first_text(await client.call_tool("generate_image", {"prompt": "x"}))
    assert "X-SiliconFlow-Api-Key" in refused and "cloud.siliconflow.com" in refused
    assert "This server's SILICONFLOW_BASE_URL probably lacks /v1" in lacking
    assert standin.origin not in refused + lacking and "127.0.0.1" not in refused + lacking


@pytest.mark.slow
async def test_the_advice_for_a_gateway_with_a_password_in_its_url_keeps_the_password_out(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    origin = standin.origin.replace("http://", "http://team:gw-pass-7731@")
    refused = await generate(
        stdio_params(
            {**server_env, "SILICONFLOW_BASE_URL": f"{origin}/v1", "SILICONFLOW_API_KEY": "sk-wrong-0123456789"}
        )
    )
    lacking = await generate(stdio_params({**server_env, "SILICONFLOW_BASE_URL": origin}))
    assert "keys are per site" in first_text(refused) and "probably lacks /v1" in first_text(lacking)
    assert "team:[redacted]@127.0.0.1" in first_text(lacking) + first_text(refused)
    assert "gw-pass-7731" not in first_text(refused) + first_text(lacking)
