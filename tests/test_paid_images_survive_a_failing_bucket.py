"""A bucket that fails after the pre-flight check, loses a committed write's answer, or stalls: no paid image is lost.

The bucket is the real S3 API server (moto's) behind a fault-injecting proxy (tests/s3_faults.py): the probe
passes, then image writes fail. Images arrive inline (`b64_json`, as gateways answer), so the provider keeps
no copy: the bucket's failure must not lose them. Errors name the store and its status, never its address,
an object key or a credential.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import CallToolResult, ImageContent

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn, StandInState, render_image
from mcp_server_siliconflow_image.stores import bucket
from mcp_server_siliconflow_image.stores.naming import RESOURCE_PREFIX
from tests.helpers import blob_bytes, bucket_objects, first_text, structured_images, wait_event
from tests.s3_faults import FaultyS3, StoreFault

pytestmark = pytest.mark.anyio

IMAGE_WRITES = r"/team/[0-9][^/]*\.png$"
"""The image objects' PUTs (not the probe's, not the sidecars')."""
SIDECAR_WRITES = r"/team/[0-9][^/]*\.png\.json$"


def hosted(settings: Settings, s3_env: dict[str, str]) -> Settings:
    return replace(settings, image_store=f"s3://{s3_env['S3_BUCKET']}/team")


@asynccontextmanager
async def refusing_images(
    standin: RunningStandIn, store: Settings, faults: FaultyS3, status: int
) -> AsyncIterator[Client]:
    """A client of a server whose provider answers inline (`b64_json`: it keeps no copy) and whose bucket passed
    its check, then refuses every image write with `status`; the bucket takes writes again once the block ends."""
    standin.state.response_shape = "b64_json"
    refusing = faults.add(StoreFault("status", path=IMAGE_WRITES, status=status, times=99))
    async with Client(build_server(store)) as client:
        yield client
    refusing.times = 0


def notes_of(result: CallToolResult) -> str:
    assert result.structured_content is not None
    return "\n".join(result.structured_content["notes"])


def provider_bytes(prompt: str, seed: int, count: int) -> list[bytes]:
    """What a stand-in of the default image kind serves for this prompt and seed."""
    kind = StandInState().image_kind
    return [render_image(kind, prompt, seed, (1024, 1024), index)[0] for index in range(1, count + 1)]


def name_of(image: dict[str, object]) -> str:
    return str(image["uri"]).removeprefix(RESOURCE_PREFIX)


def assert_says_nothing_internal(text: str, s3_env: dict[str, str], proxy: FaultyS3) -> None:
    assert f"{proxy.upstream.hostname}:{proxy.upstream.port}" not in text  # the S3 server behind the proxy
    assert s3_env["AWS_ENDPOINT_URL"] not in text and "127.0.0.1" not in text
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in text and s3_env["AWS_ACCESS_KEY_ID"] not in text
    assert "Free space" not in text  # a folder's advice, wrong for a bucket


