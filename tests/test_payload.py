"""Provider requests follow each model's rules: what is sent, what is dropped, what is defaulted."""

from __future__ import annotations

import pytest

from mcp_server_siliconflow_image.pipeline.request import InvalidArgumentError, build_request
from mcp_server_siliconflow_image.provider.catalog import find_model


def request_for(model: str, aspect_ratio: str | None = None, **options: object):
    return build_request(
        model=model, model_info=find_model(model), prompt="p", aspect_ratio=aspect_ratio, options=options
    )


def test_kolors_gets_recommended_defaults_and_no_nulls() -> None:
    request = request_for("Kwai-Kolors/Kolors", seed=5, negative_prompt=None, cfg=None)
    assert request.payload == {
        "model": "Kwai-Kolors/Kolors",
        "prompt": "p",
        "seed": 5,
        "num_inference_steps": 20,
        "guidance_scale": 7.5,
    }
    assert request.notes == []


def test_caller_values_win_over_defaults() -> None:
    payload = request_for("Qwen/Qwen-Image", num_inference_steps=30, cfg=2.5).payload
    assert (payload["num_inference_steps"], payload["cfg"]) == (30, 2.5)


def test_qwen_image_gets_50_steps_and_cfg_4_and_drops_guidance_scale() -> None:
    request = request_for("Qwen/Qwen-Image", guidance_scale=7.0)
    assert request.payload == {
        "model": "Qwen/Qwen-Image",
        "prompt": "p",
        "num_inference_steps": 50,
        "cfg": 4.0,
    }
    assert request.notes == ["Not sent, because Qwen/Qwen-Image does not accept them: guidance_scale."]


def test_flux_drops_negative_prompt_and_keeps_prompt_enhancement() -> None:
    request = request_for("black-forest-labs/FLUX.1-schnell", negative_prompt="blur", prompt_enhancement=True)
    assert "negative_prompt" not in request.payload
    assert request.payload["prompt_enhancement"] is True
    assert "negative_prompt" in request.notes[0]


@pytest.mark.parametrize(
    ("model", "ratio", "size"),
    [
        ("Kwai-Kolors/Kolors", "3:4", "960x1280"),
        ("Qwen/Qwen-Image", "16:9", "1664x928"),
        ("black-forest-labs/FLUX.1-dev", "9:16", "576x1024"),
    ],
)
def test_aspect_ratio_maps_to_the_familys_size(model: str, ratio: str, size: str) -> None:
    request = request_for(model, aspect_ratio=ratio)
    assert request.payload["image_size"] == size
    assert f"aspect_ratio {ratio} -> image_size {size}" in request.notes[0]


def test_unknown_ratio_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidArgumentError, match=r"allowed values: 1:1, 3:4, 1:2, 9:16"):
        request_for("Kwai-Kolors/Kolors", aspect_ratio="21:9")


def test_size_and_ratio_together_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="either image_size or aspect_ratio"):
        request_for("Kwai-Kolors/Kolors", aspect_ratio="1:1", image_size="1024x1024")


def test_batch_over_the_models_limit_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="allowed 1-4"):
        request_for("Kwai-Kolors/Kolors", batch_size=5)


def test_unknown_models_get_arguments_unchanged() -> None:
    request = request_for("vendor/brand-new-model", guidance_scale=3.0, cfg=1.0)
    assert request.payload == {
        "model": "vendor/brand-new-model",
        "prompt": "p",
        "guidance_scale": 3.0,
        "cfg": 1.0,
    }
    assert "not in the built-in catalog" in request.notes[0]


def test_gateway_short_names_find_the_catalog_entry() -> None:
    info = find_model("FLUX.1-schnell")
    assert info is not None and info.id == "black-forest-labs/FLUX.1-schnell"
