"""Serving one local client over stdin/stdout, with every request line answered.

The SDK's stdio transport drops, without an answer, a line it cannot validate, and the client waits forever.
Such a line is repaired when it is valid JSON the SDK's strict parser refuses, and answered with the JSON-RPC
error it is owed when it is not a valid request at all (see `RepairedLines`). A client that goes away (stdin
closed, stdout broken) is a normal end; stdin's end still gets every request read before it answered (see
`OpenRequests`), as the SDK alone would cancel them.
Over stdio the one user owns the server: its own key, its images, and the local files edit_image may read.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol, cast

import anyio
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse, RequestId

from mcp_server_siliconflow_image.hosting.malformed import bounded_int, refusals

if TYPE_CHECKING:
    from anyio.abc import TaskGroup, TaskStatus
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


def serve_stdio(server: MCPServer[Any], finish_within: float) -> None:
    """Serve one client over stdin/stdout until it goes away, and say so on stderr rather than in a traceback.

    A client ends the session by closing stdin; the requests it sent before are answered first, for at most
    `finish_within` seconds (the longest one call may take). One that dies or closes its end of stdout mid-call
    makes the next write fail with a broken pipe. Both are a normal end for a stdio server; so are Ctrl-C and
    SIGTERM while those last calls finish (`_stop_at_a_signal`), and Ctrl-C at any other moment the loop can
    take it (exit status 130, in one line).
    """
    try:
        anyio.run(_serve_stdio_async, server, finish_within)
    except KeyboardInterrupt:
        # Reachable only once stdin has ended (before, the reader thread holds the loop), outside the wait for
        # the last calls, which handles the signal itself.
        logger.info("interrupted (Ctrl-C): stopping; unanswered calls dropped")
        raise SystemExit(128 + signal.SIGINT) from None
    except BaseException as error:
        if not _client_went_away(error):
            raise
        # Nothing more can reach the client; keep the interpreter's final flush from complaining too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        logger.info("the client closed its end of stdout (it quit or crashed): stopping; unanswered calls dropped")
        return
    logger.info("stdin closed: the client ended the session; stopping")


async def _serve_stdio_async(server: MCPServer[Any], finish_within: float) -> None:
    """The SDK's stdio transport, reading stdin through `RepairedLines` so every request gets an answer."""
    from mcp.server.stdio import stdio_server

    lines = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    # The session's own tasks: the signal receiver installed when stdin ends lives until the calls the SDK
    # cancelled have saved what the provider made (a second SIGTERM must not kill that saving).
    async with anyio.create_task_group() as session:
        open_requests = OpenRequests(finish_within, session)
        repaired = RepairedLines(lines, open_requests)
        async with stdio_server(stdin=cast("anyio.AsyncFile[str]", repaired)) as (reading, writing):
            repaired.answer_through(writing)
            lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs; it takes no stdin of ours
            requests = WatchedRequests(reading, open_requests)
            answers = WatchedAnswers(writing, open_requests)
            await lowlevel.run(requests, answers, lowlevel.create_initialization_options())
        session.cancel_scope.cancel()


