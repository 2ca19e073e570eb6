"""Where MCP clients keep their server lists, and what the entry for this server there would start.

"The server disconnected" in a client is most often not the server at all: the client's config has no
entry, or its command (`uvx`) is not on the PATH that a GUI app sees. The doctor reads these files to
say which it is; it never changes them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_KEY = "siliconflow-image"
"""The name every shipped client config gives this server."""
SERVER_MARKERS = ("mcp-server-siliconflow-image", "mcp_server_siliconflow_image", "siliconflow-image")
"""Any of these in an entry's name, command or arguments makes it an entry for this server."""
GUI_PATH = os.pathsep.join(("/usr/bin", "/bin", "/usr/sbin", "/sbin"))
"""The PATH a macOS app launched from the Dock or Finder gets: no Homebrew, no ~/.local/bin."""


@dataclass(frozen=True)
class ConfigLocation:
    client: str
    path: Path
    servers_key: str
    """Where the server table sits in the file: `mcpServers` (Claude, Cursor) or `servers` (VS Code)."""
    gui: bool
    """Started from the desktop, so its PATH may lack what a terminal has."""
    project: bool = False
    """A file in the current project, which most projects do not have."""


@dataclass(frozen=True)
class ServerEntry:
    name: str
    command: str
    args: tuple[str, ...]
    env_names: tuple[str, ...]
    """Names of the variables the entry sets; their values (the key among them) are never kept."""
    url: str | None = None
    """An entry that connects over HTTP instead of starting a command."""
    needs_input: bool = False
    """It uses a VS Code `${input:…}` prompt, which Copilot's agent harness cannot answer."""


@dataclass(frozen=True)
class ConfigReading:
    location: ConfigLocation
    exists: bool
    entries: tuple[ServerEntry, ...] = ()
    error: str | None = None


def app_data_dir(home: Path, platform: str, environ: Mapping[str, str]) -> Path:
    """The per-user application settings folder on `platform` (a `sys.platform` value)."""
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform == "win32":
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming")
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config")


def config_locations(
    home: Path, platform: str, environ: Mapping[str, str], cwd: Path | None = None
) -> list[ConfigLocation]:
    """Every config file the known clients read on `platform` (a `sys.platform` value), user scope first."""
    app_data = app_data_dir(home, platform, environ)
    copilot_home = Path(environ.get("COPILOT_HOME") or home / ".copilot")
    locations = [
        ConfigLocation("Claude Desktop", app_data / "Claude" / "claude_desktop_config.json", "mcpServers", True),
        ConfigLocation("Claude Code", home / ".claude.json", "mcpServers", False),
        ConfigLocation("Cursor", home / ".cursor" / "mcp.json", "mcpServers", True),
        ConfigLocation("VS Code", app_data / "Code" / "User" / "mcp.json", "servers", True),
        # Copilot's agent harness reads this portable file, and skips VS Code servers that need ${input:…}.
        ConfigLocation("Copilot agent", copilot_home / "mcp-config.json", "mcpServers", False),
    ]
    if cwd is not None and cwd != home:
        locations += [
            ConfigLocation("Claude Code / Copilot (project)", cwd / ".mcp.json", "mcpServers", False, project=True),
            ConfigLocation("Cursor (project)", cwd / ".cursor" / "mcp.json", "mcpServers", True, project=True),
            ConfigLocation("VS Code (workspace)", cwd / ".vscode" / "mcp.json", "servers", True, project=True),
        ]
    return locations


def read_config(location: ConfigLocation) -> ConfigReading:
    """The entries for this server in one config file; a file that is not JSON is reported, not raised."""
    try:
        text = location.path.read_text(encoding="utf-8-sig")  # Windows editors may write a BOM
    except FileNotFoundError:
        return ConfigReading(location, exists=False)
    except (OSError, UnicodeDecodeError) as error:
        return ConfigReading(location, exists=True, error=f"cannot be read ({type(error).__name__})")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return ConfigReading(
            location, exists=True, error=f"is not valid JSON (line {error.lineno}, column {error.colno})"
        )
    tables = [document.get(location.servers_key)] if isinstance(document, dict) else []
    if location.client == "Claude Code" and isinstance(document, dict):
        # ~/.claude.json keeps user-scope servers at the top and local-scope ones per project.
        projects = document.get("projects")
        if isinstance(projects, dict):
            tables += [project.get("mcpServers") for project in projects.values() if isinstance(project, dict)]
    entries = [entry for table in tables for entry in _entries_for_this_server(table)]
    return ConfigReading(location, exists=True, entries=tuple(entries))


def _entries_for_this_server(table: Any) -> list[ServerEntry]:
    if not isinstance(table, dict):
        return []
    found = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            continue
        command = spec.get("command")
        args = spec.get("args")
        arguments = tuple(str(arg) for arg in args) if isinstance(args, list) else ()
        words = [str(name), str(command or ""), *arguments]
        if not any(marker in word for word in words for marker in SERVER_MARKERS):
            continue
        env = spec.get("env")
        env_names = tuple(sorted(str(key) for key in env)) if isinstance(env, dict) else ()
        url = str(spec["url"]) if spec.get("url") else None
        needs_input = "${input:" in json.dumps(spec)
        found.append(ServerEntry(str(name), str(command or ""), arguments, env_names, url, needs_input))
    return found


def resolve_command(command: str, path: str | None) -> str | None:
    """Where `command` would be found on `path` (None: the current PATH), or None when it would not."""
    if not command:
        return None
    if os.path.isabs(command):
        return command if os.access(command, os.X_OK) and os.path.isfile(command) else None
    return shutil.which(command, path=path)


def installed_bundles(home: Path, platform: str, environ: Mapping[str, str]) -> list[Path]:
    """Folders where Claude Desktop unpacked this server's MCPB bundle (it keeps no config entry for them)."""
    extensions = app_data_dir(home, platform, environ) / "Claude" / "Claude Extensions"
    found = []
    for manifest in sorted(extensions.glob("*/manifest.json")):
        try:
            name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            continue
        if name == "mcp-server-siliconflow-image":
            found.append(manifest.parent)
    return found
