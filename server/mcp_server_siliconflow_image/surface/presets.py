"""Known clients' quirks, handled by default: one preset per client, chosen by its `clientInfo.name`.

Clients differ in what they do with a result. Claude Code hands the model only the JSON of
`structuredContent` when it is present, so the model never sees the pictures; Codex drops `content`
when `structuredContent` is present; LangChain's MCP adapter turns each `resource_link` with an image
MIME type into an image URL (`siliconflow-image://...`) that no model API can fetch. A preset sets what
suits its client; every variable or flag the user set still wins over it. Clients on protocol
2025-03-26 or older have no `resource_link` type at all, so they never get one.

Most agent frameworks keep the MCP SDK's default `clientInfo` (`{"name": "mcp", "version": "0.1.0"}`,
in SDK 1.x and 2.x alike) and, over the initialize handshake, both SDKs negotiate 2025-11-25: the
only thing that tells an SDK 1.x session (LangChain's adapter) from an SDK 2.x one (its low-level
`ClientSession`, LlamaIndex) is the JSON-RPC id of `initialize`, which SDK 1.x numbers from 0 and
SDK 2.x from 1. docs/tools.md "Client presets" lists what each framework was seen to send.
"""

from __future__ import annotations

import copy
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
    text_first: bool = False
    """The text block (paths, seeds, notes) comes before the image blocks: for clients that keep only a
    result's first block. Chosen by a client's preset only."""
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
    initialize_id: int | None = None
    """Match only clients whose `initialize` request carried this JSON-RPC id (where it is known): how
    one MCP SDK generation is told from another when both send the same name."""
    typed_optional_inputs: bool = False
    """In `tools/list`, each optional argument also states its own `type` (beside its `anyOf` with null)
    and `nullable: true`: for clients that read only a property's own `type` and require every
    argument that is not marked nullable."""
    text_first: bool = False
    """Results put their text block first (see `ResultOptions.text_first`)."""

    def matches(self, name: str, protocol_version: str, initialize_id: object = None) -> bool:
        if name not in self.names or (self.handshake_only and protocol_version >= MODERN_SINCE):
            return False
        return self.initialize_id is None or initialize_id is None or initialize_id == self.initialize_id


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
        "MCP SDK 1.x clients that keep the SDK's default name (LangChain's MCP adapters, smolagents)",
        frozenset({"mcp"}),
        "langchain_mcp_adapters converts a resource_link with an image/* MIME type into an image block whose url "
        "is the siliconflow-image:// URI, which the model's API cannot fetch; MCP SDK 1.x sends clientInfo "
        'name "mcp" unless told otherwise, speaks the initialize-era protocol and numbers its requests from 0 '
        "(SDK 2.x sends the same name and version but starts at 1, and its clients handle resource links). "
        "smolagents' adapter (mcpadapt, SDK 1.x too) takes an argument's type only from the property's own "
        "type (a string where there is none) and requires every argument not marked nullable, so its agents "
        "could not call generate_image with a prompt alone nor pass a seed as a number; and it keeps only a "
        "result's first block (its LangChain adapter reads that block's text), so the text with every saved "
        "path comes first: smolagents' model was told only \"Stored 'image.png' in memory\"",
        resource_links=False,
        handshake_only=True,
        initialize_id=0,
        typed_optional_inputs=True,
        text_first=True,
    ),
)

_PRESETTABLE = ("inline_max_bytes", "structured_output", "resource_links")


def preset_for(client_name: str | None, protocol_version: str, initialize_id: object = None) -> ClientPreset | None:
    if not client_name:
        return None
    name = client_name.strip().lower()
    return next((preset for preset in PRESETS if preset.matches(name, protocol_version, initialize_id)), None)


def result_options(
    settings: Settings, client_name: str | None, protocol_version: str | None, initialize_id: object = None
) -> ResultOptions:
    """What results for this client carry: settings the user gave, else the client's preset, else defaults.

    `initialize_id` is the JSON-RPC id of the client's `initialize` request, None where unknown (then a
    preset that asks for one matches on name and protocol alone, as before the id was looked at)."""
    options = ResultOptions.from_settings(settings)
    version = protocol_version or MODERN_SINCE
    preset = preset_for(client_name, version, initialize_id)
    if preset is not None:
        defaults = {item.name: item.default for item in fields(Settings) if item.name in _PRESETTABLE}
        chosen = {
            name: getattr(preset, name)
            for name in _PRESETTABLE
            if getattr(preset, name) is not None
            and name not in settings.explicitly_set
            and getattr(settings, name) == defaults[name]
        }
        if preset.text_first:
            chosen["text_first"] = True
        options = replace(options, **chosen, preset=preset.client if chosen else None)
    if version < RESOURCE_LINKS_SINCE:
        options = replace(options, resource_links=False)
    return options


def options_for_request(settings: Settings, ctx: ServerRequestContext[Any, Any]) -> ResultOptions:
    """`result_options` for the client behind one request."""
    return result_options(settings, *_client_behind(ctx))


def preset_for_request(ctx: ServerRequestContext[Any, Any]) -> ClientPreset | None:
    """The preset of the client behind one request, whatever the settings."""
    name, protocol_version, initialize_id = _client_behind(ctx)
    return preset_for(name, protocol_version, initialize_id)


