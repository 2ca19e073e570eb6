"""Decoding and hashing an image while it downloads, so little is left to do after its last byte.

On a real network the download takes most of a call and leaves the CPU idle, yet decoding a deflated
1024x1024 PNG for its preview takes ~20-30 ms and hashing it ~2 ms. So each chunk goes to the store's
upload as it arrives (as before), and a thread of the image's own hashes it and lets Pillow decode the
picture from the bytes so far: `Image.open(...).load()` on a file whose reads wait for bytes still to
come (`ArrivingBytes`). That is Pillow's own decoder reading its own way (inflate and unfilter per 64 KB
of IDAT, letting go of the GIL meanwhile), so the pixels are exactly Pillow's and every PNG (interlaced,
palette, 16-bit, alpha), JPEG and WebP is handled alike. When the download ends, at most the last chunk
is left to do.

Nothing waits for this work that does not need it: publishing takes the digest (hashing itself whatever
the thread has not hashed yet), only the preview waits for the picture. Whatever goes wrong
costs only the head start: a retried or cancelled download, or one too large to keep in memory, leaves
the digest or the picture None, and the store and the preview do that work after the download, as before.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp_server_siliconflow_image.pipeline import bands
from mcp_server_siliconflow_image.pipeline.previews import (
    PREVIEW_QUALITIES,
    InlineImage,
    UndecodableImageError,
    decode_picture,
    preview_factor,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from PIL.Image import Image as PILImage
    from PIL.ImageFile import ImageFile

    from mcp_server_siliconflow_image.stores.base import Upload

logger = logging.getLogger(__name__)

MAX_THREADS = 8
"""Images decoded on the way at once, server-wide (two batches of four). Each holds its bytes and picture in
memory until its preview is made; further images are decoded after their download, as before."""
_threads = threading.BoundedSemaphore(MAX_THREADS)
MAX_KEPT_BYTES = 64 * 1024 * 1024
"""Bytes kept in memory for the decoder (they are the image, already being written to disk). Past this the
head start is given up and the chunks are dropped: a runaway download costs disk, not RAM."""


class AbandonedError(BaseException):
    """The bytes being read were thrown away: a retried download starts over, or the call ended.

    A BaseException, like a cancellation, so that no `except Exception` on the way (Pillow's, the
    decoder's own) mistakes it for a picture that cannot be decoded."""


@dataclass(frozen=True)
class Decoded:
    """The picture decoded on the way (flattened to RGB), or why there is none."""

    picture: PILImage | None = None
    problem: str | None = None
    """Why the picture cannot be decoded (the bytes are not a picture Pillow reads); None when it was, or
    when it was not tried (given up, abandoned): then it is decoded after the download, as before."""
    preview: InlineImage | None = None
    """Its preview, made band by band as it decoded (pipeline/bands.py), when it could be."""
    preview_share: int = 0
    """The base64 characters `preview` was made to fit: a larger share may get a larger preview."""


class ArrivingBytes(io.RawIOBase):
    """A read-only, seekable file of one download attempt's bytes, whose reads wait for bytes still to come.

    The event loop `feed`s chunks; the image's thread reads (Pillow) and hashes. Chunks are immutable and
    only appended, so a reader copies out of them without holding the lock while it copies.
    """

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._starts: list[int] = []
        self._size = 0
        self._position = 0
        self._ended = False
        self._abandoned = False
        self._keep = True
        self._hashed = 0
        self._digest = hashlib.sha256()
        self._sha256: str | None = None
        self._hashing = threading.Lock()
        self._arrived = threading.Condition()
        self.on_idle: Callable[[], None] | None = None
        """Called on the reader's thread when a read has to wait for bytes (the decoder is between reads):
        work done there costs no time, only CPU the download leaves idle."""

    # The event loop's side.

    def feed(self, chunk: bytes) -> None:
        chunk = bytes(chunk)  # kept, so never a buffer its writer may reuse (bytes themselves are not copied)
        with self._arrived:
            if self._abandoned:
                return
            if self._size + len(chunk) > MAX_KEPT_BYTES:
                self._give_up()  # too large to keep: neither decoded nor hashed on the way
                return
            self._starts.append(self._size)
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._arrived.notify_all()

    def end(self) -> None:
        """Every byte has arrived."""
        with self._arrived:
            self._ended = True
            self._arrived.notify_all()

    def abandon(self) -> None:
        """The bytes are thrown away: the reader stops at its next read, and nobody waits for the digest."""
        with self._arrived:
            self._give_up()

    def _give_up(self) -> None:
        self._abandoned = True
        self._chunks, self._starts = [], []
        self._arrived.notify_all()

    @property
    def given_up(self) -> bool:
        return self._abandoned

    @property
    def received(self) -> int:
        return self._size

    # The image thread's side (and `sha256` for whoever publishes).

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._wait_for(lambda: self._ended)
            offset += self._size
        elif whence == io.SEEK_CUR:
            offset += self._position
        if offset < 0:
            raise ValueError("negative seek position")
        self._position = offset
        return offset

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes from the current position (all of them: `size` < 0), waiting until they have
        arrived or the bytes end. A read that one chunk holds whole is that chunk itself, not a copy
        (Pillow reads PNG data 64 KB at a time, as downloads mostly arrive)."""
        if size is None or size < 0:
            self._wait_for(lambda: self._ended)
            size = max(0, self._size - self._position)
        end = self._position + size
        if self.on_idle is not None and not self._ended and self._size < end:
            self.on_idle()  # the bytes are not here yet: a moment the reader's thread would only wait
        self._wait_for(lambda: self._ended or self._size >= end)
        with self._arrived:
            chunks, starts, arrived = self._chunks, self._starts, self._size
        pieces = []
        index = max(0, bisect.bisect_right(starts, self._position) - 1)
        while self._position < min(end, arrived) and index < len(chunks):
            offset = self._position - starts[index]
            piece = chunks[index][offset : offset + end - self._position]
            pieces.append(piece)
            self._position += len(piece)
            index += 1
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, target: WriteableBuffer) -> int:
        """Fill `target` from the current position, waiting until it can be filled or the bytes end."""
        view = memoryview(target).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def _wait_for(self, ready: Callable[[], bool]) -> None:
        """Hash what has arrived, then wait until `ready()`; AbandonedError when the bytes are thrown away."""
        while True:
            self._hash_arrived()
            with self._arrived:
                if self._abandoned:
                    raise AbandonedError
                if ready():
                    return
                self._arrived.wait()

    def _hash_arrived(self) -> None:
        """Hash every chunk that arrived since the last time; once all have, the digest is known.

        One hasher at a time: the image's thread, or a publisher that will not wait for the decoder."""
        with self._hashing:
            with self._arrived:
                fresh = self._chunks[self._hashed :]
                self._hashed += len(fresh)
            for chunk in fresh:
                self._digest.update(chunk)  # outside the lock: hashlib lets go of the GIL for large chunks
            with self._arrived:
                if not self._keep:  # the decoder is done: hashed chunks are no longer needed
                    del self._chunks[: self._hashed], self._starts[: self._hashed]
                    self._hashed = 0
                complete = self._ended and self._hashed == len(self._chunks) and not self._abandoned
                if complete and self._sha256 is None:
                    self._sha256 = self._digest.hexdigest()
                    self._arrived.notify_all()

    def drain(self) -> None:
        """After the decoder is done with the bytes: hash the rest as it arrives, keeping none of it."""
        with self._arrived:
            self._keep = False
        self._wait_for(lambda: self._sha256 is not None)

    def sha256(self) -> str | None:
        """The digest of every byte once the download has ended, hashing what the image's thread has not
        yet (it may still be decoding); None when the bytes were thrown away before all were hashed."""
        with self._arrived:
            self._arrived.wait_for(lambda: self._ended or self._abandoned)
        self._hash_arrived()
        with self._arrived:
            return None if self._abandoned else self._sha256


class ArrivingImage:
    """Stands in for the store's upload during the download (the `ImageSink` a download writes into): every
    chunk goes to the upload and to the image's thread (see the module docstring).

    The download must end with `end()` (every byte arrived) or `abandon()` (failed, cancelled); after
    `end()`, `sha256()` and `decoded()` wait for what the thread did.
    """

    def __init__(self, upload: Upload, *, decode: bool = True, preview_budget: int = 0) -> None:
        """`decode=False`: only hash (nothing will be shown inline, so no picture is needed).
        `preview_budget`: base64 characters its preview may take; > 0: make the preview on the way too."""
        self._upload = upload
        self._decode = decode
        self._preview_budget = preview_budget
        self._bytes = ArrivingBytes()
        self._decoded = Decoded()
        self._done = threading.Event()
        self._threads = _threads
        self._working = self._threads.acquire(blocking=False) and self._start_thread()
        if not self._working:  # MAX_THREADS images are being decoded already: this one goes the ordinary way
            self._bytes.abandon()
            self._done.set()

    def _start_thread(self) -> bool:
        try:
            threading.Thread(target=self._work, name="decode-as-it-arrives", daemon=True).start()
        except RuntimeError:  # no thread to be had: the head start is not worth failing the download for
            self._threads.release()
            return False
        return True

    @property
    def size(self) -> int:
        return self._upload.size

    @property
    def head(self) -> bytearray:
        return self._upload.head

    def write(self, chunk: bytes) -> None:
        self._upload.write(chunk)
        self._bytes.feed(chunk)

    def restart(self) -> None:
        """A (retried) download starts over: so do the upload, the decoder and the hash."""
        self._upload.restart()
        if not self._bytes.received:
            return  # nothing arrived yet (every download starts so): nothing to start over
        abandoned, self._bytes = self._bytes, ArrivingBytes()
        abandoned.abandon()
        if not self._working:
            self._bytes.abandon()

    def tail(self, length: int) -> bytes:
        return self._upload.tail(length)

    def end(self) -> None:
        self._bytes.end()

    def abandon(self) -> None:
        self._bytes.abandon()

    @property
    def given_up(self) -> bool:
        """Whether the head start was given up (too large to keep, or no thread free): no picture is coming."""
        return self._bytes.given_up

    @property
    def bytes_read(self) -> int:
        """How far into the bytes the decoder has read (it reads as far as they have arrived)."""
        return self._bytes.tell()

    def sha256(self) -> str | None:
        return self._bytes.sha256()

    def decoded(self) -> Decoded:
        """What the thread decoded, once it is done (after `end()`, at most the last chunk's decoding)."""
        self._done.wait()
        return self._decoded

    def release(self) -> None:
        """The picture is no longer needed (its inline copy is made): let its memory go."""
        self._decoded = Decoded(None, self._decoded.problem)

    def _work(self) -> None:
        """The image's thread: decode and hash each attempt's bytes, until an attempt's bytes all arrived.

        Never raises: whatever goes wrong costs only the head start."""
        try:
            while True:
                attempt = self._bytes
                try:
                    if self._decode:
                        self._decoded = _decode_and_hash(attempt, self._preview_budget)
                    else:
                        self._decoded = _hash_only(attempt)
                except AbandonedError:
                    if attempt is not self._bytes:
                        continue  # a retried download: start over on its bytes
                return
        except Exception:  # a publisher still gets the digest: `sha256()` hashes what the thread did not
            logger.exception("decoding an image while it downloaded failed unexpectedly")
        finally:
            self._threads.release()
            self._done.set()


def _hash_only(arriving: ArrivingBytes) -> Decoded:
    arriving.drain()
    return Decoded()


def _decode_and_hash(arriving: ArrivingBytes, preview_budget: int) -> Decoded:
    """On the image's thread: Pillow decodes while the bytes arrive (and the preview is encoded band by band
    behind it, where it can be), then the rest is hashed."""
    follower: bands.Follower | None = None

    def follow(opened: ImageFile) -> None:
        nonlocal follower
        if preview_budget <= 0:
            return
        try:  # all of it: whatever raises here, Pillow would take for a picture it cannot decode
            if not bands.follows(opened) or preview_factor(opened.width, opened.height) != 1:
                return
            follower = bands.Follower(opened, PREVIEW_QUALITIES[0], preview_budget)
        except Exception:  # the head start only: Pillow decodes into memory of its own
            logger.exception("following a picture's decoding failed")
            return
        arriving.on_idle = follower.on_idle

    try:
        picture = decode_picture(arriving, follow)
        if follower is not None and not follower.written(picture):
            # Rows the decoder never wrote hold the colour memory was filled with: decoded again, as always
            # (the bytes are all still kept until `drain()`; the inline copy may have no others to decode).
            follower, arriving.on_idle = None, None
            arriving.seek(0)
            picture = decode_picture(arriving)
    except UndecodableImageError as error:
        arriving.drain()
        return Decoded(None, str(error))
    finally:
        arriving.on_idle = None
    arriving.drain()
    preview = follower.finish(picture) if follower is not None else None
    return Decoded(picture, preview=preview, preview_share=preview_budget)