async def test_inline_images_the_bucket_refuses_after_the_check_are_kept_shown_and_moved_in_later(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3
) -> None:
    store = hosted(settings, s3_env)
    async with refusing_images(standin, store, s3_faults, 500) as client:
        result = await client.call_tool("generate_image", {"prompt": "a harbour", "seed": 8, "batch_size": 2})
        images = structured_images(result)
        reads = [blob_bytes(await client.read_resource(str(image["uri"]))) for image in images]

    expected = provider_bytes("a harbour", 8, 2)
    kept_folder = settings.kept_aside_dir / s3_env["S3_BUCKET"] / "team"
    assert [Path(str(image["path"])).parent for image in images] == [kept_folder, kept_folder]
    assert [Path(str(image["path"])).read_bytes() for image in images] == expected  # durable on this machine
    assert [(kept_folder / f"{name_of(image)}.json").exists() for image in images] == [True, True]
    shown = [base64.b64decode(block.data) for block in result.content if isinstance(block, ImageContent)]
    assert shown == expected and [image["inline"] for image in images] == ["original", "original"]
    assert reads == expected  # the resource links work while the images wait here
    notes = notes_of(result)
    assert notes.count("the store answered HTTP 500") == 2 and f"kept on this server at {kept_folder}" in notes
    assert "moves to s3://" in notes
    assert_says_nothing_internal(first_text(result) + notes, s3_env, s3_faults)
    assert all(key.endswith(".write-check.partial") for key in bucket_objects(s3_env))

    # The bucket takes writes again: the next call's pre-flight check moves them in.
    async with Client(build_server(store)) as client:
        later = await client.call_tool("generate_image", {"prompt": "the next one", "seed": 9})
        reads_after = [blob_bytes(await client.read_resource(str(image["uri"]))) for image in images]
    objects = bucket_objects(s3_env)
    for image, data in zip(images, expected, strict=True):
        assert objects[f"team/{name_of(image)}"] == data
        sidecar = json.loads(objects[f"team/{name_of(image)}.json"])
        assert sidecar["prompt"] == "a harbour" and sidecar["file"] == name_of(image)
        assert any("moved in later" in note for note in sidecar["notes"])
    assert reads_after == expected
    assert list(kept_folder.iterdir()) == []
    assert str(structured_images(later)[0]["path"]).startswith("s3://")


async def test_images_kept_aside_move_into_the_bucket_at_the_next_start(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3
) -> None:
    store = hosted(settings, s3_env)
    async with refusing_images(standin, store, s3_faults, 503) as client:
        [image] = structured_images(await client.call_tool("generate_image", {"prompt": "a quay", "seed": 3}))
    async with Client(build_server(store)):  # a restarted server; no call made
        pass
    objects = bucket_objects(s3_env)
    assert objects[f"team/{name_of(image)}"] == provider_bytes("a quay", 3, 1)[0]
    assert f"team/{name_of(image)}.json" in objects
    assert not Path(str(image["path"])).exists()


