"""The one interface every image store offers, and the choice between them (a folder, or object storage).

Generation, resources and the pre-flight check speak only this interface, so a replica that keeps its
images in a bucket behaves exactly like one that keeps them in a folder: an image appears complete or
not at all, is never replaced, carries its sidecar beside it, and is listed newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

from mcp_server_siliconflow_image.imageformat import ImageFormat
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.stores.folder import FolderStore, describe_os_error
from mcp_server_siliconflow_image.stores.naming import ListedImage, SavedImage


class StoreError(OSError):
    """The object store refused or could not be reached. The message says what failed (the store, its HTTP
    status) in words a user can act on, never the store's address, an object key or a credential."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


def save_failure(error: OSError) -> str:
    """Why an image could not be kept, and what to do about it, for whichever store failed."""
    if isinstance(error, StoreError):
        return (
            f"{error.strerror}. Check that the object store is up and that its credentials still let this server "
            "write to SILICONFLOW_IMAGE_DIR"
        )
    return f"{describe_os_error(error)}. Free space in SILICONFLOW_IMAGE_DIR or choose another folder"


class Upload(Protocol):
    """An image being received: written chunk by chunk, then published under a fresh name, or discarded."""

    size: int
    head: bytearray

    def __enter__(self) -> Upload: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None: ...

    def tail(self, length: int) -> bytes: ...

    def read_all(self) -> bytes: ...

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
        """Give the image its final name. `sync_folder=False`: the caller's next sidecar write makes it durable.
        `sha256`: the digest of the bytes written, computed while they arrived; None: the store computes it."""
        ...

    def discard(self) -> None: ...


class JobShelf(Protocol):
    """The small JSON records of one store's video jobs (stores/naming.py `check_job_file_name` names them).

    Kept where the videos go, so that a restarted server, or any replica sharing the bucket, finds them.
    `create` is the store's conditional write: of two writers of one name exactly one succeeds, which is
    what claims a job's download and fixes its outcome once and for all. Every method may block.
    """

    def create(self, name: str, data: bytes) -> bool:
        """Write `name` whole, unless it exists: True when this call wrote it, False when it was there."""
        ...

    def replace(self, name: str, data: bytes) -> None:
        """Write `name` whole, over what it held (readers see the old or the new bytes, never a mix)."""
        ...

    def read(self, name: str) -> bytes:
        """The record `name`; FileNotFoundError when there is none."""
        ...

    def names(self) -> list[str]:
        """Every record's name."""
        ...


class Store(Protocol):
    """Where images are kept. Every method may block (disk or network): call them on a worker thread."""

    @property
    def location(self) -> str:
        """The folder or `s3://bucket/prefix`, for messages and logs."""
        ...

    def for_principal(self, principal: str) -> Store:
        """The part of this store that belongs to one authenticated principal, and only to it."""
        ...

    def problem(self) -> str | None:
        """Why an image could not be saved right now, naming SILICONFLOW_IMAGE_DIR; None when it could."""
        ...

    def pending(self) -> Upload: ...

    def save(
        self, data: bytes, image: ImageFormat, *, seed: int | None, index: int, stamp: str | None = None
    ) -> SavedImage:
        """Save `data` under a fresh name (`stamp` lets files made together share their name's time)."""
        ...

    @property
    def jobs(self) -> JobShelf:
        """This store's video job records (a principal's store: that principal's own jobs only)."""
        ...

    def write_sidecar(self, saved: SavedImage, provenance: Mapping[str, Any]) -> None: ...

    def read(self, name: str) -> bytes:
        """The saved image `name`; FileNotFoundError for anything that is not one of this store's images."""
        ...

    def name_at(self, location: str) -> str | None:
        """The name of this store's image at `location` (a result's `path`), or None when `location` is not
        directly in this store (another principal's part of it is not)."""
        ...

    def read_sidecar(self, image_name: str) -> bytes:
        """The JSON sidecar of a saved image; FileNotFoundError when there is none."""
        ...

    def recent(self, *, before: str | None, limit: int) -> tuple[list[ListedImage], str | None]:
        """Saved images newest first, `limit` after the name `before`; and where the next page starts."""
        ...

    def recover_partials(self) -> list[SavedImage]:
        """Rescue or remove what an interrupted run left half-written (stores with atomic writes leave nothing);
        a bucket moves in the images kept on this machine while it refused them."""
        ...


def open_store(settings: Settings) -> Store:
    """The store SILICONFLOW_IMAGE_DIR names: a bucket for `s3://…`, else the folder."""
    if settings.image_store is not None:
        from mcp_server_siliconflow_image.stores.bucket import BucketStore  # the S3 client loads only when used

        return BucketStore.from_url(
            settings.image_store,
            url_ttl=settings.image_url_ttl,
            max_bytes=settings.max_download_bytes,
            kept_aside_dir=settings.kept_aside_dir,
        )
    return FolderStore(settings.image_dir)
