"""HTTP plumbing every request shares: how its time is bounded, and reading bodies with a size cap, so a
runaway response cannot exhaust memory."""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass

import httpx2

CONNECT_SECONDS = 15.0
"""Connecting never takes longer than this, however long the request may take: an unreachable host fails fast."""


def timeout_within(seconds: float) -> httpx2.Timeout:
    """An httpx2 timeout for a request that must be over within `seconds` (connecting gets at most 15 s of them)."""
    return httpx2.Timeout(seconds, connect=min(CONNECT_SECONDS, seconds))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every request (building one costs ~100 ms, so it is built once).

    The certificates trusted are certifi's bundle, or those SSL_CERT_FILE or SSL_CERT_DIR name: what httpx
    trusted, which this server used before httpx2. httpx2's own default trusts the operating system's store
    instead (truststore on Windows and macOS, OpenSSL's paths on Linux), which would change which servers are
    trusted, and on a Linux without a CA bundle installed fail every download.
    """
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi  # only here: the one certificate bundle is read when the first TLS context is built

    return ssl.create_default_context(cafile=certifi.where())


class TooLargeError(Exception):
    """The body grew past the cap; reading stopped there."""


async def read_capped(response: httpx2.Response, max_bytes: int) -> bytes:
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


NAME_UNKNOWN = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)
"""Resolver answers that say a name does not exist (EAI_AGAIN, "try again", may pass: it is not among them)."""


@dataclass(frozen=True)
class WrongAddress:
    """Why an address can never answer: its host name does not resolve, or nothing listens at it."""

    host: str
    port: int | None
    """None when the name does not resolve; else the port nothing listens on."""

    def describe(self, *, show: bool = True) -> str:
        """In words, naming the address unless `show` is False (a caller who did not configure it)."""
        if self.port is None:
            return f"the host name {self.host} does not resolve" if show else "its host name does not resolve"
        where = f"{self.host}:{self.port}" if show else "its address"
        return f"nothing listens at {where} (connection refused)"

    def __str__(self) -> str:
        return self.describe()


def unreachable_address(error: httpx2.HTTPError) -> WrongAddress | None:
    """Why the address `error`'s request went to can never answer, when the error proves it: its host name does
    not resolve, or nothing listens at that local port. That is a setting to fix, not a hiccup to retry.

    None for failures that may pass: a remote host refusing while it restarts, timeouts, dropped connections,
    a resolver that is down for now.
    """
    if not isinstance(error, httpx2.ConnectError):
        return None
    try:
        url = error.request.url
    except RuntimeError:  # an error raised without its request
        return None
    causes = list(_causes(error))
    if any(isinstance(cause, socket.gaierror) and cause.errno in NAME_UNKNOWN for cause in causes):
        return WrongAddress(url.host, None)
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes) and _is_local(url.host):
        return WrongAddress(url.host, url.port or (443 if url.scheme == "https" else 80))
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and everything it was raised from or during, the members of exception groups included."""
    found: list[BaseException] = []
    pending: list[BaseException] = [error]
    while pending and len(found) < 64:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [cause for cause in (current.__cause__, current.__context__) if cause is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
    return found


def _is_local(host: str) -> bool:
    """Whether `host` is this machine (loopback, or 0.0.0.0, which connects to it): a refusal there is final."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
