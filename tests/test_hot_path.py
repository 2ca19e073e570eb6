"""What the hot path's speed-ups must not change: durable names, exact bytes, previews in budget.

The folder sync is shared with the sidecar's (one journal commit instead of two), so these tests watch the
real `os.fsync` calls (recording them, then doing them) to prove every saved name is still made durable
before the result returns, also when the sidecar cannot be written.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import stat
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from PIL import Image

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.pipeline import previews
from mcp_server_siliconflow_image.pipeline.previews import make_preview
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn, noise_png, render_image
from mcp_server_siliconflow_image.stores import folder as storage
from mcp_server_siliconflow_image.stores.naming import SavedImage
from tests.helpers import CALL_SECONDS, wait_event

pytestmark = pytest.mark.anyio


def record_fsyncs(monkeypatch: pytest.MonkeyPatch, image_dir: Path) -> list[tuple[str, set[str]]]:
    """Each fsync as (what was synced: 'folder' or 'file', the image folder's visible names at that moment)."""
    calls: list[tuple[str, set[str]]] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "file"
        visible = {name for name in os.listdir(image_dir) if not name.startswith(".")} if image_dir.exists() else set()
        real_fsync(descriptor)
        calls.append((kind, visible))

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


async def test_each_saved_name_is_synced_once_with_its_sidecar(
    standin: RunningStandIn, settings: Settings, image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(build_server(settings)) as client:
        await client.call_tool("generate_image", {"prompt": "warm-up"})
        calls = record_fsyncs(monkeypatch, image_dir)
        result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "batch_size": 2})
    assert not result.is_error
    names = {Path(image["path"]).name for image in result.structured_content["images"]}
    folder_syncs = [visible for kind, visible in calls if kind == "folder"]
    for name in names:
        # the data was synced before the name existed, and a folder sync came after the name and its sidecar
        assert any(kind == "file" and name not in visible for kind, visible in calls)
        assert any(name in visible and f"{name}.json" in visible for visible in folder_syncs)
    assert len(folder_syncs) == len(names)  # one per image: the sidecar's sync covers the image's name


async def test_a_name_is_synced_even_when_its_sidecar_cannot_be_written(
    standin: RunningStandIn, settings: Settings, image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "sidecar_text", disk_full)  # the disk fills while the record is written
    calls = record_fsyncs(monkeypatch, image_dir)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a lighthouse"})
    assert not result.is_error
    [image] = result.structured_content["images"]
    name = Path(image["path"]).name
    assert any(kind == "folder" and name in visible for kind, visible in calls)
    assert any("could not be written: the disk is full" in note for note in result.structured_content["notes"])


async def test_saved_file_is_exactly_the_providers_bytes(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.image_kind = "noise"
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "static", "seed": 5, "image_size": "1024x1024"})
    [image] = result.structured_content["images"]
    expected, _ = render_image("noise", "static", 5, (1024, 1024), 1)
    saved = Path(image["path"]).read_bytes()
    assert saved == expected
    assert image["sha256"] == hashlib.sha256(expected).hexdigest()
    assert image["inline"] == "preview"


def test_a_large_image_is_synced_in_the_background_as_it_arrives_and_whole_before_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[tuple[str, int]] = []  # (who synced, the file's size then)
    real_fdatasync, real_fsync = os.fdatasync, os.fsync

    def fdatasync(descriptor: int) -> None:
        synced.append(("background", os.fstat(descriptor).st_size))
        real_fdatasync(descriptor)

    def fsync(descriptor: int) -> None:
        synced.append(("publish", os.fstat(descriptor).st_size))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "fsync", fsync)
    data = noise_png((1024, 1024), seed=1)  # 3 MB
    pending = storage.FolderStore(tmp_path).pending()
    for at in range(0, len(data), 64 * 1024):
        pending.write(data[at : at + 64 * 1024])
        time.sleep(0.002)  # a download over a real network: the bytes come over time
    saved = pending.publish(identify(data), seed=1, index=1)
    for thread in threading.enumerate():
        if thread.name == "write-back":
            thread.join(timeout=10)
    assert any(who == "background" for who, _ in synced)
    assert ("publish", len(data)) in synced  # the whole file, synced before it got its name
    assert saved.path.read_bytes() == data


SOURCES = {
    "noise": noise_png((1024, 1024), seed=1234),
    "drawn": render_image("pattern", "a red kite", 1, (1024, 1024), 1)[0],
    "photo-like": render_image("jpeg", "a red kite", 1, (960, 1280), 1)[0],
    "wide, tiles at the edges": noise_png((2050, 530), seed=7),
}


@pytest.mark.parametrize("budget", [60_000, 225_000, 450_000, 900_000, 940_000])
@pytest.mark.parametrize("kind", list(SOURCES))
def test_the_size_prediction_changes_the_work_not_the_preview(
    kind: str, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping encodes the tile sample predicts cannot fit gives the very preview trying them all would."""
    chosen = make_preview(SOURCES[kind], budget)
    monkeypatch.setattr(previews, "PREDICTION_SLACK", 0.0)  # never skip: every candidate is encoded
    exhaustive = make_preview(SOURCES[kind], budget)
    assert chosen is not None and exhaustive is not None
    assert chosen == exhaustive
    assert len(chosen.data_base64) <= budget
    Image.open(io.BytesIO(base64.b64decode(chosen.data_base64))).load()


def test_a_noisy_3mb_png_previews_at_full_size_within_the_default_budget() -> None:
    preview = make_preview(SOURCES["noise"], 900_000)
    assert preview is not None and (preview.width, preview.height) == (1024, 1024)
    assert len(preview.data_base64) <= 900_000


async def test_a_call_cancelled_while_publishing_still_leaves_a_durable_name_and_its_sidecar(
    standin: RunningStandIn, settings: Settings, image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client gives up while the file is being published: publishing waits until the cancellation was
    delivered (the in-memory client runs the tool in the calling task, so cancelling it cancels the tool at
    once), so the order is certain however loaded the machine, and nothing waits on a clock."""
    real_publish = storage.PendingImage.publish
    publishing, given_up = threading.Event(), threading.Event()

    def publish_after_the_cancel(self: storage.PendingImage, *args: Any, **kwargs: Any) -> SavedImage:
        publishing.set()
        assert given_up.wait(CALL_SECONDS), "the test never cancelled the call"
        return real_publish(self, *args, **kwargs)

    monkeypatch.setattr(storage.PendingImage, "publish", publish_after_the_cancel)
    calls = record_fsyncs(monkeypatch, image_dir)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(CALL_SECONDS):
            async with anyio.create_task_group() as group:
                group.start_soon(partial(client.call_tool, "generate_image", {"prompt": "given up on"}))
                await wait_event(publishing, "publishing")
                group.cancel_scope.cancel()
                given_up.set()
    [image] = [path for path in image_dir.iterdir() if path.suffix == ".png"]
    assert (image_dir / f"{image.name}.json").exists()
    assert any(kind == "folder" and image.name in visible for kind, visible in calls)
