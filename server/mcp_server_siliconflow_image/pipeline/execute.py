"""One generating call from request to saved files: ask, fetch every image at once, save, report.

Provider links die after an hour, so the images are fetched in parallel right after the provider
answers, and each one that arrives is on disk before the tool returns. One image that cannot be
fetched, saved or decoded does not cost the others, and an image on disk is always reported as saved.
An image the provider made is paid for: once answered, it is fetched and saved even when the call is
cancelled meanwhile (also halfway through a fanned-out batch), and the log names where it went.
"""

from __future__ import annotations

import errno
import hashlib
import logging
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from mcp_types import CallToolResult

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.imageformat import ImageFormat, NotAnImageError, base64_length, identify
from mcp_server_siliconflow_image.pipeline.arriving import ArrivingImage
from mcp_server_siliconflow_image.pipeline.fanout import Batch, MadeImage, request_batch
from mcp_server_siliconflow_image.pipeline.previews import (
    InlineImage,
    InlinePlan,
    UndecodableImageError,
    inline_budget_per_image,
    inline_for,
)
from mcp_server_siliconflow_image.pipeline.progress import ProgressReporter
from mcp_server_siliconflow_image.pipeline.request import INPUT_IMAGE_FIELDS, ProviderRequest
from mcp_server_siliconflow_image.provider.client import ProviderClient, ProviderError
from mcp_server_siliconflow_image.stores.base import Upload, save_failure
from mcp_server_siliconflow_image.stores.folder import describe_os_error
from mcp_server_siliconflow_image.stores.naming import SavedImage, batch_stamp
from mcp_server_siliconflow_image.surface.presets import ResultOptions
from mcp_server_siliconflow_image.surface.results import FailedImageOut, Outcome, ShownImage, build_result

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=1)
_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
"""How long provider image links stay valid, per the provider's documentation."""


@dataclass
class _Received:
    """A downloaded image that passed its checks, still in its hidden temporary file."""

    made: MadeImage
    pending: Upload
    image: ImageFormat
    arriving: ArrivingImage
    """Its digest and picture, worked out while it downloaded (pipeline/arriving.py)."""
    data: bytes = b""
    """The image's bytes, when its inline copy may need them (small enough to be sent as they are, or no
    picture is being decoded on the way)."""

    @property
    def index(self) -> int:
        return self.made.index


@dataclass
class _Report:
    """What one call has to report besides its saved images."""

    answered_at: datetime
    failed: list[FailedImageOut]
    notes: list[str]


async def execute(
    context: CallContext, request: ProviderRequest, progress: ProgressReporter, options: ResultOptions | None = None
) -> CallToolResult:
    """Run `request` against the provider and return the contract's result (raises ProviderError).

    `options` is what the calling client's results carry (its preset; default: the settings). The provider
    is asked by `request_batch` (one request, or one per image for models without native batching).
    Phase 1 downloads every image at once into hidden temporary files. Phase 2 publishes each file (fsync,
    then its final name) while its inline copy or preview is made, on worker threads side by side.
    Both phases are shielded from cancellation: every image the provider answered with is paid for, so a call
    cancelled meanwhile still keeps it (within the download's own time budget), and the log says where.
    A fanned-out batch cancelled before every request was answered keeps the answered ones the same way;
    requests still waiting to be sent (a rate-limit backoff) are not sent.
    """
    options = options or ResultOptions.from_settings(context.settings)
    answered: list[MadeImage] = []
    async with progress.heartbeat():
        await progress.update("waiting for the provider")
        try:
            made = await request_batch(context.provider, request, progress.update, context.settings.timeout, answered)
        except anyio.get_cancelled_exc_class():
            if answered:  # cancelled halfway through a batch: what the provider already made is paid for
                kept = Batch(sorted(answered, key=lambda item: item.index))
                with anyio.CancelScope(shield=True):
                    _, shown = await _keep(context, request, kept, progress, options.inline_max_bytes)
                _log_kept_after_cancel(shown, request.images_asked)
            raise
        with anyio.CancelScope(shield=True):  # paid for: fetched and saved even if the call is cancelled meanwhile
            report, shown = await _keep(context, request, made, progress, options.inline_max_bytes)
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()
        except anyio.get_cancelled_exc_class():
            _log_kept_after_cancel(shown, request.images_asked)
            raise
        await progress.update("saved")
    outcome = Outcome(
        model=str(request.payload["model"]),
        seed=made.seed,
        inference_seconds=made.inference_seconds,
        images=shown,
        failed=sorted(report.failed, key=lambda failure: failure.index),
        notes=report.notes,
        trace_id=made.trace_id,
        edited=any(name in request.payload for name in INPUT_IMAGE_FIELDS),
    )
    # Structured content as the tool was registered: ClientPresetListing strips it for a client's preset.
    return build_result(outcome, replace(options, structured_output=context.settings.structured_output))


