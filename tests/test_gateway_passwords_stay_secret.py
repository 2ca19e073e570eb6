"""A gateway URL with a password in it (`https://user:pass@gateway/v1`, or a token alone: `https://token@gateway/v1`):
the key still goes as `Bearer`, and the password shows up nowhere: not on the wire, not in results, sidecars, errors
or logs.

httpx would turn the URL's userinfo into Basic auth in place of the Bearer key (the stand-in would then refuse
the call with 401); the server drops the userinfo from its requests instead, and redacts it wherever it names
the URL (the sidecar's `provider`, connection errors).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import first_text, generate, unused_port
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.anyio

PASSWORD = "gw-Pa55-9f3b1c7e"


USERINFO = {
    "user and password": (f"gateway-user:{PASSWORD}", "gateway-user:[redacted]"),
    "token": (PASSWORD, "[redacted]"),
    "token with an empty password": (f"{PASSWORD}:", "[redacted]"),
    "user that is an address": (f"me@corp.example:{PASSWORD}", "me@corp.example:[redacted]"),
}
"""How the secret is written in the URL's userinfo, and how it is shown."""


def behind_a_password(base_url: str, userinfo: str = "user and password") -> str:
    return base_url.replace("http://", f"http://{USERINFO[userinfo][0]}@")


@pytest.mark.parametrize("userinfo", USERINFO)
async def test_the_key_is_sent_and_the_password_is_kept_out_of_results_and_sidecars(
    standin: RunningStandIn, settings: Settings, image_dir: Path, userinfo: str
) -> None:
    gateway = dataclasses.replace(settings, base_url=behind_a_password(standin.base_url, userinfo))
    result = await generate(gateway, prompt="a lighthouse")
    assert not result.is_error, first_text(result)  # the stand-in checked the Bearer key
    [image] = result.structured_content["images"]
    sidecar = json.loads(Path(f"{image['path']}.json").read_text())
    shown = USERINFO[userinfo][1]
    assert sidecar["provider"] == f"http://{shown}@{standin.origin.removeprefix('http://')}/v1"
    assert PASSWORD not in result.model_dump_json()
    assert all(PASSWORD not in path.read_text(errors="replace") for path in image_dir.iterdir())


@pytest.mark.parametrize("userinfo", USERINFO)
@pytest.mark.parametrize("failure", ["provider error", "unreachable", "dropped connection"])
async def test_errors_naming_a_gateway_never_show_its_password(
    standin: RunningStandIn, settings: Settings, failure: str, userinfo: str
) -> None:
    base_url = standin.base_url if failure != "unreachable" else f"http://127.0.0.1:{unused_port()}/v1"
    if failure == "provider error":  # a gateway echoing the credential, without the URL around it
        standin.state.faults.append(Fault(status=400, body={"message": f"bad credential {PASSWORD}"}))
    elif failure == "dropped connection":
        standin.state.faults.append(Fault(kind="reset"))
    result = await generate(dataclasses.replace(settings, base_url=behind_a_password(base_url, userinfo)))
    assert result.is_error
    assert PASSWORD not in result.model_dump_json()
    if failure != "provider error":
        assert f"/{USERINFO[userinfo][1]}@127.0.0.1" in first_text(result)


@pytest.mark.slow
def test_over_stdio_the_password_is_in_no_output_no_log_and_no_file(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.faults.append(Fault(status=500, times=1))
    env = {**server_env, "SILICONFLOW_BASE_URL": behind_a_password(standin.base_url)}
    client = RawStdioClient(env, "--log-level", "DEBUG")
    try:
        client.handshake()
        answers = [
            client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": prompt}})
            for prompt in ("refused", "made")
        ]
    finally:
        stderr = client.close()
    assert answers[0]["result"]["isError"] is True and "HTTP 500" in answers[0]["result"]["content"][0]["text"]
    assert answers[1]["result"].get("isError") is not True
    assert "DEBUG" in stderr  # the log really was verbose
    stdout = b"".join(client.raw_lines).decode()
    for channel in (stdout, stderr):
        assert PASSWORD not in channel
    saved = [path for path in image_dir.rglob("*") if path.is_file()]
    assert len(saved) == 2 and all(PASSWORD.encode() not in path.read_bytes() for path in saved)
