"""Saved images as resources: listed newest first in pages, readable in full, never outside the image folder."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.helpers import CALL_SECONDS, blob_bytes
from tests.images import encode

pytestmark = pytest.mark.anyio


async def test_list_is_newest_first_and_paged(settings: Settings) -> None:
    store = FolderStore(settings.image_dir)
    saved = []
    for index in range(57):
        data = encode("PNG" if index % 2 else "JPEG", (8 + index, 8))
        saved.append(store.save(data, identify(data), seed=index, index=1))
    (settings.image_dir / ".half-written.partial").write_bytes(b"x")
    (settings.image_dir / "notes.txt").write_text("not an image")

    async with Client(build_server(settings)) as client:
        first = await client.list_resources()
        assert first.next_cursor is not None
        second = await client.list_resources(cursor=first.next_cursor)
        listed = first.resources + second.resources
        newest = listed[0]
        read = await client.read_resource(newest.uri)
        templates = await client.list_resource_templates()

    assert len(first.resources) == 50 and len(second.resources) == 7 and second.next_cursor is None
    assert [resource.uri for resource in listed] == [image.uri for image in reversed(saved)]
    assert newest.mime_type == saved[-1].mime_type == "image/jpeg"
    assert newest.size == saved[-1].size
    assert blob_bytes(read) == saved[-1].path.read_bytes()
    assert read.contents[0].mime_type == "image/jpeg"
    assert all(str(settings.image_dir) not in resource.uri for resource in listed)
    assert {template.mime_type for template in templates.resource_templates} == {
        "image/png",
        "image/jpeg",
        "image/webp",
        "video/mp4",  # the videos of video jobs
        "application/json",  # each image's sidecar, at the image's URI plus .json
    }


async def test_empty_folder_lists_nothing(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        listing = await client.list_resources()
    assert listing.resources == [] and listing.next_cursor is None


@pytest.mark.parametrize(
    "uri",
    [
        "siliconflow-image://images/../secret.png",
        "siliconflow-image://images/%2E%2E%2Fsecret.png",
        "siliconflow-image://images/..%2F..%2Fetc%2Fpasswd.png",
        "siliconflow-image://images/missing.png",
        "siliconflow-image://images/.hidden.png",
    ],
)
async def test_uris_outside_the_folder_or_missing_are_refused(settings: Settings, uri: str) -> None:
    settings.image_dir.mkdir(parents=True)
    (settings.image_dir.parent / "secret.png").write_bytes(encode("PNG"))
    (settings.image_dir / ".hidden.png").write_bytes(encode("PNG"))
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError):
            await client.read_resource(uri)


async def test_a_bad_cursor_is_an_invalid_params_error(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError, match="invalid cursor"):
            await client.list_resources(cursor="%%%not-base64%%%")


async def test_resources_read_of_a_fifo_in_the_image_folder_does_not_hang(settings: Settings, image_dir: Path) -> None:
    """A FIFO named like an image (the folder may be shared storage) is refused at once with an error: reading it
    does not block a worker thread until some writer appears, so such names cannot starve the server."""
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


async def test_resources_list_survives_an_image_deleted_while_listing(
    settings: Settings, image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image deleted between the folder scan and its stat (a user tidying the folder, a sibling instance) is
    left out of resources/list; the rest of the listing is still answered."""
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
