"""Ctrl-C or SIGTERM while the server finishes the calls sent before stdin closed stops the wait, not the saving.

`printf '...' | mcp-server-siliconflow-image` in a terminal keeps running after its input ended while a generation
finishes (up to timeout + download time): the one at the keyboard may well press Ctrl-C then, and a client that
closed stdin sends SIGTERM when the server has not exited soon after. Either stops the wait at once, in one line;
an image the provider already made is still saved whole.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import served, until
from tests.raw_client import RawStdioClient
from tests.test_requests_sent_before_stdin_closes_are_answered import call

pytestmark = pytest.mark.slow


def waiting_for_a_generation(server_env: dict[str, str]) -> RawStdioClient:
    """A server whose stdin has ended while a generate_image call runs."""
    client = RawStdioClient(server_env)
    client.handshake()
    client.send(call(7, "generate_image", {"prompt": "a lighthouse"}))
    assert client.process.stdin is not None
    client.process.stdin.close()
    return client


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_while_the_provider_generates_stops_at_once_in_one_line(
    standin: RunningStandIn, server_env: dict[str, str], signum: signal.Signals
) -> None:
    standin.state.inference_delay = 30.0
    client = waiting_for_a_generation(server_env)
    until(lambda: bool(standin.state.requests), "the generation request")
    time.sleep(0.5)  # the end of stdin is read: the server waits for the generation
    assert client.process.poll() is None
    started = time.monotonic()
    client.process.send_signal(signum)
    stderr = client.close()
    assert time.monotonic() - started < 5  # not the 30 s the provider would take
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert f"{signum.name}: stopping without waiting for the last calls" in stderr
    assert client.process.returncode == 0


def test_sigterm_while_a_paid_image_downloads_still_saves_it(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", delay=1))
    client = waiting_for_a_generation(server_env)
    until(lambda: bool(standin.state.downloads), "the download")  # the provider answered: the image is paid for
    client.process.send_signal(signal.SIGTERM)
    stderr = client.close()
    assert client.process.returncode == 0 and "Traceback" not in stderr
    [kept] = [path for path in image_dir.iterdir() if path.suffix == ".png"]
    assert kept.read_bytes() == served(standin)[0]
    assert sorted(path.name for path in image_dir.iterdir()) == [kept.name, f"{kept.name}.json"]


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_second_signal_while_the_paid_image_is_saved_does_not_lose_it(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path, second: signal.Signals
) -> None:
    """A client that sends SIGTERM again (or a second Ctrl-C) while the stopped calls save what the provider made:
    Python's defaults, back once the wait ended, killed the saving (a .partial file left, the image lost)."""
    standin.state.faults.append(Fault(target="download", delay=2))
    client = waiting_for_a_generation(server_env)
    until(lambda: bool(standin.state.downloads), "the download")
    client.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the wait has ended: the cancelled call saves its image
    client.process.send_signal(second)
    stderr = client.close()
    assert client.process.returncode == 0 and "Traceback" not in stderr
    assert f"{second.name}: already stopping" in stderr
    [kept] = [path for path in image_dir.iterdir() if path.suffix == ".png"]
    assert kept.read_bytes() == served(standin)[0]
    assert sorted(path.name for path in image_dir.iterdir()) == [kept.name, f"{kept.name}.json"]
