"""Saving generated images: atomically, never overwriting, under names that sort by time.

A provider image is paid work that exists only for an hour; once downloaded it must land on disk
whole or not at all, and a second image must never replace the first. The folder is checked before
credits are spent, and what a killed process left half-written is cleaned up (or rescued) at start.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mcp_server_siliconflow_image.imageformat import ImageFormat, NotAnImageError, check_complete, identify
from mcp_server_siliconflow_image.settings import UNEXPANDED_PLACEHOLDER
from mcp_server_siliconflow_image.stores import naming
from mcp_server_siliconflow_image.stores.naming import (
    HEAD_BYTES,
    JOBS_FOLDER,
    MAX_SIDECAR_BYTES,
    RESOURCE_PREFIX,
    TEMP_SUFFIX,
    ListedImage,
    SavedImage,
    batch_stamp,
    check_job_file_name,
    is_image_name,
    newest_page,
    sidecar_text,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stale files are then told apart by age alone
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

WRITE_BACK_BYTES = 1024 * 1024
WRITE_BACK_SECONDS = 0.02
"""While an image downloads over a real network, each megabyte written is synced in the background, so the
fsync after its last byte has about a megabyte left to write, not the whole file (2.5 MB at 20 MB/s: 12 -> 7 ms
median here). Not more often than this: a download at loopback speed is over before a sync could help."""
STALE_PARTIAL_SECONDS = 3600.0
"""A temporary file untouched this long belongs to no live download (each has a far shorter time limit)."""
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)
"""Opening a FIFO planted under an image's name must fail fast, not wait for a writer."""


def folder_problem(root: Path) -> str | None:
    """Why images cannot be saved in `root`, as a sentence naming SILICONFLOW_IMAGE_DIR; None when they can.

    Checked before the provider is paid: an image generated into a folder that cannot take it is lost.
    The check is real (create, write and remove a file), since permissions, read-only mounts and full
    disks only show themselves when something is written.
    """
    text = str(root)
    if UNEXPANDED_PLACEHOLDER.match(text) or UNEXPANDED_PLACEHOLDER.match(root.name):
        return (
            f"SILICONFLOW_IMAGE_DIR is {text!r}, a placeholder your MCP client did not fill in. Choose the image "
            "folder in the client's settings for this server, or remove the variable to use the default folder."
        )
    if not root.is_absolute():
        return (
            f"SILICONFLOW_IMAGE_DIR must be an absolute folder path, got {text!r}: a relative path would depend on "
            "the working directory the MCP client starts the server in (Claude Desktop uses /)."
        )
    probe = root / f".write-check-{secrets.token_hex(6)}{TEMP_SUFFIX}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        try:
            os.write(descriptor, b"\0" * 4096)  # a full disk or quota shows here; no fsync, it costs per call
        finally:
            os.close(descriptor)
            probe.unlink(missing_ok=True)
    except OSError as error:
        return (
            f"SILICONFLOW_IMAGE_DIR={text} cannot hold images: {describe_os_error(error)}. "
            "Set SILICONFLOW_IMAGE_DIR to a folder this server can write to."
        )
    return None


