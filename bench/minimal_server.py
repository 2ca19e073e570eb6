"""The smallest MCPServer: the SDK's own start-up cost, to compare this server's cold start against."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def ping() -> str:
    return "pong"


if __name__ == "__main__":
    server.run("stdio")
