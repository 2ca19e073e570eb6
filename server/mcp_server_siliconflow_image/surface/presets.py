"""Known clients' quirks, handled by default: one preset per client, chosen by its `clientInfo.name`.

Clients differ in what they do with a result. Claude Code hands the model only the JSON of
`structuredContent` when it is present, so the model never sees the pictures; Codex drops `content`
when `structuredContent` is present; LangChain's MCP adapter turns each `resource_link` with an image
MIME type into an image URL (`siliconflow-image://...`) that no model API can fetch. A preset sets what
suits its client; every variable or flag the user set still wins over it. Clients on protocol
2025-03-26 or older have no `resource_link` type at all, so they never get one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from mcp_server_siliconflow_image.settings import Settings

logger = logging.getLogger(__name__)

RESOURCE_LINKS_SINCE = "2025-06-18"
"""The first protocol version with `resource_link` content (and `structuredContent`)."""
MODERN_SINCE = "2026-07-28"
"""The first protocol version without the initialize handshake (MCP SDK 2.x clients speak it)."""


@dataclass(frozen=True)
class ResultOptions:
    """What one client's results carry."""

    inline_max_bytes: int
    structured_output: bool
    """Applied by `ClientPresetListing`: tools are registered (and their results checked against their
    output schema) once for the server, so a client's preset removes `structuredContent` on the way out."""
    resource_links: bool
    preset: str | None = None
    """The client preset that chose some of these, for logs."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ResultOptions:
        return cls(settings.inline_max_bytes, settings.structured_output, settings.resource_links)


@dataclass(frozen=True)
class ClientPreset:
    client: str
    names: frozenset[str]
    """`clientInfo.name` values (lower case) this client sends."""
    evidence: str
    structured_output: bool | None = None
    resource_links: bool | None = None
    inline_max_bytes: int | None = None
    handshake_only: bool = False
    """Match only clients that negotiated an initialize-era protocol (before 2026-07-28)."""

    def matches(self, name: str, protocol_version: str) -> bool:
        return name in self.names and not (self.handshake_only and protocol_version >= MODERN_SINCE)


PRESETS: tuple[ClientPreset, ...] = (
    ClientPreset(
        "Claude Code",
        frozenset({"claude-code"}),
        "hands the model only the JSON of structuredContent when it is present, so the model never sees the "
        "images; without it the model gets the image blocks and the text (paths, seeds, notes)",
        structured_output=False,
    ),
    ClientPreset(
        "Codex",
        frozenset({"codex-mcp-client"}),
        "drops content when structuredContent is present, so images and text would be lost",
        structured_output=False,
    ),
    ClientPreset(
        "LangChain MCP adapters (and other MCP SDK 1.x clients that keep the SDK's default name)",
        frozenset({"mcp"}),
        "langchain_mcp_adapters converts a resource_link with an image/* MIME type into an image block whose url "
        "is the siliconflow-image:// URI, which the model's API cannot fetch; MCP SDK 1.x sends clientInfo "
        'name "mcp" unless told otherwise, and speaks the initialize-era protocol',
        resource_links=False,
        handshake_only=True,
    ),
)

_PRESETTABLE = ("inline_max_bytes", "structured_output", "resource_links")


def preset_for(client_name: str | None, protocol_version: str) -> ClientPreset | None:
    if not client_name:
        return None
    name = client_name.strip().lower()
    return next((preset for preset in PRESETS if preset.matches(name, protocol_version)), None)


def result_options(settings: Settings, client_name: str | None, protocol_version: str | None) -> ResultOptions:
    """What results for this client carry: settings the user gave, else the client's preset, else defaults."""
    options = ResultOptions.from_settings(settings)
    version = protocol_version or MODERN_SINCE
    preset = preset_for(client_name, version)
    if preset is not None:
        defaults = {item.name: item.default for item in fields(Settings) if item.name in _PRESETTABLE}
        chosen = {
            name: getattr(preset, name)
            for name in _PRESETTABLE
            if getattr(preset, name) is not None
            and name not in settings.explicitly_set
            and getattr(settings, name) == defaults[name]
        }
        options = replace(options, **chosen, preset=preset.client if chosen else None)
    if version < RESOURCE_LINKS_SINCE:
        options = replace(options, resource_links=False)
    return options


def options_for_request(settings: Settings, ctx: ServerRequestContext[Any, Any]) -> ResultOptions:
    """`result_options` for the client behind one request."""
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else None
    return result_options(settings, name, ctx.protocol_version)


class ClientPresetListing:
    """Server middleware: a client whose preset leaves out `structuredContent` gets tool results without it,
    and tool listings without `outputSchema` (a schema the result does not fill makes strict clients refuse it).

    Tools are registered once for the server, but what a result carries is per client.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize" and isinstance(ctx.params, Mapping):
            _log_preset(self._settings, ctx.params)
        result = await call_next(ctx)
        shaping = ctx.method in ("tools/list", "tools/call") and isinstance(result, dict)
        if shaping and not options_for_request(self._settings, ctx).structured_output:
            _without_structured_output(result)  # type: ignore[arg-type]
        return result


def _without_structured_output(result: dict[str, Any]) -> None:
    result.pop("structuredContent", None)
    for tool in result.get("tools", []):
        if isinstance(tool, dict):
            tool.pop("outputSchema", None)


def _log_preset(settings: Settings, params: Mapping[str, Any]) -> None:
    info = params.get("clientInfo")
    name = info.get("name") if isinstance(info, Mapping) else None
    version = str(params.get("protocolVersion") or "")
    options = result_options(settings, name if isinstance(name, str) else None, version)
    if options.preset:
        logger.info("client %r (protocol %s): using the %s preset: %s", name, version, options.preset, options)
