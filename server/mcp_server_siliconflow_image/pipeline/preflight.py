"""A tool call turned into a provider request: every check that can be made before credits are spent.

Checks run cheapest first and all before the provider is asked for anything: the model and the tool
fit, the arguments fit the model, the provider lists the model, a key is set, the image folder can take
the images, and every input image loads. Only then is the request complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio

from mcp_server_siliconflow_image.pipeline.inputs import InputPolicy, load_input_image
from mcp_server_siliconflow_image.pipeline.request import (
    InvalidArgumentError,
    ProviderRequest,
    build_request,
    check_model_fits,
)
from mcp_server_siliconflow_image.provider.catalog import Capability, find_model
from mcp_server_siliconflow_image.provider.live import unknown_model_message
from mcp_server_siliconflow_image.runtime import Runtime


class NotReadyError(Exception):
    """Something outside the arguments prevents generating (an unusable image folder); says what to fix."""


@dataclass(frozen=True)
class ToolCall:
    """What a generating tool was asked to do, as the tool received it."""

    capability: Capability
    model: str
    prompt: str
    aspect_ratio: str | None
    options: dict[str, Any]
    """The optional generation arguments, None where not given."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Input image arguments (image, image2, image3) as given: paths, URLs or base64."""


async def prepare(runtime: Runtime, call: ToolCall) -> ProviderRequest:
    """The provider request for `call`, or the first reason it cannot be made (raised, worded for the caller).

    Raises InvalidArgumentError, InputImageError, ProviderError (no key) or NotReadyError.
    """
    model_info = find_model(call.model)
    check_model_fits(call.model, model_info, call.capability, len(call.inputs))
    request = build_request(
        model=call.model,
        model_info=model_info,
        prompt=call.prompt,
        aspect_ratio=call.aspect_ratio,
        options=call.options,
    )
    live = await runtime.live.live(runtime.provider, has_key=runtime.settings.api_key is not None)
    if live is not None and (problem := unknown_model_message(call.model, live, call.capability)):
        raise InvalidArgumentError(problem)
    runtime.provider.require_key()  # before reading or downloading any input image
    if (problem := await anyio.to_thread.run_sync(runtime.store.problem)) is not None:
        raise NotReadyError(f"{problem} Nothing was sent to the provider, so no credits were spent.")
    policy = InputPolicy(allowed_dirs=runtime.settings.allowed_input_dirs())
    for name, value in call.inputs.items():
        request.payload[name] = (await load_input_image(name, value, policy)).data_uri
    return request
