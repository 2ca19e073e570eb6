"""Every saved image carries how it was made: a JSON sidecar with prompt, model, seed and arguments."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import API_KEY
from tests.images import encode

pytestmark = pytest.mark.anyio


async def test_sidecar_records_prompt_model_seed_and_arguments(standin: RunningStandIn, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a tram in fog", "aspect_ratio": "3:4", "guidance_scale": 6, "batch_size": 2}
        )
    reported_seed = result.structured_content["seed"]
    for index, image in enumerate(result.structured_content["images"], start=1):
        path = Path(image["path"])
        sidecar = json.loads(Path(f"{path}.json").read_text())
        assert sidecar["prompt"] == "a tram in fog"
        assert sidecar["model"] == "Kwai-Kolors/Kolors"
        assert sidecar["seed"] == reported_seed and isinstance(sidecar["seed"], int)
        assert sidecar["arguments"]["image_size"] == "960x1280"
        assert sidecar["arguments"]["guidance_scale"] == 6
        assert sidecar["index"] == index
        assert sidecar["sha256"] == image["sha256"] and sidecar["bytes"] == path.stat().st_size
        assert "aspect_ratio 3:4 -> image_size 960x1280" in sidecar["notes"][0]
        assert API_KEY not in Path(f"{path}.json").read_text()
        assert f"_seed{reported_seed}_{index}." in path.name


async def test_seed_is_what_the_provider_reported(standin: RunningStandIn, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "no seed given"})
    assert "seed" not in standin.state.requests[0]
    name = Path(result.structured_content["images"][0]["path"]).name
    seed = result.structured_content["seed"]
    assert isinstance(seed, int) and f"_seed{seed}_" in name


async def test_input_images_are_recorded_by_digest_not_bytes(standin: RunningStandIn, settings: Settings) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(encode("PNG")).decode()
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("edit_image", {"image": data_uri, "prompt": "make it red"})
    sidecar = json.loads(Path(result.structured_content["images"][0]["path"] + ".json").read_text())
    assert sidecar["arguments"]["image"].startswith("<input image, data URI sha256 ")
    assert data_uri not in json.dumps(sidecar)
