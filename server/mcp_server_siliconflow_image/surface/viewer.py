"""The MCP Apps view of image and video results: one HTML document that hosts render beside the generating tools.

Hosts that negotiate the `io.modelcontextprotocol/ui` extension (MCP Apps) render `VIEW_URI` in a
sandboxed iframe when `generate_image`, `edit_image`, `generate_video` or `get_video` runs, and hand it the
call's arguments and result.
The view then reaches this server only through the host (`tools/call`, `resources/read`,
`resources/list`), so it needs no network access of its own: its CSP names no domains at all.

Hosts without the extension see exactly what they saw before this view existed: the tools' `_meta.ui`
and the view's entry in `resources/list` are left out for them, and results are the same for everyone.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

VIEW_URI = "ui://siliconflow-image/viewer.html"
VIEW_TOOL_META: dict[str, Any] = {"ui": {"resourceUri": VIEW_URI}}
"""`_meta` for the tools whose results the view shows."""

_VIEW_FILE = "viewer.html"
_UI_META_KEY = "ui"


def view_html() -> str:
    """The view, shipped inside the package: nothing is built or fetched when it is served."""
    return resources.files(__package__).joinpath(_VIEW_FILE).read_text(encoding="utf-8")


def viewer_extension() -> Apps:
    """The Apps extension serving the view, with a CSP that allows no outside origin of any kind."""
    apps = Apps()
    apps.add_html_resource(
        VIEW_URI,
        view_html(),
        name="image-viewer",
        title="SiliconFlow image viewer",
        description=(
            "Shows generated images as a grid and videos as players, with their prompt, seed and size, the status "
            "of a video job still being made, and actions to refine them."
        ),
        csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
        prefers_border=True,
    )
    return apps


class ViewOnlyForAppHosts:
    """Server middleware: the view shows up only for clients that negotiated MCP Apps.

    For other clients `tools/list` loses the tools' `_meta.ui` and `resources/list` stays the list of
    saved images, so they see no difference at all. For Apps hosts the first page of `resources/list`
    starts with the view (the saved-images listing answers that method itself, without it).
    """

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/list" and _known_without_apps(ctx):
            return _without_ui_meta(_wire(result))
        if ctx.method == "resources/list" and not (ctx.params or {}).get("cursor") and client_supports_apps(ctx):
            return await self._with_view_listed(_wire(result))
        return result

    async def _with_view_listed(self, listing: dict[str, Any]) -> dict[str, Any]:
        views = [
            resource.model_dump(by_alias=True, mode="json", exclude_none=True)
            for resource in await self._server.list_resources()
            if str(resource.uri).startswith("ui://")
        ]
        listed = {entry.get("uri") for entry in listing.get("resources", [])}
        return {**listing, "resources": [view for view in views if view["uri"] not in listed] + listing["resources"]}


def _known_without_apps(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client is known not to do Apps. Over stateless HTTP with the older handshake nothing is
    known about the client (each request is a new session), so the tools keep their `_meta.ui`: an Apps host
    there still gets its view, and other clients ignore `_meta` keys they do not know."""
    return ctx.session.client_capabilities is not None and not client_supports_apps(ctx)


def _without_ui_meta(listing: dict[str, Any]) -> dict[str, Any]:
    tools = []
    for tool in listing.get("tools", []):
        meta = {key: value for key, value in (tool.get("_meta") or {}).items() if key != _UI_META_KEY}
        tool = {key: value for key, value in tool.items() if key != "_meta"}
        tools.append({**tool, "_meta": meta} if meta else tool)
    return {**listing, "tools": tools}


def _wire(result: HandlerResult) -> dict[str, Any]:
    """A handler's result as the JSON object sent on the wire (handlers return models or dicts)."""
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(result or {})
