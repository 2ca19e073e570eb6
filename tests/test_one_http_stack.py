"""One HTTP stack in the server process: httpx2, which the MCP SDK loads anyway. Importing httpx beside it would
cost every start 25.6 ms and 1.5 MB (bench/http_stacks.py), so a real stdio session must never import it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.slow

IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def imported_modules(stderr: str) -> set[str]:
    """The modules a process imported, from what PYTHONPROFILEIMPORTTIME made it write to stderr."""
    return {match[1] for line in stderr.splitlines() if (match := IMPORT_LINE.match(line))}


def test_a_stdio_session_that_generates_an_image_never_imports_httpx(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    client = RawStdioClient({**server_env, "PYTHONPROFILEIMPORTTIME": "1"})
    try:
        client.handshake()
        answer = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "a lighthouse"}})
    finally:
        stderr = client.close()
    assert answer["result"].get("isError") is not True, answer
    assert list(image_dir.glob("*.png")), "the image was downloaded and saved"
    modules = imported_modules(stderr)
    assert "mcp_server_siliconflow_image.provider.client" in modules, stderr[-2000:]  # the import log was read
    second_stack = sorted(name for name in modules if name.split(".")[0] in ("httpx", "httpcore"))
    assert second_stack == [], f"the server imported a second HTTP stack: {second_stack}"
    assert {"httpx2", "httpcore2"} <= modules  # what made the requests
