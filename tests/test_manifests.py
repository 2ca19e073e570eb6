"""Every install manifest, held against the real server: tool names, variables, and a command that starts it."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from mcp import Client

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.settings import DEFAULT_BASE_URL, ENV_VARIABLES
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import ROOT, stdio_params

pytestmark = pytest.mark.anyio
MANIFESTS = ROOT / "manifests"
DISTRIBUTION = "mcp-server-siliconflow-image"
TOOLS = {"generate_image", "edit_image", "list_models", "generate_video", "get_video"}


def load(name: str) -> Any:
    return json.loads((MANIFESTS / name).read_text())


def launch_entries() -> list[tuple[str, dict[str, Any]]]:
    """(manifest, server entry) for every client config that launches the published package with uvx.

    The MCPB bundle launches its own copy instead; tests/test_bundle.py builds and starts it.
    """
    return [
        ("claude_desktop_config.json", load("claude_desktop_config.json")["mcpServers"]["siliconflow-image"]),
        ("cursor_mcp.json", load("cursor_mcp.json")["mcpServers"]["siliconflow-image"]),
        ("vscode_mcp.json", load("vscode_mcp.json")["servers"]["siliconflow-image"]),
    ]


def test_every_manifest_is_valid_json() -> None:
    names = sorted(str(path.relative_to(MANIFESTS)) for path in MANIFESTS.rglob("*.json"))
    assert names == [
        "claude_desktop_config.json",
        "cursor_mcp.json",
        "mcpb/manifest.json",
        "server.json",
        "vscode_mcp.json",
    ]
    for name in names:
        load(name)


@pytest.mark.parametrize(("manifest", "entry"), launch_entries(), ids=[name for name, _ in launch_entries()])
def test_launch_entries_use_uvx_and_known_variables(manifest: str, entry: dict[str, Any]) -> None:
    assert entry["command"] == "uvx"
    assert entry["args"] == [DISTRIBUTION]
    assert set(entry.get("env", {})) <= set(ENV_VARIABLES)
    assert "SILICONFLOW_API_KEY" in entry["env"]


@pytest.mark.slow
@pytest.mark.parametrize(("manifest", "entry"), launch_entries(), ids=[name for name, _ in launch_entries()])
async def test_each_launch_entry_starts_a_server_with_its_tools(
    standin: RunningStandIn, server_env: dict[str, str], manifest: str, entry: dict[str, Any]
) -> None:
    # `uvx mcp-server-siliconflow-image` runs the console script this checkout installed; placeholders
    # such as ${user_config.api_key} are filled in by the client, here with the stand-in's key.
    env = {**server_env, **{name: server_env.get(name, "") for name in entry.get("env", {})}}
    env = {name: value for name, value in env.items() if value}
    async with Client(stdio_params(env, *entry["args"][1:])) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("generate_image", {"prompt": f"launched from {manifest}"})
    assert tools == TOOLS
    assert not result.is_error


def test_pyproject_names_the_console_script_the_manifests_run() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {DISTRIBUTION: "mcp_server_siliconflow_image.cli:main"}


def test_mcpb_manifest() -> None:
    manifest = load("mcpb/manifest.json")
    # 0.4's "uv" type: the host's uv installs the dependencies (pydantic-core, Pillow: compiled) for the
    # user's platform from the bundled pyproject.toml, instead of one bundle per OS, CPU and Python.
    assert manifest["manifest_version"] == "0.4"
    assert manifest["version"] == __version__
    assert {tool["name"] for tool in manifest["tools"]} == TOOLS
    key = manifest["user_config"]["api_key"]
    assert key["sensitive"] is True and key["required"] is True and key["type"] == "string"
    image_dir = manifest["user_config"]["image_dir"]
    assert image_dir["type"] == "directory" and image_dir["required"] is False
    base_url = manifest["user_config"]["base_url"]
    assert base_url["required"] is False and base_url["default"] == DEFAULT_BASE_URL
    server = manifest["server"]
    assert server["type"] == "uv"
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"] == ["run", "--project", "${__dirname}", "--no-dev", DISTRIBUTION]
    used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(server)))
    assert used == set(manifest["user_config"])
    assert set(server["mcp_config"]["env"]) <= set(ENV_VARIABLES)
    assert (ROOT / server["entry_point"]).is_file()
    assert (MANIFESTS / "mcpb" / manifest["icon"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_registry_server_json() -> None:
    server = load("server.json")
    assert server["$schema"] == "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 1 <= len(server["description"]) <= 100
    assert server["version"] == __version__
    [package] = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == DISTRIBUTION
    assert package["version"] == __version__ and package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert set(variables) <= set(ENV_VARIABLES)
    assert variables["SILICONFLOW_API_KEY"]["isSecret"] is True
    assert variables["SILICONFLOW_API_KEY"]["isRequired"] is True
    # The registry checks PyPI ownership through this line in the package's README.
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()


def test_vscode_config_prompts_for_the_key_as_a_password() -> None:
    config = load("vscode_mcp.json")
    [key_input] = config["inputs"]
    assert key_input["type"] == "promptString" and key_input["password"] is True
    assert config["servers"]["siliconflow-image"]["env"]["SILICONFLOW_API_KEY"] == f"${{input:{key_input['id']}}}"


def test_readme_carries_the_claude_code_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"claude mcp add [^\n]*-- uvx mcp-server-siliconflow-image", readme)


def test_the_changelog_keeps_a_changelog_and_has_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.M)
    assert headings[0] == ("Unreleased", "")
    released = {version: date for version, date in headings[1:]}
    assert released.get(__version__), f"CHANGELOG.md has no dated entry for {__version__}"
    for version in ("Unreleased", *released):
        assert re.search(rf"^\[{re.escape(version)}\]: https://", changelog, re.M), f"no link for [{version}]"
