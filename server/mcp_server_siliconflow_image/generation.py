"""One generating call from request to saved files: ask, fetch every image at once, save, report.

Provider links die after an hour, so the images are fetched in parallel right after the provider
answers, and each one that arrives is on disk before the tool returns. One image that cannot be
fetched does not cost the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import httpx
from mcp_types import CallToolResult

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.client_presets import ResultOptions
from mcp_server_siliconflow_image.directory import ModelDirectory
from mcp_server_siliconflow_image.fanout import Batch, MadeImage, request_batch
from mcp_server_siliconflow_image.imageformat import ImageFormat, NotAnImageError, identify
from mcp_server_siliconflow_image.payload import INPUT_IMAGE_FIELDS, ProviderRequest
from mcp_server_siliconflow_image.previews import InlineImage
from mcp_server_siliconflow_image.progress import ProgressReporter
from mcp_server_siliconflow_image.provider import (
    ProviderClient,
    ProviderError,
    create_http_client,
)
from mcp_server_siliconflow_image.results import FailedImageOut, InlinePlan, build_result, inline_for
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.storage import ImageStore, PendingImage, SavedImage, batch_stamp

logger = logging.getLogger(__name__)

PREVIEW_WORKERS = 2
WORKER_THREADS = 4


@dataclass
class Runtime:
    """What the tools share for the server's life: settings, the image folder, the connection pool."""

    settings: Settings
    store: ImageStore = field(init=False)
    directory: ModelDirectory = field(init=False, default_factory=ModelDirectory)
    _http: httpx.AsyncClient | None = field(default=None, init=False)
    _preview_workers: anyio.CapacityLimiter | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = ImageStore(self.settings.image_dir)

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared connection pool, made on first use: building its TLS context costs ~100 ms, which
        would otherwise delay the server's answer to `initialize`."""
        if self._http is None:
            self._http = create_http_client(self.settings)
        return self._http

    @property
    def preview_workers(self) -> anyio.CapacityLimiter:
        """Previews decode whole images: two at a time keep both cores busy without holding every image
        of every concurrent call decoded in memory at once."""
        if self._preview_workers is None:
            self._preview_workers = anyio.CapacityLimiter(PREVIEW_WORKERS)
        return self._preview_workers

    @property
    def provider(self) -> ProviderClient:
        return ProviderClient(self.settings, self.http)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Runtime]:
        """The server's lifespan: bounds the worker threads, and closes the pool when the server stops.

        Worker threads do short file and image work (and the stdio transport reads and writes through them);
        a handful keep two cores busy, while each extra thread can claim its own malloc arena (measured at
        batch 4 x 3 MB: 147 MB peak with anyio's default of 40 threads, 127-133 MB with 4).
        """
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        try:
            yield self
        finally:
            if self._http is not None:
                await self._http.aclose()
                self._http = None


@dataclass
class _Received:
    """A downloaded image that passed its checks, still in its hidden temporary file."""

    made: MadeImage
    pending: PendingImage
    image: ImageFormat
    data: bytes = b""

    @property
    def index(self) -> int:
        return self.made.index


async def generate(
    runtime: Runtime, request: ProviderRequest, progress: ProgressReporter, options: ResultOptions | None = None
) -> CallToolResult:
    """Run `request` against the provider and return the contract's result (raises ProviderError).

    `options` is what the calling client's results carry (client_presets.py; default: the settings). The
    provider is asked by `request_batch` (one request, or one per image for models without native
    batching). Phase 1 downloads every image at once into hidden temporary files. Phase 2 publishes each file (fsync,
    then its final name) while its inline copy or preview is made, on worker threads side by side.
    Whatever is not published by the end (an error, a cancelled call) is removed on the way out.
    """
    provider = runtime.provider
    options = options or ResultOptions.from_settings(runtime.settings)
    with ExitStack() as unpublished:
        async with progress.heartbeat():
            await progress.update("waiting for the provider")
            batch = await request_batch(provider, request, progress.update, runtime.settings.timeout)
            failed = [
                FailedImageOut(index=item.index, error=str(item.error), seed=item.seed, trace_id=item.error.trace_id)
                for item in batch.failed
            ]
            total = len(batch.images)
            await progress.update(f"downloading {total} image{'s' if total != 1 else ''}")
            received = await _receive_all(runtime, provider, batch.images, unpublished, failed, progress)
            provenance = _provenance(runtime, request, batch)
            images, inlines, made = await _publish_and_show(
                runtime, received, options.inline_max_bytes, failed, provenance
            )
            await progress.update("saved")
    return build_result(
        model=str(request.payload["model"]),
        seed=batch.seed,
        inference_seconds=batch.inference_seconds,
        images=images,
        inlines=inlines,
        made=made,
        failed=sorted(failed, key=lambda failure: failure.index),
        notes=[*request.notes, *batch.notes],
        inline_max_bytes=options.inline_max_bytes,
        structured=runtime.settings.structured_output,  # as the tool was registered; see ClientPresetListing
        resource_links=options.resource_links,
        trace_id=batch.trace_id,
        edited=any(name in request.payload for name in INPUT_IMAGE_FIELDS),
    )


