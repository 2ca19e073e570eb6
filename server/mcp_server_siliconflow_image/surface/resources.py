"""Saved images (and videos) as MCP resources, so a client can fetch the full-size bytes behind each resource_link.

URIs name files inside the image folder only (`siliconflow-image://images/<file name>`); they never
reveal host paths and can never reach outside that folder. Over HTTP with named principals each URI
is looked up among the caller's own images only, so another principal's URI, even guessed, finds
nothing. One template per image type, because a template carries the MIME type the client is told.
`resources/list` pages through the saved images, newest first, for remote clients that want to browse
what was made. Each image's JSON sidecar (how it was made)
is readable at the image's URI plus `.json`, so a client can show a prompt next to its picture.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from functools import partial
from pathlib import PurePath
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, Annotations, ListResourcesResult, Resource

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.hosting.tenants import Caller, principal_of
from mcp_server_siliconflow_image.imageformat import EXTENSIONS, VIDEO_MIME_TYPE, mime_type_for
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.stores.base import Store
from mcp_server_siliconflow_image.stores.naming import RESOURCE_PREFIX, ListedImage

PAGE_SIZE = 50


def register_resources(server: MCPServer[Any], runtime: Runtime) -> None:
    for mime_type, extension in EXTENSIONS.items():
        _register_template(server, runtime, mime_type, extension)
    _register_sidecar_template(server, runtime)
    server.middleware.append(RecentImagesListing(runtime))


def store_for(runtime: Runtime, request: object | None) -> Store:
    """The images the caller behind `request` may see: its principal's own, or the server's. Only who is
    calling matters to reading: a provider key the request may carry is not looked at."""
    return CallContext.for_caller(runtime, Caller(principal_of(request))).store


def _register_template(server: MCPServer[Any], runtime: Runtime, mime_type: str, extension: str) -> None:
    async def read_saved_image(name: str, ctx: Context | None = None) -> bytes:
        store = store_for(runtime, ctx.request_context.request if ctx is not None else None)
        try:
            return await anyio.to_thread.run_sync(store.read, f"{name}.{extension}")
        except FileNotFoundError as error:
            raise ResourceNotFoundError(f"{error}; it may have been deleted from the image folder") from error
        except OSError as error:
            raise ResourceError(f"{name}.{extension} could not be read: {error.strerror or error}") from error

    kind = "video" if mime_type == VIDEO_MIME_TYPE else "image"
    server.resource(
        RESOURCE_PREFIX + "{name}." + extension,
        name=f"saved-{extension}-{kind}",
        title=f"Saved {kind} ({extension.upper()})",
        description=f"A full-size {kind} this server generated and saved.",
        mime_type=mime_type,
    )(read_saved_image)


def _register_sidecar_template(server: MCPServer[Any], runtime: Runtime) -> None:
    async def read_sidecar(name: str, ctx: Context | None = None) -> str:
        store = store_for(runtime, ctx.request_context.request if ctx is not None else None)
        try:
            data = await anyio.to_thread.run_sync(store.read_sidecar, name)
        except FileNotFoundError as error:
            raise ResourceNotFoundError(f"{error}: only <saved image>.json sidecars can be read") from error
        except OSError as error:
            raise ResourceError(f"{name}.json could not be read: {error.strerror or error}") from error
        return data.decode("utf-8", errors="replace")

    server.resource(
        RESOURCE_PREFIX + "{name}.json",
        name="saved-image-sidecar",
        title="How a saved image was made",
        description="JSON sidecar of a saved image: prompt, model, seed, the arguments sent, size and sha256.",
        mime_type="application/json",
    )(read_sidecar)


class RecentImagesListing:
    """Server middleware answering `resources/list` with the saved images, newest first, in pages."""

    def __init__(self, runtime: Runtime, page_size: int = PAGE_SIZE) -> None:
        self._runtime = runtime
        self._page_size = page_size

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "resources/list":
            return await call_next(ctx)
        cursor = (ctx.params or {}).get("cursor")
        before = _decode_cursor(cursor) if cursor else None
        listing = partial(store_for(self._runtime, ctx.request).recent, before=before, limit=self._page_size)
        try:
            page, last = await anyio.to_thread.run_sync(listing)
        except OSError as error:
            raise MCPError(code=INTERNAL_ERROR, message=f"the saved images could not be listed: {error}") from error
        return ListResourcesResult(
            resources=[_as_resource(image) for image in page],
            next_cursor=_encode_cursor(last) if last else None,
        )


def _as_resource(image: ListedImage) -> Resource:
    modified = datetime.fromtimestamp(image.modified, UTC)
    mime_type = mime_type_for(PurePath(image.name))
    kind = "Video" if mime_type == VIDEO_MIME_TYPE else "Image"
    return Resource(
        name=image.name,
        title=f"{kind} generated {modified:%Y-%m-%d %H:%M:%S} UTC",
        uri=image.uri,
        mime_type=mime_type,
        size=image.size,
        annotations=Annotations(last_modified=modified.isoformat()),
    )


def _encode_cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode("ascii")


def _decode_cursor(cursor: object) -> str:
    try:
        return base64.urlsafe_b64decode(str(cursor).encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise MCPError(code=INVALID_PARAMS, message="invalid cursor: pass nextCursor from the previous page") from error
