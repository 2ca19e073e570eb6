"""HTTP plumbing every request shares: how its time is bounded, and reading bodies with a size cap, so a
runaway response cannot exhaust memory."""

from __future__ import annotations

import httpx

CONNECT_SECONDS = 15.0
"""Connecting never takes longer than this, however long the request may take: an unreachable host fails fast."""


def timeout_within(seconds: float) -> httpx.Timeout:
    """An httpx timeout for a request that must be over within `seconds` (connecting gets at most 15 s of them)."""
    return httpx.Timeout(seconds, connect=min(CONNECT_SECONDS, seconds))


class TooLargeError(Exception):
    """The body grew past the cap; reading stopped there."""


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The whole body of a streamed response, or TooLargeError as soon as it exceeds `max_bytes`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLargeError
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)
