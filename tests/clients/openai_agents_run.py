"""Run by test_agent_frameworks.py under a separate venv holding the OpenAI Agents SDK (MCP SDK 2.x).

Usage: python openai_agents_run.py '<json: {"command", "args", "env", "arguments"}>'
A real `Runner.run` over the SDK's `MCPServerStdio`, with a stand-in model (no model API is called) that asks for
one generate_image call and then records the input the SDK sends it. Prints one JSON line: the tool names, and
what the model received for the call as parts, {"type": "text", "text"} or {"type": "image", "mime_type", "sha256"}.
"""

import asyncio
import base64
import hashlib
import json
import sys

from agents import Agent, Runner, set_tracing_disabled
from agents.items import ModelResponse
from agents.mcp import MCPServerStdio
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText


class OneToolCall(Model):
    """Asks for generate_image once, then answers; keeps what the SDK handed it after the call."""

    def __init__(self, arguments: dict) -> None:
        self.arguments = arguments
        self.received: list = []

    async def get_response(self, system_instructions, input, model_settings, tools, *rest, **options):
        self.tools = sorted(tool.name for tool in tools)
        outputs = [item for item in input if isinstance(item, dict) and item.get("type") == "function_call_output"]
        if not outputs:
            call = ResponseFunctionToolCall(
                type="function_call",
                id="fc_1",
                call_id="call_1",
                name="generate_image",
                arguments=json.dumps(self.arguments),
                status="completed",
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        self.received = outputs[0]["output"]
        text = ResponseOutputText(type="output_text", text="done", annotations=[])
        message = ResponseOutputMessage(type="message", id="m_1", role="assistant", status="completed", content=[text])
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


def part(item) -> dict:
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if item.get("type") == "input_image":
        header, data = item["image_url"].split(",", 1)
        return {
            "type": "image",
            "mime_type": header[5:].split(";")[0],
            "sha256": hashlib.sha256(base64.b64decode(data)).hexdigest(),
        }
    return {"type": "text", "text": item.get("text", json.dumps(item))}


async def main(spec: dict) -> None:
    set_tracing_disabled(True)
    params = {"command": spec["command"], "args": spec["args"], "env": spec["env"]}
    async with MCPServerStdio(params=params, client_session_timeout_seconds=120) as server:
        model = OneToolCall(spec["arguments"])
        await Runner.run(Agent(name="painter", model=model, mcp_servers=[server]), "draw it")
    received = model.received if isinstance(model.received, list) else [model.received]
    print(json.dumps({"tools": model.tools, "received": [part(item) for item in received]}))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
