"""Video jobs in one server (an in-memory MCP client against the stand-in): checks before paying, jobs that outlive
the call, one download per job, failures that say why, and videos whose frames cannot be read."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, ImageContent, ResourceLink

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import API_KEY, blob_bytes, call_tool, first_text, served_videos, structured, video_downloads

pytestmark = pytest.mark.anyio
T2V, I2V = "Wan-AI/Wan2.2-T2V-A14B", "Wan-AI/Wan2.2-I2V-A14B"


async def test_a_short_job_returns_the_saved_video_its_poster_and_a_link_in_one_call(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    messages: list[str] = []
    async with Client(build_server(settings)) as client:
        result = await call_tool(settings, "generate_video", {"prompt": "a kite", "seed": 4}, messages=messages)
        found = structured(result)
        read = await client.read_resource(found["video"]["uri"])
    assert not result.is_error and found["status"] == "completed" and found["seed"] == 4
    video = found["video"]
    saved = Path(video["path"]).read_bytes()
    assert [saved] == served_videos(standin) and hashlib.sha256(saved).hexdigest() == video["sha256"]
    assert blob_bytes(read) == saved and read.contents[0].mime_type == "video/mp4"
    assert (video["width"], video["height"], video["duration_s"], video["mime_type"]) == (128, 72, 1.0, "video/mp4")
    poster, link = (block for block in result.content if not hasattr(block, "text"))
    assert isinstance(poster, ImageContent) and poster.mime_type == "image/jpeg"
    assert isinstance(link, ResourceLink) and link.mime_type == "video/mp4" and link.uri == video["uri"]
    assert video["path"] in first_text(result) and found["job"] in first_text(result) and "seed 4" in first_text(result)
    sidecar = json.loads(Path(video["path"] + ".json").read_text())
    assert (sidecar["prompt"], sidecar["job"], sidecar["sha256"]) == ("a kite", found["job"], video["sha256"])
    record = json.loads((image_dir / ".jobs" / f"{found['job']}.json").read_text())
    assert (record["status"], record["result"], record["seed"], record["prompt"]) == (
        "completed",
        video["path"],
        4,
        "a kite",
    )
    assert record["request_id"] and record["trace_id"] and record["created_at"] and record["principal"] is None
    assert any("queued" in message for message in messages) and any("downloading" in m for m in messages)


async def test_wait_zero_answers_a_handle_that_get_video_finishes(standin: RunningStandIn, settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        started = await client.call_tool("generate_video", {"prompt": "a boat", "wait": 0})
        finished = await client.call_tool("get_video", {"job": structured(started)["job"], "wait": 30})
    assert structured(started)["status"] == "working" and "video" not in structured(started)
    assert not [block for block in started.content if isinstance(block, ImageContent | ResourceLink)]
    assert "get_video" in first_text(started)
    assert structured(finished)["status"] == "completed"
    assert Path(structured(finished)["video"]["path"]).read_bytes() == served_videos(standin)[0]


async def test_a_cancelled_call_does_not_cancel_the_job_and_two_callers_share_one_download(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.video_polls = 4
    async with Client(build_server(settings)) as client:
        with anyio.move_on_after(1.0):  # the client gives up (and cancels the request) while the job is queued
            await client.call_tool("generate_video", {"prompt": "a bird", "wait": 30})
        job = next(request for request in standin.state.video_jobs.values())
        assert job.file_id is None  # cancelled before the video was ready
        [record] = list((Path(settings.image_dir) / ".jobs").glob("*[0-9a-f].json"))
        handle = record.name.removesuffix(".json")
        results: list[CallToolResult] = []

        async def ask() -> None:
            results.append(await client.call_tool("get_video", {"job": handle, "wait": 30}))

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            group.start_soon(ask)
    assert [structured(result)["status"] for result in results] == ["completed", "completed"]
    assert structured(results[0])["video"] == structured(results[1])["video"]
    assert video_downloads(standin) == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"prompt": "x", "image_size": "1024x1024"}, "image_size must be one of '1280x720', '720x1280', '960x960'"),
        ({"prompt": "   "}, "prompt must describe the video"),
        ({"prompt": "x", "model": I2V}, "animates an image: give image"),
        ({"prompt": "x", "model": "Kwai-Kolors/Kolors"}, "makes images, not video: use it with generate_image"),
        ({"prompt": "x", "image": "file:///etc/passwd"}, "URLs are not accepted"),
        ({"prompt": "x", "image": "/etc/passwd"}, "outside the folders this server may read"),
        ({"prompt": "x", "wait": -1}, "wait must be a number from 0 to 600"),
    ],
)
async def test_what_cannot_work_is_refused_before_anything_is_submitted(
    standin: RunningStandIn, settings: Settings, arguments: dict[str, Any], expected: str
) -> None:
    result = await call_tool(settings, "generate_video", arguments)
    assert result.is_error and expected in first_text(result)
    assert standin.state.requests == [] and standin.state.video_jobs == {}


async def test_text_to_video_with_an_earlier_image_result_switches_to_image_to_video(
    standin: RunningStandIn, settings: Settings
) -> None:
    picture = structured(await call_tool(settings, "generate_image", {"prompt": "a lighthouse"}))["images"][0]
    result = await call_tool(settings, "generate_video", {"prompt": "waves roll in", "image": picture["path"]})
    found = structured(result)
    assert found["status"] == "completed" and found["model"] == I2V
    assert any("image-to-video sibling" in note for note in found["notes"])
    sent = standin.state.requests[-1]
    assert sent["model"] == I2V
    assert base64.b64decode(sent["image"].partition(",")[2]) == Path(picture["path"]).read_bytes()


async def test_a_failed_job_is_an_error_with_the_providers_reason(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(
        Fault(target="video_status", kind="failed", body="the prompt was refused by moderation")
    )
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert result.is_error
    assert "the prompt was refused by moderation" in first_text(result) and "trace id ti_" in first_text(result)
    assert structured(result)["status"] == "failed"
    again = await call_tool(settings, "get_video", {"job": structured(result)["job"]})
    assert again.is_error and "refused by moderation" in first_text(again)


async def test_a_link_that_expired_before_the_download_is_reported_as_expired(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.faults.append(Fault(target="download", kind="expired", times=9))
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert result.is_error and "could not be downloaded" in first_text(result) and "expired" in first_text(result)


async def test_a_video_over_the_download_limit_fails_at_once_and_is_not_fetched_again(
    standin: RunningStandIn, settings: Settings
) -> None:
    result = await call_tool(replace(settings, max_download_bytes=1000), "generate_video", {"prompt": "x"})
    assert result.is_error and "larger than the 1000 byte download limit" in first_text(result)
    assert video_downloads(standin) == 1


async def test_status_questions_that_fail_for_a_while_are_asked_again(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.faults += [
        Fault(target="video_status", status=503, times=3),
        Fault(target="video_status", kind="reset"),
    ]
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert structured(result)["status"] == "completed"


async def test_a_video_whose_frames_cannot_be_read_is_still_saved_and_linked(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.faults.append(Fault(target="download", kind="garbled"))
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    found = structured(result)
    assert not result.is_error and found["status"] == "completed" and "poster" not in found
    assert any(note.startswith("No poster frame") for note in found["notes"])
    assert Path(found["video"]["path"]).stat().st_size == len(served_videos(standin)[0])
    assert [block.mime_type for block in result.content if isinstance(block, ResourceLink)] == ["video/mp4"]


async def test_list_models_offers_the_video_models_and_what_makes_video_by_default(
    standin: RunningStandIn, settings: Settings
) -> None:
    text_to_video = structured(await call_tool(settings, "list_models", {"capability": "text-to-video"}))
    image_to_video = structured(await call_tool(settings, "list_models", {"capability": "image-to-video"}))
    assert [model["id"] for model in text_to_video["models"]] == [T2V]
    assert [model["id"] for model in image_to_video["models"]] == [I2V]
    model = text_to_video["models"][0]
    assert model["default_for"] == ["generate_video"] and model["recommended_sizes"] == [
        "1280x720",
        "720x1280",
        "960x960",
    ]
    assert text_to_video["source"] == "live"


async def test_an_unknown_handle_is_an_error_that_says_so(settings: Settings) -> None:
    for handle in ("0" * 32, "../../etc/passwd", "not-a-job"):
        result = await call_tool(settings, "get_video", {"job": handle})
        assert result.is_error and "Unknown job" in first_text(result)


async def test_a_providers_reason_that_echoes_the_key_is_redacted(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(Fault(target="video_status", kind="failed", body=f"key {API_KEY} is not allowed"))
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert result.is_error and "[redacted]" in first_text(result)
    assert API_KEY[8:24] not in first_text(result) and API_KEY[8:24] not in json.dumps(result.structured_content)
    records = [path.read_text() for path in (Path(settings.image_dir) / ".jobs").iterdir()]
    assert records and not any(API_KEY[8:24] in record for record in records)


async def test_a_success_without_a_link_is_a_failure_that_says_so(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(Fault(target="video_status", status=200, body={"status": "Succeed", "results": None}))
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert result.is_error and "gave no link" in first_text(result)


async def test_a_status_answer_that_is_not_one_is_asked_again(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(Fault(target="video_status", status=200, body="<html>maintenance</html>", times=2))
    result = await call_tool(settings, "generate_video", {"prompt": "x"})
    assert structured(result)["status"] == "completed"


async def test_clients_without_links_or_structured_content_read_everything_in_the_text(
    standin: RunningStandIn, settings: Settings
) -> None:
    plain = replace(settings, resource_links=False, structured_output=False)
    result = await call_tool(plain, "generate_video", {"prompt": "x", "seed": 5})
    assert result.structured_content is None and not [b for b in result.content if isinstance(b, ResourceLink)]
    [video] = list(Path(settings.image_dir).glob("*.mp4"))
    text = first_text(result)
    assert str(video) in text and f"siliconflow-image://images/{video.name}" in text and "seed 5" in text
    assert isinstance(result.content[0], ImageContent)  # the poster frame still shows
