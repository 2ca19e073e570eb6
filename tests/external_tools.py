"""Clients nobody here wrote, provisioned from the package registries, pinned, into `.cache/` (reused locally):
the MCP Inspector CLI and the mcpb validator (npm), and Python clients and agent frameworks in venvs of their own
(PyPI).

A test using them skips where they cannot be had (no Node.js, a registry that cannot be reached or does not answer
within INSTALL_SECONDS); under CI that is a failure instead. Any other failed install fails the test, saying why.
The session fixtures that install them are in conftest.py; the tests using them are marked `external`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CACHE, ROOT, server_command, unavailable

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
MCPB = "@anthropic-ai/mcpb@2.1.2"
LANGCHAIN_ADAPTERS = "langchain-mcp-adapters==0.3.2"
LLAMAINDEX = ("llama-index-tools-mcp==0.6.0", "llama-index-core==0.14.25", "mcp==2.3.0")
SMOLAGENTS = ("smolagents[mcp]==1.26.0", "mcpadapt==0.1.19", "mcp[ws]==1.30.0")
"""mcpadapt 0.1.19 imports names MCP SDK 2.x no longer has, so it needs SDK 1.x: with 2.x, `ToolCollection.from_mcp`
fails with "Please install 'mcp' extra" although it is installed."""
PYDANTIC_AI = ("pydantic-ai-slim[mcp]==2.78.0", "fastmcp-slim==4.2.3")
OPENAI_AGENTS = ("openai-agents==0.24.0", "mcp==2.3.0")

INSTALL_SECONDS = 600
"""How long one install may take (the largest, LlamaIndex, is ~300 MB); longer is a registry that does not answer."""
PIP_NETWORK = ("--timeout", "30", "--retries", "2")
"""pip gives up on a registry that does not answer within a minute or two, instead of its default 5 x 180 s."""
UNREACHABLE = (
    "NewConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ProxyError",
    "ENOTFOUND",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "ECONNRESET",
)
"""What pip and npm say when the registry cannot be reached (rather than refusing what was asked)."""


def install(command: list[str], what: str, seconds: int = INSTALL_SECONDS) -> None:
    """Run an installer (npm, pip) into `.cache/`. Where the registry cannot be reached (or does not answer within
    `seconds`) skip the test saying so (fail under CI); any other failure fails it with the installer's words."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        unavailable(f"installing {what} did not finish within {seconds} s: the package registry does not answer")
        return
    if done.returncode == 0:
        return
    said = f"{done.stdout}\n{done.stderr}"
    if any(marker in said for marker in UNREACHABLE):
        unavailable(f"the package registry cannot be reached, so {what} was not installed: {said.strip()[-600:]}")
    pytest.fail(f"could not install {what}: {said.strip()[-2000:]}")


@contextmanager
def one_installer(name: str) -> Iterator[None]:
    """Hold `.cache/<name>.lock` while installing: test runs of several checkouts share one `.cache/`."""
    # resolve(): a `.cache` that links to another checkout's cache which is gone (cleaned) gets that folder back,
    # instead of a FileExistsError about the link itself
    CACHE.resolve().mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no concurrent runs to guard against there
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_tools() -> Path:
    """The `.bin` folder holding `mcp-inspector` and `mcpb` (installed from npm on first use)."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Node.js/npm are not installed: the MCP Inspector CLI and mcpb validator need them")
    prefix = CACHE / "node"
    bin_dir = prefix / "node_modules" / ".bin"
    with one_installer("node"):
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
    with one_installer(name):
        if not python.exists() or subprocess.run([str(python), "-c", check], capture_output=True).returncode != 0:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PIP_NETWORK]
            install([*pip, *packages], " ".join(packages))
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
    return run_client(python, script, spec, env).answer


@dataclass(frozen=True)
class ClientRun:
    answer: dict[str, Any]
    """The JSON the script printed last."""
    log: str
    """Its stderr, which holds the server's own (the clients pass the server's stderr through)."""


def run_client(python: Path, script: str, spec: dict[str, Any], env: dict[str, str]) -> ClientRun:
    """`run_client_script`, keeping the stderr too (the server logs the clientInfo each client sent)."""
    spec = {"args": [], **spec, "command": server_command(), "env": {**env, "PATH": os.environ.get("PATH", "")}}
    done = subprocess.run(
        [str(python), str(ROOT / "tests" / "clients" / script), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return ClientRun(json.loads(done.stdout.strip().splitlines()[-1]), done.stderr)
