"""Saved files: whole or absent, never overwriting one another, and only readable inside the image folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.stores import naming as storage
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.images import encode


def test_save_writes_exact_bytes_under_a_sortable_name(tmp_path: Path) -> None:
    data = encode("PNG")
    saved = FolderStore(tmp_path / "new" / "dir").save(data, identify(data), seed=42, index=1)
    assert saved.path.read_bytes() == data
    assert saved.path.name.endswith("_seed42_1.png")
    assert saved.uri == f"siliconflow-image://images/{saved.path.name}"
    assert (saved.width, saved.height, saved.size) == (64, 48, len(data))
    assert [p.name for p in saved.path.parent.iterdir()] == [saved.path.name]  # no temp file left


def test_same_name_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "_file_stem", lambda stamp, seed, index: "fixed")
    store = FolderStore(tmp_path)
    first, second = encode("PNG", (10, 10)), encode("PNG", (20, 20))
    a = store.save(first, identify(first), seed=1, index=1)
    b = store.save(second, identify(second), seed=1, index=1)
    assert a.path != b.path
    assert (a.path.read_bytes(), b.path.read_bytes()) == (first, second)
    assert b.path.name == "fixed-2.png"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_link(source: object, target: object) -> None:
        raise FileExistsError

    monkeypatch.setattr(os, "link", broken_link)
    data = encode("PNG")
    with pytest.raises(FileExistsError):
        FolderStore(tmp_path).save(data, identify(data), seed=1, index=1)
    assert list(tmp_path.iterdir()) == []


def test_names_sort_in_creation_order(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    data = encode("JPEG")
    names = [store.save(data, identify(data), seed=7, index=i).path.name for i in (1, 2, 3)]
    assert sorted(names) == names


@pytest.mark.parametrize("name", ["../secret.png", "..", "a/b.png", ".hidden.png", "", "x.partial"])
def test_resolve_refuses_names_outside_or_hidden(tmp_path: Path, name: str) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    with pytest.raises(FileNotFoundError):
        FolderStore(tmp_path / "images").read(name)


def test_resolve_refuses_symlink_escaping_the_folder(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (tmp_path / "outside.png").write_bytes(encode("PNG"))
    os.symlink(tmp_path / "outside.png", images / "link.png")
    with pytest.raises(FileNotFoundError):
        FolderStore(images).read("link.png")