def describe_os_error(error: OSError) -> str:
    """An OSError in words a user can act on."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "it is on a read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "part of the path is a file, not a folder",
        errno.EEXIST: "it exists and is not a folder",
    }
    return reasons.get(error.errno or 0, error.strerror or type(error).__name__)


def _lock(handle: IO[bytes]) -> bool:
    """Hold an advisory lock on a temporary file while it is written, so a sibling's clean-up leaves it alone."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def fsync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a crash: the file's data is synced, its directory entry too."""
    if os.name == "nt":  # directories cannot be opened for syncing on Windows; NTFS journals names
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class PendingImage:
    """An image being received: bytes go straight to a hidden temporary file.

    Nothing is held in memory but the head, so a large or runaway download costs disk, not RAM. What is
    written is synced a megabyte at a time in the background (`_write_back`) while more arrives. The
    digest is computed when the file is published (unless it was while the bytes arrived), on a worker
    thread, not on the download's hot path. `publish` gives the finished file its final name; leaving the
    block without publishing (an error, a cancelled call) removes the temporary file, so no partial image
    is ever left behind.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.temp = root / f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._handle = open(self.temp, "xb")  # noqa: SIM115 - closed by publish() or discard()
        _lock(self._handle)
        self.size = 0
        self.head = bytearray()
        self._written_back, self._written_back_at = 0, time.monotonic()
        self._writing_back: threading.Thread | None = None

    def __enter__(self) -> PendingImage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if self.size - self._written_back >= WRITE_BACK_BYTES:
            self._write_back()

    def _write_back(self) -> None:
        """Sync what the file holds so far on a thread of its own, one at a time, while the download goes on.

        A durability head start only: `publish` still fsyncs the whole file before naming it. The thread
        syncs through a descriptor of its own, so a write error it meets is still reported to publish's
        fsync (Linux reports a write-back error once per open file description), and a file closed
        meanwhile is simply not synced by it.
        """
        now = time.monotonic()
        if now - self._written_back_at < WRITE_BACK_SECONDS:
            return
        if self._writing_back is not None and self._writing_back.is_alive():
            return
        self._written_back, self._written_back_at = self.size, now
        self._writing_back = threading.Thread(target=_sync_quietly, args=(self.temp,), name="write-back", daemon=True)
        self._writing_back.start()

    def restart(self) -> None:
        """Forget what was received (before a retried download)."""
        self._handle.seek(0)
        self._handle.truncate()
        self.size = 0
        self.head = bytearray()
        self._written_back, self._written_back_at = 0, time.monotonic()

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
        sync_folder: bool = True,
        sha256: str | None = None,
    ) -> SavedImage:
        """Make the file visible under a fresh name: complete, durable, never replacing another.

        `sync_folder=False` leaves making the new name durable to the caller, who will sync the folder
        anyway (writing the sidecar does): one folder sync then covers both names, a journal commit
        (4-8 ms on this disk) less on the way to the result. `sha256` is the digest of the bytes written,
        when it was computed while they arrived; otherwise the file is read back for it.
        """
        self._handle.flush()
        os.fsync(self._handle.fileno())
        digest = sha256
        if digest is None:
            with open(self.temp, "rb") as reader:
                digest = hashlib.file_digest(reader, "sha256").hexdigest()
        stem = naming._file_stem(stamp or batch_stamp(), seed, index)
        final = _publish_without_overwriting(self.temp, self.root, stem, image.extension)
        self._handle.close()  # the lock is held until the file has its name
        self.temp.unlink(missing_ok=True)
        if sync_folder:
            fsync_folder(self.root)
        return SavedImage(
            location=str(final),
            uri=RESOURCE_PREFIX + final.name,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size=self.size,
            sha256=digest,
        )

    def discard(self) -> None:
        """Remove the temporary file; never fails (closing flushes, and a full disk must not mask the cause)."""
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            self.temp.unlink(missing_ok=True)


