"""Clients nobody here wrote, provisioned from the package registries, pinned, into `.cache/` (reused locally):
the MCP Inspector CLI and the mcpb validator (npm), and Python clients in venvs of their own (PyPI).

A test using them skips where they cannot be had (no Node.js, no registry); under CI that is a failure instead.
The session fixtures that install them are in conftest.py; the tests using them are marked `external`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CACHE, ROOT, server_command, unavailable

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
MCPB = "@anthropic-ai/mcpb@2.1.2"
LANGCHAIN_ADAPTERS = "langchain-mcp-adapters==0.3.2"


def install(command: list[str], what: str) -> None:
    """Run an installer (npm, pip) into `.cache/`; where it fails, skip the test saying why (fail under CI)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        unavailable(f"could not install {what}: {done.stderr[-1000:]}")


def node_tools() -> Path:
    """The `.bin` folder holding `mcp-inspector` and `mcpb` (installed from npm on first use)."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js/npm are not installed: the MCP Inspector CLI and mcpb validator need them")
    prefix = CACHE / "node"
    bin_dir = prefix / "node_modules" / ".bin"
    if not ((bin_dir / "mcp-inspector").exists() and (bin_dir / "mcpb").exists()):
        prefix.mkdir(parents=True, exist_ok=True)
        install(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", INSPECTOR, MCPB],
            f"{INSPECTOR} and {MCPB} from npm",
        )
    return bin_dir


def provisioned_venv(name: str, packages: tuple[str, ...], check: str) -> Path:
    """The Python of `.cache/<name>` holding `packages` (installed on first use); `check` proves it works."""
    venv = CACHE / name
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists() or subprocess.run([str(python), "-c", check], capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        install(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages], " ".join(packages)
        )
    return python


def inspector(node_bin: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node_bin / "mcp-inspector"), "--cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
        cwd=CACHE,
    )


def env_flags(env: dict[str, str]) -> list[str]:
    return [flag for name, value in env.items() for flag in ("-e", f"{name}={value}")]


def parse(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


def run_langchain(python: Path, env: dict[str, str], arguments: dict[str, Any]) -> dict[str, Any]:
    """Load the tools with langchain-mcp-adapters and invoke generate_image: {"tools": [...], "result": str}."""
    return run_client_script(python, "langchain_generate.py", {"args": [], "arguments": arguments}, env)


def run_client_script(python: Path, script: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run tests/clients/<script> with the server's command and `env` added to `spec`; its last line's JSON."""
    spec = {**spec, "command": server_command(), "env": {**env, "PATH": os.environ.get("PATH", "")}}
    done = subprocess.run(
        [str(python), str(ROOT / "tests" / "clients" / script), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
