"""Run by test_agent_frameworks.py under a separate venv holding smolagents with mcpadapt (MCP SDK 1.x).

Usage: python smolagents_run.py '<json: {"command", "args", "env", "arguments", "structured_output": bool}>'
A real `ToolCallingAgent.run` over `ToolCollection.from_mcp`, with a stand-in model (no model API is called) that
asks for one generate_image call and then records the messages smolagents sends it. Prints one JSON line: the
tool names, the observation smolagents made of the first step (the tool's answer, or the error that stopped the
call) and the text of every message the model received after its call (`received`).
"""

import json
import sys

from mcp import StdioServerParameters
from smolagents import ToolCallingAgent, ToolCollection
from smolagents.models import ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole, Model


class OneToolCall(Model):
    """Asks for generate_image once, then gives the final answer; keeps what it was sent after the call."""

    def __init__(self, arguments: dict) -> None:
        super().__init__(model_id="stand-in")
        self.arguments = arguments
        self.calls = 0
        self.received: list[str] = []

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        self.calls += 1
        if self.calls == 1:
            call = ChatMessageToolCallFunction(name="generate_image", arguments=self.arguments)
            tool_call = ChatMessageToolCall(function=call, id="call_1", type="function")
            return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[tool_call])
        self.received = [text_of(message) for message in messages[2:]]
        done = ChatMessageToolCallFunction(name="final_answer", arguments={"answer": "done"})
        tool_call = ChatMessageToolCall(function=done, id="call_2", type="function")
        return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[tool_call])


def text_of(message) -> str:
    content = message.content if isinstance(message, ChatMessage) else message["content"]
    if isinstance(content, list):
        return "\n".join(item.get("text", f"<{item.get('type')}>") for item in content)
    return str(content)


def main(spec: dict) -> None:
    params = StdioServerParameters(command=spec["command"], args=spec["args"], env=spec["env"])
    structured = spec.get("structured_output", False)
    with ToolCollection.from_mcp(params, trust_remote_code=True, structured_output=structured) as collection:
        agent = ToolCallingAgent(tools=collection.tools, model=OneToolCall(spec["arguments"]), max_steps=3)
        agent.run("draw it")
        tools = sorted(tool.name for tool in collection.tools)
    first = next(step for step in agent.memory.steps if hasattr(step, "tool_calls"))  # the first ActionStep
    observation = first.observations if first.error is None else f"error: {first.error}"
    print(json.dumps({"tools": tools, "observation": observation, "received": agent.model.received}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
