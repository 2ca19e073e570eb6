"""Images kept as objects in an S3 bucket, so replicas on different machines share them without a shared disk.

The same guarantees as the folder, by the store's own means: an object appears only when its upload
completed and the store verified its SHA-256 checksum (S3 puts are atomic, nothing half-written is ever
listed), a name is claimed with a conditional put (`If-None-Match: *`), so two replicas that pick the
same name never replace each other's image, and the sidecar is an object beside the image. A put whose
answer was lost after it committed is retried by the client and finds its own object there: it is
recognised by its bytes, so one image is stored once, under one name, with one sidecar.

An image is paid for before it reaches the bucket, so when the bucket refuses it (it failed after the
pre-flight check) the image is kept on this machine (`Settings.kept_aside_dir`, one folder per bucket and
prefix), named in the result, readable through its resource link, and moved into the bucket once the bucket
takes writes again: at the next pre-flight check after this server kept one aside, and at every start.
Credentials and endpoint come only from the standard AWS variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL for MinIO, Ceph or R2), read by the client itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import S3Store

from mcp_server_siliconflow_image.imageformat import ImageFormat, identify
from mcp_server_siliconflow_image.settings import OBJECT_STORE_SCHEME
from mcp_server_siliconflow_image.stores import naming
from mcp_server_siliconflow_image.stores.base import StoreError
from mcp_server_siliconflow_image.stores.folder import (
    STALE_PARTIAL_SECONDS,
    FolderStore,
    PendingImage,
    describe_os_error,
    write_sidecar,
)
from mcp_server_siliconflow_image.stores.naming import (
    HEAD_BYTES,
    JOBS_FOLDER,
    MAX_SIDECAR_BYTES,
    RESOURCE_PREFIX,
    ListedImage,
    SavedImage,
    batch_stamp,
    check_job_file_name,
    is_image_name,
    newest_page,
    sidecar_text,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

logger = logging.getLogger(__name__)

NAME_ATTEMPTS = 1000
PROBE_NAME = ".write-check.partial"
_CLIENT_OPTIONS: ClientConfig = {"connect_timeout": timedelta(seconds=5), "timeout": timedelta(seconds=60)}
_RETRIES: RetryConfig = {
    "max_retries": 3,
    "retry_timeout": timedelta(seconds=20),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=2), "base": 2},
}
_PROBE_OPTIONS: ClientConfig = {"connect_timeout": timedelta(seconds=3), "timeout": timedelta(seconds=5)}
_PROBE_RETRIES: RetryConfig = {
    "max_retries": 1,
    "retry_timeout": timedelta(seconds=5),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=1), "base": 2},
}
"""The pre-flight check answers within seconds even when the store accepts connections and then says nothing:
every generating call waits on it. Uploads of paid images get more patience (above)."""
_FAILURES = (BaseError, FileNotFoundError, ValueError)
"""What the client raises: its own errors, and built-in ones for a missing object or bucket and bad input."""
_STATUS = re.compile(r"status(?: code)?:? (\d{3})\b")
_TIMED_OUT = re.compile(r"kind: Timeout|timed out", re.IGNORECASE)
_UNREACHABLE = re.compile(r"kind: Connect|error sending request|connection refused", re.IGNORECASE)
"""How the client's error text tells a stall from a refused connection (its first line also names `retry_timeout`,
a setting, not what happened)."""


def describe_store_error(error: Exception) -> str:
    """What the store said, in words a user can act on. Never its raw text: that names the endpoint (an
    internal address) and the object key, and may echo account details."""
    if isinstance(error, FileNotFoundError):
        return "the bucket or object does not exist"
    if isinstance(error, PermissionDeniedError):
        return "the store denied access (check the bucket policy for these credentials)"
    if isinstance(error, UnauthenticatedError):
        return "the store refused the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    text = str(error)
    status = _STATUS.search(text)
    if status is not None:
        code = int(status[1])
        return f"the store answered HTTP {code}" + (" (a failure on the store's side)" if code >= 500 else "")
    if _TIMED_OUT.search(text):
        return "the store did not answer in time"
    if _UNREACHABLE.search(text):
        return "the store could not be reached (check AWS_ENDPOINT_URL and the network)"
    return f"the store failed ({type(error).__name__})"


def _client(bucket: str, options: ClientConfig, retries: RetryConfig) -> S3Store:
    """A client (and connection pool) for the bucket; credentials, region and endpoint from AWS_* variables."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    options = {**options, "allow_http": endpoint.startswith("http://")}
    return S3Store(bucket, config={"checksum_algorithm": "SHA256"}, client_options=options, retry_config=retries)


