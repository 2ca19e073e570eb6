"""A real old client: MCP SDK 1.9 (protocol 2025-03-26, no resource_link type) in its own venv in `.cache/`.

Provisioned from PyPI on first run (pinned; pydantic pinned too, since SDK 1.9 predates pydantic 2.11); a failed
install skips locally and fails under CI, like the other outside clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.external_tools import provisioned_venv, run_client_script
from tests.images import encode

pytestmark = [pytest.mark.external, pytest.mark.slow]
OLD_SDK = ("mcp==1.9.4", "pydantic==2.10.6")


@pytest.fixture(scope="session")
def old_sdk_python() -> Path:
    return provisioned_venv(
        "mcp-1.9-venv", OLD_SDK, "import mcp.types as t; assert t.LATEST_PROTOCOL_VERSION == '2025-03-26'"
    )


def run_old_client(
    python: Path, env: dict[str, str], calls: list[tuple[str, dict[str, Any]]], client_name: str | None = None
) -> dict[str, Any]:
    """`calls` through MCP SDK 1.9's ClientSession; `client_name` None keeps the SDK's default ("mcp")."""
    return run_client_script(python, "old_sdk_session.py", {"calls": calls, "client_name": client_name}, env)


def test_an_sdk_1_9_client_parses_every_result(
    old_sdk_python: Path, standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(encode("PNG", (64, 48)))
    calls: list[tuple[str, dict[str, Any]]] = [
        ("generate_image", {"prompt": "x", "batch_size": 2}),
        ("generate_image", {"prompt": "x", "model": "black-forest-labs/FLUX.1-dev", "batch_size": 2}),
        ("edit_image", {"image": str(source), "prompt": "make it blue"}),
        ("list_models", {}),
    ]
    env = {**server_env, "SILICONFLOW_INPUT_DIRS": str(tmp_path)}
    answer = run_old_client(old_sdk_python, env, calls, client_name="old-agent")  # no preset: the version decides
    assert answer["protocol"] == "2025-03-26"
    for call in answer["calls"]:
        assert call["parsed"], call["error"]
        assert not call["is_error"], call["text"]
        assert "resource_link" not in call["types"]
    generated = answer["calls"][0]
    assert generated["types"] == ["image", "image", "text"]
    assert generated["text"].count("siliconflow-image://images/") == 2  # the links' information, as text


def test_an_explicit_resource_links_variable_cannot_break_an_old_client(
    old_sdk_python: Path, standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    """The protocol has no resource_link type: no setting can send one to a 2025-03-26 client."""
    env = {**server_env, "SILICONFLOW_RESOURCE_LINKS": "true"}
    [call] = run_old_client(old_sdk_python, env, [("generate_image", {"prompt": "x"})], "old-agent")["calls"]
    assert call["parsed"], call["error"]
    assert call["types"] == ["image", "text"]
