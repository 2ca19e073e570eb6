"""Saving a finished job's video: exactly the provider's bytes, a provenance sidecar, and a poster frame.

The MP4 is received into the store's hidden temporary file (or memory, for a bucket), checked to be a
whole MP4, then given its final name without ever replacing a file; its poster frame (jobs/poster.py) is
saved beside it as a JPEG under the same time stamp, with a sidecar naming the video it shows. Once the
video is being published, cancellation waits: paid work gets its name and its record.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.imageformat import VIDEO_MIME_TYPE, ImageFormat, identify
from mcp_server_siliconflow_image.jobs.poster import VideoFacts, describe_video
from mcp_server_siliconflow_image.jobs.record import JobOutcome, JobRecord, now_text
from mcp_server_siliconflow_image.provider.video import VideoStatus
from mcp_server_siliconflow_image.stores.folder import describe_os_error
from mcp_server_siliconflow_image.stores.naming import SavedImage, batch_stamp

logger = logging.getLogger(__name__)


async def save_video(context: CallContext, record: JobRecord, status: VideoStatus) -> JobOutcome:
    """Download the video `status` links to and save it with its poster; the job's completed outcome.

    Raises ProviderError (the download) or OSError (the store) when the video could not be saved.
    """
    assert status.url is not None
    store = context.store
    seed = status.seed if status.seed is not None else record.seed
    notes: list[str] = []
    with store.pending() as pending:
        await context.video.fetch_video(status.url, pending)
        data = await anyio.to_thread.run_sync(pending.read_all)
        facts = await anyio.to_thread.run_sync(describe_video, data, limiter=context.preview_workers)
        del data
        stamp = batch_stamp()
        video_format = ImageFormat(VIDEO_MIME_TYPE, facts.width or 0, facts.height or 0)
        with anyio.CancelScope(shield=True):
            publish = partial(pending.publish, video_format, seed=seed, index=1, stamp=stamp)
            video = await anyio.to_thread.run_sync(publish)
            provenance = _provenance(context, record, status, seed, facts)
            await _write_sidecar(context, video, provenance, notes)
            poster = await _save_poster(context, facts, video, seed, stamp, notes)
    if facts.problem:
        notes.append(f"No poster frame: {facts.problem}. The video is saved as the provider sent it.")
    return JobOutcome(
        job=record.job,
        status="completed",
        trace_id=status.trace_id,
        seed=seed,
        inference_seconds=status.inference_seconds,
        video=video,
        poster=poster,
        duration_s=facts.duration_s,
        notes=notes,
    )


async def _save_poster(
    context: CallContext, facts: VideoFacts, video: SavedImage, seed: int | None, stamp: str, notes: list[str]
) -> SavedImage | None:
    """The poster frame saved next to its video (same time stamp); a failure costs a note, never the video."""
    if facts.poster is None:
        return None
    save = partial(context.store.save, facts.poster, identify(facts.poster), seed=seed, index=1, stamp=stamp)
    try:
        poster = await anyio.to_thread.run_sync(save)
    except OSError as error:
        notes.append(f"The poster frame could not be saved: {describe_os_error(error)}.")
        return None
    record = {"poster_of": video.name, "video": video.location, "seed": seed, "created": now_text()}
    await _write_sidecar(context, poster, record, notes)
    return poster


async def _write_sidecar(context: CallContext, saved: SavedImage, provenance: dict[str, Any], notes: list[str]) -> None:
    try:
        await anyio.to_thread.run_sync(context.store.write_sidecar, saved, provenance)
    except OSError as error:
        notes.append(f"{saved.name} is saved, but its record could not be written: {describe_os_error(error)}.")


def _provenance(
    context: CallContext, record: JobRecord, status: VideoStatus, seed: int | None, facts: VideoFacts
) -> dict[str, Any]:
    """How the video was made, for its sidecar: enough to make it again or audit it; never a key or input bytes."""
    arguments: dict[str, Any] = {"model": record.model, "prompt": record.prompt, "image_size": record.image_size}
    if record.negative_prompt:
        arguments["negative_prompt"] = record.negative_prompt
    if record.seed is not None:
        arguments["seed"] = record.seed
    if record.input_image:
        arguments["image"] = f"<input image, {record.input_image}>"
    return {
        "prompt": record.prompt,
        "model": record.model,
        "seed": seed,
        "job": record.job,
        "request_id": record.request_id,
        "trace_id": record.trace_id,
        "status_trace_id": status.trace_id,
        "arguments": arguments,
        "notes": record.notes,
        "duration_s": facts.duration_s,
        "provider": context.redact(context.settings.base_url),
        "inference_seconds": status.inference_seconds,
        "submitted": record.created_at,
        "created": now_text(),
        "generator": f"mcp-server-siliconflow-image {__version__}",
    }
