"""Saving generated images: atomically, never overwriting, under names that sort by time.

A provider image is paid work that exists only for an hour; once downloaded it must land on disk
whole or not at all, and a second image must never replace the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from mcp_server_siliconflow_image.imageformat import EXTENSIONS, ImageFormat

RESOURCE_SCHEME = "siliconflow-image"
RESOURCE_PREFIX = f"{RESOURCE_SCHEME}://images/"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_TEMP_SUFFIX = ".partial"


@dataclass(frozen=True)
class SavedImage:
    path: Path
    uri: str
    mime_type: str
    width: int
    height: int
    size: int
    sha256: str


HEAD_BYTES = 512 * 1024
"""How much of the start of a file is kept in memory to recognise it (headers sit at the start)."""


class PendingImage:
    """An image being received: bytes go straight to a hidden temporary file.

    Nothing is held in memory but the head, so a large or runaway download costs disk, not RAM. The
    digest is computed when the file is published, on a worker thread, not on the download's hot path.
    `publish` gives the finished file its final name; leaving the block without publishing (an error,
    a cancelled call) removes the temporary file, so no partial image is ever left behind.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.temp = root / f".{secrets.token_hex(8)}{_TEMP_SUFFIX}"
        self._handle = open(self.temp, "xb")  # noqa: SIM115 - closed by publish() or discard()
        self.size = 0
        self.head = bytearray()

    def __enter__(self) -> PendingImage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def restart(self) -> None:
        """Forget what was received (before a retried download)."""
        self._handle.seek(0)
        self._handle.truncate()
        self.size = 0
        self.head = bytearray()

    def tail(self, length: int) -> bytes:
        self._handle.flush()
        with open(self.temp, "rb") as reader:
            reader.seek(max(0, self.size - length))
            return reader.read()

    def read_all(self) -> bytes:
        self._handle.flush()
        return self.temp.read_bytes()

    def publish(
        self,
        image: ImageFormat,
        *,
        seed: int | None,
        index: int,
        stamp: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> SavedImage:
        """Make the file visible under a fresh name: complete, durable, never replacing another.

        With `provenance`, a JSON sidecar `<file>.json` records how the image was made (prompt, model,
        seed, arguments), so it can be regenerated or audited later. The image file itself keeps exactly
        the provider's bytes, so nothing is embedded in it.
        """
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        with open(self.temp, "rb") as reader:
            digest = hashlib.file_digest(reader, "sha256").hexdigest()
        stem = _file_stem(stamp or batch_stamp(), seed, index)
        final = _publish_without_overwriting(self.temp, self.root, stem, image.extension)
        self.temp.unlink(missing_ok=True)
        saved = SavedImage(
            path=final,
            uri=RESOURCE_PREFIX + final.name,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size=self.size,
            sha256=digest,
        )
        if provenance is not None:
            write_sidecar(saved, provenance)
        return saved

    def discard(self) -> None:
        self._handle.close()
        self.temp.unlink(missing_ok=True)


def sidecar_path(image: Path) -> Path:
    return image.with_name(image.name + ".json")


def write_sidecar(saved: SavedImage, provenance: Mapping[str, Any]) -> None:
    """Write `<image>.json` atomically: the image's own facts plus how it was made."""
    record = {
        **provenance,
        "file": saved.path.name,
        "mime_type": saved.mime_type,
        "width": saved.width,
        "height": saved.height,
        "bytes": saved.size,
        "sha256": saved.sha256,
    }
    target = sidecar_path(saved.path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
    try:
        temp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


class ImageStore:
    """The image folder: where results are written and the only place resources are read from."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def pending(self) -> PendingImage:
        return PendingImage(self.root)

    def save(self, data: bytes, image: ImageFormat, *, seed: int | None, index: int) -> SavedImage:
        """Write `data` under a fresh name; the file appears complete or not at all."""
        with self.pending() as pending:
            pending.write(data)
            return pending.publish(image, seed=seed, index=index)

    def resolve_uri(self, name: str) -> Path:
        """The saved file a resource name refers to, refusing anything outside the image folder."""
        if not _SAFE_NAME.fullmatch(name) or name.endswith(_TEMP_SUFFIX):
            raise FileNotFoundError(f"no saved image named {name!r}")
        root = self.root.resolve()
        path = (root / name).resolve()
        if path.parent != root or not path.is_file():
            raise FileNotFoundError(f"no saved image named {name!r}")
        return path


_UNKNOWN = "application/octet-stream"


def mime_type_for(path: PurePath) -> str:
    extension = path.suffix.lstrip(".").lower()
    for mime_type, known in EXTENSIONS.items():
        if known == extension:
            return mime_type
    return _UNKNOWN


def batch_stamp() -> str:
    """UTC time to the microsecond; one per generation, so a batch's files sort together, in order."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")


def _file_stem(stamp: str, seed: int | None, index: int) -> str:
    """`20261125-143002-123456_seed42_1`: sorts by creation time, says how to reproduce the image."""
    seed_part = f"seed{seed}" if seed is not None else "seed-unknown"
    return f"{stamp}_{seed_part}_{index}"


def _publish_without_overwriting(temp: Path, root: Path, stem: str, extension: str) -> Path:
    """Give the finished temp file its final name; a name already taken gets a numbered sibling.

    `os.link` fails with FileExistsError instead of replacing, which `os.rename` would do silently
    on POSIX. Where hard links are unavailable, exclusive creation of the name reserves it first.
    """
    for attempt in range(1, 1000):
        candidate = root / (f"{stem}.{extension}" if attempt == 1 else f"{stem}-{attempt}.{extension}")
        try:
            os.link(temp, candidate)
            return candidate
        except FileExistsError:
            continue
        except OSError:
            try:
                with open(candidate, "xb"):
                    pass
            except FileExistsError:
                continue
            os.replace(temp, candidate)
            return candidate
    raise FileExistsError(f"could not find a free file name for {stem} in {root}")


@dataclass(frozen=True)
class StoredImage:
    name: str
    size: int
    modified: float

    @property
    def uri(self) -> str:
        return RESOURCE_PREFIX + self.name


def recent_images(root: Path, *, before: str | None, limit: int) -> tuple[list[StoredImage], str | None]:
    """Saved images newest first (names sort by creation time), `limit` at a time.

    Paging continues from the last name of the previous page, so images saved meanwhile do not shift
    the pages. Returns the page and the name to continue from (None on the last page).
    """
    if not root.is_dir():
        return [], None
    names = sorted(
        (entry.name for entry in os.scandir(root) if entry.is_file() and not entry.name.startswith(".")),
        reverse=True,
    )
    names = [name for name in names if _SAFE_NAME.fullmatch(name) and mime_type_for(Path(name)) != _UNKNOWN]
    if before is not None:
        names = [name for name in names if name < before]
    page = names[:limit]
    stats = [(name, (root / name).stat()) for name in page]
    images = [StoredImage(name, stat.st_size, stat.st_mtime) for name, stat in stats]
    return images, (page[-1] if len(names) > limit else None)
