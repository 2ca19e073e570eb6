"""Over a real stdio subprocess: the key never leaks anywhere, and a cancelled call leaves nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import API_KEY
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.slow


def test_the_key_appears_in_no_output_and_no_log(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    standin.state.faults += [
        Fault(status=401, body={"code": 20012, "message": f"token {API_KEY} is invalid"}),
        Fault(status=429, retry_after=0, body={"message": f"slow down {API_KEY}"}),
        Fault(target="download", kind="html"),
    ]
    client = RawStdioClient(server_env, "--log-level", "DEBUG")
    try:
        client.handshake()
        calls = [
            ("generate_image", {"prompt": "one"}),  # 401 echoing the key
            ("generate_image", {"prompt": "two"}),  # 429 echoing the key, retried, then an HTML download
            ("generate_image", {"prompt": "three", "batch_size": 2}),
            ("list_models", {}),
            ("edit_image", {"image": "file:///etc/passwd", "prompt": "x"}),
            ("generate_image", {"prompt": "bad", "seed": -3}),
        ]
        answers = [client.request("tools/call", {"name": name, "arguments": args}) for name, args in calls]
    finally:
        stderr = client.close()
    assert answers[0]["result"]["isError"] is True and "[redacted]" in answers[0]["result"]["content"][0]["text"]
    assert answers[2]["result"].get("isError") is not True
    stdout = b"".join(client.raw_lines).decode()
    assert "DEBUG" in stderr  # the log really was verbose
    for channel in (stdout, stderr):
        assert API_KEY not in channel
        assert API_KEY[8:24] not in channel  # not even a fragment
    saved = list(Path(server_env["SILICONFLOW_IMAGE_DIR"]).rglob("*"))
    assert all(API_KEY.encode() not in path.read_bytes() for path in saved if path.is_file())


def test_cancelled_over_stdio_leaves_no_file_and_the_session_goes_on(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", delay=2))
    client = RawStdioClient(server_env)
    try:
        client.handshake()
        client.send(
            {
                "jsonrpc": "2.0",
                "id": 77,
                "method": "tools/call",
                "params": {"name": "generate_image", "arguments": {"prompt": "x"}},
            }
        )
        deadline = time.monotonic() + 10
        while not standin.state.downloads:  # the provider answered; the image download is under way
            assert time.monotonic() < deadline
            time.sleep(0.02)
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 77}})
        time.sleep(2.5)  # past the moment the delayed download would have finished
        leftovers = list(image_dir.iterdir()) if image_dir.exists() else []
        assert leftovers == []
        after = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "y"}})
    finally:
        client.close()
    assert after["result"].get("isError") is not True
    assert sorted(p.suffix for p in image_dir.iterdir()) == [".json", ".png"]  # one image, its sidecar
