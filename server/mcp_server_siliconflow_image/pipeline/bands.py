"""A picture's preview JPEG, encoded a band of rows at a time while its PNG is still downloading.

Pillow decodes a PNG top to bottom as its bytes arrive (pipeline/arriving.py), so on a real network most
of the picture is known long before its last byte, and so could most of its preview be. A baseline JPEG
can be made of bands: each band encoded on its own starts its DC predictions at zero and ends on a whole
byte, which is exactly what a restart marker between two bands tells a decoder. So the bands, joined by
restart markers under the first band's headers (its height made the picture's, a DRI segment added), are
byte for byte the JPEG libjpeg makes of the whole picture with a restart marker every `BAND_ROWS` rows (a
test holds them to that). Any decoder reads it, and it is the preview the picture gets when it is made the
usual way after its download (pipeline/previews.py puts those markers in every preview). After the last
byte only the last band is left to encode, not the whole picture (~7 ms for a 1024x1024 photo, on the
critical path of every call).

How far Pillow has got is not something it tells: `DecodedRows` reads it from the picture's memory,
filled with a colour beforehand. Only the plain case is followed (an 8-bit RGB PNG, not interlaced, shown
at full size); everything else gets its preview after the download, as before.
"""

from __future__ import annotations

import base64
import io
import logging
import struct
from typing import TYPE_CHECKING

from mcp_server_siliconflow_image.imageformat import base64_length
from mcp_server_siliconflow_image.pipeline.previews import BAND_ROWS, SUBSAMPLING, InlineImage

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from PIL.ImageFile import ImageFile

logger = logging.getLogger(__name__)

MCU_SIDE = 16
START_OF_FRAME = 0xFFC0  # baseline
START_OF_SCAN = 0xFFDA
GIVE_UP_AFTER = 0.25
"""Once this share of the rows is encoded, a preview heading over its budget goes on at half size, or is
given up (noise-like pictures rarely fit; the preview search after the download picks a smaller one)."""


def follows(picture: ImageFile) -> bool:
    """Whether `picture` (opened, not yet loaded) is the plain case whose decoding can be followed row by row."""
    if picture.format != "PNG" or picture.mode != "RGB" or picture.info.get("interlace"):
        return False
    tiles = picture.tile
    if len(tiles) != 1 or tiles[0][0] != "zip" or tiles[0][1] != (0, 0, *picture.size):
        return False  # one tile, the whole picture (an APNG's first frame may be a part of it, the rest left as is)
    arguments = tiles[0][3]
    raw_mode = arguments[0] if isinstance(arguments, tuple) else arguments
    return raw_mode == "RGB" and picture.height > BAND_ROWS


