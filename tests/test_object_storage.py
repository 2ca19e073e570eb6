"""Images in an S3 bucket (a real S3 API server on loopback): shared by replicas, never replaced, checked first."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import httpx
import obstore
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.cli import build_parser, settings_from_args
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.settings import Settings, SettingsError
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from mcp_server_siliconflow_image.stores import naming as storage
from mcp_server_siliconflow_image.stores.bucket import BucketStore
from tests.helpers import (
    blob_bytes,
    bucket_objects,
    first_text,
    running_http_server,
    structured_images,
    unused_port,
)
from tests.images import encode

pytestmark = pytest.mark.anyio


def bucket_store(s3_env: dict[str, str], prefix: str = "team") -> BucketStore:
    return BucketStore.from_url(f"s3://{s3_env['S3_BUCKET']}/{prefix}", url_ttl=None, max_bytes=10_000_000)


def files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


@pytest.mark.slow
async def test_two_stateless_replicas_share_one_bucket(
    standin: RunningStandIn, server_env: dict[str, str], s3_env: dict[str, str], tmp_path: Path
) -> None:
    """One replica generates, the other lists and reads the same bytes back; nothing touches either's disk."""
    location = f"s3://{s3_env['S3_BUCKET']}/team/images"
    replicas = []
    for name in ("a", "b"):
        (tmp_path / name / "home").mkdir(parents=True)
        (tmp_path / name / "work").mkdir()
        replicas.append(tmp_path / name)
    env = {**server_env, **s3_env, "SILICONFLOW_IMAGE_DIR": location, "SILICONFLOW_IMAGE_URL_TTL": "600"}
    env_a = {**env, "HOME": str(replicas[0] / "home")}
    env_b = {**env, "HOME": str(replicas[1] / "home")}
    with (
        running_http_server(env_a, "--stateless", cwd=replicas[0] / "work") as (base_a, _),
        running_http_server(env_b, "--stateless", cwd=replicas[1] / "work") as (base_b, _),
    ):
        async with Client(f"{base_a}/mcp") as client:
            result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "batch_size": 2, "seed": 5})
        async with Client(f"{base_b}/mcp") as client:
            listed = await client.list_resources()
            reads = {
                resource.uri: blob_bytes(await client.read_resource(resource.uri)) for resource in listed.resources
            }

    made = structured_images(result)
    served = [image.data for image in standin.state.images.values()]
    assert len(made) == 2 and sorted(reads) == sorted(str(image["uri"]) for image in made)
    for image in made:
        data = reads[str(image["uri"])]
        assert hashlib.sha256(data).hexdigest() == image["sha256"]
        assert data in served
        name = str(image["uri"]).removeprefix("siliconflow-image://images/")
        assert image["path"] == f"{location}/{name}"
        assert str(image["url"]).startswith(s3_env["AWS_ENDPOINT_URL"])
        assert httpx.get(str(image["url"])).content == data  # the presigned link serves the same bytes
        assert f"{location}/{name}" in first_text(result) and str(image["url"]) in first_text(result)
    objects = bucket_objects(s3_env)
    names = [str(image["uri"]).removeprefix("siliconflow-image://images/") for image in made]
    expected = [f"team/images/{name}{suffix}" for name in names for suffix in ("", ".json")]
    assert sorted(objects) == sorted([*expected, "team/images/.write-check.partial"])  # + the hidden write probe
    sidecar = json.loads(objects[f"team/images/{names[0]}.json"])
    assert sidecar["prompt"] == "a lighthouse" and sidecar["sha256"] == made[0]["sha256"]
    assert files_under(*replicas) == []  # neither replica wrote to its home or working directory


