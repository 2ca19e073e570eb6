"""What the bench installs from npm into `.cache/`: the npm peer `siliconflow-image-mcp`, pointed at the local
stand-in, and the MCP TypeScript SDK, whose stdio client Claude Desktop, Cursor and VS Code use.

The peer is measured as a user would run it (`node dist/index.js` over stdio); its hard-coded provider host is
redirected by a preload (`peer_redirect.mjs`), so its code is exactly what npm serves. The TypeScript client
is `ts_client.mjs`, run by Node against the pinned SDK.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_PACKAGE = "siliconflow-image-mcp@1.0.8"
PEER_PREFIX = ROOT / ".cache" / "peer"
PEER_ENTRY = PEER_PREFIX / "node_modules" / "siliconflow-image-mcp" / "dist" / "index.js"
REDIRECT = Path(__file__).resolve().with_name("peer_redirect.mjs")
TS_SDK_PACKAGE = "@modelcontextprotocol/sdk@1.32.2"
TS_SDK_PREFIX = ROOT / ".cache" / "ts-sdk"
TS_SDK_ROOT = TS_SDK_PREFIX / "node_modules" / "@modelcontextprotocol" / "sdk"
TS_CLIENT = Path(__file__).resolve().with_name("ts_client.mjs")


@dataclass(frozen=True)
class Peer:
    """How to start the peer, or why it cannot be measured here."""

    command: list[str] | None
    reason: str = ""


@dataclass(frozen=True)
class TypeScriptClient:
    """How to run the TypeScript SDK's client (`node ts_client.mjs SPEC`), or why it cannot run here."""

    node: str | None
    sdk: Path | None
    reason: str = ""


def _npm_install(package: str, prefix: Path, installed: Path) -> str | None:
    """Install `package` into `prefix` (once: `installed` shows it is there); why not, or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "Node.js/npm not installed"
    if installed.exists():
        return None
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", package],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return f"npm install {package} timed out"
    if done.returncode != 0 or not installed.exists():
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"npm install {package} failed: {last_line[:120]}"
    return None


def install_peer() -> Peer:
    """Install the pinned peer from npm into `.cache/peer` (once), or say why it is unavailable."""
    reason = _npm_install(PEER_PACKAGE, PEER_PREFIX, PEER_ENTRY)
    node = shutil.which("node")
    if reason is not None or node is None:
        return Peer(None, reason or "Node.js not installed")
    return Peer([node, "--import", REDIRECT.as_uri(), str(PEER_ENTRY)])


def install_typescript_client() -> TypeScriptClient:
    """Install the pinned MCP TypeScript SDK into `.cache/ts-sdk` (once), or say why it is unavailable.

    An install that no longer loads (a dependency gone from a shared cache) is made again, once."""
    for attempt in range(2):
        reason = _npm_install(TS_SDK_PACKAGE, TS_SDK_PREFIX, TS_SDK_ROOT / "dist" / "esm" / "client" / "stdio.js")
        node = shutil.which("node")
        if reason is not None or node is None:
            return TypeScriptClient(None, None, reason or "Node.js not installed")
        client = (TS_SDK_ROOT / "dist" / "esm" / "client" / "index.js").as_uri()
        loads = subprocess.run(
            [node, "--input-type=module", "-e", f"await import({client!r})"], capture_output=True, text=True
        )
        if loads.returncode == 0:
            return TypeScriptClient(node, TS_SDK_ROOT)
        if attempt == 0:
            shutil.rmtree(TS_SDK_PREFIX, ignore_errors=True)
    last_line = (loads.stderr.strip().splitlines() or ["no output"])[-1]
    return TypeScriptClient(None, None, f"{TS_SDK_PACKAGE} does not load: {last_line[:120]}")
