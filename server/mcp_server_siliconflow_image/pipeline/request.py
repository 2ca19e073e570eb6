"""Turning tool arguments into the provider request, by the chosen model's rules (catalog.py).

Arguments a known model does not take are left out and reported, so nothing is silently ignored
and no credit is spent on a request the provider would refuse. Unknown models get what the caller
gave, unchanged: the provider lists new models before this catalog knows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp_server_siliconflow_image.provider.catalog import (
    MAX_BATCH_SIZE,
    MODELS,
    Capability,
    ModelInfo,
    images_asked,
    size_for_aspect_ratio,
    supported_aspect_ratios,
)

INPUT_IMAGE_FIELDS = ("image", "image2", "image3")
MIN_SIDE = 64
MAX_SIDE = 4096
"""No model on SiliconFlow makes images with a side outside these pixel bounds."""


class InvalidArgumentError(ValueError):
    """An argument that cannot work; the message names the field and the values that would."""


@dataclass
class ProviderRequest:
    payload: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    copies: int = 1
    """How many requests of `payload` make the batch: models without native batching make one image each."""

    @property
    def images_asked(self) -> int:
        """Images the call asked for: `copies` requests of `batch_size` images each (1 where it is not sent)."""
        return self.copies * int(self.payload.get("batch_size") or 1)


def build_request(
    *,
    model: str,
    model_info: ModelInfo | None,
    prompt: str,
    aspect_ratio: str | None,
    options: dict[str, Any],
) -> ProviderRequest:
    """The JSON body for `POST /images/generations`: exactly the fields that apply, never a null."""
    check_makeable(prompt, options.get("image_size"))
    given = {name: value for name, value in options.items() if value is not None}
    notes: list[str] = []
    if aspect_ratio is not None:
        if "image_size" in given:
            raise InvalidArgumentError(
                "Give either image_size or aspect_ratio, not both: aspect_ratio picks the model's own size."
            )
        size = size_for_aspect_ratio(model_info, aspect_ratio)
        if size is None:
            allowed = ", ".join(supported_aspect_ratios(model_info))
            raise InvalidArgumentError(
                f"aspect_ratio {aspect_ratio!r} has no recommended size for {model}; "
                f"allowed values: {allowed} (or give image_size as WIDTHxHEIGHT)."
            )
        given["image_size"] = size
        notes.append(f"aspect_ratio {aspect_ratio} -> image_size {size} (recommended for {model}).")

    payload: dict[str, Any] = {"model": model, "prompt": prompt}
    if model_info is None:
        payload.update(given)
        notes.append(f"{model} is not in the built-in catalog: arguments were sent unchanged.")
        return ProviderRequest(payload, notes)

    accepted = model_info.arguments
    copies = _batch_copies(model, model_info, given, notes)
    dropped = sorted(name for name in given if name not in accepted and name != "batch_size")
    if dropped:
        notes.append(f"Not sent, because {model} does not accept them: {', '.join(dropped)}.")
    for name, value in given.items():
        if name in accepted:
            payload[name] = value
    for name, value in model_info.family.defaults.items():
        if name in accepted and name not in payload:
            payload[name] = value
    return ProviderRequest(payload, notes, copies)


def _batch_copies(model: str, model_info: ModelInfo, given: dict[str, Any], notes: list[str]) -> int:
    """How many requests make the batch: one for native batching (Kolors), else one per image."""
    wanted = images_asked(given)
    if wanted > MAX_BATCH_SIZE:
        raise InvalidArgumentError(
            f"batch_size {wanted} is too large for {model}: allowed 1-{MAX_BATCH_SIZE}. "
            "Call the tool again for more images."
        )
    if model_info.family.native_batch or wanted == 1:
        return 1
    notes.append(
        f"{model} makes one image per request: batch_size {wanted} was sent as {wanted} requests in parallel, "
        "each with its own seed."
    )
    return wanted


def check_makeable(prompt: str, image_size: object) -> None:
    """Refuse what no provider model can make, before it costs a request: a blank prompt, an impossible size."""
    if not prompt.strip():
        raise InvalidArgumentError("prompt must describe the image: it is empty or only whitespace.")
    if isinstance(image_size, str):
        width, _, height = image_size.partition("x")
        if not all(MIN_SIDE <= int(side) <= MAX_SIDE for side in (width, height)):
            raise InvalidArgumentError(
                f"image_size {image_size} cannot be made: each side must be {MIN_SIDE} to {MAX_SIDE} pixels "
                "(e.g. 1024x1024, 768x1024, 1664x928); or give aspect_ratio instead."
            )


def check_model_fits(model: str, model_info: ModelInfo | None, capability: Capability, input_images: int) -> None:
    """Refuse a known model that cannot do what the tool asks, naming the models that can."""
    if model_info is None:
        return
    if capability not in model_info.capabilities:
        able = ", ".join(info.id for info in MODELS if capability in info.capabilities)
        raise InvalidArgumentError(
            f"{model} does not do {capability} (use it with {tool_for(model_info)}); models that do: {able}."
        )
    if input_images > model_info.max_input_images:
        multi = ", ".join(info.id for info in MODELS if info.max_input_images >= input_images)
        raise InvalidArgumentError(
            f"{model} takes {model_info.max_input_images} input image(s), {input_images} were given; "
            f"for multi-image edits use {multi}."
        )


def tool_for(model_info: ModelInfo) -> str:
    """The tool that uses a model for what it does first: generate_video, edit_image or generate_image."""
    if model_info.makes_video:
        return "generate_video"
    return "generate_image" if "text-to-image" in model_info.capabilities else "edit_image"
