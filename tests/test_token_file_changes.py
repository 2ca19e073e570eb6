"""Access control that does what it says: edits to SILICONFLOW_MCP_TOKENS_FILE take effect on the next request.

A revocation holds even when the same edit has a typo; a rewrite is seen by its content, not its size and time; a
file that cannot be read (a FIFO, a hung mount) lets no principal in and never freezes the server; tokens and names
that would mix two holders up are refused, at start and on reload. Real HTTP clients, two tokens or more.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.hosting import tenants
from mcp_server_siliconflow_image.hosting.tenants import TokenFile
from mcp_server_siliconflow_image.settings import Secret, Settings, SettingsError
from tests.helpers import (
    INITIALIZE,
    MCP_HEADERS,
    OWNER_TOKEN,
    TOKEN_A,
    TOKEN_B,
    TOKEN_C,
    client_as,
    server_command,
    serving_http_in_thread,
    write_tokens,
)

pytestmark = pytest.mark.anyio

TOKEN_A2 = "alice-token-fedcba9876543210"
"""Alice's next token: as long as her first, so replacing one by the other keeps the file's size."""
assert len(TOKEN_A2) == len(TOKEN_A)


def hosted(settings: Settings, tokens: Path) -> Settings:
    """The test settings as a team instance: the token file, and the operator's own token beside it."""
    return replace(settings, transport="http", mcp_tokens_file=tokens, mcp_token=Secret(OWNER_TOKEN))


def status_for(base: str, token: str, seconds: float = 10) -> int:
    """The HTTP status an initialize request with `token` gets: 200 let in, 401 refused."""
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers, timeout=seconds).status_code


