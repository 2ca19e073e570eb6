"""A client that writes its requests and closes stdin still gets every answer, and what it paid for is saved.

A script (`printf '...' | mcp-server-siliconflow-image`) or a client quitting right after its last call ends stdin
while calls still run. The SDK alone would then cancel them: no answer, and an image the provider made is cut off.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCRequest, jsonrpc_message_adapter

from mcp_server_siliconflow_image.hosting.stdio import OpenRequests
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import INITIALIZE, served
from tests.raw_client import RawStdioClient

INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(request_id: int | str, name: str, arguments: dict[str, object]) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def answers_after_stdin_closed(
    client: RawStdioClient, *messages: Mapping[str, object]
) -> tuple[dict[int, dict[str, Any]], str]:
    """Write `messages` at once, close stdin, and collect every answer the server wrote before it exited."""
    for message in messages:
        client.send(dict(message))
    stderr = client.close()
    answers = [json.loads(line) for line in client.raw_lines]
    return {answer["id"]: answer for answer in answers if "id" in answer}, stderr


@pytest.mark.slow
def test_a_piped_session_gets_the_tool_list(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    """The packaging check's own pipe: initialize, initialized, tools/list, end of input."""
    for _ in range(3):  # it raced the end of stdin and lost about one run in twenty (the generation test is exact)
        client = RawStdioClient(server_env)
        answers, _ = answers_after_stdin_closed(
            client, INITIALIZE, INITIALIZED, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        )
        listed = {tool["name"] for tool in answers[2]["result"]["tools"]}
        assert {"generate_image", "edit_image", "list_models", "generate_video", "get_video"} <= listed


@pytest.mark.slow
def test_a_generation_running_when_stdin_closes_is_answered_and_saved(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.inference_delay = 1.0  # stdin ends while the provider is still generating
    client = RawStdioClient(server_env)
    answers, stderr = answers_after_stdin_closed(
        client, INITIALIZE, INITIALIZED, call(2, "generate_image", {"prompt": "a lighthouse"})
    )
    assert client.process.returncode == 0
    result = answers[2]["result"]
    assert result.get("isError") is not True
    [saved] = [path for path in image_dir.iterdir() if path.suffix == ".png"]
    assert saved.read_bytes() == served(standin)[0]
    assert str(saved) in json.dumps(result)
    assert "stdin closed: the client ended the session; stopping" in stderr


@pytest.mark.slow
def test_a_call_the_client_cancelled_does_not_hold_the_server_after_stdin_closes(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.inference_delay = 30.0
    client = RawStdioClient(server_env)
    client.handshake()
    started = time.monotonic()
    answers, stderr = answers_after_stdin_closed(
        client,
        call(7, "generate_image", {"prompt": "never mind"}),
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}},
    )
    assert time.monotonic() - started < 10  # not the 30 s the provider would take
    assert client.process.returncode == 0
    assert 7 not in answers  # a cancelled call gets no answer
    assert "unanswered" not in stderr


def read(open_requests: OpenRequests, message: dict[str, object]) -> None:
    """`message` as the SDK's stdio reader hands it on, after a line passed on to it."""
    open_requests.passed()
    open_requests.received(SessionMessage(jsonrpc_message_adapter.validate_python(message)))


def test_the_wait_for_open_requests_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """A call that never ends (a hung provider past every timeout) does not keep the process alive forever."""

    async def wait() -> float:
        open_requests = OpenRequests(finish_within=0.2)
        read(open_requests, {"jsonrpc": "2.0", "id": "stuck", "method": "tools/call", "params": {}})
        read(open_requests, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}})
        open_requests.closed(3)
        started = time.monotonic()
        await open_requests.all_closed()
        return time.monotonic() - started

    with caplog.at_level(logging.WARNING):
        waited = anyio.run(wait)
    assert 0.15 < waited < 5
    assert "1 calls still unanswered after 0.2 s are cancelled" in caplog.text


def test_answers_and_cancellations_close_requests_and_notifications_open_none() -> None:
    async def wait() -> None:
        open_requests = OpenRequests(finish_within=30)
        read(open_requests, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        read(open_requests, {"jsonrpc": "2.0", "id": 1, "result": {}})  # the client answering the server's ping
        read(open_requests, {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {}})
        read(open_requests, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        read(open_requests, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "a"}})
        open_requests.passed()
        open_requests.received(ValueError("a line the SDK could not validate"))
        open_requests.closed(2)
        with anyio.fail_after(1):
            await open_requests.all_closed()

    anyio.run(wait)


def test_a_line_the_sdk_has_not_read_yet_is_waited_for() -> None:
    """The end of stdin can come before the SDK's reader has handed on the last line: that line may be a request."""

    async def wait() -> None:
        open_requests = OpenRequests(finish_within=30)
        open_requests.passed()
        done = anyio.Event()

        async def drain() -> None:
            await open_requests.all_closed()
            done.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(drain)
            await anyio.sleep(0.05)
            assert not done.is_set()
            open_requests.received(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=5, method="ping")))
            await anyio.sleep(0.05)
            assert not done.is_set()
            open_requests.closed("5")  # the same request, as the SDK matches ids
            with anyio.fail_after(1):
                await done.wait()

    anyio.run(wait)
