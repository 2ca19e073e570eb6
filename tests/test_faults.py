"""The fault matrix: every documented provider failure, each with its exact outcome and a clean image folder."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.provider.client import ProviderClient
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn, running_standin
from tests.helpers import CALL_SECONDS, first_text, generate, published, served, unused_port, wait_for

pytestmark = pytest.mark.anyio


async def test_429_once_with_retry_after_is_retried_and_succeeds(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(status=429, retry_after=1))
    progress: list[str] = []
    result = await generate(settings, messages=progress)
    assert not result.is_error, first_text(result)
    assert len(standin.state.requests) == 2
    assert "retrying after HTTP 429 in 1 s" in progress
    assert [path.read_bytes() for path in published(image_dir)] == served(standin)


async def test_503_once_is_retried(standin: RunningStandIn, settings: Settings, image_dir: Path) -> None:
    standin.state.faults.append(Fault(status=503))
    result = await generate(settings)
    assert not result.is_error
    assert len(standin.state.requests) == 2
    assert len(published(image_dir)) == 1


@pytest.mark.parametrize(
    ("status", "attempts", "says"),
    [
        (503, 5, "overloaded"),  # refused before generating: asked again, with backoff
        (502, 1, "gateway failed. It was not asked again"),  # the image may have been made and charged behind it
        (504, 1, "fewer inference steps"),
    ],
)
async def test_overload_is_asked_again_but_a_gateway_error_or_timeout_is_not(
    standin: RunningStandIn, settings: Settings, image_dir: Path, status: int, attempts: int, says: str
) -> None:
    standin.state.faults.append(Fault(status=status, times=99))
    result = await generate(settings)
    assert result.is_error
    assert f"HTTP {status}" in first_text(result) and says in first_text(result)
    assert len(standin.state.requests) == attempts
    assert published(image_dir) == []


async def test_a_503_that_carries_a_generation_is_not_asked_again(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """A gateway passing on a made image under its own 503: the request was processed, so a retry would pay twice."""
    made = {"images": [{"url": f"{standin.origin}/files/gone.png"}], "seed": 1}
    standin.state.faults.append(Fault(status=503, body=made, times=99))
    result = await generate(settings)
    assert result.is_error and "HTTP 503" in first_text(result)
    assert len(standin.state.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_errors_that_would_repeat_are_not_retried(
    standin: RunningStandIn, settings: Settings, image_dir: Path, status: int
) -> None:
    standin.state.faults.append(Fault(status=status, times=99))
    result = await generate(settings)
    assert result.is_error
    assert f"HTTP {status}" in first_text(result)
    assert len(standin.state.requests) == 1
    assert published(image_dir) == []


async def test_retry_after_beyond_the_deadline_fails_at_once(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(status=429, retry_after=30))
    result = await generate(dataclasses.replace(settings, timeout=5))
    assert result.is_error
    text = first_text(result)
    assert "HTTP 429" in text and "asks to wait 30 s before trying again (Retry-After)" in text
    assert "SILICONFLOW_TIMEOUT=5 s: try again after" in text
    assert len(standin.state.requests) == 1


async def test_a_stuck_provider_times_out_cleanly(standin: RunningStandIn, settings: Settings, image_dir: Path) -> None:
    standin.state.faults.append(Fault(delay=5))
    result = await generate(dataclasses.replace(settings, timeout=1))
    assert result.is_error
    assert "did not finish within SILICONFLOW_TIMEOUT=1 s" in first_text(result)
    assert published(image_dir) == []


async def test_a_connection_dropped_after_the_request_was_sent_is_not_retried(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """The provider got the request and may have made (and charged for) the image: asking again could pay twice."""
    standin.state.faults.append(Fault(kind="reset"))
    result = await generate(settings)
    assert result.is_error
    text = first_text(result)
    assert "failed after the request was sent" in text and "may have made (and charged for) the image" in text
    assert "not asked again" in text and "usage in your SiliconFlow console" in text
    assert len(standin.state.requests) == 1
    assert published(image_dir) == []


async def test_a_refused_connection_is_retried_since_nothing_was_sent(
    standin: RunningStandIn, settings: Settings
) -> None:
    """The first attempt finds nothing listening; by the retry the provider is up: the call succeeds."""
    port = unused_port()
    moved = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{port}/v1", retry_base_delay=0.2)
    waits: list[str] = []
    with ExitStack() as later:

        async def provider_comes_up(message: str) -> None:
            waits.append(message)
            if len(waits) == 1:  # told before the wait: the provider starts listening on the refused port
                later.enter_context(running_standin(standin.state, port=port))

        async with httpx2.AsyncClient() as http:
            answer = await ProviderClient(moved, http).create_images(
                {"model": "Kwai-Kolors/Kolors", "prompt": "a lighthouse"}, provider_comes_up
            )
    assert len(answer.outputs) == 1 and len(standin.state.requests) == 1
    assert waits[0].startswith("retrying after a connection that failed before the request was sent")


async def test_an_image_link_that_404s_once_is_fetched_again(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", status=404))
    result = await generate(settings)
    assert not result.is_error
    assert len(standin.state.downloads) == 2
    assert [path.read_bytes() for path in published(image_dir)] == served(standin)


async def test_a_link_serving_html_saves_nothing(standin: RunningStandIn, settings: Settings, image_dir: Path) -> None:
    standin.state.faults.append(Fault(target="download", kind="html"))
    result = await generate(settings)
    assert result.is_error
    assert "did not return an image: not a PNG, JPEG or WebP image (an HTML page)" in first_text(result)
    assert published(image_dir) == []


async def test_an_expired_link_is_reported_not_retried(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="expired", times=99))
    result = await generate(settings)
    assert result.is_error
    assert "HTTP 403: it has expired" in first_text(result)
    assert len(standin.state.downloads) == 1
    assert published(image_dir) == []


async def test_a_truncated_image_is_fetched_again(standin: RunningStandIn, settings: Settings, image_dir: Path) -> None:
    standin.state.faults.append(Fault(target="download", kind="truncate"))
    result = await generate(settings)
    assert not result.is_error
    assert [path.read_bytes() for path in published(image_dir)] == served(standin)


async def test_an_image_truncated_every_time_is_not_saved(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="truncate", times=99))
    result = await generate(settings)
    assert result.is_error and "truncated" in first_text(result)
    assert len(standin.state.downloads) == 3
    assert published(image_dir) == []


async def test_one_failure_in_a_batch_keeps_the_rest(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="expired", index=2, times=99))
    result = await generate(settings, batch_size=4)
    assert not result.is_error
    structured = result.structured_content
    assert [image["path"] for image in structured["images"]] == [str(path) for path in published(image_dir)]
    assert len(structured["images"]) == 3
    [failure] = structured["failed"]
    assert failure["index"] == 2 and failure["seed"] == structured["seed"]
    assert failure["trace_id"] == structured["images"][0]["trace_id"]  # one Kolors request made the batch
    assert "expired" in structured["failed"][0]["error"]
    assert "Image 2 failed" in first_text(result)


async def test_a_runaway_download_is_capped(standin: RunningStandIn, settings: Settings, image_dir: Path) -> None:
    standin.state.image_kind = "noise"
    result = await generate(dataclasses.replace(settings, max_download_bytes=100_000))
    assert result.is_error
    assert "larger than the 100000 byte download limit" in first_text(result)
    assert published(image_dir) == []


async def test_progress_reports_each_phase(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.inference_delay = 2.5  # long enough for a heartbeat
    progress: list[str] = []
    result = await generate(settings, messages=progress, batch_size=2)
    assert not result.is_error
    assert progress[0] == "waiting for the provider"
    assert progress.count("waiting for the provider") >= 2  # heartbeat repeated it while waiting
    assert progress[-4:] == ["downloading 2 images", "downloaded 1/2", "downloaded 2/2", "saved"]


@pytest.mark.parametrize("batch_size", [1, 2])
async def test_a_call_cancelled_during_its_download_still_saves_the_paid_images_and_the_server_goes_on(
    standin: RunningStandIn, settings: Settings, image_dir: Path, caplog: pytest.LogCaptureFixture, batch_size: int
) -> None:
    """Kolors makes a batch in one request: the log counts the images asked for, not the requests."""
    standin.state.faults.append(Fault(target="download", delay=0.5))
    caplog.set_level(logging.WARNING, logger="mcp_server_siliconflow_image")
    arguments = {"prompt": "never mind", "batch_size": batch_size}
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(CALL_SECONDS):
            async with anyio.create_task_group() as group:
                group.start_soon(partial(client.call_tool, "generate_image", arguments))
                await wait_for(lambda: bool(standin.state.downloads), "the download")
                group.cancel_scope.cancel()  # the provider answered: the images are paid for
        kept = published(image_dir)  # each whole, with its sidecar, no partial file
        assert sorted(path.read_bytes() for path in kept) == sorted(served(standin)) and len(kept) == batch_size
        [logged] = [record.getMessage() for record in caplog.records if "cancelled" in record.getMessage()]
        assert f"made {batch_size} of {batch_size} image(s)" in logged and all(str(path) in logged for path in kept)
        result = await client.call_tool("generate_image", {"prompt": "this one"})
    assert not result.is_error
    assert len(published(image_dir)) == batch_size + 1


async def test_cancel_while_the_provider_works_abandons_the_call(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.inference_delay = 1.0
    async with Client(build_server(settings)) as client:
        with anyio.move_on_after(0.3):
            await client.call_tool("generate_image", {"prompt": "never mind"})
        await anyio.sleep(1.2)
    assert standin.state.downloads == []  # the answer was never read, so nothing was fetched
    assert published(image_dir) == []


async def test_eight_concurrent_calls_run_in_parallel_without_collisions(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.inference_delay = 0.5
    results: list[CallToolResult] = []
    async with Client(build_server(settings)) as client:

        async def one(seed: int) -> None:
            results.append(await client.call_tool("generate_image", {"prompt": "crowd", "seed": seed}))

        async with anyio.create_task_group() as group:
            for seed in range(8):
                group.start_soon(one, seed)
    assert [result.is_error for result in results] == [False] * 8
    assert standin.state.max_in_flight == 8
    paths = [result.structured_content["images"][0]["path"] for result in results]
    assert len(set(paths)) == 8
    assert sorted(map(str, published(image_dir))) == sorted(paths)
