"""`mcp-server-siliconflow-image demo`: the whole product working, with no key and no network.

Starts the offline stand-in provider on loopback, starts this server as a real stdio subprocess pointed at
it, and drives the tools through the MCP SDK's client, as Claude Desktop or an agent would: images, an edit, and a
short video made from the first image. Prints where the files went and what each tool result carried.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, ImageContent, ResourceLink, TextContent

from mcp_server_siliconflow_image.doctor.clients import CLIENTS_GUIDE
from mcp_server_siliconflow_image.installation import claude_code_line, config_entry, installed_command
from mcp_server_siliconflow_image.standin import StandInState, running_standin

DEMO_KEY = "sk-standin-demo"


def run_demo(out: str | None) -> int:
    folder = Path(out).expanduser().resolve() if out else Path(tempfile.mkdtemp(prefix="siliconflow-demo-"))
    with running_standin(StandInState(api_key=DEMO_KEY)) as standin:
        print(f"Stand-in provider (offline SiliconFlow API) at {standin.base_url}")
        print(f"Images and videos go to {folder}\n")
        try:
            anyio.run(_drive_tools, standin.base_url, folder)
        except Exception as error:  # a demo should explain, not dump a traceback
            print(f"The demo failed: {error}", file=sys.stderr)
            return 1
    print(f"\nDone. The images and the video are in {folder}")
    print(next_steps(installed_command()))
    return 0


def next_steps(command: list[str]) -> str:
    """How to use this installation from a client, with its absolute path (it is on no client's PATH)."""
    return "\n".join(
        [
            "\nWith your own key, your MCP client starts this installation (by its absolute path: apps do not see",
            "your shell's PATH, and a checkout's .venv/bin is on nobody's):",
            f"  {' '.join(command)}",
            'Claude Desktop or Cursor: add this entry to "mcpServers" in the config file, then restart the app:',
            f"  {config_entry(command)}",
            "Claude Code:",
            f"  {claude_code_line(command)}",
            f"Other clients: {CLIENTS_GUIDE}",
        ]
    )


async def _drive_tools(base_url: str, folder: Path) -> None:
    env = {
        "SILICONFLOW_API_KEY": DEMO_KEY,
        "SILICONFLOW_BASE_URL": base_url,
        "SILICONFLOW_IMAGE_DIR": str(folder),
        "SILICONFLOW_INPUT_DIRS": str(folder),
    }
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_siliconflow_image", "--log-level", "WARNING"],
        env={**env, "PATH": os.environ.get("PATH", "")},
        cwd=os.sep,
    )
    async with Client(server) as client:
        print(f"Connected over stdio (protocol {client.protocol_version}).")
        tools = await client.list_tools()
        print("Tools:", ", ".join(tool.name for tool in tools.tools))

        models = await client.call_tool("list_models", {"capability": "image-to-image"})
        _show("list_models(capability='image-to-image')", models)

        generated = await client.call_tool(
            "generate_image", {"prompt": "a lighthouse on a cliff at dusk", "batch_size": 2, "seed": 42}
        )
        _show("generate_image(prompt='a lighthouse on a cliff at dusk', batch_size=2, seed=42)", generated)
        first_path = _structured(generated)["images"][0]["path"]

        edited = await client.call_tool(
            "edit_image", {"image": first_path, "prompt": "add a full moon above the lighthouse"}
        )
        _show(f"edit_image(image='{first_path}', prompt='add a full moon …')", edited)

        video = await client.call_tool(
            "generate_video", {"image": first_path, "prompt": "waves break below the lighthouse", "wait": 60}
        )
        _show(f"generate_video(image='{first_path}', prompt='waves break below the lighthouse')", video)


def _structured(result: CallToolResult) -> dict[str, Any]:
    if result.is_error or not isinstance(result.structured_content, dict):
        text = next((block.text for block in result.content if isinstance(block, TextContent)), "no details")
        raise RuntimeError(text)
    return result.structured_content


def _show(call: str, result: CallToolResult) -> None:
    _structured(result)
    print(f"\n> {call}")
    for block in result.content:
        if isinstance(block, ImageContent):
            print(f"  [image] {block.mime_type}, {len(block.data)} base64 characters (shown inline to the model)")
        elif isinstance(block, ResourceLink):
            print(f"  [resource_link] {block.uri} ({block.mime_type}, {block.size} bytes, full size)")
        elif isinstance(block, TextContent):
            print("  [text] " + block.text.replace("\n", "\n         "))