async def test_an_image_neither_the_bucket_nor_this_server_can_keep_is_reported_with_its_link(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder for kept images would go")
    s3_faults.add(StoreFault("status", path=IMAGE_WRITES, status=500, times=99))
    store = replace(hosted(settings, s3_env), kept_aside_dir=blocked)
    async with Client(build_server(store)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a jetty"})
    assert result.is_error
    text = first_text(result)
    assert "could not be saved: the bucket refused the image: the store answered HTTP 500" in text
    assert "keeping it on this server failed too" in text
    assert "Check that the object store is up" in text
    assert "The provider's link stays valid until about" in text and f"{standin.origin}/files/" in text
    assert "team/2" not in text  # no object key
    assert_says_nothing_internal(text.replace(standin.origin, "<provider>"), s3_env, s3_faults)


async def test_a_write_whose_answer_was_lost_stores_the_image_once_with_one_sidecar(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3
) -> None:
    """The store commits the image and its sidecar, and each answer is lost: the client's retry finds its own
    object (same bytes) instead of storing a second copy under `-2`."""
    image_answer_lost = s3_faults.add(StoreFault("drop_answer", path=IMAGE_WRITES))
    sidecar_answer_lost = s3_faults.add(StoreFault("drop_answer", path=SIDECAR_WRITES))
    async with Client(build_server(hosted(settings, s3_env))) as client:
        result = await client.call_tool("generate_image", {"prompt": "a buoy", "seed": 4})
    [image] = structured_images(result)
    assert image_answer_lost.fired.is_set() and sidecar_answer_lost.fired.is_set()
    name = name_of(image)
    assert sorted(bucket_objects(s3_env)) == sorted([f"team/{name}", f"team/{name}.json", "team/.write-check.partial"])
    assert [seen.answered for seen in s3_faults.writes(f"/team/{name}$")] == [None, 412]  # lost, then found
    assert json.loads(bucket_objects(s3_env)[f"team/{name}.json"])["sha256"] == image["sha256"]
    assert notes_of(result) == ""  # no "record could not be written"


async def test_a_stalled_bucket_is_given_up_and_the_image_kept_then_stored_once(
    standin: RunningStandIn,
    settings: Settings,
    s3_env: dict[str, str],
    s3_faults: FaultyS3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writes hang; the client gives up after its timeout and the image is kept here. The held write lands
    later anyway (as a stalled store's often do): moving the kept image in finds it and stores nothing twice."""
    monkeypatch.setattr(bucket, "_CLIENT_OPTIONS", {**bucket._CLIENT_OPTIONS, "timeout": timedelta(seconds=1)})
    monkeypatch.setattr(bucket, "_RETRIES", {**bucket._RETRIES, "max_retries": 1})
    standin.state.response_shape = "b64_json"
    stall = s3_faults.add(StoreFault("stall", path=IMAGE_WRITES, times=99))
    store = hosted(settings, s3_env)
    async with Client(build_server(store)) as client:
        result = await client.call_tool("generate_image", {"prompt": "fog", "seed": 6})
    [image] = structured_images(result)
    assert "the store did not answer in time" in notes_of(result)
    assert Path(str(image["path"])).read_bytes() == provider_bytes("fog", 6, 1)[0]

    stall.times = 0
    stall.released.set()  # the held writes reach the store now
    await wait_event(stall.fired, "the stall")
    async with Client(build_server(store)) as client:
        await client.call_tool("generate_image", {"prompt": "clear", "seed": 7})
    objects = bucket_objects(s3_env)
    copies = [key for key, data in objects.items() if data == provider_bytes("fog", 6, 1)[0]]
    assert copies == [f"team/{name_of(image)}"]
    assert f"team/{name_of(image)}.json" in objects


async def test_a_bucket_that_fails_the_check_says_its_status_without_its_address(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3
) -> None:
    s3_faults.add(StoreFault("status", path=r"\.write-check\.partial$", status=500, times=99))
    async with Client(build_server(hosted(settings, s3_env))) as client:
        result = await client.call_tool("generate_image", {"prompt": "never drawn"})
    assert result.is_error
    text = first_text(result)
    assert "cannot hold images: the store answered HTTP 500 (a failure on the store's side)" in text
    assert ".write-check" not in text
    assert_says_nothing_internal(text, s3_env, s3_faults)
    assert standin.state.requests == []


async def test_a_resource_the_bucket_cannot_read_says_its_status_without_its_address(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], s3_faults: FaultyS3
) -> None:
    async with Client(build_server(hosted(settings, s3_env))) as client:
        [image] = structured_images(await client.call_tool("generate_image", {"prompt": "a pier"}))
        s3_faults.add(StoreFault("status", method="GET", path=IMAGE_WRITES, status=500, times=99))
        with pytest.raises(Exception) as refused:
            await client.read_resource(str(image["uri"]))
    text = str(refused.value)
    assert "the bucket could not be read: the store answered HTTP 500" in text
    assert "team/" not in text
    assert_says_nothing_internal(text, s3_env, s3_faults)


def test_an_image_kept_aside_is_its_principals_alone(
    s3_env: dict[str, str], s3_faults: FaultyS3, tmp_path: Path
) -> None:
    """Kept on the server, a principal's image is still only its own: no other principal (nor the operator's
    view of the prefix) reads it by name or by its path."""
    s3_faults.add(StoreFault("status", path=r"/team/alice/[0-9][^/]*\.png$", status=500, times=99))
    team = bucket.BucketStore.from_url(
        f"s3://{s3_env['S3_BUCKET']}/team", url_ttl=None, max_bytes=10_000_000, kept_aside_dir=tmp_path / "kept"
    )
    alice, bob = team.for_principal("alice"), team.for_principal("bob")
    data = provider_bytes("mine", 1, 1)[0]
    saved = alice.save(data, identify(data), seed=1, index=1)
    assert (
        saved.kept_aside is not None
        and Path(saved.location).parent == tmp_path / "kept" / s3_env["S3_BUCKET"] / "team" / "alice"
    )
    assert alice.read(saved.name) == data and alice.name_at(saved.location) == saved.name
    for other in (bob, team):
        with pytest.raises(FileNotFoundError):
            other.read(saved.name)
        assert other.name_at(saved.location) is None
