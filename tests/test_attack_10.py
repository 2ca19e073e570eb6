"""Adversarial tests against issue #10 ("no paid image lost, no guard bypassed, no opaque error").

Each test reproduces one break found after the issue's work landed: it asserts the behaviour the issue
promises, so it fails on the code as it stands and passes once the break is fixed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Secret, Settings, SettingsError
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn, render_image
from tests.conftest import API_KEY, allow_loopback_as_public, first_text
from tests.images import encode
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.anyio

CALL_SECONDS = 60


async def call(settings: Settings, tool: str, **arguments: Any) -> CallToolResult:
    with anyio.fail_after(CALL_SECONDS):
        async with Client(build_server(settings)) as client:
            return await client.call_tool(tool, arguments)


async def generate(settings: Settings, **arguments: Any) -> CallToolResult:
    return await call(settings, "generate_image", prompt="a storm", **arguments)


def key_runs(text: str, shortest: int = 8) -> list[str]:
    """Every run of at least `shortest` consecutive characters of the key found in `text` (prefix or not)."""
    return [
        API_KEY[start:end]
        for start in range(len(API_KEY))
        for end in range(start + shortest, len(API_KEY) + 1)
        if API_KEY[start:end] in text
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def small_png_b64() -> str:
    return base64.b64encode(encode("PNG", (32, 32))).decode()


# --- paid work lost or misreported ---------------------------------------------------------------------


async def test_a_huge_retry_after_is_a_rate_limit_sentence_not_an_overflow(
    standin: RunningStandIn, settings: Settings
) -> None:
    """A gateway answering `Retry-After: 99999999999999` (or 1e309) crashes `_asked_to_wait`: datetime + timedelta
    overflows, and the user gets "failed unexpectedly inside this server (OverflowError ...)"."""
    standin.state.faults.append(Fault(status=429, retry_after="99999999999999", times=9))
    result = await generate(settings)
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "OverflowError" not in text, text
    assert "HTTP 429" in text and "Retry-After" in text, text
    assert len(standin.state.requests) == 1


async def test_one_malformed_image_link_costs_only_that_image(standin: RunningStandIn, settings: Settings) -> None:
    """httpx.InvalidURL is not an httpx.HTTPError: a provider link httpx cannot parse escapes `_download_once`
    and `receive`, the task group fails, and the batch's other (paid, fetched) image is lost behind an
    "unexpected" error."""
    body = {"images": [{"b64_json": small_png_b64()}, {"url": f"http://127.0.0.1:{closed_port()}/a\x01b.png"}]}
    standin.state.faults.append(Fault(status=200, body={**body, "seed": 5}))
    result = await generate(settings, batch_size=2)
    assert not result.is_error, first_text(result)
    assert len(result.structured_content["images"]) == 1
    assert [failure["index"] for failure in result.structured_content["failed"]] == [2]
    assert Path(result.structured_content["images"][0]["path"]).is_file()


async def test_a_batch_of_inline_images_each_under_the_limit_is_not_refused_as_too_large(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """The answer cap in `_attempt` is one image's base64 plus 1 MB, whatever batch_size was asked: four
    b64_json images each under SILICONFLOW_MAX_IMAGE_BYTES make an answer over the cap, and the whole paid
    batch is dropped with "larger than ... more than any image result needs"."""
    images = [render_image("noise", "x", seed, (520, 520), 1)[0] for seed in range(4)]
    assert all(len(data) < 1_000_000 for data in images)
    body = {"images": [{"b64_json": base64.b64encode(data).decode()} for data in images], "seed": 9}
    standin.state.faults.append(Fault(status=200, body=body))
    result = await generate(dataclasses.replace(settings, max_download_bytes=1_000_000), batch_size=4)
    assert not result.is_error, first_text(result)
    saved = sorted(Path(image["path"]).read_bytes() for image in result.structured_content["images"])
    assert saved == sorted(images)


async def test_an_odd_timings_field_does_not_throw_away_the_paid_images(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """`GenerationResponse` validates decorative fields strictly: `"timings": {"inference": "1.2s"}` (a gateway
    that formats its timing) fails the whole answer, and the generated image is never fetched."""
    body = {"images": [{"b64_json": small_png_b64()}], "seed": 7, "timings": {"inference": "1.2s"}}
    standin.state.faults.append(Fault(status=200, body=body))
    result = await generate(settings)
    assert not result.is_error, first_text(result)
    assert len(result.structured_content["images"]) == 1
    assert result.structured_content["seed"] == 7


def test_a_partial_still_hard_linked_to_its_published_image_is_not_recovered_twice(image_dir: Path) -> None:
    """A server killed between `os.link(temp, final)` and `temp.unlink()` in `PendingImage.publish` leaves the
    temp name as a second link to the published image. At the next start `_rescue` "recovers" it as a new image:
    the folder now holds the same paid image twice, one of them claiming to be an interrupted download."""
    from mcp_server_siliconflow_image.stores.folder import FolderStore

    image_dir.mkdir(parents=True)
    published = image_dir / "20260101-000000-000000_seed1_1.png"
    published.write_bytes(encode("PNG", (64, 64)))
    temp = image_dir / ".0123456789abcdef.partial"
    os.link(published, temp)
    old = published.stat().st_mtime - 7200
    os.utime(temp, (old, old))
    FolderStore(image_dir).recover_partials()
    assert sorted(path.name for path in image_dir.iterdir()) == [published.name]


# --- guards ----------------------------------------------------------------------------------------------


async def test_resources_read_of_a_fifo_in_the_image_folder_does_not_hang(settings: Settings, image_dir: Path) -> None:
    """`FolderStore.read` opens without O_NONBLOCK: a FIFO named like an image (the folder may be shared storage)
    blocks the reading worker thread in open() until some writer appears; the read cannot be cancelled (the
    thread is not abandoned), and four such reads starve the server's four worker threads."""
    image_dir.mkdir(parents=True)
    fifo = image_dir / "20260101-000000-000000_seed1_1.png"
    os.mkfifo(fifo)

    def unblock() -> None:  # a writer appearing lets a reader stuck in open() return (with no bytes)
        with contextlib.suppress(OSError):  # nobody is stuck: nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    releaser = threading.Timer(5, unblock)
    releaser.daemon = True
    releaser.start()
    started = time.monotonic()
    try:
        async with Client(build_server(settings)) as client:
            with pytest.raises(MCPError):
                await client.read_resource("siliconflow-image://images/20260101-000000-000000_seed1_1.png")
    finally:
        releaser.cancel()
    assert time.monotonic() - started < 5, "resources/read of a FIFO hung until a writer appeared"


