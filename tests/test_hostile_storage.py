"""Paid work is never lost: unusable folders are refused before paying, full disks and broken images cost only
what they must, and what a killed process left behind is cleaned up or rescued. Driven through real clients."""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn, render_image
from mcp_server_siliconflow_image.stores import folder
from mcp_server_siliconflow_image.stores import naming as storage
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.helpers import first_text, generate, stdio_params
from tests.images import encode

pytestmark = pytest.mark.anyio


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small real file system (read-only, or quickly full), as a user's USB stick or quota would be."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"mounting a tmpfs failed under CI: {mounted.stderr.decode()}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name.startswith(".")) if folder.exists() else []


@pytest.mark.parametrize(
    ("folder", "cause"),
    [
        ("under-a-file", "part of the path is a file, not a folder"),
        ("relative", "must be an absolute folder path"),
        ("placeholder", "a placeholder your MCP client did not fill in"),
    ],
)
async def test_an_unusable_image_folder_is_refused_before_paying(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path, folder: str, cause: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    value = {
        "under-a-file": str(tmp_path / "a-file" / "images"),
        "relative": "images",
        "placeholder": "${user_config.image_dir}",
    }[folder]
    result = await generate(stdio_params({**server_env, "SILICONFLOW_IMAGE_DIR": value}), prompt="a kite")
    assert result.is_error
    text = first_text(result)
    assert "SILICONFLOW_IMAGE_DIR" in text and cause in text and "Nothing was sent to the provider" in text
    assert not text.startswith("Error executing tool")
    assert standin.state.requests == []  # not a credit spent


@pytest.mark.slow
async def test_a_read_only_folder_is_refused_before_paying(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as folder:
        result = await generate(stdio_params({**server_env, "SILICONFLOW_IMAGE_DIR": str(folder)}), prompt="a kite")
    assert result.is_error and "read-only file system" in first_text(result)
    assert standin.state.requests == []


@pytest.mark.slow
async def test_a_full_disk_is_refused_before_paying(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "full", "64k") as folder:
        with contextlib.suppress(OSError):
            (folder / "filler").write_bytes(b"x" * 1024 * 1024)
        result = await generate(stdio_params({**server_env, "SILICONFLOW_IMAGE_DIR": str(folder)}), prompt="a kite")
    assert result.is_error and "the disk is full" in first_text(result)
    assert standin.state.requests == []


@pytest.mark.slow
async def test_a_disk_that_fills_mid_batch_keeps_what_fits_and_says_how_to_rescue_the_rest(
    standin: RunningStandIn, server_env: dict[str, str], tmp_path: Path
) -> None:
    standin.state.image_kind = "noise"  # incompressible: 512x512 is ~790 KB each
    with tmpfs(tmp_path / "small", "2m") as folder:
        result = await generate(
            stdio_params({**server_env, "SILICONFLOW_IMAGE_DIR": str(folder)}),
            prompt="a kite",
            batch_size=4,
            image_size="512x512",
        )
        saved = result.structured_content["images"] if result.structured_content else []
        failed = result.structured_content["failed"] if result.structured_content else []
        assert leftovers(folder) == []  # no half-written file stays behind
        on_disk = {path.name: path.read_bytes() for path in folder.iterdir() if not path.name.endswith(".json")}
    assert saved and failed, first_text(result)
    assert len(saved) + len(failed) == 4
    served = {image.data for image in standin.state.images.values()}
    assert all(on_disk[Path(image["path"]).name] in served for image in saved)  # every saved file is whole
    for failure in failed:
        assert "was generated but could not be saved: the disk is full" in failure["error"]
        assert "link stays valid until about" in failure["error"] and "/files/" in failure["error"]
    assert f"Image {failed[0]['index']} failed" in first_text(result)


async def test_a_sidecar_that_cannot_be_written_costs_a_note_not_the_image(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_: object) -> None:  # the disk fills exactly between the image and its record
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FolderStore, "write_sidecar", disk_full)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a kite"})
    assert not result.is_error, first_text(result)
    [image] = result.structured_content["images"]
    assert Path(image["path"]).read_bytes() == next(iter(standin.state.images.values())).data
    assert any(
        "is saved, but its record" in note and "the disk is full" in note for note in result.structured_content["notes"]
    )


@pytest.mark.parametrize(
    ("kind", "problem"), [("corrupt", "its picture data cannot be decoded"), ("huge", "30000x30000 is over the 25")]
)
async def test_an_undecodable_image_is_saved_but_never_sent_inline(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path, kind: str, problem: str
) -> None:
    standin.state.faults.append(Fault(target="download", kind=kind, index=2))
    result = await generate(stdio_params(server_env), prompt="a kite", batch_size=3, seed=5)
    assert not result.is_error, first_text(result)
    images = result.structured_content["images"]
    assert [image["inline"] for image in images] == ["original", "none", "original"]
    assert problem in images[1]["problem"] and images[0]["problem"] is None
    broken = Path(images[1]["path"]).read_bytes()
    assert identify(broken).mime_type == "image/png"  # kept exactly as the provider served it (paid for)
    inline = [base64.b64decode(block.data) for block in result.content if isinstance(block, ImageContent)]
    assert broken not in inline and len(inline) == 2  # the client is never handed bytes it cannot decode
    assert problem in first_text(result) and images[1]["path"] in first_text(result)


@pytest.mark.slow
async def test_a_broken_image_that_would_need_a_preview_is_not_sent_either(
    standin: RunningStandIn, server_env: dict[str, str]
) -> None:
    standin.state.image_kind = "noise"  # 3 MB originals: every image block is a preview
    standin.state.faults.append(Fault(target="download", kind="corrupt"))
    result = await generate(stdio_params(server_env), prompt="a kite")
    assert not result.is_error
    [image] = result.structured_content["images"]
    assert image["inline"] == "none" and "cannot be decoded" in image["problem"]
    assert not [block for block in result.content if isinstance(block, ImageContent)]


def old_partial(folder: Path, name: str, data: bytes, age: float = 7200) -> Path:
    path = folder / name
    path.write_bytes(data)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.slow
async def test_at_start_stale_partials_are_rescued_or_removed_but_live_ones_are_left(
    standin: RunningStandIn, server_env: dict[str, str], image_dir: Path
) -> None:
    image_dir.mkdir(parents=True)
    whole, _ = render_image("pattern", "left behind", 3, (128, 128), 1)
    old_partial(image_dir, ".0123456789abcdef.partial", whole)  # complete and valid: paid for, rescued
    old_partial(image_dir, ".1111111111111111.partial", whole[: len(whole) // 2])  # truncated: removed
    fresh = old_partial(image_dir, ".2222222222222222.partial", whole[:100], age=5)  # a sibling writing now
    held = old_partial(image_dir, ".3333333333333333.partial", whole[:100])  # old, but a live sibling holds it
    with open(held, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        async with Client(stdio_params(server_env)) as client:
            listed = await client.list_resources()
        remaining = leftovers(image_dir)
    assert remaining == [fresh.name, held.name]
    [rescued] = listed.resources
    assert (image_dir / rescued.name).read_bytes() == whole
    assert "_seed-unknown_" in rescued.name
    assert "Recovered at start-up" in (image_dir / f"{rescued.name}.json").read_text()


def test_without_hard_links_a_save_still_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hard_links(source: object, target: object) -> None:  # FAT, exFAT and some network shares
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    monkeypatch.setattr(storage, "_file_stem", lambda stamp, seed, index: "same")
    store = FolderStore(tmp_path)
    first, second = encode("PNG", (10, 10)), encode("PNG", (20, 20))
    a = store.save(first, identify(first), seed=1, index=1)
    b = store.save(second, identify(second), seed=1, index=1)
    assert (a.path.name, b.path.name) == ("same.png", "same-2.png")
    assert (a.path.read_bytes(), b.path.read_bytes()) == (first, second)
    assert leftovers(tmp_path) == []


def test_a_partial_still_hard_linked_to_its_published_image_is_not_recovered_twice(image_dir: Path) -> None:
    """A server killed while publishing (the image already linked to its final name, the temporary name not yet
    removed) leaves the temporary name as a second link to the published image. The next start removes it
    instead of rescuing it: the folder holds the paid image once, not again as an interrupted download."""
    image_dir.mkdir(parents=True)
    published = image_dir / "20260101-000000-000000_seed1_1.png"
    published.write_bytes(encode("PNG", (64, 64)))
    temp = image_dir / ".0123456789abcdef.partial"
    os.link(published, temp)
    old = published.stat().st_mtime - 7200
    os.utime(temp, (old, old))
    FolderStore(image_dir).recover_partials()
    assert sorted(path.name for path in image_dir.iterdir()) == [published.name]


def test_a_rescued_partial_whose_record_cannot_be_written_is_not_rescued_again_at_every_start(
    image_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk with room for a rescued image but not for its record (the .json sidecar) still ends the partial:
    three restarts leave one rescued image, not one more copy of it per start."""
    image_dir.mkdir(parents=True)
    temp = image_dir / ".fedcba9876543210.partial"
    temp.write_bytes(encode("PNG", (64, 64)))
    old = temp.stat().st_mtime - 7200
    os.utime(temp, (old, old))

    def disk_full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder, "write_sidecar", disk_full)
    for _ in range(3):  # three restarts
        folder.FolderStore(image_dir).recover_partials()
    images = [path.name for path in image_dir.iterdir() if path.suffix == ".png"]
    assert len(images) == 1, images
