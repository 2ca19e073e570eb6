"""A batch of one-image requests cancelled halfway: what the provider already made is paid for and kept.

FLUX makes one image a request, so `batch_size` 4 is four requests side by side. Two are answered, two are
rate-limited and wait to be sent again when the client gives up: the two answered images are fetched and
saved with their sidecars (the log says where, since no result will), and the two waiting requests are
never sent.
"""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import CALL_SECONDS, published, served

pytestmark = pytest.mark.anyio

FLUX = "black-forest-labs/FLUX.1-schnell"
RETRY_AFTER = 2.0


async def test_a_batch_cancelled_halfway_keeps_the_images_the_provider_already_made(
    standin: RunningStandIn, settings: Settings, image_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    standin.state.faults.append(Fault(status=429, retry_after=RETRY_AFTER, times=2))  # two wait to be sent again
    two_made = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message == "the provider made 2 of 4 images":
            two_made.set()

    caplog.set_level(logging.WARNING, logger="mcp_server_siliconflow_image")
    arguments = {"prompt": "a fleet", "model": FLUX, "batch_size": 4, "seed": 40}
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(CALL_SECONDS):
            async with anyio.create_task_group() as group:
                group.start_soon(partial(client.call_tool, "generate_image", arguments, progress_callback=on_progress))
                await two_made.wait()
                cancelled_at = time.monotonic()
                group.cancel_scope.cancel()  # the client gives up; the in-memory call ends once the two are saved

        kept = published(image_dir)  # each whole, with its sidecar, and no partial file
        assert sorted(path.read_bytes() for path in kept) == sorted(served(standin))
        assert len(kept) == 2
        for path in kept:
            sidecar = json.loads(path.with_name(f"{path.name}.json").read_text())
            assert sidecar["model"] == FLUX and f"_seed{sidecar['seed']}_" in path.name
        [logged] = [record.getMessage() for record in caplog.records if "cancelled" in record.getMessage()]
        assert "made 2 of 4" in logged and all(str(path) in logged for path in kept)

        # Past the moment the rate-limited requests would have been sent again: they never were.
        await anyio.sleep(max(0.0, cancelled_at + RETRY_AFTER + 0.5 - time.monotonic()))
        assert len(standin.state.requests) == 4
