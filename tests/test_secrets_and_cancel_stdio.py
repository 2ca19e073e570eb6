"""Over a real stdio subprocess: the key never leaks anywhere, and a cancelled call keeps what it paid for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import API_KEY, served, until
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
    assert "Signature=" not in stderr  # nor the signed image links (the HTTP client's own log of each request)
    saved = list(Path(server_env["SILICONFLOW_IMAGE_DIR"]).rglob("*"))
    assert all(API_KEY.encode() not in path.read_bytes() for path in saved if path.is_file())


def test_cancelled_over_stdio_keeps_the_paid_image_and_the_session_goes_on(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    """The client cancels while the image is downloading: the provider made it, so it is paid for. It is saved
    whole with its sidecar (no partial file), the log names where, and the session goes on."""
    standin.state.faults.append(Fault(target="download", delay=1))
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
        until(lambda: bool(standin.state.downloads), "the download")  # the provider answered
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 77}})
        until(lambda: image_dir.exists() and any(p.suffix == ".json" for p in image_dir.iterdir()), "the sidecar")
        [kept] = [path for path in image_dir.iterdir() if path.suffix == ".png"]
        assert kept.read_bytes() == served(standin)[0]
        assert sorted(path.name for path in image_dir.iterdir()) == [kept.name, f"{kept.name}.json"]
        after = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "y"}})
    finally:
        stderr = client.close()
    assert after["result"].get("isError") is not True
    assert all(json.loads(line).get("id") != 77 for line in client.raw_lines)  # a cancelled call gets no answer
    assert "cancelled" in stderr and str(kept) in stderr
    assert sorted(p.suffix for p in image_dir.iterdir()) == [".json", ".json", ".png", ".png"]


def test_a_short_unused_token_does_not_mangle_the_paths_the_log_and_errors_name(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    """Over stdio the MCP token guards nothing; a short one ("test") left in the environment must not be hidden
    in every word holding it, or the folder the log names (`.../pytest-of-.../test_...`) and a provider's error
    text come out mangled."""
    assert "test" in str(image_dir)
    standin.state.faults.append(Fault(status=400, body={"message": "the latest test image failed"}))
    client = RawStdioClient({**server_env, "SILICONFLOW_MCP_TOKEN": "test"})
    try:
        client.handshake()
        answer = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "x"}})
    finally:
        stderr = client.close()
    assert f"saving images to {image_dir}" in stderr
    assert "the latest test image failed" in answer["result"]["content"][0]["text"]
    assert "[redacted]" not in stderr + json.dumps(answer)
