"""One generating call from request to saved files: ask, fetch every image at once, save, report.

Provider links die after an hour, so the images are fetched in parallel right after the provider
answers, and each one that arrives is on disk before the tool returns. One image that cannot be
fetched, saved or decoded does not cost the others, and an image on disk is always reported as saved.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from mcp_types import CallToolResult

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.imageformat import ImageFormat, NotAnImageError, identify
from mcp_server_siliconflow_image.payload import INPUT_IMAGE_FIELDS, ProviderRequest
from mcp_server_siliconflow_image.previews import InlineImage, InlinePlan, UndecodableImageError, inline_for
from mcp_server_siliconflow_image.progress import ProgressReporter
from mcp_server_siliconflow_image.provider import Generation, ProviderClient, ProviderError, ProviderImage
from mcp_server_siliconflow_image.results import FailedImageOut, ShownImage, build_result
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.storage import (
    PendingImage,
    batch_stamp,
    describe_os_error,
    fsync_folder,
    write_sidecar,
)

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=1)
"""How long provider image links stay valid, per the provider's documentation."""


@dataclass
class _Received:
    """A downloaded image that passed its checks, still in its hidden temporary file."""

    index: int
    output: ProviderImage
    pending: PendingImage
    image: ImageFormat
    data: bytes = b""


@dataclass
class _Batch:
    """What one call has to report besides its saved images."""

    answered_at: datetime
    failed: list[FailedImageOut]
    notes: list[str]


async def generate(runtime: Runtime, request: ProviderRequest, progress: ProgressReporter) -> CallToolResult:
    """Run `request` against the provider and return the contract's result (raises ProviderError).

    Phase 1 downloads every image at once into hidden temporary files. Phase 2 publishes each file (fsync,
    then its final name) while its inline copy or preview is made, on worker threads side by side.
    Whatever is not published by the end (an error, a cancelled call) is removed on the way out.
    """
    provider = runtime.provider
    with ExitStack() as unpublished:
        async with progress.heartbeat():
            await progress.update("waiting for the provider")
            generation = await provider.generate(request.payload, on_retry=progress.update)
            batch = _Batch(datetime.now(UTC), [], [*request.notes, *generation.notes])
            total = len(generation.outputs)
            await progress.update(f"downloading {total} image{'s' if total != 1 else ''}")
            received = await _receive_all(runtime, provider, generation.outputs, unpublished, batch, progress)
            provenance = _provenance(runtime, request, generation)
            shown = await _publish_and_show(runtime, received, generation.seed, batch, provenance)
            await progress.update("saved")
    return build_result(
        model=str(request.payload["model"]),
        seed=generation.seed,
        inference_seconds=generation.inference_seconds,
        images=shown,
        failed=sorted(batch.failed, key=lambda failure: failure.index),
        notes=batch.notes,
        inline_max_bytes=runtime.settings.inline_max_bytes,
        structured=runtime.settings.structured_output,
        edited=any(name in request.payload for name in INPUT_IMAGE_FIELDS),
    )


async def _receive_all(
    runtime: Runtime,
    provider: ProviderClient,
    outputs: list[ProviderImage],
    unpublished: ExitStack,
    batch: _Batch,
    progress: ProgressReporter,
) -> list[_Received]:
    received: list[_Received] = []
    done = 0

    async def receive(index: int, output: ProviderImage) -> None:
        nonlocal done
        pending: PendingImage | None = None
        try:
            pending = unpublished.enter_context(runtime.store.pending())
            await provider.fetch_image(output, pending)
            image = await _identify(pending)
            data = await anyio.to_thread.run_sync(pending.read_all)
            received.append(_Received(index, output, pending, image, data))
        except (ProviderError, NotAnImageError, OSError) as error:
            logger.warning("image %d of %d not saved: %s", index, len(outputs), runtime.redact(str(error)))
            batch.failed.append(_failure(index, error, output, batch.answered_at))
            if pending is not None:
                pending.discard()
        done += 1
        await progress.update(f"downloaded {done}/{len(outputs)}")

    async with anyio.create_task_group() as group:
        for index, output in enumerate(outputs, start=1):
            group.start_soon(receive, index, output)
    return sorted(received, key=lambda item: item.index)


