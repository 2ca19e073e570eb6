"""Saved images as MCP resources, so a client can fetch the full-size bytes behind each resource_link.

URIs name files inside the image folder only (`siliconflow-image://images/<file name>`); they never
reveal host paths and can never reach outside that folder. One template per image type, because a
template carries the MIME type the client is told. `resources/list` pages through the saved images,
newest first, for remote clients that want to browse what was made. Each image's JSON sidecar (how it
was made) is readable at the image's URI plus `.json`, so a client can show a prompt next to its picture.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePath
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Annotations, ListResourcesResult, Resource

from mcp_server_siliconflow_image.imageformat import EXTENSIONS
from mcp_server_siliconflow_image.storage import RESOURCE_PREFIX, ImageStore, ListedImage, mime_type_for, recent_images

PAGE_SIZE = 50


def register_resources(server: MCPServer[Any], store: ImageStore) -> None:
    for mime_type, extension in EXTENSIONS.items():
        _register_template(server, store, mime_type, extension)
    _register_sidecar_template(server, store)
    server.middleware.append(RecentImagesListing(store))


def _register_template(server: MCPServer[Any], store: ImageStore, mime_type: str, extension: str) -> None:
    async def read_saved_image(name: str) -> bytes:
        try:
            return await anyio.to_thread.run_sync(store.read, f"{name}.{extension}")
        except FileNotFoundError as error:
            raise ResourceNotFoundError(f"{error}; it may have been deleted from the image folder") from error

    server.resource(
        RESOURCE_PREFIX + "{name}." + extension,
        name=f"saved-{extension}-image",
        title=f"Saved image ({extension.upper()})",
        description="A full-size image this server generated and saved.",
        mime_type=mime_type,
    )(read_saved_image)


def _register_sidecar_template(server: MCPServer[Any], store: ImageStore) -> None:
    async def read_sidecar(name: str) -> str:
        try:
            return await anyio.to_thread.run_sync(read_sidecar_text, store.root, name)
        except FileNotFoundError as error:
            raise ResourceError(f"{error}: only <saved image>.json sidecars can be read") from error

    server.resource(
        RESOURCE_PREFIX + "{name}.json",
        name="saved-image-sidecar",
        title="How a saved image was made",
        description="JSON sidecar of a saved image: prompt, model, seed, the arguments sent, size and sha256.",
        mime_type="application/json",
    )(read_sidecar)


_SIDECAR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(" + "|".join(EXTENSIONS.values()) + r")\.json$")
MAX_SIDECAR_BYTES = 1024 * 1024


def read_sidecar_text(root: Path, image_name: str) -> str:
    """The sidecar `<image_name>.json` in `root`: a plain name, opened without following a symlink, then
    checked to be a regular file of sane size, so what is read is what was checked."""
    name = f"{image_name}.json"
    if not _SIDECAR_NAME.fullmatch(name):
        raise FileNotFoundError(f"no sidecar named {name!r}")
    try:
        descriptor = os.open(root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise FileNotFoundError(f"no sidecar named {name!r}") from error
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FileNotFoundError(f"no sidecar named {name!r}")
        data = handle.read(MAX_SIDECAR_BYTES + 1)
    if len(data) > MAX_SIDECAR_BYTES:
        raise FileNotFoundError(f"{name!r} is too large to be a sidecar")
    return data.decode("utf-8", errors="replace")


class RecentImagesListing:
    """Server middleware answering `resources/list` with the saved images, newest first, in pages."""

    def __init__(self, store: ImageStore, page_size: int = PAGE_SIZE) -> None:
        self._store = store
        self._page_size = page_size

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "resources/list":
            return await call_next(ctx)
        cursor = (ctx.params or {}).get("cursor")
        before = _decode_cursor(cursor) if cursor else None
        listing = partial(recent_images, self._store.root, before=before, limit=self._page_size)
        page, last = await anyio.to_thread.run_sync(listing)
        return ListResourcesResult(
            resources=[_as_resource(image) for image in page],
            next_cursor=_encode_cursor(last) if last else None,
        )


def _as_resource(image: ListedImage) -> Resource:
    modified = datetime.fromtimestamp(image.modified, UTC)
    return Resource(
        name=image.name,
        title=f"Image generated {modified:%Y-%m-%d %H:%M:%S} UTC",
        uri=image.uri,
        mime_type=mime_type_for(PurePath(image.name)),
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
