"""edit_image takes an earlier result by its path or its siliconflow-image:// URI, read from the caller's own
store: a principal edits its own images (folder or bucket), and never another principal's or the host's files."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import (
    OWNER_TOKEN,
    TOKEN_A,
    TOKEN_B,
    client_as,
    first_text,
    running_http_server,
    stdio_params,
    write_tokens,
)
from tests.images import encode

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def made_image(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, first_text(result)
    assert result.structured_content is not None
    image: dict[str, Any] = result.structured_content["images"][0]
    return image


def sent_input(standin: RunningStandIn) -> bytes:
    """The input image bytes of the provider's latest request."""
    return base64.b64decode(standin.state.requests[-1]["image"].split(",", 1)[1])


@pytest.fixture(params=["folder", "bucket"])
def team_env(
    request: pytest.FixtureRequest, server_env: dict[str, str], s3_env: dict[str, str], image_dir: Path, tmp_path: Path
) -> dict[str, str]:
    """A hosted team server's environment: alice, bob and the operator's token, images in a folder or a bucket,
    and no SILICONFLOW_INPUT_DIRS (over HTTP the host's files stay unreadable)."""
    tokens = tmp_path / "tokens"
    write_tokens(tokens, [f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"])
    location = f"s3://{s3_env['S3_BUCKET']}/team" if request.param == "bucket" else str(image_dir)
    return {
        **server_env,
        **s3_env,
        "SILICONFLOW_IMAGE_DIR": location,
        "SILICONFLOW_MCP_TOKENS_FILE": str(tokens),
        "SILICONFLOW_MCP_TOKEN": OWNER_TOKEN,
    }


async def test_a_principal_edits_its_own_results_by_path_and_uri_and_nothing_else(
    standin: RunningStandIn, team_env: dict[str, str], tmp_path: Path
) -> None:
    host_file = tmp_path / "host-photo.png"
    host_file.write_bytes(encode("PNG"))
    with running_http_server(team_env, "--stateless") as (base, _):
        async with client_as(base, TOKEN_A) as alice:
            original = made_image(await alice.call_tool("generate_image", {"prompt": "alice's cat", "seed": 1}))
            saved = next(iter(standin.state.images.values())).data
            edits = {}
            for form in ("path", "uri"):
                edits[form] = await alice.call_tool("edit_image", {"image": original[form], "prompt": "a hat"})
                assert not edits[form].is_error, first_text(edits[form])
                assert sent_input(standin) == saved  # the very bytes alice's result saved
        sent_before_bob = len(standin.state.requests)
        async with client_as(base, TOKEN_B) as bob:
            refused = {
                form: await bob.call_tool("edit_image", {"image": value, "prompt": "steal"})
                for form, value in [("path", original["path"]), ("uri", original["uri"]), ("host", str(host_file))]
            }
        async with client_as(base, OWNER_TOKEN) as owner:
            owners = made_image(await owner.call_tool("generate_image", {"prompt": "the team's logo", "seed": 3}))
            owner_edit = await owner.call_tool("edit_image", {"image": owners["path"], "prompt": "in blue"})
            owner_on_alices = await owner.call_tool("edit_image", {"image": original["uri"], "prompt": "steal"})

    assert all(made_image(edit)["uri"] != original["uri"] for edit in edits.values())
    assert {form: answer.is_error for form, answer in refused.items()} == {"path": True, "uri": True, "host": True}
    assert "no saved image" in first_text(refused["uri"])  # as if alice's image did not exist
    assert "SILICONFLOW_INPUT_DIRS is empty" not in first_text(refused["path"])
    assert "your own saved images" in first_text(refused["host"])  # what a principal may send instead
    assert not owner_edit.is_error, first_text(owner_edit)  # the viewer's Edit sends the result's path
    assert owner_on_alices.is_error and "no saved image" in first_text(owner_on_alices)
    requests = standin.state.requests
    assert len(requests) == sent_before_bob + 2  # bob's refused edits reached no provider; the owner's two did
    assert requests[-1]["prompt"] == "in blue"


async def test_a_saved_images_uri_is_an_edit_input_over_stdio(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    async with Client(stdio_params(server_env)) as client:
        original = made_image(await client.call_tool("generate_image", {"prompt": "a lighthouse", "seed": 5}))
        edited = await client.call_tool("edit_image", {"image": original["uri"], "prompt": "at night"})
        missing = await client.call_tool(
            "edit_image", {"image": "siliconflow-image://images/never-made.png", "prompt": "at night"}
        )
    assert not edited.is_error, first_text(edited)
    assert sent_input(standin) == Path(original["path"]).read_bytes()
    assert missing.is_error and "no saved image named 'never-made.png'" in first_text(missing)
