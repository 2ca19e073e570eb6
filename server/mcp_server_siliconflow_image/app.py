"""Assembling the MCP server from its parts: settings in, a ready `MCPServer` out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.surface.argument_errors import FriendlyArgumentErrors
from mcp_server_siliconflow_image.surface.presets import ClientPresetListing
from mcp_server_siliconflow_image.surface.protocol import ProtocolDetails
from mcp_server_siliconflow_image.surface.resources import register_resources
from mcp_server_siliconflow_image.surface.tools import register_tools
from mcp_server_siliconflow_image.surface.viewer import ViewOnlyForAppHosts, viewer_extension

SERVER_NAME = "siliconflow-image"
INSTRUCTIONS = """Image generation with SiliconFlow. generate_image turns a prompt into images; the pictures
come back inline, are saved to disk, and each has a resource URI for the full-size file. Results list the
saved paths and the seed (reuse it to reproduce an image)."""


def build_server(settings: Settings) -> MCPServer[Runtime]:
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with runtime.open():
            yield runtime

    server: MCPServer[Runtime] = MCPServer(
        SERVER_NAME,
        title="SiliconFlow Image",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image",
        lifespan=lifespan,
        log_level=settings.log_level.upper(),  # type: ignore[arg-type]
        extensions=[viewer_extension()],
    )
    server.middleware.append(ProtocolDetails())
    server.middleware.append(ClientPresetListing(settings))
    server.middleware.append(FriendlyArgumentErrors(register_tools(server, runtime)))
    server.middleware.append(ViewOnlyForAppHosts(server))  # before (outside) the saved-images listing
    register_resources(server, runtime)
    return server
