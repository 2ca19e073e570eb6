"""What every call shares for the server's life: settings, the base image store, the provider's answers per
key, the connection pool and the preview workers. What depends on the caller is in context.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx2

from mcp_server_siliconflow_image.hosting.tenants import TokenFile
from mcp_server_siliconflow_image.provider.client import create_http_client
from mcp_server_siliconflow_image.provider.live import LiveCache
from mcp_server_siliconflow_image.settings import Settings, SettingsError
from mcp_server_siliconflow_image.stores.base import Store, open_store

logger = logging.getLogger(__name__)

PREVIEW_WORKERS = 2
WORKER_THREADS = 4
TRANSPORT_THREADS = 1
"""The stdio transport reads each request in a worker thread, so one thread is always waiting on stdin."""


@dataclass
class Runtime:
    """Shared by every call and caller; never copied per call (a `CallContext` is built instead)."""

    settings: Settings
    store: Store = field(init=False)
    live: LiveCache = field(init=False, default_factory=LiveCache)
    _http: httpx2.AsyncClient | None = field(default=None, init=False)
    _preview_workers: anyio.CapacityLimiter | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = open_store(self.settings)

    @property
    def http(self) -> httpx2.AsyncClient:
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

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Runtime]:
        """The server's lifespan: checks the image folder, bounds the worker threads, closes the pool at the end.

        The folder is checked at start so a misconfiguration shows in the client's server log at once (and
        every generating call refuses before paying, see `calls.prepare`); what a killed predecessor left
        half-written is cleaned up or rescued. Worker threads do short file and image work (and the stdio
        transport reads and writes through them, one always waiting for the next request, so it gets a
        thread of its own rather than one of those for files and images); a handful keep two cores busy,
        while each extra thread can claim its own malloc arena (measured at batch 4 x 3 MB: 147 MB peak with
        anyio's default of 40 threads, 127-133 MB with 4).
        """
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS + TRANSPORT_THREADS
        await anyio.to_thread.run_sync(self._check_folder)
        try:
            yield self
        finally:
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    def _check_folder(self) -> None:
        problem = self.store.problem()
        if problem is not None:
            logger.error("%s generate_image and edit_image will refuse until this is fixed.", problem)
            return
        stores = [self.store] + [self.store.for_principal(name) for name in self.principals()]
        for store in stores:
            for rescued in store.recover_partials():
                logger.warning("rescued an image an interrupted run had downloaded: %s", rescued.location)

    def principals(self) -> list[str]:
        """The named principals of the token file: each has a store of its own (images, partial files, video jobs)."""
        if self.settings.mcp_tokens_file is None:
            return []
        try:
            return TokenFile(self.settings.mcp_tokens_file).names()
        except SettingsError:
            return []  # the HTTP transport refuses to start and says why
