"""What each agent framework's own MCP client hands its model from generate_image, measured with the real library.

Each framework is installed from PyPI, pinned, into a venv of its own under `.cache/` (tests/external_tools.py) and
driven by a script in tests/clients/: through the framework's agent loop with a stand-in model where the framework
has one, else through its tool objects as its agents call them. No model API is called. The server logs the
clientInfo each one sent, which docs/tools.md "Client presets" and docs/clients.md record.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp_types import BlobResourceContents, ImageContent, ResourceLink, TextContent

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.external_tools import ClientRun, run_client
from tests.helpers import ROOT, stdio_params

TOOLS = ["edit_image", "generate_image", "generate_video", "get_video", "list_models"]
ARGUMENTS = {"prompt": "a paper crane", "seed": 5}


def saved_image(image_dir: Path) -> Path:
    [image] = list(image_dir.glob("*.png"))
    return image


def image_part(image: Path) -> dict[str, str]:
    """An image part as the client scripts report it: the picture the model gets, by the hash of its bytes."""
    return {"type": "image", "mime_type": "image/png", "sha256": hashlib.sha256(image.read_bytes()).hexdigest()}


def texts(received: list[dict[str, Any]]) -> str:
    return "\n".join(part["text"] for part in received if part["type"] == "text")


def docs_snippet(defining: str) -> str:
    """The python block of docs/clients.md that defines `defining`, as a user would copy it."""
    blocks: list[str] = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "clients.md").read_text(), re.DOTALL)
    return next(block for block in blocks if f"class {defining}" in block)


Drive = Callable[..., tuple[ClientRun, Path]]


@pytest.fixture
def drive(
    request: pytest.FixtureRequest, standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> Drive:
    """`drive(framework fixture, script, spec, **env)`: run a client script against the server and the stand-in;
    what it printed and logged, and the one image the call saved."""

    def run(framework: str, script: str, spec: dict[str, Any], **env: str) -> tuple[ClientRun, Path]:
        done = run_client(request.getfixturevalue(framework), script, spec, {**server_env, **env})
        return done, saved_image(image_dir)

    return run


def picture_and_path(run: ClientRun, image: Path) -> str:
    """Check that the model got the tools and the saved image (its very bytes); the text it got, which must
    hold the saved path."""
    received = run.answer["received"]
    assert run.answer["tools"] == TOOLS
    assert [part for part in received if part["type"] == "image"] == [image_part(image)]
    assert str(image) in texts(received)
    return texts(received)


@pytest.mark.external
@pytest.mark.slow
@pytest.mark.parametrize(
    ("framework", "script", "client"),
    [
        ("pydantic_ai_python", "pydantic_ai_run.py", "client 'fastmcp' version '4.2.3' (protocol '2026-07-28')"),
        ("openai_agents_python", "openai_agents_run.py", "client 'mcp' version '0.1.0' (protocol '2026-07-28')"),
    ],
)
def test_the_framework_hands_the_model_the_picture_and_the_path(
    drive: Drive, framework: str, script: str, client: str
) -> None:
    run, image = drive(framework, script, {"arguments": ARGUMENTS})
    text = picture_and_path(run, image)
    assert "seed 5" in text and f"siliconflow-image://images/{image.name}" in text
    assert f"{client}: no client preset" in run.log


@pytest.mark.external
@pytest.mark.slow
def test_smolagents_can_call_with_a_prompt_and_a_seed_and_its_model_is_told_the_paths(
    drive: Drive, standin: RunningStandIn
) -> None:
    """smolagents keeps only the first block and required every argument not marked nullable, as a string."""
    run, image = drive("smolagents_python", "smolagents_run.py", {"arguments": ARGUMENTS})
    assert run.answer["tools"] == TOOLS
    assert str(image) in run.answer["observation"] and "seed 5" in run.answer["observation"]
    assert any(str(image) in message for message in run.answer["received"])  # what the model was sent
    assert standin.state.requests[0]["seed"] == 5
    assert "client 'mcp' version '0.1.0' (protocol '2025-11-25', initialize id 0): using the MCP SDK 1.x" in run.log


@pytest.mark.external
@pytest.mark.slow
def test_smolagents_structured_output_gives_the_model_each_path_and_seed(drive: Drive) -> None:
    spec = {"arguments": {"prompt": "a paper crane"}, "structured_output": True}
    run, image = drive("smolagents_python", "smolagents_run.py", spec)
    assert f"'path': '{image}'" in run.answer["observation"]
    assert f"'uri': 'siliconflow-image://images/{image.name}'" in run.answer["observation"]


@pytest.mark.external
@pytest.mark.slow
def test_llamaindex_with_the_documented_tool_spec_hands_the_agent_the_picture_and_the_path(drive: Drive) -> None:
    spec = {"arguments": ARGUMENTS, "tool_spec": docs_snippet("ContentBlocksToolSpec")}
    run, image = drive("llamaindex_python", "llamaindex_run.py", spec)
    assert f"{image.name}: siliconflow-image://images/{image.name}" in picture_and_path(run, image)  # SDK 2.x: links
    assert "client 'mcp' version '0.1.0' (protocol '2025-11-25', initialize id 1): no client preset" in run.log


@pytest.mark.external
@pytest.mark.slow
def test_llamaindex_out_of_the_box_reads_the_paths_without_base64_when_inline_images_are_off(drive: Drive) -> None:
    run, image = drive(
        "llamaindex_python", "llamaindex_run.py", {"arguments": ARGUMENTS}, SILICONFLOW_INLINE_MAX_BYTES="0"
    )
    [part] = run.answer["received"]
    assert part["type"] == "text" and str(image) in part["text"]
    assert "ImageContent" not in part["text"] and len(part["text"]) < 3000  # docs/clients.md: about 1,500


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_sdk_2x_low_level_session_gets_resource_links_and_reads_them_back(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    """MCP SDK 2.x's ClientSession negotiates 2025-11-25 and sends clientInfo "mcp", like SDK 1.x (LangChain)."""
    with anyio.fail_after(120):
        async with stdio_client(stdio_params(server_env)) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            result = await session.call_tool("generate_image", ARGUMENTS)
            [link] = [block for block in result.content if isinstance(block, ResourceLink)]
            read_back = await session.read_resource(link.uri)
    image = saved_image(image_dir)
    assert init.protocol_version == "2025-11-25"
    assert [type(block) for block in result.content] == [ImageContent, ResourceLink, TextContent]
    [contents] = read_back.contents
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == image.read_bytes()
