"""The doctor's client-config findings: what each client's entry for this server starts, and whether it can.

A problem here is a warning, not a failure: it concerns one client, not whether this install generates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from mcp_server_siliconflow_image.doctor.check import Check
from mcp_server_siliconflow_image.doctor.client_configs import (
    GUI_PATH,
    ConfigReading,
    ServerEntry,
    config_locations,
    installed_bundles,
    read_config,
    resolve_command,
)
from mcp_server_siliconflow_image.installation import installed_command

# Each client's recipe for adding this server.
CLIENTS_GUIDE = "https://github.com/mcp-server-siliconflow-image/mcp-server-siliconflow-image/blob/main/docs/clients.md"


def check_clients(home: Path, platform: str, environ: Mapping[str, str], cwd: Path | None) -> list[Check]:
    """One line per client config: whether it starts this server, and whether its command would be found."""
    checks = [
        _config_verdict(reading, platform, environ.get("PATH"))
        for reading in map(read_config, config_locations(home, platform, environ, cwd))
        if reading.exists or not reading.location.project
    ]
    checks += [
        Check("Claude Desktop", "ok", f"MCPB bundle installed at {folder} (Claude Desktop starts it itself)")
        for folder in installed_bundles(home, platform, environ)
    ]
    return checks


def _config_verdict(reading: ConfigReading, platform: str, path: str | None) -> Check:
    client, where = reading.location.client, reading.location.path
    if not reading.exists:
        return Check(client, "skip", f"no config at {where}")
    if reading.error is not None:
        return Check(client, "warn", f"{where} {reading.error}", "fix the file: the client ignores all of it")
    if not reading.entries:
        return Check(client, "skip", f"{where} has no entry for this server", f"to add one, see {CLIENTS_GUIDE}")
    return _entry_verdict(client, where, reading.entries[0], reading.location.gui and platform == "darwin", path)


def _entry_verdict(client: str, where: Path, entry: ServerEntry, gui_path: bool, path: str | None) -> Check:
    if entry.url is not None:
        return Check(client, "ok", f"{where}: {entry.name!r} connects to {entry.url}")
    started = " ".join([entry.command, *_masked(entry.args)])
    detail = f"{where}: {entry.name!r} starts `{started}`"
    found = resolve_command(entry.command, path)
    if found is None:
        return Check(
            client,
            "warn",
            f"{detail}, but `{entry.command}` is not found",
            _command_fix(entry.command),
        )
    if gui_path and resolve_command(entry.command, GUI_PATH) is None:
        return Check(
            client,
            "warn",
            f"{detail}; `{entry.command}` is at {found}, which apps started from the Dock do not see "
            f"(their PATH is {GUI_PATH})",
            f'set "command" to "{found}" and restart {client.split(" (")[0]}',
        )
    if "SILICONFLOW_API_KEY" not in entry.env_names:
        return Check(
            client,
            "warn",
            f"{detail} ({entry.command} at {found}) without SILICONFLOW_API_KEY in its env",
            'add "SILICONFLOW_API_KEY" to the entry\'s "env": apps do not see your shell\'s variables',
        )
    harness = " (it prompts with ${input:…}, so Copilot's agent harness skips it: use envFile)" * entry.needs_input
    return Check(client, "ok", f"{detail} ({entry.command} at {found}), with SILICONFLOW_API_KEY set{harness}")


def _masked(args: Iterable[str]) -> list[str]:
    """The arguments with any --api-key/--mcp-token value hidden (configs may carry the key there)."""
    shown: list[str] = []
    hide_next = False
    for arg in args:
        flag, equals, _ = arg.partition("=")
        if hide_next:
            shown.append("**********")
        elif equals and flag in ("--api-key", "--mcp-token"):
            shown.append(f"{flag}=**********")
        else:
            shown.append(arg)
        hide_next = arg in ("--api-key", "--mcp-token")
    return shown


def _command_fix(command: str) -> str:
    started = installed_command()
    installed = f'"{started[0]}" with no "args"' if len(started) == 1 else f'"{started[0]}" with "args" {started[1:]}'
    if command in ("uvx", "uv"):
        return (
            "install uv (https://docs.astral.sh/uv/getting-started/installation/) and use its absolute path, "
            f'or set "command" to {installed}'
        )
    return f'set "command" to an absolute path, e.g. {installed}'