class DecodedRows:
    """Which rows of a picture being decoded are final, read from the picture's own memory.

    Pillow does not say how far its decoder has got, so the picture's memory is filled with a colour before
    decoding (`prepare`), and a row where it has changed is decoded (the decoder stores whole rows, top to
    bottom). A decoded row that happens to hold that colour where it is looked at only makes its band wait
    for the next check or for the end: never is a row taken for decoded that is not. Read only between the
    decoder's reads, on its own thread.
    """

    SENTINEL = (1, 254, 3)
    SAMPLES = 2
    """Pixels of a row looked at (its first and last): a row with either changed is decoded, one with neither
    is taken for not yet. The decoder stores a whole row at once, so a row is never half changed; a decoded
    row that holds the colour at both ends only waits. Most checks find a row not yet decoded, so they
    look at every sample: two keep that cheap (a check at every read of the decoder)."""

    def __init__(self, picture: ImageFile) -> None:
        self._picture = picture
        last = picture.width - 1
        self._columns = sorted({last * index // (self.SAMPLES - 1) for index in range(self.SAMPLES)})

    def prepare(self) -> None:
        """Give the picture its memory, filled, before Pillow's `load()` (which then decodes into it)."""
        from PIL import Image

        self._picture.im = Image.new("RGB", self._picture.size, self.SENTINEL).im

    def decoded(self, row: int) -> bool:
        """Whether `row` and every row above it are decoded."""
        memory = self._picture.im
        return any(memory.getpixel((column, row)) != self.SENTINEL for column in self._columns)

    def written(self, picture: PILImage) -> bool:
        """Whether the decoder wrote every row of `picture` (decoded into the prepared memory): Pillow accepts
        pixel data that ends early and leaves the rows it lacks as they were, which here is the filled colour,
        not the black of new memory. Rows are written top to bottom, so the last row tells; one that holds the
        colour throughout may also be a decoded one, which only costs the head start."""
        last = picture.height - 1
        return picture.crop((0, last, picture.width, last + 1)).getextrema() != tuple((v, v) for v in self.SENTINEL)


class BandedJpeg:
    """A preview JPEG of `picture` at `quality`, encoded band by band as its rows become final.

    `encode_decoded(rows)` encodes every whole band that is decoded (the picture's memory is only read
    while its decoder waits, on the same thread); `finish()` encodes the rest and joins them. A preview
    heading over its budget at full size goes on at half size (re-encoding the bands so far, which are
    still in memory: what the usual search picks for a photo in a batch of three or four); heading over
    that too, it is given up, and the usual search runs after the download.
    """

    FACTORS = (1, 2)

    def __init__(self, picture: ImageFile, quality: int, budget: int) -> None:
        """`budget`: base64 characters the preview may take."""
        self._picture: PILImage = picture
        self._quality = quality
        self._budget = budget
        self._factor = self.FACTORS[0]
        self._header = b""
        self._scan_header = b""
        self._segments: list[bytes] = []
        self._encoded_rows = 0  # of the picture, not of the preview
        self.given_up = False

    @property
    def _band_rows(self) -> int:
        """Picture rows per band: a band of the preview is BAND_ROWS rows, whatever its factor."""
        return BAND_ROWS * self._factor

    def encode_decoded(self, rows: DecodedRows) -> None:
        """Encode every whole band `rows` says is decoded."""
        while not self.given_up and self._encoded_rows + self._band_rows <= self._picture.height:
            bottom = self._encoded_rows + self._band_rows
            if not rows.decoded(bottom - 1):
                return
            self._encode_band(bottom)
            self._check_heading()

    def finish(self, picture: PILImage) -> InlineImage | None:
        """The preview, from `picture` (the decoded picture) for the rows not yet encoded; None when it was
        given up or does not fit the budget."""
        if self.given_up:
            return None
        self._picture = picture
        while not self.given_up and self._encoded_rows < picture.height:
            self._encode_band(min(self._encoded_rows + self._band_rows, picture.height))
            self._check_heading()
        if self.given_up:
            return None
        width, height = _reduced(picture.width, self._factor), _reduced(picture.height, self._factor)
        jpeg = self._joined(width, height)
        if base64_length(len(jpeg)) > self._budget:
            return None
        return InlineImage(base64.b64encode(jpeg).decode("ascii"), "image/jpeg", width, height, is_preview=True)

    def _encode_band(self, bottom: int) -> None:
        from PIL import Image

        core = self._picture.im.crop((0, self._encoded_rows, self._picture.width, bottom))
        band = Image.Image()._new(core)
        if self._factor > 1:
            band = band.reduce(self._factor)
        buffer = io.BytesIO()
        band.save(buffer, format="JPEG", quality=self._quality, subsampling=SUBSAMPLING)
        header, scan_header, segment = _split_jpeg(buffer.getvalue())
        if not self._segments:
            self._header, self._scan_header = header, scan_header
        self._segments.append(segment)
        self._encoded_rows = bottom

    def _check_heading(self) -> None:
        height = self._picture.height
        if self._encoded_rows < height * GIVE_UP_AFTER:
            return
        predicted = sum(len(segment) for segment in self._segments) * height / self._encoded_rows
        if base64_length(int(predicted)) <= self._budget:
            return
        self._segments = []
        smaller = [factor for factor in self.FACTORS if factor > self._factor]
        if not smaller:
            self.given_up = True
            return
        self._factor, self._encoded_rows = smaller[0], 0  # the next encode_decoded starts again from the top

    def _joined(self, width: int, height: int) -> bytes:
        interval = -(-width // MCU_SIDE) * (BAND_ROWS // MCU_SIDE)  # MCUs per band
        restart = struct.pack(">HHH", 0xFFDD, 4, interval)
        parts = [_with_height(self._header, height), restart, self._scan_header]
        for number, segment in enumerate(self._segments):
            if number:
                parts.append(bytes((0xFF, 0xD0 + (number - 1) % 8)))
            parts.append(segment)
        parts.append(b"\xff\xd9")
        return b"".join(parts)


def _reduced(side: int, factor: int) -> int:
    """A side's length after `Image.reduce(factor)` (a last, partial box still makes a pixel)."""
    return -(-side // factor)


def _split_jpeg(jpeg: bytes) -> tuple[bytes, bytes, bytes]:
    """(everything before the scan, the scan's header, its entropy-coded data) of a one-scan JPEG."""
    position, length = _segment(jpeg, START_OF_SCAN)
    scan_start = position + 2 + length
    return jpeg[:position], jpeg[position:scan_start], jpeg[scan_start:-2]  # the last two bytes: EOI


def _with_height(header: bytes, height: int) -> bytes:
    """`header` with its frame (SOF0) saying `height` rows."""
    position, _ = _segment(header, START_OF_FRAME)
    frame = position + 5  # marker, length, precision
    return header[:frame] + struct.pack(">H", height) + header[frame + 2 :]


def _segment(jpeg: bytes, wanted: int) -> tuple[int, int]:
    """Where the segment with marker `wanted` starts in JPEG bytes, and its length, walking the segments after
    SOI (Pillow's own output: `wanted` is there, before any entropy-coded data)."""
    position = 2
    while True:
        marker, length = struct.unpack_from(">HH", jpeg, position)
        if marker == wanted:
            return position, length
        position += 2 + length


class Follower:
    """Follows one picture's decoding and makes its preview on the way; whatever goes wrong here costs
    only the head start (the preview is then made after the download, the usual way), never the decoding."""

    def __init__(self, picture: ImageFile, quality: int, budget: int) -> None:
        """`picture`: opened, not yet loaded (its memory is prepared here, last: a Follower that could not be
        made has left the picture's memory to Pillow)."""
        self._rows = DecodedRows(picture)
        self._banded = BandedJpeg(picture, quality, budget)
        self._rows.prepare()

    def on_idle(self) -> None:
        """The decoder has to wait for bytes: encode the bands it has finished."""
        try:
            self._banded.encode_decoded(self._rows)
        except Exception:
            logger.exception("encoding a preview while its picture decoded failed")
            self._banded.given_up = True

    def written(self, picture: PILImage) -> bool:
        """Whether `picture` (decoded) is Pillow's picture, every row written by its decoder; when not (or when
        that cannot be told), neither it nor its preview may be used: it is decoded again, the usual way."""
        try:
            return self._rows.written(picture)
        except Exception:
            logger.exception("checking a picture decoded into prepared memory failed")
            return False

    def finish(self, picture: PILImage) -> InlineImage | None:
        """The preview of the decoded `picture`, or None: make it the usual way."""
        try:
            return self._banded.finish(picture)
        except Exception:
            logger.exception("encoding a preview while its picture decoded failed")
            return None
