"""list_models and model checks: the provider's live list merged with the catalog, and offline answers."""

from __future__ import annotations

import dataclasses

import pytest
from mcp import Client

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.provider.catalog import MODELS
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import call_tool, first_text

pytestmark = pytest.mark.anyio


async def test_without_a_key_the_catalog_answers_and_says_so(standin: RunningStandIn, settings: Settings) -> None:
    result = await call_tool(dataclasses.replace(settings, api_key=None), "list_models", {})
    assert not result.is_error
    listing = result.structured_content
    assert listing["source"] == "catalog"
    assert "no SILICONFLOW_API_KEY" in listing["note"]
    assert [model["id"] for model in listing["models"]] == [model.id for model in MODELS]
    kolors = listing["models"][0]
    assert kolors["default_for"] == ["generate_image"]
    assert kolors["aspect_ratios"]["3:4"] == "960x1280"
    assert kolors["defaults"] == {"num_inference_steps": 20.0, "guidance_scale": 7.5}
    assert "Kwai-Kolors/Kolors (text-to-image, image-to-image) [default for generate_image]" in first_text(result)
    assert standin.state.requests == []


async def test_live_list_adds_unknown_models_and_drops_withdrawn_ones(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.extra_models = {"vendor/Brand-New-Image": "text-to-image"}
    standin.state.withdrawn_models = {"black-forest-labs/FLUX.1-pro"}
    listing = (await call_tool(settings, "list_models", {})).structured_content
    ids = [model["id"] for model in listing["models"]]
    assert listing["source"] == "live"
    assert "vendor/Brand-New-Image" in ids and "black-forest-labs/FLUX.1-pro" not in ids
    new = next(model for model in listing["models"] if model["id"] == "vendor/Brand-New-Image")
    assert new["known"] is False and "capabilities unknown" in new["description"]
    assert new["capabilities"] == ["text-to-image"]


async def test_capability_filter(standin: RunningStandIn, settings: Settings) -> None:
    listing = (await call_tool(settings, "list_models", {"capability": "image-to-image"})).structured_content
    assert [model["id"] for model in listing["models"]] == [
        "Kwai-Kolors/Kolors",
        "Qwen/Qwen-Image-Edit",
        "Qwen/Qwen-Image-Edit-2509",
    ]


async def test_a_bad_capability_is_refused_with_the_choices(standin: RunningStandIn, settings: Settings) -> None:
    result = await call_tool(settings, "list_models", {"capability": "video"})
    assert result.is_error
    assert "capability must be one of 'text-to-image', 'image-to-image'" in first_text(result)


async def test_gateway_without_models_route_falls_back_to_the_catalog(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.models_route = False
    async with Client(build_server(settings)) as client:
        listing = (await client.call_tool("list_models", {})).structured_content
        assert listing["source"] == "catalog"
        assert "HTTP 404" in listing["note"]
        # Generation still works, with the model unchecked.
        result = await client.call_tool("generate_image", {"prompt": "x", "model": "FLUX.1-schnell"})
    assert not result.is_error


async def test_the_live_list_is_cached(standin: RunningStandIn, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        for _ in range(3):
            await client.call_tool("list_models", {})
        await client.call_tool("generate_image", {"prompt": "x"})
    assert standin.state.model_list_calls == 4  # once: one per image sub-type, the video models, text-to-video


async def test_unknown_model_is_refused_with_close_matches(standin: RunningStandIn, settings: Settings) -> None:
    result = await call_tool(settings, "generate_image", {"prompt": "x", "model": "black-forest-labs/FLUX.1-shnell"})
    assert result.is_error
    text = first_text(result)
    assert "Unknown model 'black-forest-labs/FLUX.1-shnell'" in text
    assert "Did you mean black-forest-labs/FLUX.1-schnell" in text
    assert "Valid text-to-image models:" in text
    assert standin.state.requests == []


async def test_withdrawn_catalog_model_is_refused_before_spending(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.withdrawn_models = {"Qwen/Qwen-Image"}
    result = await call_tool(settings, "generate_image", {"prompt": "x", "model": "Qwen/Qwen-Image"})
    assert result.is_error and "does not list it" in first_text(result)
    assert standin.state.requests == []


async def test_unknown_live_model_is_callable_with_arguments_unchanged(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.extra_models = {"vendor/Brand-New-Image": "text-to-image"}
    result = await call_tool(settings, "generate_image", {"prompt": "x", "model": "vendor/Brand-New-Image", "cfg": 3})
    assert not result.is_error
    assert standin.state.requests == [{"model": "vendor/Brand-New-Image", "prompt": "x", "cfg": 3}]
    assert "not in the built-in catalog" in result.structured_content["notes"][0]


@pytest.mark.parametrize(
    ("model", "arguments", "sent", "dropped"),
    [
        (
            "Kwai-Kolors/Kolors",
            {"guidance_scale": 5, "cfg": 2},
            {"guidance_scale": 5, "num_inference_steps": 20},
            "cfg",
        ),
        ("Qwen/Qwen-Image", {"guidance_scale": 5}, {"cfg": 4.0, "num_inference_steps": 50}, "guidance_scale"),
        (
            "black-forest-labs/FLUX.1-dev",
            {"negative_prompt": "blur", "guidance_scale": 3},
            {"num_inference_steps": 20},
            "guidance_scale, negative_prompt",
        ),
        ("black-forest-labs/FLUX-1.1-pro", {"num_inference_steps": 30}, {}, "num_inference_steps"),
        # Fixed-step models get no num_inference_steps (SiliconFlow's API reference).
        ("black-forest-labs/FLUX.1-schnell", {"num_inference_steps": 8}, {}, "num_inference_steps"),
        ("Pro/black-forest-labs/FLUX.1-schnell", {"num_inference_steps": 8}, {}, "num_inference_steps"),
        (
            "stabilityai/stable-diffusion-3-5-large-turbo",
            {"num_inference_steps": 30, "seed": 3},
            {"seed": 3},
            "num_inference_steps",
        ),
        (
            "stabilityai/stable-diffusion-3-5-large",
            {"cfg": 1, "prompt_enhancement": True, "guidance_scale": 5},
            {"num_inference_steps": 20},
            "cfg, guidance_scale, prompt_enhancement",
        ),
    ],
)
async def test_each_family_gets_its_arguments(
    standin: RunningStandIn,
    settings: Settings,
    model: str,
    arguments: dict[str, object],
    sent: dict[str, object],
    dropped: str,
) -> None:
    result = await call_tool(settings, "generate_image", {"prompt": "x", "model": model, **arguments})
    assert not result.is_error, first_text(result)
    assert standin.state.requests == [{"model": model, "prompt": "x", **sent}]
    assert f"does not accept them: {dropped}." in " ".join(result.structured_content["notes"])
    assert f"does not accept them: {dropped}." in first_text(result)


async def test_a_model_that_rejects_an_argument_is_reported(standin: RunningStandIn, settings: Settings) -> None:
    from mcp_server_siliconflow_image.standin import Fault

    standin.state.faults.append(
        Fault(
            status=400,
            model="Kwai-Kolors/Kolors",
            argument="negative_prompt",
            body={"code": 20015, "message": "negative_prompt is not supported", "data": None},
        )
    )
    result = await call_tool(settings, "generate_image", {"prompt": "x", "negative_prompt": "dogs"})
    assert result.is_error
    assert "HTTP 400 (provider code 20015): negative_prompt is not supported" in first_text(result)


async def test_generate_refuses_an_edit_only_model(standin: RunningStandIn, settings: Settings) -> None:
    result = await call_tool(settings, "generate_image", {"prompt": "x", "model": "Qwen/Qwen-Image-Edit-2509"})
    assert result.is_error
    assert "does not do text-to-image (use it with edit_image)" in first_text(result)
    assert standin.state.requests == []


async def test_compatible_gateway_short_ids_and_prompt_enhancement(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.models_route = False  # like the 002_ gateway
    result = await call_tool(
        settings,
        "generate_image",
        {"prompt": "x", "model": "FLUX.1-schnell", "image_size": "1024x576", "prompt_enhancement": True},
    )
    assert not result.is_error
    assert standin.state.requests[0] == {
        "model": "FLUX.1-schnell",
        "prompt": "x",
        "image_size": "1024x576",
        "prompt_enhancement": True,
    }
    assert result.structured_content["images"][0]["width"] == 1024
    assert result.structured_content["images"][0]["height"] == 576