# --- the key ------------------------------------------------------------------------------------------------


async def test_a_key_echoed_across_two_lines_leaks_no_part_of_it(standin: RunningStandIn, settings: Settings) -> None:
    """`redact` hides the key and its prefixes only: a provider that wraps the echoed key onto a second line
    (or echoes its end: "key ...89abcdef-SECRET is invalid") shows the rest of it, here 17 of 31 characters."""
    message = f"Invalid token {API_KEY[:14]}\n{API_KEY[14:]} (wrapped)"
    standin.state.faults.append(Fault(status=401, body={"code": 20012, "message": message}))
    result = await generate(settings)
    assert result.is_error
    assert key_runs(first_text(result)) == [], first_text(result)


async def test_an_invisible_character_in_the_key_is_named_not_an_unexpected_failure(
    standin: RunningStandIn, settings: Settings
) -> None:
    """A key pasted with a zero-width space (strip() keeps it) makes httpx raise UnicodeEncodeError while
    building the Authorization header; nothing catches it, and the user reads "generate_image failed
    unexpectedly inside this server (UnicodeEncodeError ...)" instead of "SILICONFLOW_API_KEY contains ..."."""
    result = await generate(dataclasses.replace(settings, api_key=Secret(API_KEY + "\u200b")))
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "UnicodeEncodeError" not in text, text
    assert "SILICONFLOW_API_KEY" in text, text
    assert standin.state.requests == []


# --- opaque errors ---------------------------------------------------------------------------------------


async def test_an_image_path_under_an_unknown_user_home_is_a_clear_input_error(
    standin: RunningStandIn, settings: Settings
) -> None:
    """`Path("~nosuchuser/cat.png").expanduser()` raises RuntimeError in `_read_local`; it escapes as
    "edit_image failed unexpectedly inside this server (RuntimeError: Could not determine home directory.)"."""
    result = await call(settings, "edit_image", prompt="make it blue", image="~nosuchuser-a10/cat.png")
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "RuntimeError" not in text, text
    assert text.startswith("image"), text
    assert standin.state.requests == []


