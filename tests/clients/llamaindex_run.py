"""Run by test_agent_frameworks.py under a separate venv holding llama-index-tools-mcp (MCP SDK 2.x).

Usage: python llamaindex_run.py '<json: {"command", "args", "env", "arguments", "tool_spec": python source or null}>'
Loads the tools with `McpToolSpec` (or the class named `ContentBlocksToolSpec` that `tool_spec` defines, the
workaround docs/clients.md gives) and calls generate_image as LlamaIndex's agents do (`FunctionTool.acall`). Its
`ToolOutput.blocks` are what `FunctionAgent` hands the LLM as the tool message. Prints one JSON line: the tool
names and those blocks, {"type": "text", "text"} or {"type": "image", "mime_type", "sha256"}.
"""

import asyncio
import base64
import hashlib
import json
import sys

from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.tools.mcp import BasicMCPClient, McpToolSpec


def part(block) -> dict:
    if isinstance(block, ImageBlock):
        data = base64.b64decode(block.image)
        return {"type": "image", "mime_type": block.image_mimetype, "sha256": hashlib.sha256(data).hexdigest()}
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    return {"type": type(block).__name__}


async def main(spec: dict) -> None:
    tool_spec = McpToolSpec
    if spec.get("tool_spec"):
        namespace: dict = {}
        exec(spec["tool_spec"], namespace)  # the snippet from docs/clients.md, as a user would paste it
        tool_spec = namespace["ContentBlocksToolSpec"]
    client = BasicMCPClient(spec["command"], args=spec["args"], env=spec["env"])
    tools = await tool_spec(client=client).to_tool_list_async()
    generate = next(tool for tool in tools if tool.metadata.name == "generate_image")
    output = await generate.acall(**spec["arguments"])
    names = sorted(tool.metadata.name for tool in tools)
    print(json.dumps({"tools": names, "received": [part(block) for block in output.blocks]}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
