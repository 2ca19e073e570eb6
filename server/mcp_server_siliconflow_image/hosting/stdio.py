"""Serving one local client over stdin/stdout, with every request line answered.

The SDK's stdio transport drops, without an answer, a line it cannot validate, and the client waits forever.
Such a line is repaired when it is valid JSON the SDK's strict parser refuses, and answered with the JSON-RPC
error it is owed when it is not a valid request at all (see `RepairedLines`). A client that goes away (stdin
closed, stdout broken) is a normal end.
Over stdio the one user owns the server: its own key, its images, and the local files edit_image may read.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol, cast

import anyio
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError

from mcp_server_siliconflow_image.hosting.malformed import bounded_int, refusals

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

logger = logging.getLogger(__name__)


def closed_pipe() -> str | None:
    """Why there is no client to serve when the server was started with stdin or stdout closed (`0<&-`: Python
    then has no `sys.stdin`); None when both are there. Said in one line, instead of a traceback."""
    closed = [name for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout)) if stream is None]
    if not closed:
        return None
    return (
        f"{' and '.join(closed)} {'is' if len(closed) == 1 else 'are'} closed, so there is no MCP client to serve: a "
        "client (Claude Desktop, Claude Code, Cursor, VS Code) starts this server with pipes on stdin and stdout. "
        "To see it work without a client: mcp-server-siliconflow-image demo"
    )


def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve one client over stdin/stdout until it goes away, and say so on stderr rather than in a traceback.

    A client ends the session by closing stdin; one that dies or closes its end of stdout mid-call makes
    the next write fail with a broken pipe. Both are a normal end for a stdio server.
    """
    try:
        anyio.run(_serve_stdio_async, server)
    except BaseException as error:
        if not _client_went_away(error):
            raise
        # Nothing more can reach the client; keep the interpreter's final flush from complaining too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        logger.info("the client closed its end of stdout (it quit or crashed): stopping; unanswered calls dropped")
        return
    logger.info("stdin closed: the client ended the session; stopping")


async def _serve_stdio_async(server: MCPServer[Any]) -> None:
    """The SDK's stdio transport, reading stdin through `RepairedLines` so every request gets an answer."""
    from mcp.server.stdio import stdio_server

    lines = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    repaired = RepairedLines(lines)
    async with stdio_server(stdin=cast("anyio.AsyncFile[str]", repaired)) as (reading, writing):
        repaired.answer_through(writing)
        lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs; it takes no stdin of ours
        await lowlevel.run(reading, writing, lowlevel.create_initialization_options())


class Answers(Protocol):
    """Where the server's messages to the client go (the transport's write stream)."""

    async def send(self, item: SessionMessage, /) -> None: ...


class RepairedLines:
    """Client lines as the SDK can read them: repaired where that is possible, answered where it is not.

    A lone UTF-16 surrogate escape (a prompt cut inside an emoji: `"\\ud83d"`) or an integer of thousands of
    digits fails the SDK's JSON parsing, and the SDK then drops the request at DEBUG level: the client waits
    forever. Such a line is parsed leniently and written again (the surrogate as U+FFFD, the huge number as
    a short string), so the request reaches validation and is refused in words. A line that is no valid request
    (`"params": [1]`, `"jsonrpc": "1.0"`, a method that is not a string, a batch, text that is not JSON) is not
    passed on: it is answered with its JSON-RPC error (hosting/malformed.py) on the transport's own write
    stream, and the next line is read. Blank lines are skipped.
    """

    def __init__(self, lines: AsyncIterable[str]) -> None:
        self._lines = lines
        self._answers: Answers | None = None
        self._can_answer = anyio.Event()

    def answer_through(self, answers: Answers) -> None:
        """Where refusals go: the write stream the transport made (it exists only once the transport runs)."""
        self._answers = answers
        self._can_answer.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        await self._can_answer.wait()
        assert self._answers is not None
        async for line in self._lines:
            if not line.strip():
                continue
            readable = readable_line(line)
            if isinstance(readable, str):
                yield readable
                continue
            if not readable:
                logger.warning("ignored a malformed response from the client (responses are never answered)")
            for refusal in readable:
                logger.warning("answered a malformed message: %d %s", refusal.error.code, refusal.error.message)
                await self._answers.send(SessionMessage(refusal))


def readable_line(line: str) -> str | list[JSONRPCError]:
    """`line` as the SDK can read it (itself, or repaired), or the error answers it is owed instead."""
    answers = refusals(line)
    if answers is None:
        return line
    repaired = repair_line(line)
    if repaired is not None and refusals(repaired) is None:
        return repaired
    return answers


def repair_line(line: str) -> str | None:
    """Valid JSON the SDK's parser refuses, written again so that it can read it; None when `line` is not JSON."""
    try:
        message = json.loads(line, parse_int=bounded_int)
        return json.dumps(_without_surrogates(message), ensure_ascii=False) + "\n"
    except (ValueError, RecursionError):
        return None


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def _client_went_away(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_client_went_away(inner) for inner in error.exceptions)
    return isinstance(error, BrokenPipeError | ConnectionResetError)
