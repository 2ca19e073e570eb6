"""The MCPB bundle, built by manifests/mcpb/build.sh, unpacked far from any checkout and started as its manifest says.

This is what Claude Desktop does with it: unzip into its extensions folder, fill in `${__dirname}` and the
`${user_config.*}` values, and start `server.mcp_config` with `/` as the working directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import API_KEY, CACHE, ROOT, unavailable
from tests.packaging_tools import tools_bin, uv_environment

pytestmark = [pytest.mark.external, pytest.mark.slow]
PACKAGE = ROOT / "server" / "mcp_server_siliconflow_image"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("npm"):
        unavailable("Node.js/npm are not installed: building the bundle needs the @anthropic-ai/mcpb CLI")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        ["bash", str(ROOT / "manifests" / "mcpb" / "build.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = Path(done.stdout.strip().splitlines()[-1])
    assert built == out / f"mcp-server-siliconflow-image-{__version__}.mcpb"
    return built


@pytest.fixture(scope="module")
def installed(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle unzipped the way a host does, into a folder with a space in its name and no checkout around."""
    target = tmp_path_factory.mktemp("app support") / "Claude Extensions" / "local.mcpb.siliconflow-image"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(target)
    assert not any((parent / "pyproject.toml").exists() for parent in target.parents)
    return target


def substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda match: variables.get(match.group(1), match.group(0)), value)


def launch(installed: Path, user_config: dict[str, str], home: Path) -> StdioServerParameters:
    """`server.mcp_config` with its variables filled in, as the host starts it."""
    manifest: dict[str, Any] = json.loads((installed / "manifest.json").read_text())
    config = manifest["server"]["mcp_config"]
    variables = {"__dirname": str(installed), "HOME": str(home)}
    variables |= {f"user_config.{name}": value for name, value in user_config.items()}
    path = os.pathsep.join([str(tools_bin()), "/usr/bin", "/bin"])
    command = shutil.which(config["command"], path=path)
    assert command, f"{config['command']} is not on the host's PATH"
    env = {name: substitute(value, variables) for name, value in config.get("env", {}).items()}
    env |= {"PATH": path, "HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", **uv_environment()}
    return StdioServerParameters(
        command=command, args=[substitute(arg, variables) for arg in config["args"]], env=env, cwd=os.sep
    )


def test_the_bundle_holds_the_package_and_its_pyproject_and_nothing_else(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        shipped_pyproject = archive.read("pyproject.toml")
    sources = {
        f"server/{path.relative_to(PACKAGE.parent).as_posix()}"
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix != ".pyc" and "__pycache__" not in path.parts
    }
    assert "server/mcp_server_siliconflow_image/py.typed" in sources
    assert names == {"manifest.json", "icon.png", "pyproject.toml", "README.md", "LICENSE", *sources}
    assert shipped_pyproject == (ROOT / "pyproject.toml").read_bytes()  # the one version source, as is


def test_the_unpacked_bundle_passes_the_official_validator(installed: Path) -> None:
    done = subprocess.run(
        [str(CACHE / "node" / "node_modules" / ".bin" / "mcpb"), "validate", str(installed / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Icon file not found" not in done.stdout + done.stderr


def test_the_bundle_started_from_its_manifest_lists_the_tools_and_generates(
    installed: Path, standin: RunningStandIn, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    image_dir = tmp_path / "My Pictures" / "SiliconFlow"
    user_config = {"api_key": API_KEY, "base_url": standin.base_url, "image_dir": str(image_dir)}
    params = launch(installed, user_config, home)

    async def session() -> tuple[str, set[str], Any]:
        # The first start installs the dependencies (uv, from PyPI or its cache): allow for it.
        with anyio.fail_after(540):
            async with Client(params) as client:
                assert client.server_info is not None
                version = client.server_info.version
                tools = {tool.name for tool in (await client.list_tools()).tools}
                result = await client.call_tool("generate_image", {"prompt": "a bundle", "seed": 7})
        return version, tools, result

    version, tools, result = anyio.run(session)
    assert version == __version__
    assert tools == {"generate_image", "edit_image", "list_models", "generate_video", "get_video"}
    assert not result.is_error, result.content
    [saved] = result.structured_content["images"]
    assert Path(saved["path"]).parent == image_dir
    assert Path(saved["path"]).read_bytes() == next(iter(standin.state.images.values())).data
    assert standin.state.requests[0]["seed"] == 7
    # uv made the bundle its own environment: the server ran from there, not from this checkout's venv.
    assert (installed / ".venv").is_dir()
    assert not str(sys.prefix).startswith(str(installed))


def test_a_bundle_whose_optional_fields_were_left_empty_starts_and_refuses_before_paying(
    installed: Path, standin: RunningStandIn, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # A host that passes an unfilled optional field as the literal template (the manifest gives the image folder
    # a default, so Claude Desktop fills it): the server still starts and answers, and an image folder it cannot
    # know is refused by name before any credit is spent, rather than saving paid images somewhere unchosen.
    params = launch(installed, {"api_key": API_KEY, "base_url": standin.base_url}, home)
    assert params.env is not None and params.env["SILICONFLOW_IMAGE_DIR"] == "${user_config.image_dir}"

    async def session() -> Any:
        with anyio.fail_after(540):
            async with Client(params) as client:
                return await client.call_tool("generate_image", {"prompt": "defaults"})

    result = anyio.run(session)
    assert result.is_error
    text = result.content[0].text
    assert "SILICONFLOW_IMAGE_DIR" in text and "placeholder" in text and "Nothing was sent" in text
    assert standin.state.requests == []
