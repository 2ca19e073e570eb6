"""Recognise image bytes by their magic number and read their size from the header alone.

Providers and CDNs mislabel Content-Type (`application/octet-stream`, `binary/octet-stream`, or an
HTML error page served as 200), so the bytes decide. Parsing the header ourselves keeps Pillow out
of the common path: it is imported only when a preview has to be encoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import PurePath

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

VIDEO_MIME_TYPE = "video/mp4"
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", VIDEO_MIME_TYPE: "mp4"}
"""The one list of saved file suffixes (images, and the MP4 videos of video jobs): what saved files are named
with, and all that is read back as one."""
UNKNOWN_MIME_TYPE = "application/octet-stream"


def mime_type_for(name: str | PurePath) -> str:
    """The type a file name's suffix says (an image type or video/mp4, as `ImageFormat.extension` names it)."""
    extension = PurePath(name).suffix.lstrip(".").lower()
    for mime_type, known in EXTENSIONS.items():
        if known == extension:
            return mime_type
    return UNKNOWN_MIME_TYPE


class NotAnImageError(ValueError):
    """The bytes are not a PNG, JPEG or WebP image (for example an HTML or XML error page)."""


@dataclass(frozen=True)
class ImageFormat:
    mime_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.mime_type]


def base64_length(raw_length: int) -> int:
    """Characters of base64 that carry `raw_length` bytes (what inline images and data URIs cost)."""
    return 4 * ((raw_length + 2) // 3)


def sniff_mime_type(data: bytes) -> str | None:
    """The image MIME type the leading bytes announce, or None when they are not an image we accept."""
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def identify(data: bytes) -> ImageFormat:
    """Check that `data` is a PNG, JPEG or WebP image and read its pixel size.

    Raises NotAnImageError with a description of what the bytes look like instead.
    """
    mime_type = sniff_mime_type(data)
    if mime_type is None:
        raise NotAnImageError(f"not a PNG, JPEG or WebP image ({describe_bytes(data)})")
    reader = {"image/png": _png_size, "image/jpeg": _jpeg_size, "image/webp": _webp_size}[mime_type]
    try:
        width, height = reader(data)
    except (struct.error, IndexError, ValueError) as error:
        raise NotAnImageError(f"{mime_type} header is damaged or truncated") from error
    if width <= 0 or height <= 0:
        raise NotAnImageError(f"{mime_type} header declares an empty image ({width}x{height})")
    return ImageFormat(mime_type, width, height)


def describe_bytes(data: bytes) -> str:
    """A short, safe description of non-image bytes for error messages."""
    if not data:
        return "empty response"
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith(b"<?xml") or head.startswith(b"<error"):
        return "an XML document"
    if head.startswith((b"{", b"[")):
        return "a JSON document"
    return f"{len(data)} bytes starting {data[:8].hex()}"


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ValueError("PNG without IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


_JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    offset = 2
    while offset < len(data):
        while data[offset] != 0xFF:
            offset += 1
        while data[offset] == 0xFF:
            offset += 1
        marker = data[offset]
        offset += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        (length,) = struct.unpack(">H", data[offset : offset + 2])
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", data[offset + 3 : offset + 7])
            return int(width), int(height)
        offset += length
    raise ValueError("JPEG without a frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise ValueError("WebP with an unknown chunk")


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def check_complete(head: bytes, tail: bytes, size: int) -> bool:
    """Whether an image's last bytes are where its format says they end (catches truncated downloads)."""
    mime_type = sniff_mime_type(head)
    if mime_type == "image/png":
        return tail.endswith(_PNG_END)
    if mime_type == "image/jpeg":
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if mime_type == "image/webp":
        declared = int.from_bytes(head[4:8], "little") + 8
        return size in (declared, declared + 1)
    return False


class NotAVideoError(ValueError):
    """The bytes are not a whole MP4 file (for example an HTML error page, or a download cut short)."""


_MP4_BOX_HEADER = 8


def is_mp4(head: bytes) -> bool:
    """Whether the leading bytes announce an MP4 (ISO base media) file: a first `ftyp` box."""
    return len(head) >= _MP4_BOX_HEADER and head[4:8] == b"ftyp"


def check_mp4(data: bytes) -> None:
    """Check that `data` is a whole MP4 file: it starts with `ftyp`, and its top-level boxes, read by their
    declared sizes, end exactly where the file does, with a `moov` box (the index without which no player
    can play it) among them. A cut-short download fails here, as an error page does.

    Raises NotAVideoError saying what the bytes look like instead.
    """
    if not is_mp4(data):
        raise NotAVideoError(f"not an MP4 video ({describe_bytes(data)})")
    offset, boxes = 0, set()
    while offset < len(data):
        if len(data) - offset < _MP4_BOX_HEADER:
            raise NotAVideoError("the MP4 file ends inside a box header (a truncated download)")
        size, kind = struct.unpack(">I4s", data[offset : offset + _MP4_BOX_HEADER])
        if size == 1:  # a 64-bit size follows the type
            if len(data) - offset < 16:
                raise NotAVideoError("the MP4 file ends inside a box header (a truncated download)")
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - offset
        if size < _MP4_BOX_HEADER or offset + size > len(data):
            raise NotAVideoError("the MP4 file is cut short: a box runs past its end (a truncated download)")
        boxes.add(kind)
        offset += size
    if b"moov" not in boxes:
        raise NotAVideoError("the MP4 file has no index (moov box): it is incomplete or damaged")
