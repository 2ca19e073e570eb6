"""A tool call turned into a provider request: every check that can be made before credits are spent.

Checks run cheapest first and all before the provider is asked for anything: the model and the tool
fit, the arguments fit the model, the provider lists the model, a key is set, the image folder can take
the images, and every input image loads. Only then is the request complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.pipeline.inputs import load_input_image
from mcp_server_siliconflow_image.pipeline.request import (
    InvalidArgumentError,
    ProviderRequest,
    build_request,
    check_model_fits,
)
from mcp_server_siliconflow_image.provider.catalog import Capability, find_model
from mcp_server_siliconflow_image.provider.live import unknown_model_message


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


async def prepare(context: CallContext, call: ToolCall) -> ProviderRequest:
    """The provider request for `call` by the caller of `context`, or the first reason it cannot be made (raised,
    worded for the caller): the model checked against what the caller's key may use, inputs read as it may.

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
    live = (await context.live.live(context.provider)).value
    if live is not None and (problem := unknown_model_message(call.model, live, call.capability)):
        raise InvalidArgumentError(problem)
    context.provider.require_key()  # before reading or downloading any input image
    if (problem := await anyio.to_thread.run_sync(context.store.problem)) is not None:
        raise NotReadyError(f"{problem} Nothing was sent to the provider, so no credits were spent.")
    for name, value in call.inputs.items():
        request.payload[name] = (await load_input_image(name, value, context.inputs)).data_uri
    return request