@dataclass(frozen=True)
class _Clients:
    """One client for images, one with short limits for the pre-flight check; shared by every principal."""

    images: S3Store
    probe: S3Store
    kept_aside_root: Path | None = None
    """Where images the bucket refused wait on this machine: `<root>/<bucket>/<prefix>/`."""
    kept_aside: set[Path] = field(default_factory=set)
    """The folders this server kept images aside in since it last moved them (moved at the next pre-flight)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class BucketStore:
    """The images under one prefix of a bucket (see the module docstring for the guarantees)."""

    def __init__(self, clients: _Clients, bucket: str, prefix: str, *, url_ttl: int | None, max_bytes: int) -> None:
        self._clients = clients
        self._client = clients.images
        self._bucket = bucket
        self._prefix = prefix
        self._url_ttl = url_ttl
        self._max_bytes = max_bytes
        root = clients.kept_aside_root
        self._aside = None if root is None else root.joinpath(bucket, *filter(None, prefix.split("/")))
        """This prefix's folder of images kept on this machine while the bucket refused them."""

    @classmethod
    def from_url(
        cls, url: str, *, url_ttl: int | None, max_bytes: int, kept_aside_dir: Path | None = None
    ) -> BucketStore:
        bucket, _, prefix = url.removeprefix(OBJECT_STORE_SCHEME).partition("/")
        images, probe = _client(bucket, _CLIENT_OPTIONS, _RETRIES), _client(bucket, _PROBE_OPTIONS, _PROBE_RETRIES)
        return cls(_Clients(images, probe, kept_aside_dir), bucket, prefix, url_ttl=url_ttl, max_bytes=max_bytes)

    @property
    def location(self) -> str:
        return f"{OBJECT_STORE_SCHEME}{self._bucket}/{self._prefix}".rstrip("/")

    def for_principal(self, principal: str) -> BucketStore:
        prefix = f"{self._prefix}/{principal}" if self._prefix else principal
        return BucketStore(self._clients, self._bucket, prefix, url_ttl=self._url_ttl, max_bytes=self._max_bytes)

    def _key(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    def problem(self) -> str | None:
        """Claim a fixed hidden probe object with a conditional put: reachability, credentials, the bucket and
        write permission all show (S3 authorises a put before it checks its condition, so "already exists"
        proves the right to write too). Nothing is deleted, so buckets that forbid deletes work, and the
        probe is one 16-byte object per prefix, never listed. A bucket that takes writes again gets the images
        this server kept aside while it refused them."""
        try:
            obstore.put(self._clients.probe, self._key(PROBE_NAME), b"\0" * 16, mode="create", use_multipart=False)
        except (AlreadyExistsError, PreconditionError):
            pass
        except _FAILURES as error:
            return (
                f"SILICONFLOW_IMAGE_DIR={self.location} cannot hold images: {describe_store_error(error)}. Check "
                "that the bucket exists and that AWS_ENDPOINT_URL, AWS_REGION and the credentials "
                "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) let this server write there."
            )
        if self._aside is not None:
            with self._clients.lock:
                waiting = self._aside in self._clients.kept_aside
                self._clients.kept_aside.discard(self._aside)
            if waiting:
                self.move_kept_aside()
        return None

    def pending(self) -> PendingObject:
        return PendingObject(self)

    def save(
        self, data: bytes, image: ImageFormat, *, seed: int | None, index: int, stamp: str | None = None
    ) -> SavedImage:
        with self.pending() as pending:
            pending.write(data)
            return pending.publish(image, seed=seed, index=index, stamp=stamp)

    @property
    def jobs(self) -> BucketJobShelf:
        return BucketJobShelf(self._client, self._key(JOBS_FOLDER))

    def publish(
        self, data: bytes, image: ImageFormat, *, seed: int | None, index: int, stamp: str, sha256: str | None = None
    ) -> SavedImage:
        """Upload `data` under a fresh name; a name another replica already took gets a numbered sibling.
        `sha256`: the digest of `data` when it is known already.

        When the bucket refuses it, the image is kept aside on this machine instead (see the module docstring);
        StoreError only when that fails too.
        """
        stem = naming._file_stem(stamp, seed, index)
        try:
            name = self._claim(stem, image, data)
        except StoreError as refused:
            return self._keep_aside(data, image, seed=seed, index=index, stamp=stamp, refused=refused, sha256=sha256)
        return self._saved(name, image, data, sha256)

    def _saved(self, name: str, image: ImageFormat, data: bytes, sha256: str | None = None) -> SavedImage:
        return SavedImage(
            location=f"{OBJECT_STORE_SCHEME}{self._bucket}/{self._key(name)}",
            uri=RESOURCE_PREFIX + name,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size=len(data),
            sha256=sha256 or hashlib.sha256(data).hexdigest(),
            url=self._presigned(name),
        )

    def _claim(self, stem: str, image: ImageFormat, data: bytes) -> str:
        """The name `data` is stored under: the first of `stem.ext`, `stem-2.ext`, ... not yet taken, or the one
        that already holds these very bytes (our own put, retried after its answer was lost)."""
        for attempt in range(1, NAME_ATTEMPTS + 1):
            name = f"{stem}.{image.extension}" if attempt == 1 else f"{stem}-{attempt}.{image.extension}"
            if self._create(self._key(name), data, image.mime_type, "image"):
                return name
        raise StoreError(f"the bucket has no free name left for {stem}")

    def _create(self, key: str, data: bytes, content_type: str, what: str) -> bool:
        """Put `data` at `key` unless something is there: True when `key` now holds `data`, False when it holds
        something else. The client retries a put whose answer was lost; the retry then finds its own object."""
        try:
            obstore.put(
                self._client, key, data, mode="create", attributes={"Content-Type": content_type}, use_multipart=False
            )
        except (AlreadyExistsError, PreconditionError):
            return self._holds(key, data)
        except _FAILURES as error:
            raise StoreError(f"the bucket refused the {what}: {describe_store_error(error)}") from error
        return True

    def _holds(self, key: str, data: bytes) -> bool:
        """Whether the object at `key` is exactly `data` (read only when its size already matches)."""
        try:
            found = obstore.get(self._client, key)
            return found.meta["size"] == len(data) and bytes(found.bytes()) == data
        except _FAILURES:
            return False

    def _keep_aside(
        self,
        data: bytes,
        image: ImageFormat,
        *,
        seed: int | None,
        index: int,
        stamp: str,
        refused: StoreError,
        sha256: str | None = None,
    ) -> SavedImage:
        """Keep a paid image the bucket refused on this machine, durably, until it can be moved there."""
        if self._aside is None:
            raise refused
        try:
            with PendingImage(self._aside) as pending:
                pending.write(data)
                local = pending.publish(image, seed=seed, index=index, stamp=stamp, sha256=sha256)
        except OSError as error:
            raise StoreError(
                f"{refused.strerror}, and keeping it on this server failed too: {describe_os_error(error)}"
            ) from error
        with self._clients.lock:
            self._clients.kept_aside.add(self._aside)
        logger.warning("%s; kept %s on this server until the bucket takes it", refused.strerror, local.location)
        return replace(
            local,
            kept_aside=(
                f"{refused.strerror}. It is kept on this server at {local.location} and moves to {self.location} "
                "once the bucket takes writes again (checked before the next generation and at every start). Check "
                "that the object store is up."
            ),
        )

    def move_kept_aside(self) -> list[SavedImage]:
        """Move the images (and sidecars) kept on this machine while the bucket refused them into the bucket.

        An image whose sidecar is not written yet may belong to a call still saving it: it waits for its
        sidecar, or an hour. Stops at the first refusal (the bucket is failing again) and leaves the rest.
        """
        if self._aside is None or not self._aside.is_dir():
            return []
        moved: list[SavedImage] = []
        for entry in sorted(os.scandir(self._aside), key=lambda entry: entry.name):
            local = Path(entry.path)
            record = local.with_name(f"{local.name}.json")
            if not naming.is_image_name(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if not record.exists() and time.time() - entry.stat().st_mtime < STALE_PARTIAL_SECONDS:
                    continue
                moved.append(self._move_in(local, record))
            except StoreError as error:
                logger.warning("images kept aside for %s stay on this server for now: %s", self.location, error)
                break
            except (OSError, ValueError) as error:  # unreadable, not an image, or a broken record
                logger.warning("could not move %s into %s: %s", local.name, self.location, error)
        return moved

    def _move_in(self, local: Path, record: Path) -> SavedImage:
        data = local.read_bytes()
        image = identify(data[:HEAD_BYTES])
        saved = self._saved(self._claim(local.stem, image, data), image, data)
        if record.exists():
            provenance = json.loads(record.read_bytes())
            if isinstance(provenance, dict):
                earlier = provenance.get("notes")
                notes = earlier if isinstance(earlier, list) else []
                moved_in = "Kept on the server that made it while the bucket refused it, and moved in later."
                self.write_sidecar(saved, {**provenance, "notes": [*notes, moved_in]})
            record.unlink()
        local.unlink()
        logger.warning("moved %s, kept on this server while the bucket refused it, to %s", local.name, saved.location)
        return saved

    def _presigned(self, name: str) -> str | None:
        if self._url_ttl is None:
            return None
        try:
            return str(obstore.sign(self._client, "GET", self._key(name), timedelta(seconds=self._url_ttl)))
        except _FAILURES as error:
            logger.warning("could not presign a link to %s: %s", name, describe_store_error(error))
            return None

    def write_sidecar(self, saved: SavedImage, provenance: Mapping[str, Any]) -> None:
        """The sidecar object `<image>.json`, written once beside its image and never replaced (beside it on this
        machine for an image kept aside)."""
        if not saved.location.startswith(OBJECT_STORE_SCHEME):
            write_sidecar(saved, provenance)
            return
        key = self._key(f"{saved.name}.json")
        if not self._create(key, sidecar_text(saved, provenance).encode(), "application/json", "record"):
            raise StoreError("the bucket refused the record: it already holds a different one for this image")

    def _kept_here(self) -> FolderStore | None:
        """The images of this prefix kept on this machine, when there are any."""
        return FolderStore(self._aside) if self._aside is not None and self._aside.is_dir() else None

    def read(self, name: str) -> bytes:
        """The image `name` under this prefix, streamed in and never more than one image's size (from this
        machine while it is kept aside)."""
        missing = FileNotFoundError(f"no saved image named {name!r}")
        if not is_image_name(name):
            raise missing
        if (kept := self._kept_here()) is not None:
            try:
                return kept.read(name)
            except FileNotFoundError:
                pass
        try:
            result = obstore.get(self._client, self._key(name))
            if result.meta["size"] > self._max_bytes:
                raise StoreError(f"{name} is larger than SILICONFLOW_MAX_IMAGE_BYTES={self._max_bytes}")
            data = bytearray()
            for chunk in result.stream():
                data += chunk
                if len(data) > self._max_bytes:
                    raise StoreError(f"{name} is larger than SILICONFLOW_MAX_IMAGE_BYTES={self._max_bytes}")
        except FileNotFoundError as error:
            raise missing from error
        except _FAILURES as error:
            raise StoreError(f"the bucket could not be read: {describe_store_error(error)}") from error
        return bytes(data)

    def name_at(self, location: str) -> str | None:
        """The image name of `location` when it is an object directly under this prefix (`s3://bucket/prefix/name`),
        or this prefix's image kept aside on this machine."""
        name = location.removeprefix(f"{self.location}/")
        if name != location:
            return name if is_image_name(name) else None
        kept = self._kept_here()
        return kept.name_at(location) if kept is not None else None

    def read_sidecar(self, image_name: str) -> bytes:
        """The JSON sidecar object of the saved image `image_name`, at most MAX_SIDECAR_BYTES."""
        missing = FileNotFoundError(f"no sidecar for {image_name!r}")
        if not is_image_name(image_name):
            raise missing
        if (kept := self._kept_here()) is not None:
            try:
                return kept.read_sidecar(image_name)
            except FileNotFoundError:
                pass
        try:
            result = obstore.get(self._client, self._key(f"{image_name}.json"))
            if result.meta["size"] > MAX_SIDECAR_BYTES:
                raise missing
            return bytes(result.bytes())
        except FileNotFoundError as error:
            raise missing from error
        except _FAILURES as error:
            raise StoreError(f"the bucket could not be read: {describe_store_error(error)}") from error

    def recent(self, *, before: str | None, limit: int) -> tuple[list[ListedImage], str | None]:
        """Images directly under this prefix (never another principal's, one level down), newest first."""
        listed_prefix = f"{self._prefix}/" if self._prefix else None
        try:
            listing = obstore.list_with_delimiter(self._client, listed_prefix)
        except _FAILURES as error:
            raise StoreError(f"the bucket could not be listed: {describe_store_error(error)}") from error
        objects = {}
        for entry in listing["objects"]:
            name = entry["path"].removeprefix(listed_prefix or "")
            if is_image_name(name):
                objects[name] = entry
        page, last = newest_page(sorted(objects, reverse=True), before=before, limit=limit)
        images = [ListedImage(name, objects[name]["size"], objects[name]["last_modified"].timestamp()) for name in page]
        return images, last

    def recover_partials(self) -> list[SavedImage]:
        """An upload that did not finish left no object behind; images kept aside on this machine move in now."""
        self.move_kept_aside()
        return []


class BucketJobShelf:
    """Job records as objects under a hidden prefix: a created record is claimed with a conditional put
    (`If-None-Match: *`), so of two replicas creating one name exactly one succeeds."""

    def __init__(self, client: S3Store, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self._prefix}/{check_job_file_name(name)}"

    def create(self, name: str, data: bytes) -> bool:
        key = self._key(name)
        try:
            obstore.put(self._client, key, data, mode="create", use_multipart=False)
        except (AlreadyExistsError, PreconditionError):
            return False
        except _FAILURES as error:
            raise StoreError(f"the bucket refused a job record: {describe_store_error(error)}") from error
        return True

    def replace(self, name: str, data: bytes) -> None:
        key = self._key(name)
        try:
            obstore.put(self._client, key, data, use_multipart=False)
        except _FAILURES as error:
            raise StoreError(f"the bucket refused a job record: {describe_store_error(error)}") from error

    def read(self, name: str) -> bytes:
        try:
            key = self._key(name)
        except ValueError as error:
            raise FileNotFoundError(f"no job record named {name!r}") from error
        try:
            result = obstore.get(self._client, key)
            if result.meta["size"] > MAX_SIDECAR_BYTES:
                raise FileNotFoundError(f"{name} is too large to be a job record")
            return bytes(result.bytes())
        except FileNotFoundError:
            raise
        except _FAILURES as error:
            raise StoreError(f"the bucket could not be read: {describe_store_error(error)}") from error

    def names(self) -> list[str]:
        try:
            listing = obstore.list_with_delimiter(self._client, f"{self._prefix}/")
        except _FAILURES as error:
            raise StoreError(f"the bucket could not be listed: {describe_store_error(error)}") from error
        return [entry["path"].removeprefix(f"{self._prefix}/") for entry in listing["objects"]]


class PendingObject:
    """An image being received for a bucket: held in memory (at most SILICONFLOW_MAX_IMAGE_BYTES, which the
    download enforces, and the preview needs the bytes anyway), then uploaded whole by `publish`.

    `read_all` freezes the buffer into the bytes it returns, and `publish` uploads those same bytes, so
    an image is never held in memory more than once."""

    def __init__(self, store: BucketStore) -> None:
        self._store = store
        self._data: bytearray | bytes = bytearray()
        self.size = 0
        self.head = bytearray()

    def __enter__(self) -> PendingObject:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def write(self, chunk: bytes) -> None:
        if isinstance(self._data, bytes):
            self._data = bytearray(self._data)
        self._data += chunk
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def restart(self) -> None:
        self._data = bytearray()
        self.size = 0
        self.head = bytearray()

    def tail(self, length: int) -> bytes:
        return bytes(self._data[-length:]) if length else b""

    def read_all(self) -> bytes:
        if isinstance(self._data, bytearray):
            self._data = bytes(self._data)
        return self._data

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
        """Upload the image; an object is durable once stored (`sync_folder` has nothing to do here)."""
        data, stamp = self.read_all(), stamp or batch_stamp()
        saved = self._store.publish(data, image, seed=seed, index=index, stamp=stamp, sha256=sha256)
        self.discard()
        return saved

    def discard(self) -> None:
        self._data = bytearray()
