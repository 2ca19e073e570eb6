"""Every request gets an answer: hostile JSON-RPC lines over stdio and bodies over streamable HTTP.

A request the server cannot read must still be answered (JSON-RPC 2.0 §5, MCP: the id echoed when it is a string
or an integer), or its client waits forever; and the server must go on serving the next one. Raw lines, because
no SDK client would send these.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp_types import JSONRPCNotification, JSONRPCRequest, jsonrpc_message_adapter

from mcp_server_siliconflow_image.hosting.malformed import refusals
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import INITIALIZE, MCP_HEADERS, running_http_server, server_environment
from tests.raw_client import RawStdioClient

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
Answer = tuple[int, int | str | None]
"""An error answer as (JSON-RPC error code, the id it carries)."""

HOSTILE_LINES: list[tuple[str, str, list[Answer]]] = [
    ("positional params", '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}', [(INVALID_PARAMS, 1)]),
    ("params a string", '{"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": "str"}', [(INVALID_REQUEST, 2)]),
    ("params a number", '{"jsonrpc": "2.0", "id": "n", "method": "tools/call", "params": 7}', [(INVALID_REQUEST, "n")]),
    ("jsonrpc 1.0", '{"jsonrpc": "1.0", "id": 3, "method": "tools/list"}', [(INVALID_REQUEST, 3)]),
    ("no jsonrpc", '{"id": 4, "method": "tools/list"}', [(INVALID_REQUEST, 4)]),
    ("method a number", '{"jsonrpc": "2.0", "id": 5, "method": 5}', [(INVALID_REQUEST, 5)]),
    ("method null", '{"jsonrpc": "2.0", "id": "m", "method": null}', [(INVALID_REQUEST, "m")]),
    ("no method", '{"jsonrpc": "2.0", "id": 6}', [(INVALID_REQUEST, 6)]),
    ("id null", '{"jsonrpc": "2.0", "id": null, "method": "tools/list"}', [(INVALID_REQUEST, None)]),
    ("id true", '{"jsonrpc": "2.0", "id": true, "method": "tools/list"}', [(INVALID_REQUEST, None)]),
    ("id a fraction", '{"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"}', [(INVALID_REQUEST, None)]),
    ("id an object", '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}', [(INVALID_REQUEST, None)]),
    (
        "bad notification",
        '{"jsonrpc": "2.0", "method": "notifications/progress", "params": "x"}',
        [(INVALID_REQUEST, None)],
    ),
    (
        "a batch",
        '[{"jsonrpc": "2.0", "id": 20, "method": "tools/list"}, {"jsonrpc": "2.0", "id": "b", "method": "ping"}]',
        [(INVALID_REQUEST, 20), (INVALID_REQUEST, "b")],
    ),
    ("an empty batch", "[]", [(INVALID_REQUEST, None)]),
    ("a number", "1", [(INVALID_REQUEST, None)]),
    ("a string", '"tools/list"', [(INVALID_REQUEST, None)]),
    ("null", "null", [(INVALID_REQUEST, None)]),
    ("not JSON", "tools/list please", [(PARSE_ERROR, None)]),
    ("cut short", '{"jsonrpc": "2.0", "id": 7, "method": "tools/list"', [(PARSE_ERROR, None)]),
    ("nested 100000 deep", "[" * 100_000 + "]" * 100_000, [(PARSE_ERROR, None)]),
    (
        "params nested 300 deep",
        '{"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": {"x": ' + "[" * 300 + "]" * 300 + "}}",
        [(INVALID_REQUEST, 8)],
    ),
]
"""Each hostile line and the answers it must get: the id echoed when usable, else null."""
hostile_lines = pytest.mark.parametrize(
    ("line", "expected"), [row[1:] for row in HOSTILE_LINES], ids=[row[0] for row in HOSTILE_LINES]
)

UNANSWERED_LINES: list[tuple[str, str]] = [
    ("a blank line", "   "),
    ("a malformed response", '{"jsonrpc": "2.0", "id": 31, "result": 5}'),
    ("a notification with a null id", '{"jsonrpc": "2.0", "id": null, "method": "notifications/initialized"}'),
]
"""Lines that are no request: JSON-RPC answers requests (and unreadable messages), never responses or blank lines;
and a notification whose serializer wrote its absent id as null, which is served as the notification it is."""


def error_answers(messages: list[dict[str, Any]]) -> list[Answer]:
    return [(message["error"]["code"], message["id"]) for message in messages]


@pytest.fixture(scope="module")
def stdio_server(_standin_server: RunningStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawStdioClient]:
    """One stdio server for the whole table: every hostile line must leave it serving the next."""
    root = tmp_path_factory.mktemp("malformed-stdio")
    (root / "home").mkdir()
    client = RawStdioClient(server_environment(_standin_server.base_url, root / "images", root / "home"))
    client.handshake()
    yield client
    stderr = client.close()
    assert "Traceback" not in stderr, stderr


def answers_over_stdio(client: RawStdioClient, line: str, probe_id: str) -> tuple[list[dict[str, Any]], bool]:
    """What the server answered to `line` before the tools/list sent right after it, and whether that answered."""
    client.send_line(line)
    client.send({"jsonrpc": "2.0", "id": probe_id, "method": "tools/list"})
    answers: list[dict[str, Any]] = []
    while True:
        raw = client.next_line(10)
        if not raw:  # nothing within 10 s, or the server is gone
            return answers, False
        message = json.loads(raw)
        if message.get("id") == probe_id:
            return answers, "tools" in message.get("result", {})
        answers.append(message)


@pytest.mark.slow
@hostile_lines
def test_a_bad_request_line_is_answered_and_the_server_serves_on(
    stdio_server: RawStdioClient, line: str, expected: list[Answer]
) -> None:
    answers, still_serving = answers_over_stdio(stdio_server, line, probe_id=f"after {line[:40]}")
    assert error_answers(answers) == expected
    for answer in answers:
        assert answer["jsonrpc"] == "2.0" and answer["error"]["message"]
    assert still_serving, "the tools/list sent after the bad line got no answer"


@pytest.mark.slow
@pytest.mark.parametrize("line", [row[1] for row in UNANSWERED_LINES], ids=[row[0] for row in UNANSWERED_LINES])
def test_a_line_that_is_no_request_gets_no_answer_and_the_server_serves_on(
    stdio_server: RawStdioClient, line: str
) -> None:
    answers, still_serving = answers_over_stdio(stdio_server, line, probe_id=f"after {line[:40]}")
    assert answers == [] and still_serving


@pytest.fixture(scope="module")
def http_session(
    _standin_server: RunningStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """One stateful streamable HTTP session: the base URL and the headers its requests carry."""
    root = tmp_path_factory.mktemp("malformed-http")
    (root / "home").mkdir()
    env = server_environment(_standin_server.base_url, root / "images", root / "home")
    with running_http_server(env) as (base, _):
        opened = httpx.post(f"{base}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        headers = {
            **MCP_HEADERS,
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": "2025-06-18",
        }
        httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        yield base, headers


def sse_or_json(response: httpx.Response) -> Any:
    """The JSON-RPC message(s) of an HTTP answer, whether sent as JSON or as one server-sent event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line.removeprefix("data:").strip() for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


