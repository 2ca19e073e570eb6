"""Protocol details the SDK leaves to the server: what is advertised, and which error code each era expects.

- `prompts`: the SDK advertises the capability whenever its (empty) prompt list exists; this server has
  no prompts, and a client that sees the capability offers an empty menu, so it is not advertised.
- A missing resource: protocol versions up to 2025-11-25 name -32002 ("Resource not found"); 2026-07-28
  answers -32602 (SEP-2164), which is what the SDK raises. Each client gets its own era's code.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

RESOURCE_NOT_FOUND_BEFORE_2026 = -32002
SEP_2164_SINCE = "2026-07-28"
_ADVERTISING_METHODS = frozenset({"initialize", "server/discover"})


class ProtocolDetails:
    """Server middleware: no `prompts` capability, and the resource-not-found code of the client's era."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            result = await call_next(ctx)
        except MCPError as error:
            if ctx.method == "resources/read" and _is_not_found(error) and _is_before_sep_2164(ctx):
                raise MCPError(code=RESOURCE_NOT_FOUND_BEFORE_2026, message=error.message, data=error.data) from error
            raise
        if ctx.method in _ADVERTISING_METHODS and isinstance(result, dict):
            capabilities = result.get("capabilities")
            if isinstance(capabilities, dict):
                capabilities.pop("prompts", None)
        return result


def _is_not_found(error: MCPError) -> bool:
    """The SDK's answer for a URI nothing serves carries the URI; malformed params (also -32602) do not."""
    return error.code == INVALID_PARAMS and isinstance(error.data, dict) and "uri" in error.data


def _is_before_sep_2164(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version < SEP_2164_SINCE
