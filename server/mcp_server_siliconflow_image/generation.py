"""One generating call from request to saved files: ask, fetch every image at once, save, report.

Provider links die after an hour, so the images are fetched in parallel right after the provider
answers, and each one that arrives is on disk before the tool returns. One image that cannot be
fetched does not cost the others.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import anyio
import httpx
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.directory import ModelDirectory
from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify
from mcp_server_siliconflow_image.payload import ProviderRequest
from mcp_server_siliconflow_image.progress import ProgressReporter
from mcp_server_siliconflow_image.provider import (
    ProviderClient,
    ProviderError,
    ProviderImage,
    create_http_client,
)
from mcp_server_siliconflow_image.results import FailedImageOut, build_result
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.storage import ImageStore, SavedImage, batch_stamp

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the tools share for the server's life: settings, the image folder, the connection pool."""

    settings: Settings
    store: ImageStore = field(init=False)
    directory: ModelDirectory = field(init=False, default_factory=ModelDirectory)
    _http: httpx.AsyncClient | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = ImageStore(self.settings.image_dir)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the HTTP client is opened by the server's lifespan")
        return self._http

    @property
    def provider(self) -> ProviderClient:
        return ProviderClient(self.settings, self.http)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Runtime]:
        async with create_http_client(self.settings) as http:
            self._http = http
            try:
                yield self
            finally:
                self._http = None


async def generate(runtime: Runtime, request: ProviderRequest, progress: ProgressReporter) -> CallToolResult:
    """Run `request` against the provider and return the contract's result (raises ProviderError)."""
    provider = runtime.provider
    async with progress.heartbeat():
        await progress.update("waiting for the provider")
        generation = await provider.generate(request.payload, on_retry=progress.update)
        total = len(generation.outputs)
        await progress.update(f"downloading {total} image{'s' if total != 1 else ''}")
        slots: list[SavedImage | FailedImageOut | None] = [None] * total
        stamp = batch_stamp()
        done = 0

        async def fetch_and_save(index: int, output: ProviderImage) -> None:
            nonlocal done
            try:
                slots[index] = await _fetch_and_save(runtime, provider, output, generation.seed, index + 1, stamp)
            except (ProviderError, NotAnImageError, OSError) as error:
                logger.warning("image %d of %d not saved: %s", index + 1, total, error)
                slots[index] = FailedImageOut(index=index + 1, error=_describe_failure(error))
            done += 1
            await progress.update(f"downloaded {done}/{total}")

        async with anyio.create_task_group() as group:
            for index, output in enumerate(generation.outputs):
                group.start_soon(fetch_and_save, index, output)

        await progress.update("saved")
    return await anyio.to_thread.run_sync(
        partial(
            build_result,
            model=str(request.payload["model"]),
            seed=generation.seed,
            inference_seconds=generation.inference_seconds,
            images=[slot for slot in slots if isinstance(slot, SavedImage)],
            failed=[slot for slot in slots if isinstance(slot, FailedImageOut)],
            notes=request.notes,
            inline_max_bytes=runtime.settings.inline_max_bytes,
            structured=runtime.settings.structured_output,
        )
    )


async def _fetch_and_save(
    runtime: Runtime, provider: ProviderClient, output: ProviderImage, seed: int | None, index: int, stamp: str
) -> SavedImage:
    """Stream one image to a hidden temp file, check it, then publish it; a cancelled call leaves nothing."""
    with runtime.store.pending() as pending:
        await provider.fetch_image(output, pending)
        try:
            image_format = identify(bytes(pending.head))
        except NotAnImageError:
            if pending.size <= len(pending.head):
                raise
            image_format = identify(await anyio.to_thread.run_sync(pending.read_all))  # header past the head
        publish = partial(pending.publish, image_format, seed=seed, index=index, stamp=stamp)
        return await anyio.to_thread.run_sync(publish)


def _describe_failure(error: Exception) -> str:
    if isinstance(error, NotAnImageError):
        return f"the provider's link did not return an image: {error}. Nothing was saved for it."
    if isinstance(error, OSError):
        return f"could not save the image: {error.strerror or error}. Check SILICONFLOW_IMAGE_DIR."
    return str(error)
