"""Progress notifications while a call waits on the provider.

Generation takes seconds to minutes. Clients that were given a progressToken get a notification at
every phase change and a heartbeat every couple of seconds in between, which keeps clients that reset
their request timeout on progress from giving up on a call that is still working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

HEARTBEAT_SECONDS = 2.0

SendProgress = Callable[[float, float | None, str | None], Awaitable[None]]


class ProgressReporter:
    """Sends monotonically increasing progress with a message; a no-op when there is nobody to tell."""

    def __init__(self, send: SendProgress | None, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self._send = send
        self._heartbeat = heartbeat
        self._count = 0
        self._message = "starting"

    async def update(self, message: str) -> None:
        self._message = message
        await self._emit()

    async def _emit(self) -> None:
        if self._send is None:
            return
        self._count += 1
        try:
            await self._send(self._count, None, self._message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send = None  # the client went away; the work itself goes on

    @asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[ProgressReporter]:
        """Repeat the current message every few seconds for the duration of the block."""
        if self._send is None:
            yield self
            return

        async def beat() -> None:
            while True:
                await anyio.sleep(self._heartbeat)
                await self._emit()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(beat)
                try:
                    yield self
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as grouped:
            # The block's own error, not a wrapper around it: callers catch ProviderError and friends.
            if len(grouped.exceptions) == 1:
                raise grouped.exceptions[0] from None
            raise
