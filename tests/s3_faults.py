"""A fault-injecting HTTP proxy in front of the real S3 API server (moto's), for storage failures a bucket really has.

Every request is passed to the S3 server unchanged, unless a queued `StoreFault` matches it (by method and a
regular expression on the path): then the proxy answers an S3 error status itself, forwards the request and
drops the connection instead of answering (a PUT that committed, whose answer was lost), or holds the request
until the fault is released (a stalled store). Everything it was asked is recorded, so a test can say how
many times an object was written.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

FaultKind = Literal["status", "drop_answer", "stall"]


@dataclass
class StoreFault:
    """One failure of the store: `kind` for requests of `method` whose path matches `path`, `times` times."""

    kind: FaultKind
    method: str = "PUT"
    path: str = r".*"
    """A regular expression searched in the request path (`/bucket/prefix/name`)."""
    status: int = 500
    times: int = 1
    released: threading.Event = field(default_factory=threading.Event)
    """For a stall: the held request is answered once this is set (or when the proxy stops)."""
    fired: threading.Event = field(default_factory=threading.Event)
    """Set when the fault first fires: a test waits on it instead of sleeping."""

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.search(self.path, path) is not None


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    answered: int | None
    """The status the client got; None when it got no answer (dropped or never released)."""


class FaultyS3:
    """The proxy's state: the faults still to fire and every request seen, under one lock."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: list[StoreFault] = []
        self.seen: list[SeenRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def add(self, fault: StoreFault) -> StoreFault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> StoreFault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    fault.fired.set()
                    return fault
        return None

    def record(self, method: str, path: str, answered: int | None) -> None:
        with self.lock:
            self.seen.append(SeenRequest(method, path, answered))

    def writes(self, pattern: str) -> list[SeenRequest]:
        """The PUTs whose path matches `pattern`, in order."""
        with self.lock:
            return [seen for seen in self.seen if seen.method == "PUT" and re.search(pattern, seen.path)]


def _handler(state: FaultyS3) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = state.take(self.command, self.path)
            if fault is not None and fault.kind == "stall":
                while not (fault.released.wait(0.05) or state.stopping.is_set()):
                    pass
            if fault is not None and fault.kind == "status":
                error = f"<Error><Code>InternalError</Code><Message>injected {fault.status}</Message></Error>"
                self._answer(fault.status, {"Content-Type": "application/xml"}, error.encode())
                state.record(self.command, self.path, fault.status)
                return
            status, headers, answer = self._forward(body)
            if fault is not None and fault.kind == "drop_answer":
                state.record(self.command, self.path, None)
                self.close_connection = True  # the write reached the store; its answer never reaches the client
                return
            self._answer(status, headers, answer)
            state.record(self.command, self.path, status)

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            upstream = http.client.HTTPConnection(state.upstream.hostname or "", state.upstream.port, timeout=30)
            try:
                headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                answer = response.read()
                kept = {
                    name: value
                    for name, value in response.getheaders()
                    if name.lower() not in ("connection", "transfer-encoding", "content-length")
                }
                return response.status, kept, answer
            finally:
                upstream.close()

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

    return Proxy


@contextmanager
def faulty_s3(upstream: str) -> Iterator[tuple[str, FaultyS3]]:
    """The proxy on a loopback port in front of `upstream`: its URL (for AWS_ENDPOINT_URL) and its state."""
    state = FaultyS3(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()
