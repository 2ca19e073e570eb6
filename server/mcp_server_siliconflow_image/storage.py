"""Saving generated images: atomically, never overwriting, under names that sort by time.

A provider image is paid work that exists only for an hour; once downloaded it must land on disk
whole or not at all, and a second image must never replace the first.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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


class ImageStore:
    """The image folder: where results are written and the only place resources are read from."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, image: ImageFormat, *, seed: int | None, index: int) -> SavedImage:
        """Write `data` under a fresh name; the file appears complete or not at all."""
        self.root.mkdir(parents=True, exist_ok=True)
        stem = _file_stem(seed, index)
        temp = self.root / f".{stem}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            final = _publish_without_overwriting(temp, self.root, stem, image.extension)
        finally:
            temp.unlink(missing_ok=True)
        return SavedImage(
            path=final,
            uri=RESOURCE_PREFIX + final.name,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def resolve_uri(self, name: str) -> Path:
        """The saved file a resource name refers to, refusing anything outside the image folder."""
        if not _SAFE_NAME.fullmatch(name) or name.endswith(_TEMP_SUFFIX):
            raise FileNotFoundError(f"no saved image named {name!r}")
        root = self.root.resolve()
        path = (root / name).resolve()
        if path.parent != root or not path.is_file():
            raise FileNotFoundError(f"no saved image named {name!r}")
        return path


def mime_type_for(path: Path) -> str:
    extension = path.suffix.lstrip(".").lower()
    for mime_type, known in EXTENSIONS.items():
        if known == extension:
            return mime_type
    return "application/octet-stream"


def _file_stem(seed: int | None, index: int) -> str:
    """`20261125-143002-123456_seed42_1`: sorts by creation time, says how to reproduce the image."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
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
