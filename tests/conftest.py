"""Shared fixtures: a real stand-in provider and S3 server on loopback, settings and environments wired to them,
and the outside clients provisioned into `.cache/`. Fixtures only: shared functions are in tests/helpers.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcp_server_siliconflow_image.settings import Secret, Settings
from mcp_server_siliconflow_image.standin import RunningStandIn, StandInState, running_standin
from tests.external_tools import (
    LANGCHAIN_ADAPTERS,
    LLAMAINDEX,
    OPENAI_AGENTS,
    PYDANTIC_AI,
    SMOLAGENTS,
    node_tools,
    provisioned_venv,
)
from tests.helpers import API_KEY, server_environment
from tests.s3_faults import FaultyS3, faulty_s3


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
    return server_environment(standin.base_url, image_dir, home)


@pytest.fixture
def settings(standin: RunningStandIn, image_dir: Path, tmp_path: Path) -> Settings:
    """Settings for an in-memory server wired to the stand-in; local inputs allowed under tmp_path/inputs."""
    return Settings(
        api_key=Secret(API_KEY),
        base_url=standin.base_url,
        image_dir=image_dir,
        input_dirs=(tmp_path / "inputs",),
        retry_base_delay=0.01,
        kept_aside_dir=tmp_path / "kept-for-bucket",
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


@pytest.fixture
def s3_faults(_s3_server: str, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyS3]:
    """The test's bucket behind a fault-injecting proxy: AWS_ENDPOINT_URL (here and in `s3_env`) names the proxy,
    which passes everything to the S3 server unless a queued StoreFault says otherwise."""
    with faulty_s3(_s3_server) as (url, proxy):
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        s3_env["AWS_ENDPOINT_URL"] = url
        yield proxy


@pytest.fixture(scope="session")
def node_bin() -> Path:
    """The MCP Inspector CLI and the mcpb validator, installed from npm into `.cache/node` on first use."""
    return node_tools()


@pytest.fixture(scope="session")
def langchain_python() -> Path:
    """A Python with langchain-mcp-adapters (MCP SDK 1.x), installed from PyPI into `.cache/` on first use."""
    return provisioned_venv("langchain-venv", (LANGCHAIN_ADAPTERS,), "import langchain_mcp_adapters.client")


@pytest.fixture(scope="session")
def llamaindex_python() -> Path:
    """A Python with llama-index-tools-mcp (on MCP SDK 2.x), installed from PyPI into `.cache/` on first use."""
    return provisioned_venv("llamaindex-venv", LLAMAINDEX, "import llama_index.tools.mcp")


@pytest.fixture(scope="session")
def smolagents_python() -> Path:
    """A Python with smolagents and mcpadapt (on MCP SDK 1.x), installed from PyPI into `.cache/` on first use."""
    return provisioned_venv(
        "smolagents-venv", SMOLAGENTS, "import smolagents, mcpadapt.core, mcpadapt.smolagents_adapter"
    )


@pytest.fixture(scope="session")
def pydantic_ai_python() -> Path:
    """A Python with pydantic-ai's MCP toolset (FastMCP's client), installed from PyPI into `.cache/` on first use."""
    return provisioned_venv("pydantic-ai-venv", PYDANTIC_AI, "import pydantic_ai.mcp, fastmcp")


@pytest.fixture(scope="session")
def openai_agents_python() -> Path:
    """A Python with the OpenAI Agents SDK (on MCP SDK 2.x), installed from PyPI into `.cache/` on first use."""
    return provisioned_venv("openai-agents-venv", OPENAI_AGENTS, "import agents.mcp")
