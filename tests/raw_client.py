"""A minimal newline-delimited JSON-RPC client that keeps every raw byte the server wrote."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import Any

from tests.helpers import server_command


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
        self._next_id = first_id - 1

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self.read_until(self._next_id)

    def read_until(self, request_id: int) -> dict[str, Any]:
        """The answer to request `request_id`, keeping every line read on the way (notifications too)."""
        while True:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            assert line, "server closed stdout (see its stderr in close())"
            self.raw_lines.append(line)
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == request_id:
                return message

    def send(self, message: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

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
            self.raw_lines += self.process.stdout.read().splitlines(keepends=True)
        self._stderr.seek(0)
        text = self._stderr.read().decode()
        self._stderr.close()
        return text
