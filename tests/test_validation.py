"""Bad arguments are refused in plain words, naming the field and what it accepts, before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Secret, Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import API_KEY, first_text

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"prompt": "x", "batch_size": 9}, "batch_size must be an integer from 1 to 4 (got 9)"),
        ({"prompt": "x", "batch_size": 0}, "batch_size must be an integer from 1 to 4 (got 0)"),
        ({"prompt": "x", "num_inference_steps": 101}, "num_inference_steps must be an integer from 1 to 100"),
        ({"prompt": "x", "guidance_scale": 25}, "guidance_scale must be a number from 0 to 20 (got 25)"),
        ({"prompt": "x", "cfg": 0}, "cfg must be a number from 0.1 to 20 (got 0)"),
        ({"prompt": "x", "seed": 10_000_000_000}, "seed must be an integer from 0 to 9999999999"),
        ({"prompt": "x", "seed": -1}, "seed must be an integer from 0 to 9999999999"),
        ({"prompt": "x", "image_size": "big"}, "image_size must be a string shaped like '1024x1024'"),
        ({"prompt": "x", "aspect_ratio": "wide"}, "aspect_ratio must be a string shaped like '16:9'"),
        (
            {"prompt": "x", "size": "1024x1024"},
            "size is not an argument of this tool. Did you mean image_size?",
        ),
        ({"prompt": ""}, "prompt must not be empty"),
        ({}, "prompt is required"),
        ({"prompt": "x", "prompt_enhancement": "maybe"}, "prompt_enhancement must be true or false"),
        ({"prompt": "x", "aspect_ratio": "21:9"}, "allowed values: 1:1, 3:4, 1:2, 9:16"),
    ],
)
async def test_bad_arguments_never_reach_the_provider(
    standin: RunningStandIn, tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    settings = Settings(api_key=Secret(API_KEY), base_url=standin.base_url, image_dir=tmp_path)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", arguments)
    assert result.is_error
    assert message in first_text(result)
    assert standin.state.requests == []
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


async def test_numbers_sent_as_strings_are_accepted(standin: RunningStandIn, tmp_path: Path) -> None:
    settings = Settings(api_key=Secret(API_KEY), base_url=standin.base_url, image_dir=tmp_path)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "seed": "77", "batch_size": "2"})
    assert not result.is_error, result.content
    assert standin.state.requests[0]["seed"] == 77
    assert standin.state.requests[0]["batch_size"] == 2
