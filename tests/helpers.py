"""What many test files share: the test key, ways to start and reach the server, and readers for its answers.

Fixtures live in conftest.py; everything here is a plain constant or function, imported by name.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import BlobResourceContents, CallToolResult, ReadResourceResult, TextContent

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.pipeline import inputs
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn

API_KEY = "sk-test-0123456789abcdef-SECRET"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
"""Where the suite keeps what it installs from package registries (npm packages, pinned venvs), reused locally."""

CALL_SECONDS = 60
"""A tool call that takes longer has hung: fail the test instead of waiting forever."""

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
"""An initialize request as raw JSON-RPC, for posting to /mcp or writing to stdin without an MCP client."""
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def unavailable(reason: str) -> None:
    """Skip a test whose outside tool cannot be had here; under CI, where it must be, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def server_command() -> str:
    """The installed console script, as a client config would start it."""
    script = shutil.which("mcp-server-siliconflow-image", path=str(Path(sys.executable).parent))
    assert script, "the console script is not installed: pip install -e '.[test]'"
    return script


def stdio_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=server_command(), args=list(args), env=env, cwd=os.sep)


def server_environment(standin_url: str, image_dir: Path, home: Path) -> dict[str, str]:
    """Environment for a server subprocess wired to the stand-in at `standin_url` (HOME isolated from the real one)."""
    return {
        "SILICONFLOW_API_KEY": API_KEY,
        "SILICONFLOW_BASE_URL": standin_url,
        "SILICONFLOW_IMAGE_DIR": str(image_dir),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
    }


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then closed again): free for a server, refused for a client."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll `url` until the freshly started `process` answers; fail with its stderr if it dies first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            stderr = process.stderr.read().decode() if process.stderr and process.poll() is not None else ""
            assert process.poll() is None, f"the process exited: {stderr}"
            assert time.monotonic() < deadline, f"{url} did not answer within {timeout} s"
            time.sleep(0.05)


