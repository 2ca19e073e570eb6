"""Assembling the MCP server from its parts: settings in, a ready `MCPServer` out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.jobs.board import JobBoard
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.surface.argument_errors import FriendlyArgumentErrors
from mcp_server_siliconflow_image.surface.presets import ClientPresetListing
from mcp_server_siliconflow_image.surface.protocol import ProtocolDetails
from mcp_server_siliconflow_image.surface.resources import register_resources
from mcp_server_siliconflow_image.surface.tools import register_tools
from mcp_server_siliconflow_image.surface.video_tools import register_video_tools
from mcp_server_siliconflow_image.surface.viewer import ViewOnlyForAppHosts, viewer_extension

SERVER_NAME = "siliconflow-image"
INSTRUCTIONS = """Image and video generation with SiliconFlow. generate_image turns a prompt into images; the
pictures come back inline, are saved to disk, and each has a resource URI for the full-size file. Results list the
saved paths and the seed (reuse it to reproduce an image). generate_video makes a short video (minutes): if it is
not done within the call, the result is a job handle, and get_video picks the video up later."""


def build_server(settings: Settings) -> MCPServer[Runtime]:
    runtime = Runtime(settings)
    board = JobBoard(runtime)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with runtime.open(), board.running():
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
    tools = register_tools(server, runtime) | register_video_tools(server, runtime, board)
    server.middleware.append(FriendlyArgumentErrors(tools))
    server.middleware.append(ViewOnlyForAppHosts(server))  # before (outside) the saved-images listing
    register_resources(server, runtime)
    return server
