"""Tenants over HTTP: each principal has its own images, tokens reload, a request's own key is kept nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.hosting.tenants import TokenFile, parse_tokens
from mcp_server_siliconflow_image.settings import Settings, SettingsError
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import (
    API_KEY,
    INITIALIZE,
    MCP_HEADERS,
    OWNER_TOKEN,
    TOKEN_A,
    TOKEN_B,
    TOKEN_C,
    USER_KEY,
    blob_bytes,
    bucket_objects,
    client_as,
    first_text,
    running_http_server,
    server_command,
    write_tokens,
)
from tests.images import encode

pytestmark = pytest.mark.anyio


def image_uris(result: CallToolResult) -> list[str]:
    assert not result.is_error, first_text(result)
    assert result.structured_content is not None
    return [str(image["uri"]) for image in result.structured_content["images"]]


@pytest.mark.slow
@pytest.mark.parametrize(("store", "mode"), [("folder", "--stateless"), ("bucket", "--stateless"), ("bucket", "")])
async def test_principals_cannot_list_read_or_guess_each_others_images(
    standin: RunningStandIn,
    server_env: dict[str, str],
    s3_env: dict[str, str],
    image_dir: Path,
    tmp_path: Path,
    store: str,
    mode: str,
) -> None:
    tokens = tmp_path / "tokens"
    write_tokens(tokens, ["# team", f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"])
    location = f"s3://{s3_env['S3_BUCKET']}/team" if store == "bucket" else str(image_dir)
    env = {
        **server_env,
        **s3_env,
        "SILICONFLOW_IMAGE_DIR": location,
        "SILICONFLOW_MCP_TOKENS_FILE": str(tokens),
        "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN,
        "SILICONFLOW_INPUT_DIRS": str(image_dir),  # the operator lets edits read the image folder...
    }
    with running_http_server(env, *filter(None, [mode])) as (base, _):
        async with client_as(base, TOKEN_A) as alice:
            made = image_uris(await alice.call_tool("generate_image", {"prompt": "alice's cat", "seed": 1}))
            own_listing = await alice.list_resources()
            own_read = blob_bytes(await alice.read_resource(made[0]))
        async with client_as(base, TOKEN_B) as bob:
            bob_listing = await bob.list_resources()
            with pytest.raises(MCPError):
                await bob.read_resource(made[0])  # the exact URI alice got: still nothing for bob
            guesses = [made[0].replace("images/", f"images/{up}") for up in ("..%2Falice%2F", "alice%2F", "../alice/")]
            for guess in guesses:
                with pytest.raises(MCPError):
                    await bob.read_resource(guess)
            bob_made = image_uris(await bob.call_tool("generate_image", {"prompt": "bob's dog", "seed": 2}))
            alice_path = str(image_dir / "alice" / made[0].removeprefix("siliconflow-image://images/"))
            by_path = await bob.call_tool("edit_image", {"image": alice_path, "prompt": "steal"})
        async with client_as(base, OWNER_TOKEN) as owner:
            owner_listing = await owner.list_resources()
        write_tokens(tokens, [f"bob:{TOKEN_B}", f"carol:{TOKEN_C}"])  # alice revoked, carol added: no restart
        refused = httpx.post(
            f"{base}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN_A}"}
        )
        async with client_as(base, TOKEN_C) as carol:
            carol_listing = await carol.list_resources()

    assert [resource.uri for resource in own_listing.resources] == made
    assert own_read == next(iter(standin.state.images.values())).data
    assert [resource.uri for resource in bob_listing.resources] == []
    assert owner_listing.resources == [] and carol_listing.resources == []
    assert refused.status_code == 401
    assert by_path.is_error and "reads no local files" in first_text(by_path)  # ...but a principal's never do
    name, bob_name = (uri.removeprefix("siliconflow-image://images/") for uri in (made[0], bob_made[0]))
    if store == "bucket":
        assert {f"team/alice/{name}", f"team/bob/{bob_name}"} <= set(bucket_objects(s3_env))
    else:
        assert (image_dir / "alice" / name).is_file() and (image_dir / "bob" / bob_name).is_file()
        assert not (image_dir / name).exists()


@pytest.mark.slow
async def test_a_request_key_is_used_for_that_call_only_and_kept_nowhere(
    standin: RunningStandIn, server_env: dict[str, str], s3_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    env = {**server_env, **s3_env, "SILICONFLOW_IMAGE_DIR": f"s3://{s3_env['S3_BUCKET']}/team"}
    standin.state.api_key = USER_KEY  # the provider accepts only the user's own key now
    try:
        with running_http_server(env, "--stateless", "--log-level", "DEBUG", log=log) as (base, _):
            async with client_as(base, OWNER_TOKEN, **{"X-SiliconFlow-Api-Key": USER_KEY}) as user:
                paid_by_user = await user.call_tool("generate_image", {"prompt": "on my account"})
            async with Client(f"{base}/mcp") as anonymous:
                paid_by_server = await anonymous.call_tool("generate_image", {"prompt": "on the server's account"})
            async with client_as(base, OWNER_TOKEN, **{"X-SiliconFlow-Api-Key": "sk bad key"}) as bad:
                malformed = await bad.call_tool("generate_image", {"prompt": "x"})
    finally:
        standin.state.api_key = API_KEY

    assert not paid_by_user.is_error, first_text(paid_by_user)
    assert len(standin.state.requests) == 1  # the stand-in answers only the user's key, so that call used it
    assert paid_by_server.is_error and "401" in first_text(paid_by_server)  # the next call went back to the server's
    assert malformed.is_error and "X-SiliconFlow-Api-Key header must be" in first_text(malformed)
    everything = [
        log.read_text(errors="replace"),
        json.dumps(paid_by_user.model_dump(mode="json")),
        json.dumps(paid_by_server.model_dump(mode="json")),
        *(data.decode(errors="replace") for data in bucket_objects(s3_env).values()),
        *(path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file() and path != log),
    ]
    assert "DEBUG" in everything[0]  # the log really was written, at its most talkative
    prefix = USER_KEY[:8]
    assert not [text for text in everything if prefix in text]


def test_token_file_lines_are_checked_and_named(tmp_path: Path) -> None:
    assert parse_tokens(f"# comment\n\nalice:{TOKEN_A}\nbob : {TOKEN_B}\n", "f").keys() == {"alice", "bob"}
    bad = {
        "no-separator-here": "must be name:token",
        f"../alice:{TOKEN_A}": "must be name:token",
        "alice:short": "at least 16 characters",
        f"alice:{TOKEN_A[:8]}é{TOKEN_A[8:]}": "a non-ASCII character at character 9",
        f"alice:{TOKEN_A}\nalice:{TOKEN_B}": "appears twice",
        f"alice:{TOKEN_A}\nbob:{TOKEN_A}": "same token",
        f"alice:{TOKEN_A}\nALICE:{TOKEN_B}": "differ only in case",
        f"alice:{TOKEN_A}\nbob:{OWNER_TOKEN}": "is SILICONFLOW_MCP_TOKEN",
    }
    for text, message in bad.items():
        with pytest.raises(SettingsError, match=message):
            parse_tokens(text, "SILICONFLOW_MCP_TOKENS_FILE", OWNER_TOKEN)
    with pytest.raises(SettingsError, match="line 2"):
        parse_tokens(f"alice:{TOKEN_A}\nbob:short", "SILICONFLOW_MCP_TOKENS_FILE")


async def test_token_file_reloads_line_by_line_and_fails_closed_when_gone(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    write_tokens(path, [f"alice:{TOKEN_A}"])
    table = TokenFile(path)
    assert (await table.principal_for(TOKEN_A), await table.principal_for(TOKEN_B)) == ("alice", None)
    write_tokens(path, [f"bob:{TOKEN_B}"])
    assert (await table.principal_for(TOKEN_A), await table.principal_for(TOKEN_B)) == (None, "bob")
    write_tokens(path, [f"bob:{TOKEN_B}", "carol:short"])  # a broken line: bob keeps working, carol is refused
    assert (await table.principal_for(TOKEN_B), await table.principal_for("short")) == ("bob", None)
    path.unlink()
    assert await table.principal_for(TOKEN_B) is None
    assert await table.principal_for("") is None


@pytest.mark.slow
def test_a_broken_token_file_stops_the_server_at_start(server_env: dict[str, str], tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("alice:tinytok\n")
    done = subprocess.run(
        [server_command(), "--transport", "http", "--port", "0"],
        env={**os.environ, **server_env, "SILICONFLOW_MCP_TOKENS_FILE": str(tokens)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SILICONFLOW_MCP_TOKENS_FILE" in done.stderr and "line 1" in done.stderr
    assert "tinytok" not in done.stderr  # the token itself is not echoed


async def test_what_an_interrupted_run_left_in_a_principals_folder_is_rescued_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    write_tokens(tokens, [f"alice:{TOKEN_A}"])
    folder = settings.image_dir / "alice"
    folder.mkdir(parents=True)
    partial = folder / ".0123456789abcdef.partial"
    partial.write_bytes(encode("PNG"))
    os.utime(partial, (time.time() - 7200, time.time() - 7200))
    async with Client(build_server(replace(settings, mcp_tokens_file=tokens))):
        pass
    rescued = [path for path in folder.iterdir() if path.suffix == ".png"]
    assert not partial.exists() and len(rescued) == 1 and rescued[0].read_bytes() == encode("PNG")
