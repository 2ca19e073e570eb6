"""Where this installation of the server is, for the client configs that must start it (demo, doctor).

Apps started from a Dock or Start menu do not get the shell's PATH, and a checkout's `.venv/bin` is on nobody's
PATH, so a client config names the program by its absolute path.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

PROGRAM = "mcp-server-siliconflow-image"
SERVER_NAME = "siliconflow-image"
"""The name client recipes give this server's entry."""


def installed_command() -> list[str]:
    """The command that starts this installation: the console script beside this Python (a virtual environment's
    `bin/` or `Scripts\\`), by absolute path; else this Python with `-m`."""
    script = shutil.which(PROGRAM, path=str(Path(sys.executable).parent))
    if script is not None:
        return [str(Path(script).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "mcp_server_siliconflow_image"]


def config_entry(command: list[str], key: str = "sk-your-key") -> str:
    """A ready-to-paste entry for the `"mcpServers"` block of Claude Desktop's or Cursor's config."""
    entry: dict[str, object] = {"command": command[0]}
    if command[1:]:
        entry["args"] = command[1:]
    entry["env"] = {"SILICONFLOW_API_KEY": key}
    return f"{json.dumps(SERVER_NAME)}: {json.dumps(entry)}"


def claude_code_line(command: list[str], key: str = "sk-your-key") -> str:
    """The `claude mcp add` line that registers this installation with Claude Code."""
    started = " ".join(shlex.quote(part) for part in command)
    return f"claude mcp add {SERVER_NAME} -e SILICONFLOW_API_KEY={key} -- {started}"
