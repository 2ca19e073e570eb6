"""Running the server over stdio (local clients) or streamable HTTP (remote clients)."""

from __future__ import annotations

import logging

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    server = build_server(settings)
    if settings.api_key is None:
        logger.warning("SILICONFLOW_API_KEY is not set: generate_image will answer how to set it")
    logger.info("saving images to %s", settings.image_dir)
    if settings.transport == "stdio":
        server.run("stdio")
        return
    logger.info("serving MCP over streamable HTTP at http://%s:%d/mcp", settings.host, settings.port)
    server.run("streamable-http", host=settings.host, port=settings.port, streamable_http_path="/mcp")
