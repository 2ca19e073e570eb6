"""The npm peer `siliconflow-image-mcp`, installed into `.cache/` and pointed at the local stand-in.

It is measured as a user would run it (`node dist/index.js` over stdio); its hard-coded provider host is
redirected by a preload (`peer_redirect.mjs`), so its code is exactly what npm serves.
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


@dataclass(frozen=True)
class Peer:
    """How to start the peer, or why it cannot be measured here."""

    command: list[str] | None
    reason: str = ""


def install_peer() -> Peer:
    """Install the pinned peer from npm into `.cache/peer` (once), or say why it is unavailable."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return Peer(None, "Node.js/npm not installed")
    if not PEER_ENTRY.exists():
        PEER_PREFIX.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(PEER_PREFIX), "--no-audit", "--no-fund", PEER_PACKAGE],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            return Peer(None, f"npm install {PEER_PACKAGE} timed out")
        if done.returncode != 0 or not PEER_ENTRY.exists():
            last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return Peer(None, f"npm install {PEER_PACKAGE} failed: {last_line[:120]}")
    return Peer([node, "--import", REDIRECT.as_uri(), str(PEER_ENTRY)])