async def test_an_input_url_httpx_cannot_parse_is_a_clear_input_error(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL that passes `urlsplit` but not httpx (a control character, or over 65536 characters) raises
    httpx.InvalidURL from `build_request`, outside every except clause of `inputs._download`."""
    allow_loopback_as_public(monkeypatch)
    port = closed_port()
    for url in (f"http://127.0.0.1:{port}/a\x01b.png", f"http://127.0.0.1:{port}/" + "a" * 70_000):
        result = await call(settings, "edit_image", prompt="make it blue", image=url)
        assert result.is_error
        text = first_text(result)
        assert "failed unexpectedly" not in text and "InvalidURL" not in text, text[:300]
        assert text.startswith("image"), text[:300]
    assert standin.state.requests == []


def test_a_timeout_of_nan_stops_the_server_at_start() -> None:
    """`_positive_number` accepts float("nan") (nan <= 0 is False): SILICONFLOW_TIMEOUT=nan starts a server whose
    deadlines are all NaN, though the README promises bad values stop it at start naming the variable."""
    with pytest.raises(SettingsError, match="SILICONFLOW_TIMEOUT"):
        Settings.load({"SILICONFLOW_TIMEOUT": "nan"})


def test_every_tools_call_gets_an_answer_even_with_odd_json(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    """A lone surrogate escape (a prompt cut inside an emoji: JSON.stringify writes "\\ud83d") or an integer past
    Python's 4300-digit limit makes the SDK's `validate_json` of the line fail; the stdio reader hands the
    exception to the dispatcher, which drops it at DEBUG (mcp/shared/jsonrpc_dispatcher.py). The request is never
    answered, so the client waits forever, and nothing is logged at INFO."""
    client = RawStdioClient(server_env)
    lines = [
        '{"jsonrpc": "2.0", "id": 201, "method": "tools/call", '
        '"params": {"name": "generate_image", "arguments": {"prompt": "a kite \\ud83d"}}}',
        '{"jsonrpc": "2.0", "id": 202, "method": "tools/call", '
        '"params": {"name": "generate_image", "arguments": {"prompt": "x", "batch_size": 1' + "0" * 5000 + "}}}",
    ]
    unanswered: list[int] = []
    try:
        client.handshake()
        for request_id, line in zip((201, 202), lines, strict=True):
            client.process.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            client.process.stdin.flush()  # type: ignore[union-attr]
            ready, _, _ = select.select([client.process.stdout], [], [], 10)  # type: ignore[type-var]
            if not ready:
                unanswered.append(request_id)
                continue
            answer = client.read_until(request_id)
            assert "result" in answer or "error" in answer
    finally:
        client.close()
    assert unanswered == [], f"requests {unanswered} got no answer within 10 s"


def test_a_site_local_ipv6_address_is_not_fetched() -> None:
    """`address_allowed` trusts `ipaddress.is_global`, which on Python 3.11 calls the deprecated site-local range
    fec0::/10 global (it is reserved, RFC 3879, and still routed inside some networks), so an input URL resolving
    to fec0::... is fetched although the guard promises to refuse reserved addresses."""
    import ipaddress

    from mcp_server_siliconflow_image.pipeline.inputs import address_allowed

    assert not address_allowed(ipaddress.ip_address("fec0::1"))
    assert not address_allowed(ipaddress.ip_address("fec0::a9fe:a9fe"))


async def test_resources_list_survives_an_image_deleted_while_listing(
    settings: Settings, image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`recent_images` stats each name after the scandir: an image deleted in between (a user tidying the folder,
    a sibling instance) makes `stat` raise FileNotFoundError and the whole resources/list fails."""

    image_dir.mkdir(parents=True)
    kept, deleted = (image_dir / f"20260101-00000{n}-000000_seed1_1.png" for n in (1, 2))
    for path in (kept, deleted):
        path.write_bytes(encode("PNG", (32, 32)))
    real_scandir = os.scandir

    def scandir_then_delete(path: Any) -> list[os.DirEntry[str]]:
        entries = list(real_scandir(path))
        deleted.unlink(missing_ok=True)
        return entries

    with anyio.fail_after(CALL_SECONDS):
        async with Client(build_server(settings)) as client:  # started (its start-up scan done) before the race
            monkeypatch.setattr(os, "scandir", scandir_then_delete)
            listing = await client.list_resources()
    assert [resource.name for resource in listing.resources] == [kept.name]


def test_a_rescued_partial_whose_record_cannot_be_written_is_not_rescued_again_at_every_start(
    image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In `FolderStore._rescue` the temp file is unlinked only after `write_sidecar` succeeds: with a disk that has
    room for the image but not its record, the rescued image is saved, the partial stays, and every later start
    rescues it again: one more copy of the same image per restart."""
    import errno

    from mcp_server_siliconflow_image.stores import folder as storage

    image_dir.mkdir(parents=True)
    temp = image_dir / ".fedcba9876543210.partial"
    temp.write_bytes(encode("PNG", (64, 64)))
    old = temp.stat().st_mtime - 7200
    os.utime(temp, (old, old))

    def disk_full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "write_sidecar", disk_full)
    for _ in range(3):  # three restarts
        storage.FolderStore(image_dir).recover_partials()
    images = [path.name for path in image_dir.iterdir() if path.suffix == ".png"]
    assert len(images) == 1, images
