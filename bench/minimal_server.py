"""The smallest MCPServer: the SDK's own start-up cost, and its cost of returning a large result.

`ping` answers a tiny result; `picture` answers one image block of the size this server's preview has,
so the difference is what the SDK (serialising, piping, parsing, on both sides) charges for the bytes.
"""

from mcp.server.mcpserver import MCPServer
from mcp_types import ImageContent

server = MCPServer("minimal")


@server.tool()
def ping() -> str:
    return "pong"


@server.tool()
def picture(base64_chars: int) -> ImageContent:
    return ImageContent(type="image", data="A" * base64_chars, mime_type="image/jpeg")


if __name__ == "__main__":
    server.run("stdio")
