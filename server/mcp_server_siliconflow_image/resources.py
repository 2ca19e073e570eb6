"""Saved images as MCP resources, so a client can fetch the full-size bytes behind each resource_link.

URIs name files inside the image folder only (`siliconflow-image://images/<file name>`); they never
reveal host paths and can never reach outside that folder. One template per image type, because a
template carries the MIME type the client is told.
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from mcp_server_siliconflow_image.imageformat import EXTENSIONS
from mcp_server_siliconflow_image.storage import RESOURCE_PREFIX, ImageStore


def register_resources(server: MCPServer, store: ImageStore) -> None:
    for mime_type, extension in EXTENSIONS.items():
        _register_template(server, store, mime_type, extension)


def _register_template(server: MCPServer, store: ImageStore, mime_type: str, extension: str) -> None:
    async def read_saved_image(name: str) -> bytes:
        try:
            path = store.resolve_uri(f"{name}.{extension}")
        except FileNotFoundError as error:
            raise ResourceError(f"{error}; it may have been deleted from the image folder") from error
        return await anyio.Path(path).read_bytes()

    server.resource(
        RESOURCE_PREFIX + "{name}." + extension,
        name=f"saved-{extension}-image",
        title=f"Saved image ({extension.upper()})",
        description="A full-size image this server generated and saved.",
        mime_type=mime_type,
    )(read_saved_image)