async def test_a_taken_name_gets_a_sibling_and_the_first_object_is_kept(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_file_stem", lambda stamp, seed, index: "fixed")
    store = bucket_store(s3_env)
    first, second, third = encode("PNG", (10, 10)), encode("PNG", (20, 20)), encode("PNG", (30, 30))
    foreign = BucketStore.from_url(f"s3://{s3_env['S3_BUCKET']}/team", url_ttl=None, max_bytes=10_000_000)
    a = foreign.save(first, identify(first), seed=1, index=1)  # another replica got there first
    b = store.save(second, identify(second), seed=1, index=1)
    c = store.save(third, identify(third), seed=1, index=1)
    assert [a.name, b.name, c.name] == ["fixed.png", "fixed-2.png", "fixed-3.png"]
    objects = bucket_objects(s3_env)
    assert (objects["team/fixed.png"], objects["team/fixed-2.png"], objects["team/fixed-3.png"]) == (
        first,
        second,
        third,
    )


def test_replicas_saving_the_same_name_at_once_never_collide(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_file_stem", lambda stamp, seed, index: "same")
    replicas = [bucket_store(s3_env) for _ in range(6)]  # each its own client, like separate machines
    images = [encode("PNG", (8 + index, 8)) for index in range(len(replicas))]
    names: list[str] = []
    barrier = threading.Barrier(len(replicas))

    def save(index: int) -> None:
        barrier.wait(timeout=10)
        data = images[index]
        names.append(replicas[index].save(data, identify(data), seed=1, index=1).name)

    threads = [threading.Thread(target=save, args=(index,)) for index in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    objects = bucket_objects(s3_env)
    assert len(set(names)) == len(replicas)
    assert sorted(objects.values()) == sorted(images)  # every image kept, none replaced


def test_a_sidecar_is_never_replaced(s3_env: dict[str, str]) -> None:
    store = bucket_store(s3_env)
    data = encode("PNG")
    saved = store.save(data, identify(data), seed=3, index=1)
    store.write_sidecar(saved, {"prompt": "first"})
    with pytest.raises(OSError, match="refused the record"):
        store.write_sidecar(saved, {"prompt": "second"})
    assert json.loads(bucket_objects(s3_env)[f"team/{saved.name}.json"])["prompt"] == "first"


async def test_listing_is_newest_first_paged_and_shows_only_finished_images(
    settings: Settings, s3_env: dict[str, str]
) -> None:
    store = bucket_store(s3_env)
    saved = []
    for index in range(57):
        data = encode("PNG" if index % 2 else "JPEG", (8 + index, 8))
        saved.append(store.save(data, identify(data), seed=index, index=1))
        store.write_sidecar(saved[-1], {"prompt": str(index)})
    raw = store._client
    obstore.put(raw, "team/.write-check-abc.partial", b"x")
    obstore.put(raw, "team/notes.txt", b"not an image")
    obstore.put(raw, "team/alice/20991231-000000-000000_seed1_1.png", encode("PNG"))  # a principal's own prefix
    obstore.put(raw, "elsewhere/20991231-000000-000000_seed1_1.png", encode("PNG"))

    hosted = replace(settings, image_store=f"s3://{s3_env['S3_BUCKET']}/team")
    async with Client(build_server(hosted)) as client:
        first = await client.list_resources()
        assert first.next_cursor is not None
        second = await client.list_resources(cursor=first.next_cursor)
        read = await client.read_resource(first.resources[0].uri)
        with pytest.raises(MCPError):
            await client.read_resource("siliconflow-image://images/notes.txt.png")
        with pytest.raises(MCPError):
            await client.read_resource("siliconflow-image://images/..%2Felsewhere%2F20991231-000000-000000_seed1_1.png")

    listed = first.resources + second.resources
    assert len(first.resources) == 50 and len(second.resources) == 7 and second.next_cursor is None
    assert [resource.uri for resource in listed] == [image.uri for image in reversed(saved)]
    assert [resource.size for resource in listed] == [image.size for image in reversed(saved)]
    assert blob_bytes(read) == bucket_objects(s3_env)[f"team/{saved[-1].name}"]
    assert read.contents[0].mime_type == saved[-1].mime_type
    assert not settings.image_dir.exists()


@pytest.mark.parametrize("problem", ["unreachable", "no such bucket"])
async def test_a_store_that_cannot_take_images_is_refused_before_the_provider_is_paid(
    standin: RunningStandIn,
    settings: Settings,
    s3_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
) -> None:
    bucket = s3_env["S3_BUCKET"]
    if problem == "unreachable":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port()}")
    else:
        bucket = "no-such-bucket-here"
    hosted = replace(settings, image_store=f"s3://{bucket}/team")
    async with Client(build_server(hosted)) as client:
        result = await client.call_tool("generate_image", {"prompt": "never drawn"})
    assert result.is_error
    message = first_text(result)
    assert f"SILICONFLOW_IMAGE_DIR=s3://{bucket}/team cannot hold images" in message
    assert ("could not be reached" if problem == "unreachable" else "does not exist") in message
    assert standin.state.requests == []
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gs://bucket/images", "must be an absolute folder or s3://bucket/prefix"),
        ("s3://Bad_Bucket/images", "is not a usable s3://bucket/prefix"),
        ("s3://bucket/../escape", "is not a usable s3://bucket/prefix"),
    ],
)
def test_bad_object_store_urls_are_refused_at_start(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.load({"SILICONFLOW_IMAGE_DIR": value})


@pytest.mark.parametrize("ttl", ["0", "-1", "soon", "604801"])
def test_url_ttl_must_be_seconds_within_a_week(ttl: str) -> None:
    with pytest.raises(SettingsError, match="SILICONFLOW_IMAGE_URL_TTL must be a whole number of seconds"):
        Settings.load({"SILICONFLOW_IMAGE_DIR": "s3://bucket/images", "SILICONFLOW_IMAGE_URL_TTL": ttl})


def test_url_ttl_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs SILICONFLOW_IMAGE_DIR=s3://bucket/prefix"):
        Settings.load({"SILICONFLOW_IMAGE_DIR": str(tmp_path), "SILICONFLOW_IMAGE_URL_TTL": "60"})


async def test_folder_results_say_no_url(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "on disk"})
    [image] = structured_images(result)
    assert image["url"] is None and Path(str(image["path"])).read_bytes()
    assert "link (expires)" not in first_text(result)


