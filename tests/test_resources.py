"""Saved images as resources: listed newest first in pages, readable in full, never outside the image folder."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.conftest import blob_bytes
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
