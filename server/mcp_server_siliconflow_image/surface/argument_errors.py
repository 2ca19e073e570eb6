"""Plain-language argument errors, from the very validation the tool itself runs.

The SDK's validation answers with pydantic's report (`Error executing tool generate_image: 1 validation
error for generate_imageArguments ... [type=less_than_equal, ...]`). A model calling the tool acts better
on "batch_size must be an integer from 1 to 4 (got 9)", and unknown argument names deserve a "did you
mean". This middleware validates `tools/call` arguments with each tool's own argument model (so it can
never disagree with the tool on what is valid: NaN, "３", "1024x1024\\n") and words each problem using the
JSON schema the client was given, before the tool runs, so a request we know is wrong never reaches the
provider.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, TextContent
from pydantic import ValidationError
from pydantic_core import ErrorDetails

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
}


class FriendlyArgumentErrors:
    """Server middleware: refuse invalid `tools/call` arguments with an actionable message."""

    def __init__(self, tools: Mapping[str, FuncMetadata]) -> None:
        self._tools = {name: ToolArguments(metadata) for name, metadata in tools.items()}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            tool = self._tools.get(str(ctx.params.get("name")))
            arguments = ctx.params.get("arguments") or {}
            if tool is not None and isinstance(arguments, dict):
                problems = tool.problems(arguments)
                if problems:
                    message = "Invalid arguments, nothing was sent to the provider:\n- " + "\n- ".join(problems)
                    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return await call_next(ctx)


class ToolArguments:
    """One tool's argument model and the schema its clients see, to check calls against both."""

    def __init__(self, metadata: FuncMetadata) -> None:
        schema = metadata.arg_model.model_json_schema(by_alias=True)
        self._metadata = metadata
        self._properties: dict[str, Any] = schema.get("properties", {})
        self._required = frozenset(schema.get("required", []))

    def problems(self, arguments: dict[str, Any]) -> list[str]:
        """Every problem with `arguments`, one sentence each; empty when they are valid."""
        known = self._properties
        problems = [_unknown_argument(name, list(known)) for name in arguments if name not in known]
        try:
            self._metadata.validate_arguments({name: value for name, value in arguments.items() if name in known})
        except ValidationError as error:
            problems += [self._describe(detail) for detail in error.errors()]
        return problems

    def _describe(self, detail: ErrorDetails) -> str:
        """One pydantic error as a sentence naming the field and what it accepts."""
        name = str(detail["loc"][0]) if detail["loc"] else "arguments"
        value = detail.get("input")
        if detail["type"] == "missing" or (value is None and name in self._required):
            return f"{name} is required."
        if value is None:
            return f"{name} may not be null."
        field_schema = self._properties.get(name, {})
        branches = field_schema.get("anyOf", [field_schema])
        outer = {key: item for key, item in field_schema.items() if key != "anyOf"}
        branch = outer | next((branch for branch in branches if branch.get("type") != "null"), {})
        if detail["type"] == "string_too_short":
            return f"{name} must not be empty." if branch.get("minLength") == 1 else f"{name} is too short."
        if detail["type"] == "string_too_long" and isinstance(value, str):
            return f"{name} is too long: at most {branch.get('maxLength')} characters (got {len(value)})."
        return f"{name} must be {describe_allowed(branch)} (got {value!r})."


def _unknown_argument(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"{name} is not an argument of this tool.{hint} Valid arguments: {', '.join(known)}."


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
