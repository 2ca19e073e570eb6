"""A minimal newline-delimited JSON-RPC client that keeps every raw byte the server wrote."""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from typing import Any

from tests.helpers import CALL_SECONDS, server_command


class RawStdioClient:
    """Speaks newline-delimited JSON-RPC to the server process, the way Claude Desktop does."""

    def __init__(self, env: dict[str, str], *args: str, first_id: int = 1) -> None:
        """`first_id`: the JSON-RPC id of the first request (MCP SDK 1.x numbers from 0, SDK 2.x from 1)."""
        # stderr to a file: a pipe nobody reads fills up under DEBUG logging and stalls the server.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read and closed by close()
        self.process = subprocess.Popen(
            [server_command(), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, **env},
            cwd=os.sep,
        )
        self.raw_lines: list[bytes] = []
        self._unread = bytearray()
        self._next_id = first_id - 1

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self.read_until(self._next_id)

    def read_until(self, request_id: int | str, seconds: float = CALL_SECONDS) -> dict[str, Any]:
        """The answer to request `request_id`, keeping every line read on the way (notifications too).

        Fails after `seconds` without it: a request the server never answers must not hang the suite."""
        deadline = time.monotonic() + seconds
        while True:
            line = self.next_line(deadline - time.monotonic())
            assert line is not None, f"no answer to request {request_id!r} within {seconds} s"
            assert line, "server closed stdout (see its stderr in close())"
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == request_id:
                return message

    def next_line(self, seconds: float) -> bytes | None:
        """The next line the server wrote (kept in raw_lines), b"" at its end, or None if none came in `seconds`."""
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + seconds
        while b"\n" not in self._unread:
            ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(stdout.fileno(), 1 << 20)
            if not chunk:
                return b""
            self._unread += chunk
        end = self._unread.index(b"\n") + 1
        line = bytes(self._unread[:end])
        del self._unread[:end]
        self.raw_lines.append(line)
        return line

    def send_line(self, line: str) -> None:
        """Write one line exactly as given: the JSON a well-behaved client would never send."""
        self.process.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps(message))

    def handshake(self, version: str = "2025-06-18", name: str = "raw") -> dict[str, Any]:
        init = self.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": name, "version": "1"}},
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return init

    def close(self) -> str:
        self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=10)
        finally:
            self.process.kill()
        if self.process.stdout is not None:
            self.raw_lines += (bytes(self._unread) + self.process.stdout.read()).splitlines(keepends=True)
        self._stderr.seek(0)
        text = self._stderr.read().decode()
        self._stderr.close()
        return text