async def _publish_and_show(
    runtime: Runtime,
    received: list[_Received],
    seed: int | None,
    batch: _Batch,
    provenance: dict[str, Any],
) -> list[ShownImage]:
    """Publish every received image and make its inline copy, side by side; keep what was published.

    A sidecar that cannot be written, or a picture that cannot be decoded, costs a note or the inline copy,
    never the saved image.
    """
    stamp = batch_stamp()
    plan = InlinePlan.for_batch([item.pending.size for item in received], runtime.settings.inline_max_bytes)
    shown: list[ShownImage | None] = [None] * len(received)
    inlines: list[InlineImage | None] = [None] * len(received)
    problems: list[str | None] = [None] * len(received)

    async def publish(slot: int, item: _Received) -> None:
        # Shielded: once a file is being published it gets its record and a durable name, even if the
        # call is cancelled meanwhile (the folder sync that makes the name durable comes after the sidecar).
        with anyio.CancelScope(shield=True):
            await publish_durably(slot, item)

    async def publish_durably(slot: int, item: _Received) -> None:
        publishing = partial(
            item.pending.publish, item.image, seed=seed, index=item.index, stamp=stamp, sync_folder=False
        )
        try:
            saved = await anyio.to_thread.run_sync(publishing)
        except OSError as error:
            batch.failed.append(_failure(item.index, error, item.output, batch.answered_at))
            return
        shown[slot] = ShownImage(saved, None)
        try:
            await anyio.to_thread.run_sync(write_sidecar, saved, {**provenance, "index": item.index})
            return  # the sidecar's folder sync made the image's name durable too
        except OSError as error:
            batch.notes.append(
                f"Image {item.index} is saved, but its record ({saved.path.name}.json) could not be written: "
                f"{describe_os_error(error)}."
            )
        try:
            await anyio.to_thread.run_sync(fsync_folder, saved.path.parent)
        except OSError as error:
            logger.warning("image %d: its folder could not be synced: %s", item.index, describe_os_error(error))

    async def show(slot: int, item: _Received) -> None:
        limiter = runtime.preview_workers
        try:
            inlines[slot] = await anyio.to_thread.run_sync(inline_for, item.data, item.image, plan, limiter=limiter)
        except UndecodableImageError as error:
            problems[slot] = f"not shown inline because {error}"
            logger.warning("image %d cannot be shown inline: %s", item.index, error)
        item.data = b""  # the inline copy is made; the bytes are on disk

    async with anyio.create_task_group() as group:
        for slot, item in enumerate(received):
            group.start_soon(publish, slot, item)
            group.start_soon(show, slot, item)
    return [
        ShownImage(image.saved, inlines[slot], problems[slot]) for slot, image in enumerate(shown) if image is not None
    ]


def _failure(index: int, error: Exception, output: ProviderImage, answered_at: datetime) -> FailedImageOut:
    """Why image `index` is not in the result, and, when it was only our disk that failed, how to rescue it."""
    if isinstance(error, NotAnImageError):
        return FailedImageOut(
            index=index, error=f"the provider's link did not return an image: {error}. Nothing was saved for it."
        )
    if isinstance(error, OSError):
        rescue = ""
        if output.url:
            until = answered_at + LINK_LIFETIME
            rescue = f" The provider's link stays valid until about {until:%H:%M} UTC: {output.url}"
        return FailedImageOut(
            index=index,
            error=f"the image was generated but could not be saved: {describe_os_error(error)}. "
            f"Free space in SILICONFLOW_IMAGE_DIR or choose another folder.{rescue}",
        )
    return FailedImageOut(index=index, error=str(error))


def _provenance(runtime: Runtime, request: ProviderRequest, generation: Generation) -> dict[str, Any]:
    """How these images were made, for their sidecars: enough to regenerate or audit them later.

    Input images are recorded by their digest and size, not their bytes; the key is never recorded.
    """
    arguments = {}
    for name, value in request.payload.items():
        if name in INPUT_IMAGE_FIELDS and isinstance(value, str):
            digest = hashlib.sha256(value.encode()).hexdigest()
            arguments[name] = f"<input image, data URI sha256 {digest}, {len(value)} characters>"
        else:
            arguments[name] = value
    return {
        "prompt": request.payload.get("prompt"),
        "model": request.payload.get("model"),
        "seed": generation.seed,
        "arguments": arguments,
        "notes": [*request.notes, *generation.notes],
        "provider": runtime.redact(runtime.settings.base_url),
        "inference_seconds": generation.inference_seconds,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "generator": f"mcp-server-siliconflow-image {__version__}",
    }


async def _identify(pending: PendingImage) -> ImageFormat:
    try:
        return identify(bytes(pending.head))
    except NotAnImageError:
        if pending.size <= len(pending.head):
            raise
        return identify(await anyio.to_thread.run_sync(pending.read_all))  # header past the kept head
