"""The packaging tools the tests run (uv, twine), installed once from PyPI into .cache/packaging-venv.

A test skips only where they cannot be installed outside CI; under CI a failed install is a failure.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import CACHE, unavailable

REQUIREMENTS = Path(__file__).with_name("packaging-tools.txt")
NETWORK_VARIABLES = {
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_NATIVE_TLS",
}
"""The machine's own network set-up (its CA bundle, proxy, package index), which a host's uv inherits too."""


@functools.cache
def _install() -> Path | str:
    venv = CACHE / "packaging-venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    stamp = venv / "requirements.txt"
    wanted = REQUIREMENTS.read_text()
    if not (stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        done = subprocess.run(
            [
                str(bin_dir / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            return f"could not install the packaging tools ({REQUIREMENTS.name}): {done.stderr[-1000:]}"
        stamp.write_text(wanted)
    return bin_dir


def tools_bin() -> Path:
    """The folder holding `uv` and `twine`."""
    installed = _install()
    if isinstance(installed, str):
        unavailable(installed)
        raise AssertionError("unreachable")
    return installed


def uv_environment() -> dict[str, str]:
    """What a host gives uv: a cache it keeps (here .cache/uv-cache) and the interpreter to build on.

    Claude Desktop ships its own uv and lets it fetch a Python; here uv is pointed at the interpreter the
    tests run on (its base, not the checkout's venv) and told not to download one.
    """
    plumbing = {name: value for name, value in os.environ.items() if name in NETWORK_VARIABLES}
    return {
        **plumbing,
        "UV_CACHE_DIR": str(CACHE / "uv-cache"),
        "UV_PYTHON": getattr(sys, "_base_executable", sys.executable),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
