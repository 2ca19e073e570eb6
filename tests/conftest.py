"""Shared fixtures: a real stand-in provider on loopback and real MCP clients (in memory, stdio, HTTP)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.stdio import StdioServerParameters
from mcp_types import BlobResourceContents, CallToolResult, ReadResourceResult, TextContent

from mcp_server_siliconflow_image.pipeline import inputs
from mcp_server_siliconflow_image.settings import Secret, Settings
from mcp_server_siliconflow_image.standin import RunningStandIn, StandInState, running_standin

API_KEY = "sk-test-0123456789abcdef-SECRET"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _standin_server() -> Iterator[RunningStandIn]:
    with running_standin(StandInState(api_key=API_KEY)) as standin:
        yield standin


@pytest.fixture
def standin(_standin_server: RunningStandIn) -> Iterator[RunningStandIn]:
    """The stand-in provider, reset to its defaults for each test."""
    _standin_server.state.reset()
    yield _standin_server
    _standin_server.state.reset()


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"


@pytest.fixture
def server_env(standin: RunningStandIn, image_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for a server subprocess wired to the stand-in (HOME isolated from the real one)."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "SILICONFLOW_API_KEY": API_KEY,
        "SILICONFLOW_BASE_URL": standin.base_url,
        "SILICONFLOW_IMAGE_DIR": str(image_dir),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
    }


def server_command() -> str:
    """The installed console script, as a client config would start it."""
    script = shutil.which("mcp-server-siliconflow-image", path=str(Path(sys.executable).parent))
    assert script, "the console script is not installed: pip install -e '.[test]'"
    return script


def stdio_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=server_command(), args=list(args), env=env, cwd=os.sep)


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


def allow_loopback_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let edit_image fetch from the stand-in at 127.0.0.1 as if it were a public host.

    There is no public internet here; every other loopback, private or reserved address stays refused.
    """
    original = inputs.address_allowed
    monkeypatch.setattr(inputs, "address_allowed", lambda address: str(address) == "127.0.0.1" or original(address))


def first_text(result: CallToolResult) -> str:
    """The text of a result's first text block (error results have only that)."""
    return next(block.text for block in result.content if isinstance(block, TextContent))


def blob_bytes(read: ReadResourceResult) -> bytes:
    content = read.contents[0]
    assert isinstance(content, BlobResourceContents), "an image resource must be a blob"
    return base64.b64decode(content.blob)


@pytest.fixture
def settings(standin: RunningStandIn, image_dir: Path, tmp_path: Path) -> Settings:
    """Settings for an in-memory server wired to the stand-in; local inputs allowed under tmp_path/inputs."""
    return Settings(
        api_key=Secret(API_KEY),
        base_url=standin.base_url,
        image_dir=image_dir,
        input_dirs=(tmp_path / "inputs",),
        retry_base_delay=0.01,
    )


@pytest.fixture(scope="session")
def _s3_server() -> Iterator[str]:
    """A real S3 API server (moto's) on loopback for the whole run; each test gets a bucket of its own."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(_s3_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> dict[str, str]:
    """The standard AWS variables pointing at the loopback S3 server, set here and returned for subprocesses,
    plus a fresh, empty bucket in `S3_BUCKET` (always with credentials: the client never looks elsewhere)."""
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDLOOPBACKTESTING",
        "AWS_SECRET_ACCESS_KEY": "Zq8vTn3WkR7pLx2MbY6cHd9FgJ4sVa1E",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": _s3_server,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = "t-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    httpx.put(f"{_s3_server}/{bucket}").raise_for_status()  # the S3 server makes buckets on an unsigned PUT
    return {**env, "S3_BUCKET": bucket}


def bucket_objects(s3_env: dict[str, str]) -> dict[str, bytes]:
    """Every object in the test's bucket, key -> bytes."""
    import obstore
    from obstore.store import S3Store

    bucket = S3Store(s3_env["S3_BUCKET"], client_options={"allow_http": True})
    keys = [entry["path"] for page in obstore.list(bucket) for entry in page]
    return {key: bytes(obstore.get(bucket, key).bytes()) for key in keys}