async def _keep(
    context: CallContext, request: ProviderRequest, made: Batch, progress: ProgressReporter, budget: int
) -> tuple[_Report, list[ShownImage]]:
    """Fetch every image the provider made, publish each with its sidecar and make its inline copy.

    Whatever is not published by the end (an image that failed) is removed on the way out.
    """
    report = _Report(datetime.now(UTC), _failed_requests(made), [*request.notes, *made.notes])
    total = len(made.images)
    with ExitStack() as unpublished:
        await progress.update(f"downloading {total} image{'s' if total != 1 else ''}")
        received = await _receive_all(context, context.provider, made.images, unpublished, report, progress, budget)
        provenance = _provenance(context, request, made)
        shown = await _publish_and_show(context, received, budget, report, provenance)
    return report, shown


def _log_kept_after_cancel(shown: list[ShownImage], asked: int) -> None:
    """The client gave up, so no result will say where its paid images went: the log does."""
    where = ", ".join(image.saved.location for image in shown) or "none could be saved"
    logger.warning(
        "the call was cancelled after the provider made %d of %d image(s); saved anyway: %s", len(shown), asked, where
    )


def _failed_requests(made: Batch) -> list[FailedImageOut]:
    """The requests of a fanned-out batch that brought no image."""
    return [
        FailedImageOut(index=item.index, error=str(item.error), seed=item.seed, trace_id=item.error.trace_id)
        for item in made.failed
    ]


async def _receive_all(
    context: CallContext,
    provider: ProviderClient,
    outputs: list[MadeImage],
    unpublished: ExitStack,
    report: _Report,
    progress: ProgressReporter,
    inline_budget: int,
) -> list[_Received]:
    received: list[_Received] = []
    out_of_space: list[MadeImage] = []
    done = 0

    async def receive(made: MadeImage, *, last_try: bool) -> None:
        nonlocal done
        pending: Upload | None = None
        try:
            pending = unpublished.enter_context(context.store.pending())
            preview_budget = inline_budget_per_image(inline_budget, len(outputs))
            arriving = ArrivingImage(pending, decode=inline_budget > 0, preview_budget=preview_budget)
            try:
                await provider.fetch_image(made.output, arriving)
            except BaseException:
                arriving.abandon()
                raise
            arriving.end()
            image = await _identify(pending)
            data = b""
            if arriving.given_up or base64_length(pending.size) <= inline_budget:
                data = await anyio.to_thread.run_sync(pending.read_all)
            received.append(_Received(made, pending, image, arriving, data))
        except (ProviderError, NotAnImageError, OSError) as error:
            if pending is not None:
                pending.discard()
            if not last_try and isinstance(error, OSError) and error.errno in _OUT_OF_SPACE:
                out_of_space.append(made)  # tried again alone, once the others have freed what they could
                return
            logger.warning("image %d of %d not saved: %s", made.index, len(outputs), context.redact(str(error)))
            report.failed.append(_failure(made, error, report.answered_at))
        except Exception as error:  # one image's surprise must not cost the batch's other, paid images
            logger.exception("image %d of %d failed unexpectedly", made.index, len(outputs))
            unexpected = ProviderError(f"fetching it failed unexpectedly ({type(error).__name__}); nothing was saved.")
            report.failed.append(_failure(made, unexpected, report.answered_at))
            if pending is not None:
                pending.discard()
        done += 1
        await progress.update(f"downloaded {done}/{len(outputs)}")

    async with anyio.create_task_group() as group:
        for made in outputs:
            group.start_soon(partial(receive, made, last_try=False))
    # Parallel downloads into a nearly full disk can all run out of room at once although some would fit:
    # each one that did is fetched again, one at a time, so the batch keeps every image that fits.
    for made in sorted(out_of_space, key=lambda item: item.index):
        await receive(made, last_try=True)
    return sorted(received, key=lambda item: item.index)