def _client_behind(ctx: ServerRequestContext[Any, Any]) -> tuple[str | None, str, object]:
    """The name, protocol version and `initialize` request id of the client behind one request."""
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else None
    state = _connection_state(ctx)
    return name, ctx.protocol_version, state.get(_INITIALIZE_ID) if state else None


_INITIALIZE_ID = "siliconflow-image/initialize-id"
"""Where the id of the connection's `initialize` request is kept, in the SDK's per-connection state."""


def _connection_state(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any] | None:
    """The SDK's per-connection scratch state (`Connection.state`, kept for the connection's life), or None.

    `ServerRequestContext` does not expose the connection, so this reaches it through the session; should
    a later SDK move it, presets fall back to matching on the client's name and protocol alone."""
    state = getattr(getattr(ctx.session, "_connection", None), "state", None)
    return state if isinstance(state, dict) else None


class ClientPresetListing:
    """Server middleware: a client whose preset leaves out `structuredContent` gets tool results without it,
    and tool listings without `outputSchema` (a schema the result does not fill makes strict clients refuse it).

    Tools are registered once for the server, but what a result carries is per client.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize" and isinstance(ctx.params, Mapping):
            state = _connection_state(ctx)
            if state is not None:
                state[_INITIALIZE_ID] = ctx.request_id
            _log_client(self._settings, ctx.params, ctx.request_id)
        result = await call_next(ctx)
        if ctx.method == "server/discover":
            _log_modern_client(self._settings, ctx)
        shaping = ctx.method in ("tools/list", "tools/call") and isinstance(result, dict)
        if shaping and not options_for_request(self._settings, ctx).structured_output:
            _without_structured_output(result)  # type: ignore[arg-type]
        if ctx.method == "tools/list" and isinstance(result, dict):
            preset = preset_for_request(ctx)
            if preset is not None and preset.typed_optional_inputs:
                _with_typed_optional_inputs(result)
        return result


def _without_structured_output(result: dict[str, Any]) -> None:
    result.pop("structuredContent", None)
    for tool in result.get("tools", []):
        if isinstance(tool, dict):
            tool.pop("outputSchema", None)


def _with_typed_optional_inputs(result: dict[str, Any]) -> None:
    """Each optional argument's schema also gets its own `type` and `nullable: true` (see `ClientPreset`).

    `{"anyOf": [{"type": "integer", ...}, {"type": "null"}]}` gains `"type": "integer", "nullable": true`:
    one type, not `["integer", "null"]`, because such a client then refuses an integer for a number."""
    for tool in result.get("tools", []):
        schema = tool.get("inputSchema") if isinstance(tool, dict) else None
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            continue
        tool["inputSchema"] = schema = copy.deepcopy(schema)  # never the registered tool's own schema
        required = set(schema.get("required") or ())
        for name, prop in schema["properties"].items():
            types = _branch_types(prop) if name not in required and isinstance(prop, dict) else None
            if types is None:
                continue
            concrete = [kind for kind in types if kind != "null"]
            if "type" not in prop and concrete:
                prop["type"] = concrete[0] if len(concrete) == 1 else concrete
            if "null" in types:
                prop["nullable"] = True


def _branch_types(prop: dict[str, Any]) -> list[str] | None:
    """The JSON types a property allows, from its `type` or its `anyOf` branches; None where unclear."""
    if "type" in prop:
        kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    else:
        branches = prop.get("anyOf")
        if not isinstance(branches, list) or not all(isinstance(b, dict) and "type" in b for b in branches):
            return None
        kinds = [kind for b in branches for kind in (b["type"] if isinstance(b["type"], list) else [b["type"]])]
    return list(dict.fromkeys(kind for kind in kinds if isinstance(kind, str))) or None


def _log_client(settings: Settings, params: Mapping[str, Any], request_id: object) -> None:
    """Which client connected over the handshake and what its results carry: the first thing to read when a
    client does not show what it should (docs/tools.md "Client presets" lists what known clients send)."""
    info = params.get("clientInfo")
    name = info.get("name") if isinstance(info, Mapping) else None
    client_version = info.get("version") if isinstance(info, Mapping) else None
    version = str(params.get("protocolVersion") or "")
    options = result_options(settings, name if isinstance(name, str) else None, version, request_id)
    _log_options(_described(name, client_version, version, request_id), options)


def _log_modern_client(settings: Settings, ctx: ServerRequestContext[Any, Any]) -> None:
    """The same for a 2026-07-28 client, which names itself in each request's envelope."""
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else None
    client_version = params.client_info.version if params is not None else None
    options = result_options(settings, name, ctx.protocol_version)
    _log_options(_described(name, client_version, ctx.protocol_version), options)


def _described(name: object, version: object, protocol: str, initialize_id: object = None) -> str:
    """The client as the log names it: what it sent, quoted and cut short (a client chooses these strings)."""
    said = f"client {repr(name)[:80]} version {repr(version)[:40]} (protocol {repr(protocol)[:40]}"
    return said + (f", initialize id {repr(initialize_id)[:40]})" if initialize_id is not None else ")")


def _log_options(client: str, options: ResultOptions) -> None:
    if options.preset:
        logger.info("%s: using the %s preset: %s", client, options.preset, options)
    else:
        logger.info("%s: no client preset: %s", client, options)
