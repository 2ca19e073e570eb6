"""What every image store shares: how saved images are named, described, listed and recorded.

The folder and the bucket follow the same rules, so an image saved by either has the same kind of
name (sorting by creation time, saying the seed), the same resource URI, the same sidecar and the
same paging; only how the bytes are kept differs (stores/folder.py, stores/bucket.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_server_siliconflow_image.imageformat import UNKNOWN_MIME_TYPE, mime_type_for

RESOURCE_SCHEME = "siliconflow-image"
RESOURCE_PREFIX = f"{RESOURCE_SCHEME}://images/"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")

JOBS_FOLDER = ".jobs"
"""Where a store keeps its video jobs' records (a hidden folder or prefix: never an image, never a principal)."""
_JOB_FILE = re.compile(r"^[0-9a-f]{32}\.[a-z0-9.-]{1,40}$")

TEMP_SUFFIX = ".partial"
"""Ends the name of a file still being written; such a file is never an image (nor listed)."""


@dataclass(frozen=True)
class SavedImage:
    location: str
    """Where the image is kept: an absolute file path, or the object's `s3://bucket/key` URL."""
    uri: str
    mime_type: str
    width: int
    height: int
    size: int
    sha256: str
    url: str | None = None
    """A presigned HTTPS link to the object, when the store hands them out (SILICONFLOW_IMAGE_URL_TTL)."""
    kept_aside: str | None = None
    """Set when the store could not take the image and it is kept on this machine instead (`location` is then a
    local file): what failed, where the image is, and when it moves. The result carries it as a note."""

    @property
    def name(self) -> str:
        """The file (or object) name, as the resource URI carries it."""
        return self.uri.removeprefix(RESOURCE_PREFIX)

    @property
    def path(self) -> Path:
        """The saved local file; an image kept as an object has none (use `location`), and says so loudly."""
        if "://" in self.location:
            raise ValueError(f"{self.name} is stored as an object at {self.location}, not as a local file")
        return Path(self.location)


MAX_SIDECAR_BYTES = 1024 * 1024
"""A sidecar is a few kilobytes of JSON; anything far larger under that name is not one."""

HEAD_BYTES = 512 * 1024
"""How much of the start of a file is kept in memory to recognise it (headers sit at the start)."""


def sidecar_text(saved: SavedImage, provenance: Mapping[str, Any]) -> str:
    """The sidecar's JSON: how the image was made, plus the image's own facts (whatever store keeps it)."""
    record = {
        **provenance,
        "file": saved.name,
        "mime_type": saved.mime_type,
        "width": saved.width,
        "height": saved.height,
        "bytes": saved.size,
        "sha256": saved.sha256,
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def is_image_name(name: str) -> bool:
    """Whether `name` can be a saved image's name: plain, not hidden, not temporary, an image type."""
    plain = bool(_SAFE_NAME.fullmatch(name)) and not name.endswith(TEMP_SUFFIX)
    return plain and mime_type_for(name) != UNKNOWN_MIME_TYPE


def batch_stamp() -> str:
    """UTC time to the microsecond; one per generation, so a batch's files sort together, in order."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")


def _file_stem(stamp: str, seed: int | None, index: int) -> str:
    """`20261125-143002-123456_seed42_1`: sorts by creation time, says how to reproduce the image.

    Both stores call it as `naming._file_stem`, so replacing it here (tests force name collisions so)
    reaches both."""
    seed_part = f"seed{seed}" if seed is not None else "seed-unknown"
    return f"{stamp}_{seed_part}_{index}"


@dataclass(frozen=True)
class ListedImage:
    """A saved image as `resources/list` shows it."""

    name: str
    size: int
    modified: float

    @property
    def uri(self) -> str:
        return RESOURCE_PREFIX + self.name


def newest_page(names_newest_first: list[str], *, before: str | None, limit: int) -> tuple[list[str], str | None]:
    """One page of names that sort newest first, continuing after `before`; and the name the next page starts
    after (None on the last page)."""
    names = names_newest_first if before is None else [name for name in names_newest_first if name < before]
    page = names[:limit]
    return page, (page[-1] if len(names) > limit else None)


def check_job_file_name(name: str) -> str:
    """`name` when it can be a job record's (`<32 hex>.<kind>`), else ValueError: nothing else is ever written
    or read in the jobs folder, whatever a caller passes as a job id."""
    if not _JOB_FILE.fullmatch(name):
        raise ValueError(f"{name!r} is not a job record's name")
    return name