async def _publish_and_show(
    context: CallContext,
    received: list[_Received],
    budget: int,
    report: _Report,
    provenance: dict[str, Any],
) -> list[ShownImage]:
    """Publish every received image and make its inline copy, side by side; keep what was published.

    A sidecar that cannot be written, or a picture that cannot be decoded, costs a note or the inline copy,
    never the saved image.
    """
    stamp = batch_stamp()
    plan = InlinePlan.for_batch([item.pending.size for item in received], budget)
    shown: list[ShownImage | None] = [None] * len(received)
    inlines: list[InlineImage | None] = [None] * len(received)
    problems: list[str | None] = [None] * len(received)

    async def publish(slot: int, item: _Received) -> None:
        # Shielded: once a file is being published it gets its record and a durable name, even if the
        # call is cancelled meanwhile (the folder sync that makes the name durable comes with the sidecar).
        with anyio.CancelScope(shield=True):
            await publish_durably(slot, item)

    async def publish_durably(slot: int, item: _Received) -> None:
        made = item.made

        def publishing() -> SavedImage:
            sha256 = item.arriving.sha256()
            publish = item.pending.publish
            return publish(item.image, seed=made.seed, index=item.index, stamp=stamp, sync_folder=False, sha256=sha256)

        try:
            saved = await anyio.to_thread.run_sync(publishing)
        except OSError as error:
            report.failed.append(_failure(made, error, report.answered_at))
            return
        shown[slot] = ShownImage(saved, None, made=made)
        if saved.kept_aside is not None:
            report.notes.append(f"Image {item.index}: {saved.kept_aside}")
        record = {**provenance, "index": item.index, "seed": made.seed, "trace_id": made.trace_id}
        try:
            await anyio.to_thread.run_sync(context.store.write_sidecar, saved, record)
        except OSError as error:
            report.notes.append(
                f"Image {item.index} is saved, but its record ({saved.name}.json) could not be written: "
                f"{describe_os_error(error)}."
            )

    async def show(slot: int, item: _Received) -> None:
        limiter = context.preview_workers
        try:
            inlines[slot] = await anyio.to_thread.run_sync(_inline_copy, item, plan, limiter=limiter)
        except UndecodableImageError as error:
            problems[slot] = f"not shown inline because {error}"
            logger.warning("image %d cannot be shown inline: %s", item.index, error)
        item.data = b""  # the inline copy is made; the bytes are on disk
        item.arriving.release()

    async with anyio.create_task_group() as group:
        for slot, item in enumerate(received):
            group.start_soon(publish, slot, item)
            group.start_soon(show, slot, item)
    return [
        ShownImage(image.saved, inlines[slot], problems[slot], made=image.made)
        for slot, image in enumerate(shown)
        if image is not None
    ]


def _inline_copy(item: _Received, plan: InlinePlan) -> InlineImage | None:
    """The inline copy of one image, from the picture decoded while it downloaded when there is one."""
    if plan.budget <= 0:
        return None
    decoded = item.arriving.decoded()
    if decoded.problem is not None:
        raise UndecodableImageError(decoded.problem)
    if decoded.picture is None and not item.data:
        raise UndecodableImageError("decoding it failed unexpectedly (the server's log says why)")
    # A preview made for a smaller share (another image of the batch failed) may have been halved to fit it.
    preview = decoded.preview if plan.share <= decoded.preview_share else None
    return inline_for(item.data, item.image, plan, decoded.picture, preview)


def _failure(made: MadeImage, error: Exception, answered_at: datetime) -> FailedImageOut:
    """Why an image is not in the result, and, when it was only our disk that failed, how to rescue it."""
    if isinstance(error, NotAnImageError):
        message = f"the provider's link did not return an image: {error}. Nothing was saved for it."
    elif isinstance(error, OSError):
        rescue = ""
        if made.output.url:
            until = answered_at + LINK_LIFETIME
            rescue = f" The provider's link stays valid until about {until:%H:%M} UTC: {made.output.url}"
        message = f"the image was generated but could not be saved: {save_failure(error)}.{rescue}"
    else:
        message = str(error)
    return FailedImageOut(index=made.index, error=message, seed=made.seed, trace_id=made.trace_id)


def _provenance(context: CallContext, request: ProviderRequest, made: Batch) -> dict[str, Any]:
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
        "seed": made.seed,
        "trace_id": made.trace_id,
        "arguments": arguments,
        "notes": [*request.notes, *made.notes],
        "provider": context.redact(context.settings.base_url),
        "inference_seconds": made.inference_seconds,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "generator": f"mcp-server-siliconflow-image {__version__}",
    }


async def _identify(pending: Upload) -> ImageFormat:
    try:
        return identify(bytes(pending.head))
    except NotAnImageError:
        if pending.size <= len(pending.head):
            raise
        return identify(await anyio.to_thread.run_sync(pending.read_all))  # header past the kept head
