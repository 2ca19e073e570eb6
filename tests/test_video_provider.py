"""The video API client against the stand-in: submit, the status polls, a real MP4 at an expiring link, failures."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx2
import pytest

from mcp_server_siliconflow_image.imageformat import check_mp4
from mcp_server_siliconflow_image.provider.client import ProviderError
from mcp_server_siliconflow_image.provider.video import VideoClient, VideoStatus
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from mcp_server_siliconflow_image.standin.videos import render_video
from mcp_server_siliconflow_image.stores.folder import FolderStore

pytestmark = pytest.mark.anyio
T2V = "Wan-AI/Wan2.2-T2V-A14B"


@pytest.fixture
async def video_client(settings: Settings) -> AsyncIterator[VideoClient]:
    async with httpx2.AsyncClient() as http:
        yield VideoClient(settings, http)


async def until_done(client: VideoClient, request_id: str) -> list[VideoStatus]:
    answers = [await client.video_status(request_id)]
    while answers[-1].state in ("queued", "running"):
        answers.append(await client.video_status(request_id))
    return answers


async def test_a_job_is_queued_then_in_progress_then_has_a_link_to_a_real_mp4(
    standin: RunningStandIn, video_client: VideoClient, tmp_path: Path
) -> None:
    submitted = await video_client.submit_video({"model": T2V, "prompt": "a kite", "image_size": "1280x720", "seed": 3})
    answers = await until_done(video_client, submitted.request_id)
    assert [answer.said for answer in answers] == ["InQueue", "InProgress", "Succeed"]
    assert answers[0].position == 1 and answers[-1].seed == 3 and answers[-1].url
    with FolderStore(tmp_path).pending() as pending:
        await video_client.fetch_video(answers[-1].url, pending)
        data = pending.read_all()
    check_mp4(data)
    assert data == render_video("a kite", 3, (1280, 720))  # deterministic in (prompt, seed, size)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == ("h264", 128, 72)


async def test_a_failed_job_says_why(standin: RunningStandIn, video_client: VideoClient) -> None:
    standin.state.faults.append(Fault(target="video_status", kind="failed", body="prompt blocked by moderation"))
    submitted = await video_client.submit_video({"model": T2V, "prompt": "x", "image_size": "960x960"})
    status = await video_client.video_status(submitted.request_id)
    assert (status.state, status.reason) == ("failed", "prompt blocked by moderation")


async def test_an_expired_video_link_is_reported_as_expired_not_retried(
    standin: RunningStandIn, video_client: VideoClient, tmp_path: Path
) -> None:
    standin.state.video_polls = 0
    submitted = await video_client.submit_video({"model": T2V, "prompt": "x", "image_size": "720x1280"})
    status = await video_client.video_status(submitted.request_id)
    standin.state.faults.append(Fault(target="download", kind="expired", times=9))
    with FolderStore(tmp_path).pending() as pending, pytest.raises(ProviderError, match="video link answered HTTP 403"):
        await video_client.fetch_video(str(status.url), pending)
    assert len(standin.state.downloads) == 1


@pytest.mark.parametrize(("kind", "expected"), [("truncate", None), ("html", "did not return a video")])
async def test_a_cut_short_video_is_fetched_again_and_an_error_page_is_refused(
    standin: RunningStandIn, video_client: VideoClient, tmp_path: Path, kind: str, expected: str | None
) -> None:
    standin.state.video_polls = 0
    submitted = await video_client.submit_video({"model": T2V, "prompt": "x", "image_size": "1280x720"})
    status = await video_client.video_status(submitted.request_id)
    standin.state.faults.append(Fault(target="download", kind=kind))
    with FolderStore(tmp_path).pending() as pending:
        if expected is None:
            await video_client.fetch_video(str(status.url), pending)
            check_mp4(pending.read_all())
        else:
            with pytest.raises(ProviderError, match=expected):
                await video_client.fetch_video(str(status.url), pending)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"model": T2V, "prompt": "x", "image_size": "1024x1024"}, "image_size must be one of"),
        ({"model": "Wan-AI/Wan2.2-I2V-A14B", "prompt": "x", "image_size": "1280x720"}, "image is required"),
        ({"model": "Kwai-Kolors/Kolors", "prompt": "x", "image_size": "1280x720"}, "Model does not exist"),
    ],
)
async def test_the_standin_refuses_what_the_provider_refuses(
    standin: RunningStandIn, video_client: VideoClient, body: dict[str, str], expected: str
) -> None:
    with pytest.raises(ProviderError, match=expected) as raised:
        await video_client.submit_video(body)
    assert raised.value.status == 400 and raised.value.trace_id


async def test_the_live_list_knows_the_video_models_and_which_takes_an_image(
    standin: RunningStandIn, video_client: VideoClient
) -> None:
    assert await video_client.list_model_ids(kind="video") == [T2V, "Wan-AI/Wan2.2-I2V-A14B"]
    assert await video_client.list_model_ids("text-to-video", kind="video") == [T2V]
    assert T2V not in await video_client.list_model_ids("text-to-image")
