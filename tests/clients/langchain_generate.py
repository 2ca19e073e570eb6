"""Run by test_external_clients.py under a separate venv holding langchain-mcp-adapters (MCP SDK 1.x).

Usage: python langchain_generate.py '<json: {"command", "args", "env", "arguments"}>'
Prints one JSON line: the tool names LangChain loaded and what invoking generate_image returned.
"""

import asyncio
import json
import sys

from langchain_mcp_adapters.client import MultiServerMCPClient


async def main(spec: dict) -> None:
    client = MultiServerMCPClient(
        {
            "siliconflow-image": {
                "transport": "stdio",
                "command": spec["command"],
                "args": spec["args"],
                "env": spec["env"],
            }
        }
    )
    tools = await client.get_tools()
    generate = next(tool for tool in tools if tool.name == "generate_image")
    result = await generate.ainvoke(spec["arguments"])
    print(json.dumps({"tools": sorted(tool.name for tool in tools), "result": str(result)}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