@pytest.mark.slow
@hostile_lines
def test_a_bad_request_body_is_answered_with_its_id_over_http(
    http_session: tuple[str, dict[str, str]], line: str, expected: list[Answer]
) -> None:
    base, headers = http_session
    refused = httpx.post(f"{base}/mcp", content=line, headers=headers, timeout=10)
    body = sse_or_json(refused)
    answers = body if isinstance(body, list) else [body]
    assert refused.status_code == 400
    assert error_answers(answers) == expected
    assert "validation error" not in refused.text.lower()  # a sentence, not pydantic's report
    probe = httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 99, "method": "tools/list"}, headers=headers)
    assert "tools" in sse_or_json(probe)["result"]


@pytest.mark.slow
def test_a_line_with_a_cut_emoji_is_repaired_not_refused_as_malformed(stdio_server: RawStdioClient) -> None:
    """A lone surrogate escape (a prompt cut inside an emoji) is valid JSON the SDK's parser refuses: it still
    reaches the tool, which refuses the argument in words, instead of a JSON-RPC error."""
    cut_emoji = (
        '{"jsonrpc": "2.0", "id": 301, "method": "tools/call", '
        '"params": {"name": "generate_image", "arguments": {"prompt": "x", "image_size": "\\ud83d"}}}'
    )
    stdio_server.send_line(cut_emoji)
    answer = stdio_server.read_until(301, seconds=10)
    assert answer["result"]["isError"] is True
    assert "image_size" in answer["result"]["content"][0]["text"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
envelopes = st.dictionaries(
    st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]),
    json_values | st.sampled_from(["2.0", "tools/list", "notifications/initialized"]) | st.just({}),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(envelopes)
def test_what_passes_unanswered_is_read_by_the_sdk_as_what_it_is(message: dict[str, Any]) -> None:
    """The check mirrors the SDK's models: a request or notification it lets through is one the SDK reads as what
    it is (a request as a request, so it is answered); only a response passes without being read here (the SDK
    drops a bad one, and JSON-RPC answers no response); a refusal never carries an id the request did not have."""
    raw = json.dumps(message)
    answers = refusals(raw)
    if answers is None and "method" in message:
        read = jsonrpc_message_adapter.validate_json(raw, by_name=False)
        if message.get("id") is not None:
            assert isinstance(read, JSONRPCRequest) and read.id == message["id"]
        else:
            assert isinstance(read, JSONRPCNotification)
    elif answers is None:
        assert "result" in message or "error" in message
    else:
        for answer in answers:
            assert answer.id is None or answer.id == message.get("id")


@pytest.mark.slow
def test_a_body_sent_in_pieces_is_judged_whole_and_an_oversized_one_still_gets_413(
    http_session: tuple[str, dict[str, str]],
) -> None:
    base, headers = http_session
    pieces = [b'{"jsonrpc": "2.0", "id": 41, ', b'"method": "tools/list", "params": [1]}']
    in_pieces = httpx.post(f"{base}/mcp", content=iter(pieces), headers=headers, timeout=10)
    oversized = httpx.post(f"{base}/mcp", content=iter([b"[" + b" " * 65536] * 80), headers=headers, timeout=30)
    assert in_pieces.status_code == 400 and error_answers([in_pieces.json()]) == [(INVALID_PARAMS, 41)]
    assert oversized.status_code == 413  # the SDK's own limit, not a parse error after buffering all of it
