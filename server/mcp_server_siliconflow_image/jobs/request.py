"""A generate_video call turned into the provider's job request: every check made before it is paid for.

The same order as for images (pipeline/preflight.py): the prompt, the model and what it makes (an image
switches a text-to-video model to its image-to-video sibling, by the catalog's rules), the provider's live
list, the key, the store, and last the input image, read behind the same fences as edit_image's inputs
(pipeline/inputs.py). A failure raises before anything is submitted, so no credit is spent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import anyio

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.pipeline.inputs import load_input_image
from mcp_server_siliconflow_image.pipeline.preflight import NotReadyError
from mcp_server_siliconflow_image.pipeline.request import InvalidArgumentError, tool_for
from mcp_server_siliconflow_image.provider.catalog import (
    MODELS,
    VIDEO_SIZES,
    ModelInfo,
    VideoCapability,
    find_model,
)
from mcp_server_siliconflow_image.provider.live import unknown_model_message


@dataclass(frozen=True)
class VideoCall:
    """What generate_video was asked, as the tool received it (None: not given)."""

    prompt: str
    model: str | None = None
    negative_prompt: str | None = None
    image_size: str | None = None
    image: str | None = None
    seed: int | None = None


@dataclass
class VideoRequest:
    """The job to submit: its JSON body, what it is, and what was adjusted on the way."""

    payload: dict[str, Any]
    capability: VideoCapability
    notes: list[str] = field(default_factory=list)
    input_image: str | None = None
    """The input image by digest and size, for the job's record (its bytes are kept nowhere)."""

    @property
    def model(self) -> str:
        return str(self.payload["model"])


async def prepare_video(context: CallContext, call: VideoCall) -> VideoRequest:
    """The job request for `call`, or the first reason it cannot be made (raised, worded for the caller).

    Raises InvalidArgumentError, InputImageError, ProviderError (no key) or NotReadyError.
    """
    if not call.prompt.strip():
        raise InvalidArgumentError("prompt must describe the video: it is empty or only whitespace.")
    capability: VideoCapability = "image-to-video" if call.image else "text-to-video"
    notes: list[str] = []
    model = _model_for(call.model or context.settings.video_model, capability, notes)
    image_size = call.image_size or VIDEO_SIZES[0]
    if image_size not in VIDEO_SIZES:
        raise InvalidArgumentError(f"image_size must be one of {', '.join(VIDEO_SIZES)} (got {image_size!r}).")
    payload: dict[str, Any] = {"model": model, "prompt": call.prompt, "image_size": image_size}
    if call.negative_prompt:
        payload["negative_prompt"] = call.negative_prompt
    if call.seed is not None:
        payload["seed"] = call.seed
    live = (await context.live.live(context.provider)).value
    if live is not None and (problem := unknown_model_message(model, live, capability)):
        raise InvalidArgumentError(problem)
    context.provider.require_key()  # before reading or downloading the input image
    if (problem := await anyio.to_thread.run_sync(context.store.problem)) is not None:
        raise NotReadyError(f"{problem} Nothing was sent to the provider, so no credits were spent.")
    request = VideoRequest(payload, capability, notes)
    if call.image:
        loaded = await load_input_image("image", call.image, context.inputs)
        payload["image"] = loaded.data_uri
        digest = hashlib.sha256(loaded.data).hexdigest()
        request.input_image = f"{loaded.mime_type} {loaded.width}x{loaded.height}, sha256 {digest}"
    return request


def _model_for(model: str, capability: VideoCapability, notes: list[str]) -> str:
    """The model that does `capability`: `model`, or its image-to-video sibling; unknown models as given."""
    info = find_model(model)
    if info is None:
        notes.append(f"{model} is not in the built-in catalog: it was sent as given, for {capability}.")
        return model
    if capability in info.capabilities:
        return info.id
    if not info.makes_video:
        raise InvalidArgumentError(
            f"{model} makes images, not video: use it with {tool_for(info)}. Video models: {_able('text-to-video')}."
        )
    if capability == "image-to-video":
        if info.image_to_video is None:
            raise InvalidArgumentError(
                f"{model} makes video from text only, and image was given. For image-to-video use "
                f"{_able('image-to-video')}, or leave out image."
            )
        notes.append(f"image was given, so {model}'s image-to-video sibling {info.image_to_video} made the video.")
        return info.image_to_video
    raise InvalidArgumentError(
        f"{model} animates an image: give image (a path, https:// URL or base64 of the first frame), or use a "
        f"text-to-video model: {_able('text-to-video')}."
    )


def _able(capability: VideoCapability) -> str:
    models: list[ModelInfo] = [info for info in MODELS if capability in info.capabilities]
    return ", ".join(info.id for info in models)