async def _receive_all(
    runtime: Runtime,
    provider: ProviderClient,
    outputs: list[MadeImage],
    unpublished: ExitStack,
    failed: list[FailedImageOut],
    progress: ProgressReporter,
) -> list[_Received]:
    received: list[_Received] = []
    done = 0

    async def receive(made: MadeImage) -> None:
        nonlocal done
        pending = unpublished.enter_context(runtime.store.pending())
        try:
            await provider.fetch_image(made.output, pending)
            image = await _identify(pending)
            data = await anyio.to_thread.run_sync(pending.read_all)
            received.append(_Received(made, pending, image, data))
        except (ProviderError, NotAnImageError, OSError) as error:
            logger.warning("image %d of %d not saved: %s", made.index, len(outputs), error)
            failed.append(
                FailedImageOut(index=made.index, error=_describe_failure(error), seed=made.seed, trace_id=made.trace_id)
            )
            pending.discard()
        done += 1
        await progress.update(f"downloaded {done}/{len(outputs)}")

    async with anyio.create_task_group() as group:
        for made in outputs:
            group.start_soon(receive, made)
    return sorted(received, key=lambda item: item.index)


async def _publish_and_show(
    runtime: Runtime,
    received: list[_Received],
    budget: int,
    failed: list[FailedImageOut],
    provenance: dict[str, Any],
) -> tuple[list[SavedImage], list[InlineImage | None], list[MadeImage]]:
    stamp = batch_stamp()
    plan = InlinePlan.for_batch([item.pending.size for item in received], budget)
    saved: list[SavedImage | None] = [None] * len(received)
    inlines: list[InlineImage | None] = [None] * len(received)

    async def publish(slot: int, item: _Received) -> None:
        try:
            publishing = partial(
                item.pending.publish,
                item.image,
                seed=item.made.seed,
                index=item.index,
                stamp=stamp,
                provenance={**provenance, "index": item.index, "seed": item.made.seed, "trace_id": item.made.trace_id},
            )
            saved[slot] = await anyio.to_thread.run_sync(publishing)
        except OSError as error:
            failed.append(
                FailedImageOut(
                    index=item.index, error=_describe_failure(error), seed=item.made.seed, trace_id=item.made.trace_id
                )
            )

    async def show(slot: int, item: _Received) -> None:
        limiter = runtime.preview_workers
        inlines[slot] = await anyio.to_thread.run_sync(inline_for, item.data, item.image, plan, limiter=limiter)
        item.data = b""  # the inline copy is made; the bytes are on disk

    async with anyio.create_task_group() as group:
        for slot, item in enumerate(received):
            group.start_soon(publish, slot, item)
            group.start_soon(show, slot, item)
    kept = [slot for slot, image in enumerate(saved) if image is not None]
    made = [received[slot].made for slot in kept]
    return [saved[slot] for slot in kept], [inlines[slot] for slot in kept], made  # type: ignore[misc]


def _provenance(runtime: Runtime, request: ProviderRequest, batch: Batch) -> dict[str, Any]:
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
        "seed": batch.seed,
        "trace_id": batch.trace_id,
        "arguments": arguments,
        "notes": [*request.notes, *batch.notes],
        "provider": runtime.settings.base_url,
        "inference_seconds": batch.inference_seconds,
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


def _describe_failure(error: Exception) -> str:
    if isinstance(error, NotAnImageError):
        return f"the provider's link did not return an image: {error}. Nothing was saved for it."
    if isinstance(error, OSError):
        return f"could not save the image: {error.strerror or error}. Check SILICONFLOW_IMAGE_DIR."
    return str(error)
