"""The command line works without a key or network, and refuses bad configuration clearly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mcp_server_siliconflow_image import __version__
from tests.helpers import server_command

pytestmark = pytest.mark.slow

CLEAN_ENV = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [server_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or CLEAN_ENV,
        stdin=subprocess.DEVNULL,
    )


def test_version_needs_no_key() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"mcp-server-siliconflow-image {__version__}"


def test_help_lists_transports_and_variables() -> None:
    done = run("--help")
    assert done.returncode == 0
    for word in ("--transport", "{stdio,http}", "SILICONFLOW_API_KEY", "SILICONFLOW_IMAGE_DIR", "--port"):
        assert word in done.stdout


def test_module_entry_point_is_the_same_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server_siliconflow_image", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == f"mcp-server-siliconflow-image {__version__}"


def test_bad_variable_exits_with_its_name_on_stderr_not_stdout() -> None:
    done = run(env={**CLEAN_ENV, "SILICONFLOW_TIMEOUT": "forever"})
    assert done.returncode == 2
    assert "SILICONFLOW_TIMEOUT must be a number of seconds" in done.stderr
    assert done.stdout == ""


def test_unknown_transport_is_refused() -> None:
    done = run("--transport", "carrier-pigeon")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
