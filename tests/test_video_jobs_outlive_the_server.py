"""Video jobs through real clients and real server processes: over stdio, across a restart, across replicas sharing
a bucket (a real S3 API on loopback), and per principal."""

from __future__ import annotations

import base64
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, ImageContent, ResourceLink

from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import (
    TOKEN_A,
    TOKEN_B,
    blob_bytes,
    bucket_objects,
    client_as,
    first_text,
    running_http_server,
    served_videos,
    stdio_params,
    structured,
    video_downloads,
    write_tokens,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
I2V = "Wan-AI/Wan2.2-I2V-A14B"


def served_video(standin: RunningStandIn) -> bytes:
    [video] = served_videos(standin)
    return video


async def test_over_stdio_a_short_job_comes_back_whole_in_one_call(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool("generate_video", {"prompt": "a kite over a beach", "seed": 7})
        video = structured(result)["video"]
        read = await client.read_resource(video["uri"])
    assert structured(result)["status"] == "completed" and structured(result)["seed"] == 7
    assert Path(video["path"]).read_bytes() == served_video(standin) == blob_bytes(read)
    kinds = [type(block) for block in result.content]
    assert kinds[:2] == [ImageContent, ResourceLink] and "seed 7" in first_text(result)


async def test_over_stdio_wait_zero_gives_a_handle_that_get_video_finishes(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    async with Client(stdio_params(server_env)) as client:
        started = await client.call_tool("generate_video", {"prompt": "a boat", "wait": 0})
        finished = await client.call_tool("get_video", {"job": structured(started)["job"], "wait": 30})
    assert structured(started)["status"] == "working" and "video" not in structured(started)
    assert structured(finished)["status"] == "completed"
    assert Path(structured(finished)["video"]["path"]).read_bytes() == served_video(standin)


async def test_a_job_submitted_before_the_server_stopped_is_finished_by_the_next_one(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.video_polls = 4
    async with Client(stdio_params(server_env)) as client:
        started = await client.call_tool("generate_video", {"prompt": "a ship", "wait": 0})
    assert list(image_dir.glob("*.mp4")) == []  # that server stopped before the video was done
    async with Client(stdio_params(server_env)) as client:
        with anyio.fail_after(30):  # the next server resumes the job at start, before anyone asks
            while not list(image_dir.glob("*.mp4")):
                await anyio.sleep(0.1)
        finished = await client.call_tool("get_video", {"job": structured(started)["job"], "wait": 30})
    assert structured(finished)["status"] == "completed"
    assert Path(structured(finished)["video"]["path"]).read_bytes() == served_video(standin)
    assert video_downloads(standin) == 1


async def test_a_server_stopped_mid_download_leaves_the_download_to_the_next_one_at_once(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="trickle", delay=0.05))  # a CDN that takes minutes
    async with Client(stdio_params(server_env)) as client:
        started = await client.call_tool("generate_video", {"prompt": "a slow river", "wait": 0})
        with anyio.fail_after(30):  # the server has claimed the download and is receiving it
            while video_downloads(standin) == 0:
                await anyio.sleep(0.1)
    assert list(image_dir.glob("*.mp4")) == []
    async with Client(stdio_params(server_env)) as client:
        with anyio.fail_after(30):  # far less than a claim takes to go stale by age: its claimant is gone
            finished = await client.call_tool("get_video", {"job": structured(started)["job"], "wait": 30})
    assert structured(finished)["status"] == "completed"
    assert Path(structured(finished)["video"]["path"]).read_bytes() == served_video(standin)
    assert sorted(path.name.split(".")[-1] for path in (image_dir / ".jobs").iterdir()) == [
        "claim-1",
        "claim-2",
        "json",
        "json",
    ]


async def test_over_stdio_a_failed_job_is_an_error_with_the_reason(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.faults.append(Fault(target="video_status", kind="failed", body="input image is not safe"))
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert result.is_error and "input image is not safe" in first_text(result) and "trace id" in first_text(result)


async def test_over_stdio_image_to_video_from_an_earlier_image_results_path(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    async with Client(stdio_params(server_env)) as client:
        image = await client.call_tool("generate_image", {"prompt": "a red door", "seed": 3})
        path = structured(image)["images"][0]["path"]
        result = await client.call_tool("generate_video", {"prompt": "the door opens slowly", "image": path})
    assert structured(result)["status"] == "completed" and structured(result)["model"] == I2V
    sent = standin.state.requests[-1]
    assert (sent["model"], base64.b64decode(sent["image"].partition(",")[2])) == (I2V, Path(path).read_bytes())


async def test_a_job_submitted_on_one_replica_is_finished_on_another_sharing_the_bucket(
    standin: RunningStandIn, server_env: dict[str, str], s3_env: dict[str, str], tmp_path: Path
) -> None:
    standin.state.video_polls = 4
    env = {**server_env, **s3_env, "SILICONFLOW_IMAGE_DIR": f"s3://{s3_env['S3_BUCKET']}/team"}
    with running_http_server(env, "--stateless", cwd=tmp_path) as (base_a, _):
        async with Client(f"{base_a}/mcp") as client:
            started = await client.call_tool("generate_video", {"prompt": "a harbour", "wait": 0})
    job = structured(started)["job"]
    with running_http_server(env, "--stateless", cwd=tmp_path) as (base_b, _):  # a replica that never saw the job
        async with Client(f"{base_b}/mcp") as client:
            finished = await client.call_tool("get_video", {"job": job, "wait": 30})
    video = structured(finished)["video"]
    assert structured(finished)["status"] == "completed" and video["path"].startswith("s3://")
    objects = bucket_objects(s3_env)
    assert objects[video["path"].removeprefix(f"s3://{s3_env['S3_BUCKET']}/")] == served_video(standin)
    assert f"team/.jobs/{job}.outcome.json" in objects
    assert video_downloads(standin) == 1
    assert not any(path.is_file() for path in tmp_path.rglob("*"))  # nothing on either replica's disk


async def test_two_replicas_following_one_job_download_its_video_once(
    standin: RunningStandIn, server_env: dict[str, str], s3_env: dict[str, str], tmp_path: Path
) -> None:
    standin.state.video_polls = 4
    env = {**server_env, **s3_env, "SILICONFLOW_IMAGE_DIR": f"s3://{s3_env['S3_BUCKET']}/team"}
    with (
        running_http_server(env, "--stateless", cwd=tmp_path) as (base_a, _),
        running_http_server(env, "--stateless", cwd=tmp_path) as (base_b, _),
    ):
        async with Client(f"{base_a}/mcp") as client_a, Client(f"{base_b}/mcp") as client_b:
            job = structured(await client_a.call_tool("generate_video", {"prompt": "a tide", "wait": 0}))["job"]
            results: list[CallToolResult] = []

            async def ask(client: Client) -> None:
                results.append(await client.call_tool("get_video", {"job": job, "wait": 30}))

            async with anyio.create_task_group() as group:
                group.start_soon(ask, client_a)
                group.start_soon(ask, client_b)
    assert [structured(result)["status"] for result in results] == ["completed", "completed"]
    assert structured(results[0])["video"] == structured(results[1])["video"]
    assert video_downloads(standin) == 1


async def test_a_principals_job_handle_is_unknown_to_another_principal(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens"
    write_tokens(tokens, [f"alice:{TOKEN_A}", f"bob:{TOKEN_B}"])
    env = {**server_env, "SILICONFLOW_MCP_TOKENS_FILE": str(tokens)}
    with running_http_server(env, "--stateless") as (base, _):
        async with client_as(base, TOKEN_A) as alice:
            job = structured(await alice.call_tool("generate_video", {"prompt": "a secret", "wait": 0}))["job"]
        async with client_as(base, TOKEN_B) as bob:
            guessed = await bob.call_tool("get_video", {"job": job, "wait": 5})
        async with client_as(base, TOKEN_A) as alice:
            finished = await alice.call_tool("get_video", {"job": job, "wait": 30})
    assert guessed.is_error and "Unknown job" in first_text(guessed)
    assert structured(finished)["status"] == "completed"
    assert "/alice/" in structured(finished)["video"]["path"]