@pytest.fixture
def tokens(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    write_tokens(path, [f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"])
    return path


@pytest.fixture
def team(settings: Settings, tokens: Path) -> Iterator[str]:
    """A team instance over real HTTP, alice and bob in its token file; yields its base URL."""
    with serving_http_in_thread(hosted(settings, tokens)) as base:
        assert (status_for(base, TOKEN_A), status_for(base, TOKEN_B)) == (200, 200)
        yield base


async def test_a_revocation_takes_effect_even_when_the_same_edit_has_a_typo(
    team: str, tokens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=tenants.__name__)
    async with client_as(team, TOKEN_A) as alice:
        await alice.list_tools()  # alice's session is open when her token is revoked
        write_tokens(tokens, [f"bob:{TOKEN_B}", "carol:tooshort"])  # alice revoked; carol's new line has a typo
        with pytest.raises(MCPError):  # her open session answers her no more
            await alice.list_tools()

    revoked, typo = status_for(team, TOKEN_A), status_for(team, "tooshort")
    async with client_as(team, TOKEN_B) as bob:
        bobs_tools = await bob.list_tools()

    assert revoked == 401, "a token removed from the file must stop working on the next request"
    assert typo == 401
    assert [tool.name for tool in bobs_tools.tools] == [
        "generate_image",
        "edit_image",
        "list_models",
        "generate_video",
        "get_video",
    ]
    refusal = next(record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)
    assert "line 2" in refusal and "at least 16 characters" in refusal and "tooshort" not in caplog.text


def test_a_same_size_rewrite_within_the_same_timestamp_is_seen(team: str, tokens: Path) -> None:
    """File systems with coarse timestamps (FAT, SMB, many NFS setups: 1-2 s) give a quick second save the same
    mtime; an in-place rewrite of a token by one of the same length keeps the size and the inode too."""
    before = os.stat(tokens)
    with open(tokens, "r+", encoding="utf-8") as file:
        file.write(f"alice:{TOKEN_A2}\n")  # alice's token changed in place, bob's line untouched
    os.utime(tokens, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(tokens).st_size == before.st_size and os.stat(tokens).st_ino == before.st_ino

    assert status_for(team, TOKEN_A) == 401, "alice's old token still worked after it was replaced"
    assert status_for(team, TOKEN_A2) == 200
    assert status_for(team, TOKEN_B) == 200


async def test_an_edit_that_mixes_holders_up_refuses_those_lines_only(
    team: str, tokens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`Alice` beside `alice` would share alice's folder on a case-insensitive file system; a principal given the
    operator's token would silently work in the operator's images. Both lines are refused, bob's stays."""
    caplog.set_level(logging.ERROR, logger=tenants.__name__)
    write_tokens(tokens, [f"alice:{TOKEN_A}", f"bob:{TOKEN_B}", f"Alice:{TOKEN_C}", f"ops:{OWNER_TOKEN}"])

    statuses = {token: status_for(team, token) for token in (TOKEN_A, TOKEN_C, TOKEN_B, OWNER_TOKEN)}
    async with client_as(team, OWNER_TOKEN) as owner:
        owner_images = await owner.list_resources()

    assert statuses == {TOKEN_A: 401, TOKEN_C: 401, TOKEN_B: 200, OWNER_TOKEN: 200}
    assert owner_images.resources == []  # still the operator, not a principal called "ops"
    refused = "\n".join(record.getMessage() for record in caplog.records)
    assert "line 1" in refused and "line 3" in refused and "case" in refused
    assert "line 4" in refused and "SILICONFLOW_MCP_TOKEN" in refused
    assert OWNER_TOKEN not in caplog.text and TOKEN_C not in caplog.text


def test_a_fifo_in_place_of_the_token_file_is_refused_without_freezing_the_server(
    team: str, tokens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=tenants.__name__)
    tokens.unlink()
    os.mkfifo(tokens)  # nobody ever writes to it: opening it for reading blocks, reading it blocks
    try:
        principal = status_for(team, TOKEN_A, seconds=10)
        health = httpx.get(f"{team}/healthz", timeout=10).status_code
        owner = status_for(team, OWNER_TOKEN, seconds=10)
    finally:
        _unblock_readers_of(tokens)
    assert (principal, health, owner) == (401, 200, 200)
    assert "not a regular file" in caplog.text


def _unblock_readers_of(fifo: Path) -> None:
    """Give a reader stuck on the FIFO its end of file, so a server that did block can still stop."""
    with contextlib.suppress(OSError):  # no reader is waiting
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_a_token_file_read_that_hangs_fails_closed_and_freezes_nothing(
    team: str, tokens: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file on a network mount that stopped answering: its read blocks in the kernel. (A hung mount cannot be
    made here, so the read itself is what is replaced; everything around it is the real server.)"""
    release = threading.Event()
    real_read = tenants.read_token_file

    def hung_read(path: Path) -> bytes:
        release.wait()
        return real_read(path)

    monkeypatch.setattr(tenants, "read_token_file", hung_read)
    threads_before = threading.active_count()
    try:
        started = time.monotonic()
        first = status_for(team, TOKEN_A)
        first_seconds = time.monotonic() - started
        health = httpx.get(f"{team}/healthz", timeout=5).status_code
        owner = status_for(team, OWNER_TOKEN, seconds=5)
        started = time.monotonic()
        later = [status_for(team, token, seconds=5) for token in (TOKEN_A, TOKEN_B, TOKEN_A, TOKEN_B)]
        later_seconds = time.monotonic() - started
        threads_while_hung = threading.active_count()
    finally:
        release.set()
    time.sleep(0.2)  # the stuck read returns
    recovered = status_for(team, TOKEN_A)

    assert first == 503 and first_seconds < tenants.TOKEN_FILE_READ_SECONDS + 2
    assert (health, owner) == (200, 200)
    assert later == [503] * 4 and later_seconds < 2, "requests queued behind the hung read"
    assert threads_while_hung <= threads_before + 1, "every request left another thread stuck on the file"
    assert recovered == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lines", "operator_token", "expected"),
    [
        ([f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"], TOKEN_B, ["line 2", "SILICONFLOW_MCP_TOKEN", "bob"]),
        ([f"alice:{TOKEN_A}", f"bob:{TOKEN_B}", f"Alice:{TOKEN_C}"], OWNER_TOKEN, ["line 1", "line 3", "case"]),
    ],
    ids=["a principal holds the operator's token", "two names differ only in case"],
)
def test_the_server_refuses_to_start_with_tokens_that_mix_holders_up(
    server_env: dict[str, str], tmp_path: Path, lines: list[str], operator_token: str, expected: list[str]
) -> None:
    tokens = tmp_path / "tokens"
    write_tokens(tokens, lines)
    env = {
        **os.environ,
        **server_env,
        "SILICONFLOW_MCP_TOKENS_FILE": str(tokens),
        "SILICONFLOW_MCP_TOKEN": operator_token,
    }
    try:
        done = subprocess.run(
            [server_command(), "--transport", "http", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the server started with a token file that mixes two holders up")
    assert done.returncode == 2
    for words in expected:
        assert words in done.stderr
    assert not [token for token in (TOKEN_A, TOKEN_B, TOKEN_C, OWNER_TOKEN) if token in done.stderr]


def test_a_fifo_or_a_hung_file_at_start_stops_the_start_in_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match="is not a regular file \\(it is a FIFO\\)"):
        TokenFile(fifo)

    tokens = tmp_path / "tokens"
    write_tokens(tokens, [f"alice:{TOKEN_A}"])
    release = threading.Event()
    monkeypatch.setattr(tenants, "read_token_file", lambda path: release.wait() and b"")  # a hung mount, as above
    started = time.monotonic()
    try:
        with pytest.raises(SettingsError, match="could not be read within"):
            TokenFile(tokens)
    finally:
        release.set()
    assert time.monotonic() - started < tenants.TOKEN_FILE_READ_SECONDS + 2
