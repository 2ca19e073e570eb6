"""Run by test_old_sdk_client.py under a separate venv holding MCP SDK 1.9 (protocol 2025-03-26).

Usage: python old_sdk_session.py '<json: {"command", "env", "client_name", "calls": [[tool, arguments], ...]}>'
Prints one JSON line: the negotiated version and, per call, whether the SDK parsed the result and its block types.
The SDK validates every result into its own types, so a content block its protocol lacks fails the whole call.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import Implementation


async def main(spec: dict) -> None:
    params = StdioServerParameters(command=spec["command"], args=[], env=spec["env"])
    answers = []
    info = Implementation(name=spec["client_name"], version="1.0") if spec.get("client_name") else None
    async with stdio_client(params) as (read, write), ClientSession(read, write, client_info=info) as session:
        init = await session.initialize()
        for tool, arguments in spec["calls"]:
            try:
                result = await session.call_tool(tool, arguments)
            except Exception as error:  # what a user of this client would see
                answers.append({"parsed": False, "error": f"{type(error).__name__}: {error}"[:2000]})
                continue
            answers.append(
                {
                    "parsed": True,
                    "is_error": result.isError,
                    "types": [block.type for block in result.content],
                    "text": next((block.text for block in result.content if block.type == "text"), ""),
                }
            )
    print(json.dumps({"protocol": init.protocolVersion, "calls": answers}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
