"""Video job records in both stores (a folder, a bucket on a real S3 API): whole, created once, per principal."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_siliconflow_image.stores.base import Store
from mcp_server_siliconflow_image.stores.bucket import BucketStore
from mcp_server_siliconflow_image.stores.folder import FolderStore

JOB = "0123456789abcdef0123456789abcdef"


@pytest.fixture(params=["folder", "bucket"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "folder":
        return FolderStore(tmp_path / "images")
    s3_env = request.getfixturevalue("s3_env")
    return BucketStore.from_url(f"s3://{s3_env['S3_BUCKET']}/team", url_ttl=None, max_bytes=10_000_000)


def test_of_two_creates_of_one_record_exactly_the_first_wins_and_it_is_kept_whole(store: Store) -> None:
    shelf = store.jobs
    assert shelf.create(f"{JOB}.claim-1", b"first") is True
    assert shelf.create(f"{JOB}.claim-1", b"second") is False
    assert shelf.read(f"{JOB}.claim-1") == b"first"
    shelf.replace(f"{JOB}.json", b'{"status": "working"}')
    shelf.replace(f"{JOB}.json", b'{"status": "completed"}')
    assert shelf.read(f"{JOB}.json") == b'{"status": "completed"}'
    assert sorted(shelf.names()) == [f"{JOB}.claim-1", f"{JOB}.json"]


def test_a_principals_records_are_its_own_and_are_never_images(store: Store) -> None:
    store.jobs.create(f"{JOB}.json", b"{}")
    assert store.for_principal("alice").jobs.names() == []
    with pytest.raises(FileNotFoundError):
        store.for_principal("alice").jobs.read(f"{JOB}.json")
    assert store.recent(before=None, limit=10) == ([], None)


@pytest.mark.parametrize("name", ["../../etc/passwd", f"{JOB}/../x", "x.json", f"{JOB[:-1]}.json", ".hidden.json"])
def test_nothing_but_a_job_records_name_is_read_or_written(store: Store, name: str) -> None:
    with pytest.raises(FileNotFoundError):
        store.jobs.read(name)
    with pytest.raises(ValueError, match="not a job record's name"):
        store.jobs.create(name, b"{}")
