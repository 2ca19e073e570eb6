"""The end of stdin waits for the calls the SDK will still answer, and for those only, each as often as it was sent.

What counts is what the SDK makes of a line and how it matches ids, not what a looser reading of the JSON says: a
cancellation naming request 7 as "7" cancels it, and a line with both a method and an error is a client's answer to
the SDK, not a request. Waiting for an answer that never comes held the process for timeout + download time (300 s
by default); forgetting a second call under a reused id cut that call off.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.raw_client import RawStdioClient
from tests.test_requests_sent_before_stdin_closes_are_answered import call


def exit_after_stdin_closed(client: RawStdioClient, *lines: str, within: float) -> tuple[list[dict[str, Any]], str]:
    """Write `lines`, close stdin, and return every message the server wrote and its stderr; fails if it is still
    running `within` seconds later (it is then killed)."""
    for line in lines:
        client.send_line(line)
    assert client.process.stdin is not None
    client.process.stdin.close()
    try:
        client.process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        client.process.kill()
        pytest.fail(f"the server was still running {within} s after stdin closed, with nothing left to answer")
    stderr = client.close()
    assert client.process.returncode == 0, stderr
    return [json.loads(line) for line in client.raw_lines], stderr


@pytest.mark.slow
@pytest.mark.parametrize(("request_id", "named_as"), [(7, "7"), ("8", 8), (9, "+9")])
def test_a_call_cancelled_under_another_spelling_of_its_id_does_not_hold_the_server(
    standin: RunningStandIn, server_env: dict[str, str], request_id: int | str, named_as: int | str
) -> None:
    """The SDK matches a cancellation as the TypeScript SDK does ("7" cancels 7), and then never answers the call."""
    standin.state.inference_delay = 30.0
    client = RawStdioClient(server_env)
    client.handshake()
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": named_as}}
    answers, stderr = exit_after_stdin_closed(
        client, json.dumps(call(request_id, "generate_image", {"prompt": "never mind"})), json.dumps(cancel), within=8
    )
    assert [answer for answer in answers if answer.get("id") == request_id] == []  # cancelled: no answer
    assert "unanswered" not in stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc": "2.0", "id": 2, "method": "ping", "error": {"code": -1, "message": "no"}}',
        '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{},"result":{},"error":{"code":1,"message":"x"}}',
    ],
)
def test_a_line_the_sdk_reads_as_an_answer_does_not_hold_the_server(
    standin: RunningStandIn, server_env: dict[str, str], line: str
) -> None:
    """With both "method" and a valid "error", the SDK's parser picks the error: an answer, which nobody answers."""
    client = RawStdioClient(server_env)
    client.handshake()
    _, stderr = exit_after_stdin_closed(client, line, '{"jsonrpc": "2.0", "id": 4, "method": "ping"}', within=8)
    assert "unanswered" not in stderr


@pytest.mark.slow
def test_two_calls_sent_under_one_id_are_both_answered(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    """A client reusing an id breaks JSON-RPC, but the SDK still runs and answers both calls: the first answer must
    not end the wait for the second (that cut the generation off with "Connection closed")."""
    standin.state.inference_delay = 1.0
    client = RawStdioClient(server_env)
    client.handshake()
    answers, _ = exit_after_stdin_closed(
        client,
        json.dumps(call(7, "generate_image", {"prompt": "a lighthouse"})),
        '{"jsonrpc": "2.0", "id": 7, "method": "ping"}',
        within=20,
    )
    sevens = [answer for answer in answers if answer.get("id") == 7]
    assert len(sevens) == 2, sevens
    [generated] = [answer for answer in sevens if answer.get("result") != {}]
    assert "error" not in generated, generated
    assert generated["result"].get("isError") is not True
