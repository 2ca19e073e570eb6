"""Run by test_agent_frameworks.py under a separate venv holding pydantic-ai (its `MCPToolset`, on FastMCP's client).

Usage: python pydantic_ai_run.py '<json: {"command", "args", "env", "arguments"}>'
A real `Agent.run` with pydantic-ai's own `FunctionModel` (no model API is called): it asks for one generate_image
call, then records the request pydantic-ai builds for the model from the result. Prints one JSON line: the tool
names, and the parts of that request, {"type": "text", "text"} or {"type": "image", "mime_type", "sha256"}.
"""

import asyncio
import hashlib
import json
import sys

from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent, messages
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.models.function import AgentInfo, FunctionModel


def parts_of(value) -> list[dict]:
    """A tool return's or user prompt's content as the parts the model gets."""
    if isinstance(value, messages.BinaryContent):
        return [{"type": "image", "mime_type": value.media_type, "sha256": hashlib.sha256(value.data).hexdigest()}]
    if isinstance(value, (list, tuple)):
        return [part for item in value for part in parts_of(item)]
    return [{"type": "text", "text": value if isinstance(value, str) else json.dumps(value)}]


async def main(spec: dict) -> None:
    seen: dict = {}

    def model(history: list[messages.ModelMessage], info: AgentInfo) -> messages.ModelResponse:
        seen["tools"] = sorted(tool.name for tool in info.function_tools)
        if len(history) == 1:
            return messages.ModelResponse(parts=[messages.ToolCallPart("generate_image", spec["arguments"])])
        seen["received"] = [
            part
            for message_part in history[-1].parts
            if isinstance(message_part, (messages.ToolReturnPart, messages.UserPromptPart))
            for part in parts_of(message_part.content)
        ]
        return messages.ModelResponse(parts=[messages.TextPart("done")])

    # init_timeout: pydantic-ai gives a server 5 s to start; a first `uvx` start (or a loaded machine) takes longer
    toolset = MCPToolset(StdioTransport(spec["command"], spec["args"], env=spec["env"]), init_timeout=60)
    async with toolset:
        await Agent(FunctionModel(model), toolsets=[toolset]).run("draw it")
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