def _sync_quietly(path: Path) -> None:
    """fdatasync `path` through a fresh descriptor; any failure is left for the final fsync to report."""
    try:
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW | _BINARY)
    except OSError:
        return  # published (renamed away) or discarded meanwhile
    try:
        (getattr(os, "fdatasync", None) or os.fsync)(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def sidecar_path(image: Path) -> Path:
    return image.with_name(image.name + ".json")


def write_sidecar(saved: SavedImage, provenance: Mapping[str, Any]) -> None:
    """Write `<image>.json` atomically and durably: the image's own facts plus how it was made.

    The image is already saved when this runs; a failure here (a full disk) costs the record, not the image.
    """
    target = sidecar_path(saved.path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(sidecar_text(saved, provenance))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the image's own name must be durable even when its record failed
            fsync_folder(target.parent)
        raise
    fsync_folder(target.parent)  # one sync makes both new names durable: the image's and its record's


class FolderStore:
    """The image folder: where results are written and the only place resources are read from."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def for_principal(self, principal: str) -> FolderStore:
        """The store of one authenticated principal: a folder of its own inside this one."""
        return FolderStore(self.root / principal)

    def write_sidecar(self, saved: SavedImage, provenance: Mapping[str, Any]) -> None:
        write_sidecar(saved, provenance)

    def recent(self, *, before: str | None, limit: int) -> tuple[list[ListedImage], str | None]:
        return recent_images(self.root, before=before, limit=limit)

    def problem(self) -> str | None:
        """Why nothing can be saved here right now (see `folder_problem`), or None."""
        return folder_problem(self.root)

    def pending(self) -> PendingImage:
        return PendingImage(self.root)

    def save(
        self, data: bytes, image: ImageFormat, *, seed: int | None, index: int, stamp: str | None = None
    ) -> SavedImage:
        """Write `data` under a fresh name; the file appears complete or not at all."""
        with self.pending() as pending:
            pending.write(data)
            return pending.publish(image, seed=seed, index=index, stamp=stamp)

    @property
    def jobs(self) -> FolderJobShelf:
        return FolderJobShelf(self.root / JOBS_FOLDER)

    def read(self, name: str) -> bytes:
        """The bytes of the saved image `name`; FileNotFoundError for anything that is not one.

        The name must be a plain file name in the folder, and the file is opened without following a
        symlink, then checked to be a regular file: what is read is what was checked.
        """
        if not is_image_name(name):
            raise FileNotFoundError(f"no saved image named {name!r}")
        return self._read_regular(name, None, "saved image")

    def name_at(self, location: str) -> str | None:
        """The image name of `location` when it is a file directly in this folder (symlinked folders resolved)."""
        path = Path(location)
        if not path.is_absolute() or not is_image_name(path.name):
            return None
        return path.name if os.path.realpath(path.parent) == os.path.realpath(self.root) else None

    def read_sidecar(self, image_name: str) -> bytes:
        """The JSON sidecar of the saved image `image_name` (at most MAX_SIDECAR_BYTES), read like `read`."""
        if not is_image_name(image_name):
            raise FileNotFoundError(f"no sidecar for {image_name!r}")
        data = self._read_regular(f"{image_name}.json", MAX_SIDECAR_BYTES + 1, "sidecar")
        if len(data) > MAX_SIDECAR_BYTES:
            raise FileNotFoundError(f"{image_name}.json is too large to be a sidecar")
        return data

    def _read_regular(self, name: str, limit: int | None, what: str) -> bytes:
        try:
            descriptor = os.open(self.root / name, os.O_RDONLY | _NO_FOLLOW | _NON_BLOCKING | _BINARY)
        except OSError as error:
            raise FileNotFoundError(f"no {what} named {name!r}") from error
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FileNotFoundError(f"no {what} named {name!r}")
            return handle.read() if limit is None else handle.read(limit)

    def recover_partials(self, older_than: float = STALE_PARTIAL_SECONDS) -> list[SavedImage]:
        """Clean up what a killed process left: stale temporary files are removed, or rescued if whole.

        A temporary file that holds a complete, valid image was paid for: it is published under a proper
        name (seed unknown) with a sidecar saying so. Files a live process still holds (locked, or touched
        within `older_than` seconds) are left alone, so a sibling instance sharing the folder loses nothing.
        """
        if not self.root.is_dir():
            return []
        rescued: list[SavedImage] = []
        now = time.time()
        jobs = self.root / JOBS_FOLDER  # a job record's temporary file is never an image: only ever removed
        for entry in [*os.scandir(self.root), *(os.scandir(jobs) if jobs.is_dir() else ())]:
            if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                    continue
                saved = self._rescue(Path(entry.path))
            except OSError as error:
                logger.warning("could not clean up %s: %s", entry.name, describe_os_error(error))
                continue
            if saved is not None:
                rescued.append(saved)
        return rescued

    def _rescue(self, temp: Path) -> SavedImage | None:
        with open(temp, "rb") as handle:
            if not _lock(handle):
                return None  # a live download holds it
            if os.fstat(handle.fileno()).st_nlink > 1:  # killed between naming it and removing the temp name
                temp.unlink(missing_ok=True)
                return None
            data = handle.read()
            saved: SavedImage | None = None
            if not temp.name.startswith(".write-check-") and ".json." not in temp.name:
                try:
                    image = identify(data[:HEAD_BYTES])
                except NotAnImageError:
                    image = None
                if image is not None and check_complete(data[:HEAD_BYTES], data[-16:], len(data)):
                    stamp = datetime.fromtimestamp(os.fstat(handle.fileno()).st_mtime, UTC)
                    saved = self.save(data, image, seed=None, index=1)
                    temp.unlink(missing_ok=True)  # rescued once: never again, whatever happens to its record
                    logger.warning("recovered an interrupted image as %s", saved.name)
                    note = "Recovered at start-up from a download a stopped server had not finished naming."
                    try:
                        write_sidecar(saved, {"recovered": True, "received": stamp.isoformat(), "notes": [note]})
                    except OSError as error:
                        logger.warning("no record for %s: %s", saved.name, describe_os_error(error))
            temp.unlink(missing_ok=True)
            return saved


class FolderJobShelf:
    """Job records as small files in a hidden folder: written whole (temporary file, fsync, then a name), a
    created name never replaced (`os.link` refuses an existing name), read without following symlinks."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create(self, name: str, data: bytes) -> bool:
        target = self.folder / check_job_file_name(name)
        temp = self._written(data)
        try:
            return _link_unless_taken(temp, target)
        finally:
            temp.unlink(missing_ok=True)
            fsync_folder(self.folder)

    def replace(self, name: str, data: bytes) -> None:
        target = self.folder / check_job_file_name(name)
        temp = self._written(data)
        try:
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        fsync_folder(self.folder)

    def read(self, name: str) -> bytes:
        try:
            descriptor = os.open(self.folder / check_job_file_name(name), os.O_RDONLY | _NO_FOLLOW | _BINARY)
        except (OSError, ValueError) as error:
            raise FileNotFoundError(f"no job record named {name!r}") from error
        with os.fdopen(descriptor, "rb") as handle:
            return handle.read(MAX_SIDECAR_BYTES)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return [entry.name for entry in os.scandir(self.folder) if not entry.name.startswith(".")]

    def _written(self, data: bytes) -> Path:
        """A hidden temporary file in the folder holding `data`, synced to disk."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return temp


def _link_unless_taken(temp: Path, target: Path) -> bool:
    """Give `target` the bytes of `temp` unless `target` exists: True when this call made it."""
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        try:  # no hard links here (some network or FAT file systems): reserve the name, then fill it
            with open(target, "xb"):
                pass
        except FileExistsError:
            return False
        os.replace(temp, target)
    return True


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
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                raise
            try:
                with open(candidate, "xb"):
                    pass
            except FileExistsError:
                continue
            os.replace(temp, candidate)
            return candidate
    raise FileExistsError(f"could not find a free file name for {stem} in {root}")


def recent_images(root: Path, *, before: str | None, limit: int) -> tuple[list[ListedImage], str | None]:
    """Saved images newest first (names sort by creation time), `limit` at a time.

    Only regular files count: a symlink in the folder is never listed, wherever it points. Paging
    continues from the last name of the previous page, so images saved meanwhile do not shift the
    pages. Returns the page and the name to continue from (None on the last page).
    """
    if not root.is_dir():
        return [], None
    names = sorted(
        (
            entry.name
            for entry in os.scandir(root)
            if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False)
        ),
        reverse=True,
    )
    page, last = newest_page([name for name in names if is_image_name(name)], before=before, limit=limit)
    images = []
    for name in page:
        try:
            info = (root / name).stat(follow_symlinks=False)
        except FileNotFoundError:  # deleted since the scan (a user tidying up, a sibling instance)
            continue
        images.append(ListedImage(name, info.st_size, info.st_mtime))
    return images, last