@contextmanager
def running_http_server(
    env: dict[str, str], *args: str, cwd: Path | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server as a real subprocess over HTTP; `cwd` is its working directory, `log` a file for its stderr."""
    port = unused_port()
    with open(log if log is not None else os.devnull, "wb") as log_file:
        process = subprocess.Popen(
            [server_command(), "--transport", "http", "--port", str(port), *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if log is None else log_file,
            cwd=cwd,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{base}/healthz", process)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()  # a server that ignores SIGTERM (its loop blocked) must not outlive the test
                raise


@contextmanager
def serving_http_in_thread(settings: Settings) -> Iterator[str]:
    """The server's HTTP app on a loopback port, served by uvicorn in a thread of this process: real HTTP for real
    clients, starting in a fraction of the time a subprocess takes, and reaching what a test patched in the package
    (so a test can make its code fail or hang). Yields the base URL."""
    import uvicorn

    from mcp_server_siliconflow_image.hosting.http import http_app

    port = unused_port()
    config = uvicorn.Config(
        http_app(build_server(settings), settings), host="127.0.0.1", port=port, log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="http-server-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the in-thread HTTP server stopped while starting"
        assert time.monotonic() < deadline, "the in-thread HTTP server did not start within 30 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def allow_loopback_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let edit_image fetch from the stand-in at 127.0.0.1 as if it were a public host.

    There is no public internet here; every other loopback, private or reserved address stays refused.
    """
    original = inputs.address_allowed
    monkeypatch.setattr(inputs, "address_allowed", lambda address: str(address) == "127.0.0.1" or original(address))


ServerUnderTest = Settings | StdioServerParameters
"""The server a helper talks to: built in memory from settings, or the console script started over stdio."""


def connect(server: ServerUnderTest) -> Client:
    """A real MCP client of the server: in memory when given settings, over stdio when given a command."""
    return Client(build_server(server) if isinstance(server, Settings) else server)


async def call_tool(
    server: ServerUnderTest, tool: str, arguments: Mapping[str, Any], *, messages: list[str] | None = None
) -> CallToolResult:
    """One tools/call in a session of its own; with `messages`, the call's progress messages are appended to it."""

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if messages is not None and message:
            messages.append(message)

    with anyio.fail_after(CALL_SECONDS):
        async with connect(server) as client:
            return await client.call_tool(
                tool, dict(arguments), progress_callback=on_progress if messages is not None else None
            )


async def generate(
    server: ServerUnderTest, *, prompt: str = "a storm", messages: list[str] | None = None, **arguments: Any
) -> CallToolResult:
    """generate_image with `arguments`, in a session of its own; `messages` collects its progress messages."""
    return await call_tool(server, "generate_image", {"prompt": prompt, **arguments}, messages=messages)


async def edit(server: ServerUnderTest, *, prompt: str = "make it blue", **arguments: Any) -> CallToolResult:
    """edit_image with `arguments` (at least `image`), in a session of its own."""
    return await call_tool(server, "edit_image", {"prompt": prompt, **arguments})


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = CALL_SECONDS) -> None:
    """Return once `condition()` holds; fail naming `what` if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        await anyio.sleep(0.01)


async def wait_event(event: threading.Event, what: str, seconds: float = CALL_SECONDS) -> None:
    """Wait for a thread-safe event (set by the server's worker threads or its middleware) without blocking the loop."""
    await wait_for(event.is_set, what, seconds)


def published(image_dir: Path) -> list[Path]:
    """Saved images; fails the test if any temporary or partial file is left in the folder."""
    if not image_dir.exists():
        return []
    files = sorted(image_dir.iterdir())
    leftovers = [path.name for path in files if path.name.startswith(".")]
    assert leftovers == [], f"partial files left behind: {leftovers}"
    images = [path for path in files if not path.name.endswith(".json")]
    assert sorted(path.name for path in files if path.name.endswith(".json")) == [f"{p.name}.json" for p in images]
    return images


def served(standin: RunningStandIn) -> list[bytes]:
    """The images the stand-in made, in the order of their index within each answer."""
    return [image.data for image in sorted(standin.state.images.values(), key=lambda image: image.index)]


def structured_images(result: CallToolResult) -> list[dict[str, object]]:
    assert not result.is_error, first_text(result)
    assert result.structured_content is not None
    images = result.structured_content["images"]
    assert isinstance(images, list)
    return images


def first_text(result: CallToolResult) -> str:
    """The text of a result's first text block (error results have only that)."""
    return next(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult) -> dict[str, Any]:
    """A result's structuredContent; fails with the result's text when it has none."""
    assert isinstance(result.structured_content, dict), first_text(result)
    return dict(result.structured_content)


def served_videos(standin: RunningStandIn) -> list[bytes]:
    """The MP4 files the stand-in's CDN serves."""
    return [stored.data for stored in standin.state.images.values() if stored.content_type == "video/mp4"]


def video_downloads(standin: RunningStandIn) -> int:
    """How many times a video was downloaded from the stand-in's CDN."""
    return sum(1 for name in standin.state.downloads if name.endswith(".mp4"))


def blob_bytes(read: ReadResourceResult) -> bytes:
    content = read.contents[0]
    assert isinstance(content, BlobResourceContents), "an image resource must be a blob"
    return base64.b64decode(content.blob)


def bucket_objects(s3_env: dict[str, str]) -> dict[str, bytes]:
    """Every object in the test's bucket, key -> bytes."""
    import obstore
    from obstore.store import S3Store

    bucket = S3Store(s3_env["S3_BUCKET"], client_options={"allow_http": True})
    keys = [entry["path"] for page in obstore.list(bucket) for entry in page]
    return {key: bytes(obstore.get(bucket, key).bytes()) for key in keys}


# --- hosted mode: principals with tokens of their own ---

TOKEN_A = "alice-token-0123456789abcdef"
TOKEN_B = "bob-token-0123456789abcdef00"
TOKEN_C = "carol-token-0123456789abcdef"
OWNER_TOKEN = "owner-token-0123456789abcdef"
USER_KEY = "sk-user-own-key-7d1e9c0b5a3f"


def client_as(base: str, token: str, **headers: str) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}", **headers})
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))


def write_tokens(path: Path, lines: list[str]) -> None:
    """Replace the token file the way deploy tools do: a new file renamed over the old one."""
    temp = path.with_suffix(".new")
    temp.write_text("\n".join(lines) + "\n")
    os.replace(temp, path)


def until(condition: Callable[[], bool], what: str, seconds: float = CALL_SECONDS) -> None:
    """Wait for `condition` (a server or the stand-in getting somewhere), failing after `seconds` with `what`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.02)
