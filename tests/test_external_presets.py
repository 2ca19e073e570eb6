"""The API reference's rules and the client presets through clients nobody here wrote.

The MCP Inspector CLI (npm) and langchain-mcp-adapters (MCP SDK 1.x) are provisioned into `.cache/` by the
fixtures in conftest.py (tests/external_tools.py); these tests skip only where Node.js is absent (failing under CI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.external_tools import env_flags, inspector, parse, run_langchain
from tests.helpers import server_command

pytestmark = [pytest.mark.external, pytest.mark.slow]
FLUX = "black-forest-labs/FLUX.1-dev"


def inspector_call(node_bin: Path, env: dict[str, str], tool: str, *arguments: str) -> Any:
    call = ["--method", "tools/call", "--tool-name", tool]
    return parse(
        inspector(
            node_bin, server_command(), *env_flags(env), *call, *(["--tool-arg", *arguments] if arguments else [])
        )
    )


def test_inspector_gets_a_fanned_out_flux_batch(
    node_bin: Path, standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    result = inspector_call(node_bin, server_env, "generate_image", "prompt=a kite", f"model={FLUX}", "batch_size=3")
    assert result.get("isError") is not True
    images = result["structuredContent"]["images"]
    assert len({image["seed"] for image in images}) == 3
    assert sorted(image["seed"] for image in images) == sorted(body["seed"] for body in standin.state.requests)
    assert [block["type"] for block in result["content"]].count("resource_link") == 3
    for image in images:
        sidecar = json.loads(Path(f"{image['path']}.json").read_text())
        assert sidecar["trace_id"] == image["trace_id"] and image["trace_id"].startswith("ti_")


def test_inspector_sees_the_balance(node_bin: Path, standin: RunningStandIn, server_env: dict[str, str]) -> None:
    standin.state.balance = "7.50"
    listing = inspector_call(node_bin, server_env, "list_models")
    assert listing["structuredContent"]["balance"]["total_balance"] == "7.50"
    assert "Account balance: 7.50" in listing["content"][0]["text"]


def langchain_result(python: Path, env: dict[str, str]) -> str:
    return str(run_langchain(python, env, {"prompt": "a paper crane", "seed": 5})["result"])


UNFETCHABLE_IMAGE_URL = "'url': 'siliconflow-image://"
"""What langchain-mcp-adapters makes of an image resource_link: an image block no model API can fetch."""


def test_langchains_preset_leaves_out_links_it_would_turn_into_unfetchable_urls(
    langchain_python: Path, standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    result = langchain_result(langchain_python, server_env)
    assert UNFETCHABLE_IMAGE_URL not in result
    assert result.count("'type': 'image'") == 1  # the inline picture itself still arrives
    assert "siliconflow-image://images/" in result  # and the URI, as text


@pytest.mark.parametrize("value", ["true", "1"])
def test_langchains_preset_yields_to_the_variable(
    langchain_python: Path, standin: RunningStandIn, server_env: dict[str, str], value: str
) -> None:
    result = langchain_result(langchain_python, {**server_env, "SILICONFLOW_RESOURCE_LINKS": value})
    assert UNFETCHABLE_IMAGE_URL in result  # what the preset exists to avoid
