"""generate_image end to end: the installed console script over stdio, driven by the MCP SDK's client."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import TypeVar

import pytest
from mcp import Client
from mcp_types import CallToolResult, ImageContent, ResourceLink
from PIL import Image

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import blob_bytes, first_text, stdio_params

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
T = TypeVar("T")

CLAUDE_DESKTOP_LIMIT = 1_048_576


def blocks(result: CallToolResult, kind: type[T]) -> list[T]:
    return [block for block in result.content if isinstance(block, kind)]


def served_bytes(standin: RunningStandIn) -> list[bytes]:
    """What the stand-in served, in batch order."""
    stored = sorted(standin.state.images.values(), key=lambda image: image.index)
    return [image.data for image in stored]


async def test_batch_of_two_comes_back_as_bytes_files_and_resources(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a lighthouse at night", "batch_size": 2, "seed": 1234}
        )
        assert not result.is_error, result.content
        originals = served_bytes(standin)
        assert len(originals) == 2

        images = blocks(result, ImageContent)
        assert [block.mime_type for block in images] == ["image/png", "image/png"]
        assert [base64.b64decode(block.data) for block in images] == originals
        for block in images:
            assert Image.open(io.BytesIO(base64.b64decode(block.data))).format == "PNG"

        structured = result.structured_content
        assert structured["model"] == "Kwai-Kolors/Kolors"
        assert structured["seed"] == 1234
        saved = [Path(image["path"]) for image in structured["images"]]
        assert [path.read_bytes() for path in saved] == originals
        assert all(path.parent == image_dir for path in saved)
        assert [image["sha256"] for image in structured["images"]] == [
            hashlib.sha256(data).hexdigest() for data in originals
        ]
        assert [(image["width"], image["height"]) for image in structured["images"]] == [(1024, 1024)] * 2

        links = blocks(result, ResourceLink)
        assert [link.uri for link in links] == [image["uri"] for image in structured["images"]]
        for link, original in zip(links, originals, strict=True):
            read = await client.read_resource(link.uri)
            assert read.contents[0].mime_type == "image/png"
            assert blob_bytes(read) == original

        text = first_text(result)
        assert "seed 1234" in text and str(saved[0]) in text

    # The content order the contract fixes: images, then resource links, then one text.
    kinds = [block.type for block in result.content]
    assert kinds == ["image", "image", "resource_link", "resource_link", "text"]
    # The provider got exactly what was asked, plus Kolors' recommended defaults, and no nulls.
    assert standin.state.requests == [
        {
            "model": "Kwai-Kolors/Kolors",
            "prompt": "a lighthouse at night",
            "batch_size": 2,
            "seed": 1234,
            "num_inference_steps": 20,
            "guidance_scale": 7.5,
        }
    ]


async def test_two_3mb_images_fit_claude_desktops_limit_as_previews(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.image_kind = "noise"
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool("generate_image", {"prompt": "static", "batch_size": 2})
    assert not result.is_error, result.content
    originals = served_bytes(standin)
    assert all(len(data) > 3_000_000 for data in originals)

    wire_size = len(result.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert wire_size < CLAUDE_DESKTOP_LIMIT

    previews = blocks(result, ImageContent)
    assert len(previews) == 2
    for preview in previews:
        assert preview.mime_type == "image/jpeg"
        picture = Image.open(io.BytesIO(base64.b64decode(preview.data)))
        assert picture.format == "JPEG"
        assert picture.width == picture.height  # same shape as the 1024x1024 original
    structured = result.structured_content
    assert [image["inline"] for image in structured["images"]] == ["preview", "preview"]
    assert [Path(image["path"]).read_bytes() for image in structured["images"]] == originals
    assert any("preview" in note for note in structured["notes"])
    assert "preview" in first_text(result)


async def test_started_in_root_without_key_lists_tools_and_explains_the_key(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    del server_env["SILICONFLOW_API_KEY"]
    async with Client(stdio_params(server_env)) as client:
        tools = await client.list_tools()
        assert "generate_image" in {tool.name for tool in tools.tools}
        result = await client.call_tool("generate_image", {"prompt": "anything"})
    assert result.is_error
    assert "SILICONFLOW_API_KEY" in first_text(result)
    assert standin.state.requests == []


async def test_structured_output_can_be_switched_off(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    server_env["SILICONFLOW_STRUCTURED_OUTPUT"] = "false"
    async with Client(stdio_params(server_env)) as client:
        tool = next(tool for tool in (await client.list_tools()).tools if tool.name == "generate_image")
        assert tool.output_schema is None
        result = await client.call_tool("generate_image", {"prompt": "a kite"})
    assert not result.is_error
    assert result.structured_content is None
    assert len(blocks(result, ImageContent)) == 1
    saved = first_text(result).splitlines()[1].split(" ")[1]
    assert Path(saved).read_bytes() == served_bytes(standin)[0]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_both_protocol_generations_generate(
    standin: RunningStandIn, server_env: dict[str, str], mode: str
) -> None:
    async with Client(stdio_params(server_env), mode=mode) as client:
        expected = "2026-07-28" if mode == "auto" else client.protocol_version
        assert client.protocol_version == expected
        result = await client.call_tool("generate_image", {"prompt": "a bridge"})
    assert not result.is_error
    assert base64.b64decode(blocks(result, ImageContent)[0].data) == served_bytes(standin)[0]


async def test_wrong_key_is_a_tool_error_that_never_shows_the_key(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    server_env["SILICONFLOW_API_KEY"] = "sk-wrong-key-do-not-print"
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a cat"})
    assert result.is_error
    text = first_text(result)
    assert "401" in text and "SILICONFLOW_API_KEY" in text and "Invalid token" in text
    assert "sk-wrong-key-do-not-print" not in json.dumps(result.model_dump(mode="json"))