async def test_an_image_that_fails_midway_leaves_no_object(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str]
) -> None:
    """Image 2 of the batch is cut short: image 1 is stored with its sidecar, image 2 left nothing behind."""
    standin.state.faults.append(Fault(target="download", kind="truncate", index=2, times=99))
    hosted = replace(settings, image_store=f"s3://{s3_env['S3_BUCKET']}/team")
    async with Client(build_server(hosted)) as client:
        result = await client.call_tool("generate_image", {"prompt": "half", "batch_size": 2})
    [image] = structured_images(result)
    assert result.structured_content is not None and result.structured_content["failed"][0]["index"] == 2
    name = str(image["uri"]).removeprefix("siliconflow-image://images/")
    assert sorted(bucket_objects(s3_env)) == sorted([f"team/{name}", f"team/{name}.json", "team/.write-check.partial"])


async def test_a_store_that_accepts_connections_but_never_answers_is_refused_before_the_provider(
    standin: RunningStandIn, settings: Settings, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel's backlog; nothing ever reads or answers them
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        hosted = replace(settings, image_store=f"s3://{s3_env['S3_BUCKET']}/team")
        async with Client(build_server(hosted)) as client:
            result = await client.call_tool("generate_image", {"prompt": "never drawn"})
    assert result.is_error and "cannot hold images" in first_text(result)
    assert standin.state.requests == []


def test_flags_name_a_bucket_its_link_lifetime_and_a_token_file(tmp_path: Path) -> None:
    options = build_parser().parse_args(
        ["--image-dir", "s3://team-images/a/b/", "--image-url-ttl", "120", "--mcp-tokens-file", str(tmp_path / "t")]
    )
    settings = settings_from_args(options)
    assert (settings.image_store, settings.image_url_ttl) == ("s3://team-images/a/b", 120)
    assert settings.mcp_tokens_file == tmp_path / "t" and settings.image_location == "s3://team-images/a/b"
