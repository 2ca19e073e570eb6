"""Clients nobody here wrote: the MCP Inspector CLI (npm) and langchain-mcp-adapters (MCP SDK 1.x).

The suite provisions them itself from the package registries, pinned, into `.cache/` (tests/external_tools.py).
A test skips only where Node.js is absent; under CI a failed install is a failure, not a skip.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.external_tools import env_flags, inspector, parse, run_langchain
from tests.helpers import ROOT, running_http_server, server_command

pytestmark = [pytest.mark.external, pytest.mark.slow]
TOKEN = "inspector-token-5d1e"
TOOLS = ["edit_image", "generate_image", "generate_video", "get_video", "list_models"]


def test_inspector_lists_the_tools_over_stdio(node_bin: Path, server_env: dict[str, str]) -> None:
    listing = parse(inspector(node_bin, server_command(), *env_flags(server_env), "--method", "tools/list"))
    assert sorted(tool["name"] for tool in listing["tools"]) == TOOLS
    generate = next(tool for tool in listing["tools"] if tool["name"] == "generate_image")
    assert generate["inputSchema"]["required"] == ["prompt"]
    assert generate["annotations"]["openWorldHint"] is True
    assert "outputSchema" in generate


def test_inspector_generates_over_stdio(node_bin: Path, standin: RunningStandIn, server_env: dict[str, str]) -> None:
    result = parse(
        inspector(
            node_bin,
            server_command(),
            *env_flags(server_env),
            "--method",
            "tools/call",
            "--tool-name",
            "generate_image",
            "--tool-arg",
            "prompt=a lantern",
            "seed=21",
            "batch_size=2",
        )
    )
    assert result.get("isError") is not True
    served = [image.data for image in sorted(standin.state.images.values(), key=lambda image: image.index)]
    images = [block for block in result["content"] if block["type"] == "image"]
    assert [base64.b64decode(block["data"]) for block in images] == served
    assert [Path(image["path"]).read_bytes() for image in result["structuredContent"]["images"]] == served
    assert standin.state.requests[0]["seed"] == 21 and standin.state.requests[0]["batch_size"] == 2


def test_inspector_over_http_needs_the_token_and_reads_the_bytes_back(
    node_bin: Path, standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    with running_http_server({**server_env, "SILICONFLOW_MCP_TOKEN": TOKEN}) as (base, _):
        url = f"{base}/mcp"
        refused = inspector(node_bin, url, "--transport", "http", "--method", "tools/list")
        auth = ["--transport", "http", "--header", f"Authorization: Bearer {TOKEN}"]
        call = parse(
            inspector(
                node_bin,
                url,
                *auth,
                "--method",
                "tools/call",
                "--tool-name",
                "generate_image",
                "--tool-arg",
                "prompt=x",
            )
        )
        uri = call["structuredContent"]["images"][0]["uri"]
        read = parse(inspector(node_bin, url, *auth, "--method", "resources/read", "--uri", uri))
    assert refused.returncode != 0
    assert base64.b64decode(read["contents"][0]["blob"]) == next(iter(standin.state.images.values())).data
    assert read["contents"][0]["mimeType"] == "image/png"


def test_mcpb_manifest_passes_the_official_validator(node_bin: Path) -> None:
    done = subprocess.run(
        [str(node_bin / "mcpb"), "validate", str(ROOT / "manifests" / "mcpb" / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_langchain_loads_and_invokes_the_tools(
    langchain_python: Path, standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    answer = run_langchain(langchain_python, server_env, {"prompt": "a paper crane", "seed": 5})
    assert answer["tools"] == TOOLS
    saved = Path(server_env["SILICONFLOW_IMAGE_DIR"])
    [image] = list(saved.glob("*.png"))
    assert str(image) in answer["result"]
    assert image.read_bytes() == next(iter(standin.state.images.values())).data
    assert standin.state.requests[0]["seed"] == 5
