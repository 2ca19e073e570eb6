"""The answers owed to client messages the SDK cannot read, so that no request waits forever for one.

The SDK drops a stdio line it cannot validate without a word, and answers such an HTTP body with `id: null`
and -32602 whatever the fault (or, for an id that is not a string or an integer, with 202 as if it were a
notification). JSON-RPC 2.0 (§4, §5.1) and MCP say what each fault is owed:

- not JSON at all: -32700 Parse error, `id: null`;
- not a valid request object (`jsonrpc` not "2.0", no `method` or not a string, `params` neither an object nor an
  array, an id that is not a string or an integer, anything that is not an object): -32600 Invalid Request;
- `params` an array: -32602 Invalid params, as MCP takes named parameters only;
- a batch (an array): MCP has none since 2025-06-18, so each request in it is refused with -32600.

The answer carries the request's id when it has a usable one (a string or an integer, never null in MCP), else
null. A malformed response from the client is never answered: JSON-RPC answers requests, not responses.
The envelope is checked on the parse the SDK itself makes (pydantic_core's), field by field as the SDK's
models (mcp_types.jsonrpc) take them: validating with those models instead costs ten times the parse on a
4 MB edit_image body. Both transports ask `refusals` (hosting/stdio.py for each line, hosting/http.py for
each POST body).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

MAX_BOUNDED_DIGITS = 40
"""An integer longer than this is read as a short string (Python refuses to convert over 4300 digits)."""


def refusals(raw: str | bytes) -> list[JSONRPCError] | None:
    """None when the SDK can read `raw` as the message it is; else the error answers it is owed (none for a
    malformed response)."""
    try:
        message = pydantic_core.from_json(raw)
    except ValueError as error:
        return _refusals_of_unparsable(raw, str(error))
    if isinstance(message, list):
        return _batch_refusals(message)
    refusal = envelope_problem(message)
    return None if refusal is None else [refusal]


def _refusals_of_unparsable(raw: str | bytes, reason: str) -> list[JSONRPCError]:
    """What is owed to text the SDK's parser refuses: valid JSON it cannot take (nested over its limit, a lone
    surrogate escape, a huge number) is judged by its envelope, the rest is a parse error."""
    try:
        message = json.loads(raw, parse_int=bounded_int)
    except RecursionError:
        return [_refusal(None, PARSE_ERROR, "Parse error: the JSON is nested too deeply to be read")]
    except ValueError as error:
        return [_refusal(None, PARSE_ERROR, f"Parse error: {_first_line(str(error))}")]
    if isinstance(message, list):
        return _batch_refusals(message)
    refusal = envelope_problem(message)
    if refusal is not None:
        return [refusal]
    if _is_response(message):
        return []
    if "recursion limit" in reason:
        reason = "the message nests arrays or objects too deeply to be read"
    return [_refusal(usable_id(message), INVALID_REQUEST, f"Invalid Request: {_first_line(reason)}")]


def envelope_problem(message: Any) -> JSONRPCError | None:
    """The answer owed to a parsed message that is no valid request or notification; None when it is one, or
    when it is a response (never answered)."""
    if not isinstance(message, dict):
        reason = f"Invalid Request: a message must be a JSON object, not {_kind(message)}"
        return _refusal(None, INVALID_REQUEST, reason)
    if _is_response(message):
        return None
    request_id = usable_id(message)
    if message.get("jsonrpc") != "2.0":
        return _refusal(request_id, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')
    if "method" not in message:
        return _refusal(request_id, INVALID_REQUEST, 'Invalid Request: "method" is missing')
    if not isinstance(message["method"], str):
        reason = f'Invalid Request: "method" must be a string, not {_kind(message["method"])}'
        return _refusal(request_id, INVALID_REQUEST, reason)
    if "id" in message and request_id is None and not _sloppy_notification(message):
        reason = f'Invalid Request: "id" must be a string or an integer, not {_kind(message["id"])}'
        return _refusal(None, INVALID_REQUEST, reason)
    params = message.get("params")
    if isinstance(params, list):
        reason = 'Invalid params: "params" must be an object of named parameters (MCP takes no positional ones)'
        return _refusal(request_id, INVALID_PARAMS, reason)
    if params is not None and not isinstance(params, dict):
        reason = f'Invalid Request: "params" must be an object, not {_kind(params)}'
        return _refusal(request_id, INVALID_REQUEST, reason)
    return None


def bounded_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= MAX_BOUNDED_DIGITS else f"{digits[:12]}... ({len(digits)} digits)"


def usable_id(message: dict[str, Any]) -> int | str | None:
    """The request's id if an answer can carry it: a string or an integer (not a bool, a fraction or null)."""
    request_id = message.get("id")
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return request_id
    return None


def _sloppy_notification(message: dict[str, Any]) -> bool:
    """`"id": null` on a `notifications/...` method: a client's serializer writing an absent id as null. Nobody
    waits for an answer to it, and refusing it would leave e.g. `notifications/initialized` unprocessed."""
    return message["id"] is None and message["method"].startswith("notifications/")


def _batch_refusals(batch: list[Any]) -> list[JSONRPCError]:
    if not batch:
        return [_refusal(None, INVALID_REQUEST, "Invalid Request: an empty batch")]
    reason = "Invalid Request: batches are not supported (MCP removed them in 2025-06-18); send one message at a time"
    ids = [usable_id(item) for item in batch if isinstance(item, dict) and not _is_response(item)]
    answered = [_refusal(request_id, INVALID_REQUEST, reason) for request_id in ids if request_id is not None]
    return answered or [_refusal(None, INVALID_REQUEST, reason)]


def _is_response(message: dict[str, Any]) -> bool:
    return "method" not in message and ("result" in message or "error" in message)


def _kind(value: Any) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "true or false"),
        ((int, float), "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "an object"),
    ]
    if value is None:
        return "null"
    return next(name for kind, name in kinds if isinstance(value, kind))


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "unreadable"


def _refusal(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))
