"""Every rule lives in one place, so every caller gives the same answer: the key's validity (server, doctor, the
HTTP header), redaction, a value given as a flag or as a variable, the configuration page, the image folder's
probe, the image suffixes, the request timeouts and the number of images asked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.requests import Request

from mcp_server_siliconflow_image.cli import build_parser, settings_from_args
from mcp_server_siliconflow_image.credentials import key_problem, redact
from mcp_server_siliconflow_image.hosting.tenants import CallerError, caller_of
from mcp_server_siliconflow_image.httpclient import timeout_within
from mcp_server_siliconflow_image.provider.catalog import images_asked
from mcp_server_siliconflow_image.provider.client import create_http_client
from mcp_server_siliconflow_image.settings import OPTIONS, Settings, SettingsError
from mcp_server_siliconflow_image.standin import RunningStandIn
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.helpers import server_command
from tests.raw_client import RawStdioClient

ROOT = Path(__file__).resolve().parent.parent

GOOD_KEY = "sk-" + "a" * 24 + "b" * 24
UNUSABLE_KEYS = {
    "a space inside": "sk-" + "a" * 24 + " " + "b" * 24,
    "too short": "sk-1",
    "a curly quote": "sk-" + "a" * 24 + "\u201d",
}


@pytest.fixture
def any_key_standin(standin: RunningStandIn) -> Iterator[RunningStandIn]:
    """The stand-in taking every key, so any request that reaches it is recorded and answered."""
    standin.state.api_key = None
    try:
        yield standin
    finally:
        standin.state.api_key = "sk-test-0123456789abcdef-SECRET"


def run_doctor(env: dict[str, str], *flags: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [server_command(), *flags, "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=env["HOME"],
    )
    return done.returncode, json.loads(done.stdout), done.stdout + done.stderr


def verdict(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(check for check in report["checks"] if check["name"] == name)


def header_verdict(key: str) -> str | None:
    """What the HTTP transport says of `key` in X-SiliconFlow-Api-Key (None: it is taken)."""
    request = Request({"type": "http", "headers": [(b"x-siliconflow-api-key", key.encode())]})
    try:
        caller_of(request)
    except CallerError as error:
        return str(error)
    return None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the key ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("key", UNUSABLE_KEYS.values(), ids=UNUSABLE_KEYS.keys())
def test_server_doctor_and_header_refuse_the_same_keys_in_the_same_words(
    any_key_standin: RunningStandIn, server_env: dict[str, str], key: str
) -> None:
    problem = key_problem(key)
    assert problem is not None
    arrived = key.encode().decode("latin-1")  # what an HTTP server reads from the header's bytes
    header = header_verdict(key)
    assert header is not None and str(key_problem(arrived)) in header

    status, report, output = run_doctor({**server_env, "SILICONFLOW_API_KEY": key})
    assert status == 1 and verdict(report, "key")["verdict"] == "fail"
    assert problem in verdict(report, "key")["detail"]
    assert any_key_standin.state.requests == []  # (its endpoint probe asks GET /models without any key)
    any_key_standin.state.model_list_calls = 0

    client = RawStdioClient({**server_env, "SILICONFLOW_API_KEY": key})
    try:
        client.handshake()
        tools = client.request("tools/list", {})["result"]["tools"]
        models = client.request("tools/call", {"name": "list_models", "arguments": {}})["result"]
        generated = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "x"}})["result"]
    finally:
        stderr = client.close()
    assert "generate_image" in {tool["name"] for tool in tools}  # the server started and serves
    assert models.get("isError") is not True
    assert generated["isError"] is True
    assert f"SILICONFLOW_API_KEY {problem}" in generated["content"][0]["text"]
    assert f"SILICONFLOW_API_KEY {problem}" in stderr  # said at start too, in the client's server log
    assert any_key_standin.state.requests == [] and any_key_standin.state.model_list_calls == 0
    assert key not in output + stderr


@pytest.mark.slow
def test_a_usable_key_is_taken_by_every_caller(any_key_standin: RunningStandIn, server_env: dict[str, str]) -> None:
    assert key_problem(GOOD_KEY) is None and header_verdict(GOOD_KEY) is None
    status, report, _ = run_doctor({**server_env, "SILICONFLOW_API_KEY": GOOD_KEY})
    assert status == 0 and verdict(report, "key")["verdict"] == "ok"


def test_a_key_flag_is_read_like_the_key_variable() -> None:
    """Whitespace a config template puts around the value is dropped the same way from the flag."""
    from_flag = settings_from_args(build_parser().parse_args(["--api-key", f"  {GOOD_KEY}\n"]))
    from_variable = Settings.load({"SILICONFLOW_API_KEY": f"  {GOOD_KEY}\n"})
    assert from_flag.api_key == from_variable.api_key
    assert from_flag.api_key is not None and key_problem(from_flag.api_key.reveal()) is None


# --- redaction -------------------------------------------------------------------------------------------------


def test_redaction_hides_url_passwords_and_key_fragments() -> None:
    text = f"GET https://team:gw-pass-7731@gateway.example/v1/models failed; token {GOOD_KEY[:12]}… refused"
    shown = redact(text, [GOOD_KEY])
    assert "gw-pass-7731" not in shown and GOOD_KEY[:12] not in shown
    assert "https://team:[redacted]@gateway.example/v1/models" in shown


@pytest.mark.slow
def test_doctor_never_prints_the_gateway_password(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    base = standin.base_url.replace("http://", "http://team:gw-pass-7731@")
    _, report, output = run_doctor({**server_env, "SILICONFLOW_BASE_URL": base})
    assert "gw-pass-7731" not in output
    assert "team:[redacted]@127.0.0.1" in verdict(report, "endpoint")["detail"]


@pytest.mark.slow
def test_results_and_logs_never_show_the_gateway_password(server_env: dict[str, str]) -> None:
    base = f"http://team:gw-pass-7731@127.0.0.1:{closed_port()}/v1"
    client = RawStdioClient({**server_env, "SILICONFLOW_BASE_URL": base}, "--log-level", "DEBUG")
    try:
        client.handshake()
        client.request("tools/call", {"name": "list_models", "arguments": {}})
        failed = client.request("tools/call", {"name": "generate_image", "arguments": {"prompt": "x"}})["result"]
    finally:
        stderr = client.close()
    assert failed["isError"] is True and "[redacted]@127.0.0.1" in failed["content"][0]["text"]
    assert "gw-pass-7731" not in b"".join(client.raw_lines).decode() + stderr


# --- flags and variables ---------------------------------------------------------------------------------------

BAD_VALUES = {
    "timeout": "nan",
    "inline_max_bytes": "-1",
    "structured_output": "perhaps",
    "resource_links": "maybe",
    "base_url": "ftp://api.example/v1",
    "image_dir": "gopher://images",
    "image_url_ttl": "0",
}


@pytest.mark.parametrize("field", BAD_VALUES)
def test_a_value_refused_as_a_variable_is_refused_as_a_flag(field: str, tmp_path: Path) -> None:
    option = next(option for option in OPTIONS if option.field == field)
    assert option.flag is not None
    bad = BAD_VALUES[field]
    with pytest.raises(SettingsError) as by_variable:
        Settings.load({option.variable: bad})
    with pytest.raises(SettingsError) as by_flag:
        settings_from_args(build_parser().parse_args([option.flag, bad]))
    assert option.variable in str(by_variable.value)
    assert str(by_flag.value) == str(by_variable.value).replace(option.variable, option.flag)


@pytest.mark.slow
def test_a_nan_timeout_flag_stops_the_server_naming_the_flag() -> None:
    done = subprocess.run(
        [server_command(), "--timeout", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and "--timeout must be a number of seconds" in done.stderr
    assert done.stdout == ""


def test_every_documented_variable_has_its_flag_in_help() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in page.splitlines() if line.startswith("| `SILICONFLOW_")}
    assert documented == {option.variable for option in OPTIONS}
    help_text = build_parser().format_help()
    for option in OPTIONS:
        assert option.flag is None or f"{option.flag} " in help_text
        assert option.variable in help_text or option.flag is None


# --- the configuration page ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_configuration_page_is_generated_from_the_settings_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = page.split("<!-- settings-table:start -->", 1)[1].split("<!-- settings-table:end -->", 1)[0]
    for option in OPTIONS:
        assert f"`{option.variable}`" in table and (option.flag is None or f"`{option.flag}`" in table)
    assert "python docs/generate.py" in page  # says how to regenerate it


# --- the image folder ------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["relative", "placeholder", "under a file"])
def test_doctor_judges_the_folder_by_the_probe_generation_uses(
    server_env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    folder = {
        "relative": "images",
        "placeholder": "${user_config.image_dir}",
        "under a file": str(tmp_path / "a-file" / "images"),
    }[kind]
    refusal = FolderStore(Settings.load({"SILICONFLOW_IMAGE_DIR": folder}).image_dir).problem()
    assert refusal is not None
    status, report, _ = run_doctor({**server_env, "SILICONFLOW_IMAGE_DIR": folder})
    found = verdict(report, "image folder")
    assert status == 1 and found["verdict"] == "fail" and found["detail"] == refusal
    assert not (Path(server_env["HOME"]) / "images").exists()


@pytest.mark.slow
def test_doctor_counts_the_images_the_server_lists(server_env: dict[str, str], image_dir: Path) -> None:
    image_dir.mkdir()
    for name in ("a.png", "b.jpg", "c.webp", "d.jpeg", ".e.png", "f.png.partial", "g.png.json"):
        (image_dir / name).write_bytes(b"x")
    listed, _ = FolderStore(image_dir).recent(before=None, limit=100)
    status, report, _ = run_doctor(server_env)
    assert status == 0
    assert f"{len(listed)} images saved there" in verdict(report, "image folder")["detail"]
    assert sorted(path.name for path in image_dir.iterdir() if not path.name.startswith(".")) == [
        "a.png",
        "b.jpg",
        "c.webp",
        "d.jpeg",
        "f.png.partial",
        "g.png.json",
    ]


# --- timeouts and images asked ---------------------------------------------------------------------------------


def test_every_request_connects_within_fifteen_seconds_of_its_budget(tmp_path: Path) -> None:
    assert (timeout_within(180).connect, timeout_within(180).read) == (15, 180)
    assert timeout_within(4).connect == 4
    pool = create_http_client(Settings(image_dir=tmp_path, timeout=7))
    assert pool.timeout == timeout_within(7)
    anyio.run(pool.aclose)


@pytest.mark.parametrize(
    ("arguments", "asked"),
    [({}, 1), ({"batch_size": 3}, 3), ({"batch_size": None}, 1), ({"batch_size": True}, 1), ({"batch_size": 0}, 1)],
)
def test_images_asked_is_read_one_way(arguments: dict[str, Any], asked: int) -> None:
    assert images_asked(arguments) == asked