class OpenRequests:
    """The client's requests that have no answer yet, so that the end of stdin waits for them.

    The SDK ends the session as soon as stdin ends and cancels the calls still running. A client that writes
    its requests and closes stdin (a script: `printf '...' | mcp-server-siliconflow-image`) then gets no answer
    to the last ones, and a generation the provider already made is cut off. So the end of stdin is held back
    until every line passed on has reached the SDK and every request it read has been answered or cancelled by
    the client (`notifications/cancelled`), for at most `finish_within` seconds.

    Requests are what the SDK itself read (`WatchedRequests`), never a reading of our own: a line holding both
    a method and an error is an answer to the SDK's parser, and one that fails its validation is no request at
    all; neither is ever answered. Ids are matched as the SDK matches them (`coerce_request_id`: a cancellation
    naming "7" cancels request 7), and counted: a client reusing an id in flight gets both calls answered.
    """

    def __init__(self, finish_within: float, session: TaskGroup | None = None) -> None:
        self.finish_within = finish_within
        self._session = session
        self._wait = anyio.CancelScope()
        self._waiting = False
        self._open: Counter[RequestId] = Counter()
        self._unread = 0
        self._changed = anyio.Event()

    def passed(self) -> None:
        """A line went to the SDK's stdio reader; it is not known yet what the SDK makes of it."""
        self._unread += 1

    def received(self, item: SessionMessage | Exception) -> None:
        """Note what the SDK read of a line passed on (`item`, or the exception its validation raised): a request
        opens, a cancellation closes the request it names."""
        self._unread = max(0, self._unread - 1)
        message = item.message if isinstance(item, SessionMessage) else None
        if isinstance(message, JSONRPCRequest):
            self._open[coerce_request_id(message.id)] += 1
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            cancelled = cancelled_request_id_from_params(message.params)
            if cancelled is not None:
                self.closed(cancelled)
        self._changed.set()

    def closed(self, request_id: RequestId) -> None:
        """One request with this id was answered, or cancelled by the client."""
        key = coerce_request_id(request_id)
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]
        self._changed.set()

    @property
    def _pending(self) -> bool:
        return self._unread > 0 or bool(self._open)

    async def all_closed(self) -> None:
        """Return once no request is open, after `finish_within` seconds, or at SIGINT or SIGTERM (logged: the
        calls still running are then cancelled, as the SDK does at the end of stdin; the images the provider
        already made are still saved, see `pipeline.execute`)."""
        if self._session is not None:
            await self._session.start(self._stop_at_a_signal)
        self._waiting = True
        with self._wait, anyio.move_on_after(self.finish_within) as deadline:
            while self._pending:
                self._changed = anyio.Event()
                await self._changed.wait()
        self._waiting = False
        if self._pending:
            after = f" after {self.finish_within:g} s" if deadline.cancelled_caught else ""
            logger.warning("stdin closed: %d calls still unanswered%s are cancelled", self._open.total(), after)

    async def _stop_at_a_signal(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Ctrl-C, or the SIGTERM a client sends when the server has not exited soon after stdin closed, stops the
        wait for the last calls. Caught here rather than by Python's default: a KeyboardInterrupt raised into the
        event loop ends it wherever it is, and SIGTERM's default kills the process, and the shielded saving of
        paid images with either. So the receiver stays until the session ends (the saving is bounded by the
        download's own time budget): a second signal while those images are saved is logged, not obeyed."""
        if sys.platform == "win32":  # no signal handlers in asyncio's Windows loop: Python's defaults apply
            task_status.started()
            return
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for signum in signals:
                name = signal.Signals(signum).name
                if self._waiting and not self._wait.cancel_called:
                    logger.warning("%s: stopping without waiting for the last calls", name)
                    self._wait.cancel()
                else:
                    logger.warning("%s: already stopping; the images the provider made are saved first", name)


class WatchedRequests:
    """The transport's read stream, as the SDK reads it, noting each message in `OpenRequests`."""

    def __init__(self, stream: Requests, open_requests: OpenRequests) -> None:
        self._stream = stream
        self._open_requests = open_requests

    @property
    def last_context(self) -> Any:
        """The sender's context the SDK's dispatcher runs each message in (see `ContextReceiveStream`)."""
        return getattr(self._stream, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        item = await self._stream.receive()
        self._open_requests.received(item)
        return item

    def __aiter__(self) -> WatchedRequests:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> WatchedRequests:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Requests(Protocol):
    """What the client sent, as the SDK's stdio reader parsed it (the transport's read stream)."""

    async def receive(self) -> SessionMessage | Exception: ...

    async def aclose(self) -> None: ...


class WatchedAnswers:
    """The transport's write stream, closing each request in `OpenRequests` once its answer has been sent."""

    def __init__(self, stream: Answers, open_requests: OpenRequests) -> None:
        self._stream = stream
        self._open_requests = open_requests

    async def send(self, item: SessionMessage, /) -> None:
        await self._stream.send(item)
        answer = item.message
        if isinstance(answer, JSONRPCResponse | JSONRPCError) and answer.id is not None:
            self._open_requests.closed(answer.id)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> WatchedAnswers:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Answers(Protocol):
    """Where the server's messages to the client go (the transport's write stream)."""

    async def send(self, item: SessionMessage, /) -> None: ...

    async def aclose(self) -> None: ...


class RepairedLines:
    """Client lines as the SDK can read them: repaired where that is possible, answered where it is not.

    A lone UTF-16 surrogate escape (a prompt cut inside an emoji: `"\\ud83d"`) or an integer of thousands of
    digits fails the SDK's JSON parsing, and the SDK then drops the request at DEBUG level: the client waits
    forever. Such a line is parsed leniently and written again (the surrogate as U+FFFD, the huge number as
    a short string), so the request reaches validation and is refused in words. A line that is no valid request
    (`"params": [1]`, `"jsonrpc": "1.0"`, a method that is not a string, a batch, text that is not JSON) is not
    passed on: it is answered with its JSON-RPC error (hosting/malformed.py) on the transport's own write
    stream, and the next line is read. Blank lines are skipped. When stdin ends, the lines end once the
    requests passed on are answered (`OpenRequests`).
    """

    def __init__(self, lines: AsyncIterable[str], open_requests: OpenRequests) -> None:
        self._lines = lines
        self._open_requests = open_requests
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
                self._open_requests.passed()
                yield readable
                continue
            if not readable:
                logger.warning("ignored a malformed response from the client (responses are never answered)")
            for refusal in readable:
                logger.warning("answered a malformed message: %d %s", refusal.error.code, refusal.error.message)
                await self._answers.send(SessionMessage(refusal))
        await self._open_requests.all_closed()


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
