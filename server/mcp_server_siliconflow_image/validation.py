"""Plain-language argument errors, checked against each tool's own published input schema.

The SDK's validation answers with pydantic's report (`1 validation error for generate_imageArguments
... [type=less_than_equal, input_value=9, ...]`). A model calling the tool acts better on "batch_size
must be an integer from 1 to 4 (got 9)", and unknown argument names deserve a "did you mean". This
middleware checks `tools/call` arguments against the same JSON schema the client was given, before
the tool runs, so a request we know is wrong never reaches the provider.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
}


class FriendlyArgumentErrors:
    """Server middleware: refuse invalid `tools/call` arguments with an actionable message."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server
        self._schemas: dict[str, dict[str, Any]] | None = None

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            schema = (await self._tool_schemas()).get(str(ctx.params.get("name")))
            arguments = ctx.params.get("arguments") or {}
            if schema is not None and isinstance(arguments, dict):
                problems = check_arguments(schema, arguments)
                if problems:
                    message = "Invalid arguments, nothing was sent to the provider:\n- " + "\n- ".join(problems)
                    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return await call_next(ctx)

    async def _tool_schemas(self) -> dict[str, dict[str, Any]]:
        if self._schemas is None:
            self._schemas = {tool.name: tool.input_schema for tool in await self._server.list_tools()}
        return self._schemas


def check_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """Every problem with `arguments` under `schema`, one sentence each; empty when they are valid."""
    properties: dict[str, Any] = schema.get("properties", {})
    problems = [f"{name} is required." for name in schema.get("required", []) if arguments.get(name) is None]
    for name, value in arguments.items():
        field_schema = properties.get(name)
        if field_schema is None:
            problems.append(_unknown_argument(name, list(properties)))
            continue
        problem = _check_value(name, value, field_schema)
        if problem:
            problems.append(problem)
    return problems


def _unknown_argument(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"{name} is not an argument of this tool.{hint} Valid arguments: {', '.join(known)}."


def _check_value(name: str, value: Any, field_schema: dict[str, Any]) -> str | None:
    branches = field_schema.get("anyOf", [field_schema])
    if value is None:
        return None if any(branch.get("type") == "null" for branch in branches) else f"{name} may not be null."
    outer = {key: item for key, item in field_schema.items() if key != "anyOf"}
    branch = outer | next((branch for branch in branches if branch.get("type") != "null"), {})
    allowed = describe_allowed(branch)
    value = _lax(value, branch.get("type"))
    if not _has_type(value, branch.get("type")):
        return f"{name} must be {allowed} (got {value!r})."
    if "enum" in branch and value not in branch["enum"]:
        return f"{name} must be {allowed} (got {value!r})."
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = branch.get("minimum"), branch.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name} must be {allowed} (got {value!r})."
    if isinstance(value, str):
        if len(value) < branch.get("minLength", 0):
            return f"{name} must not be empty." if branch.get("minLength") == 1 else f"{name} is too short."
        if "maxLength" in branch and len(value) > branch["maxLength"]:
            return f"{name} is too long: at most {branch['maxLength']} characters (got {len(value)})."
        if "pattern" in branch and not re.search(branch["pattern"], value):
            return f"{name} must be {allowed} (got {value!r})."
    return None


def describe_allowed(branch: dict[str, Any]) -> str:
    """What a schema branch accepts, in words: 'an integer from 1 to 4', 'WIDTHxHEIGHT such as ...'."""
    if "enum" in branch:
        return "one of " + ", ".join(repr(option) for option in branch["enum"])
    kind = _TYPE_NAMES.get(str(branch.get("type")), "a value")
    low, high = branch.get("minimum"), branch.get("maximum")
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}" if isinstance(low, float) else f"{kind} from {low} to {high}"
    if "pattern" in branch:
        examples = branch.get("examples")
        if examples:
            return f"{kind} shaped like " + " or ".join(repr(example) for example in examples)
        return f"{kind} matching {branch['pattern']}"
    return kind


def _lax(value: Any, expected: object) -> Any:
    """Numbers and booleans sent as strings, and 2.0 for 2, as some clients do; the SDK accepts them too."""
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if expected == "integer" and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if expected == "number":
            return float(text)
    except ValueError:
        return value
    if expected == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return value


def _has_type(value: Any, expected: object) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    return True
