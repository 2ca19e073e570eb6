"""Ctrl-C while the server finishes the calls sent before stdin closed stops it in one line, not a traceback.

`printf '...' | mcp-server-siliconflow-image` in a terminal now keeps running after its input ended while a
generation finishes (up to timeout + download time): the one at the keyboard may well press Ctrl-C then.
"""

from __future__ import annotations

import signal
import time

import pytest

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.raw_client import RawStdioClient
from tests.test_requests_sent_before_stdin_closes_are_answered import call


@pytest.mark.slow
def test_ctrl_c_after_stdin_closed_stops_without_a_traceback(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.inference_delay = 30.0
    client = RawStdioClient(server_env)
    client.handshake()
    client.send(call(7, "generate_image", {"prompt": "a lighthouse"}))
    assert client.process.stdin is not None
    client.process.stdin.close()
    time.sleep(1.5)  # stdin's end is read; the server waits for the generation
    assert client.process.poll() is None
    client.process.send_signal(signal.SIGINT)
    stderr = client.close()
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert "interrupted" in stderr
    assert client.process.returncode == 128 + signal.SIGINT
