"""Clients nobody here wrote: the MCP Inspector CLI (npm) and langchain-mcp-adapters (MCP SDK 1.x).

The suite provisions them itself from the package registries, pinned, into `.cache/` (reused locally). A test
skips only where Node.js is absent; under CI a failed install is a failure, not a skip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.conftest import server_command
from tests.test_http import running_http_server

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
MCPB = "@anthropic-ai/mcpb@2.1.2"
LANGCHAIN_ADAPTERS = "langchain-mcp-adapters==0.3.2"
TOKEN = "inspector-token-5d1e"
TOOLS = ["edit_image", "generate_image", "list_models"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_bin() -> Path:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js/npm are not installed: the MCP Inspector CLI and mcpb validator need them")
    prefix = CACHE / "node"
    bin_dir = prefix / "node_modules" / ".bin"
    if not ((bin_dir / "mcp-inspector").exists() and (bin_dir / "mcpb").exists()):
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", INSPECTOR, MCPB],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            _unavailable(f"could not install {INSPECTOR} and {MCPB} from npm: {done.stderr[-1000:]}")
    return bin_dir


@pytest.fixture(scope="session")
def langchain_python() -> Path:
    return provisioned_venv("langchain-venv", (LANGCHAIN_ADAPTERS,), "import langchain_mcp_adapters.client")


def provisioned_venv(name: str, packages: tuple[str, ...], check: str) -> Path:
    """The Python of `.cache/<name>` holding `packages` (installed on first use); `check` proves it works."""
    venv = CACHE / name
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists() or subprocess.run([str(python), "-c", check], capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            _unavailable(f"could not install {' '.join(packages)}: {done.stderr[-1000:]}")
    return python


def inspector(node_bin: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node_bin / "mcp-inspector"), "--cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
        cwd=CACHE,
    )


def env_flags(env: dict[str, str]) -> list[str]:
    return [flag for name, value in env.items() for flag in ("-e", f"{name}={value}")]


def parse(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


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


def run_langchain(python: Path, env: dict[str, str], arguments: dict[str, Any]) -> dict[str, Any]:
    """Load the tools with langchain-mcp-adapters and invoke generate_image: {"tools": [...], "result": str}."""
    return run_client_script(python, "langchain_generate.py", {"args": [], "arguments": arguments}, env)


def run_client_script(python: Path, script: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run tests/clients/<script> with the server's command and `env` added to `spec`; its last line's JSON."""
    spec = {**spec, "command": server_command(), "env": {**env, "PATH": os.environ.get("PATH", "")}}
    done = subprocess.run(
        [str(python), str(ROOT / "tests" / "clients" / script), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


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
