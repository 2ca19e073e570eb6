"""Real image bytes for tests, made with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from mcp_server_siliconflow_image.pipeline import previews


def encode(image_format: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    colour = (200, 30, 90, 128) if mode == "RGBA" else (200, 30, 90)
    buffer = io.BytesIO()
    Image.new(mode, size, colour[: len(mode)]).save(buffer, format=image_format)
    return buffer.getvalue()


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
"""The seven passes of an interlaced PNG: (first column, first row, column step, row step)."""
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
"""Samples per pixel of each PNG colour type: grey, RGB, palette index, grey + alpha, RGBA."""


def handmade_png(
    size: tuple[int, int],
    *,
    colour_type: int,
    bit_depth: int,
    interlaced: bool = False,
    idat_bytes: int = 1 << 30,
    palette: bytes = b"",
    transparency: bytes = b"",
) -> bytes:
    """A PNG written by hand, byte by byte, for what Pillow cannot write: Adam7 interlacing, 16-bit RGB and
    RGBA, 1/2/4-bit grey and palettes, and pixel data split over many IDAT chunks of `idat_bytes` each.

    Sample values are a deterministic pattern of (x, y, channel) covering the whole range of `bit_depth`.
    """
    width, height = size
    channels = CHANNELS[colour_type]
    top = (1 << bit_depth) - 1
    if colour_type == 3:
        top = min(top, len(palette) // 3 - 1)

    def row_bytes(y: int, columns: range) -> bytes:
        samples = [
            ((x * 37 + y * 101 + channel * 53) ^ (x * y)) % (top + 1) for x in columns for channel in range(channels)
        ]
        if bit_depth == 16:
            return b"".join(sample.to_bytes(2, "big") for sample in samples)
        if bit_depth == 8:
            return bytes(samples)
        per_byte = 8 // bit_depth
        packed = bytearray()
        for start in range(0, len(samples), per_byte):
            group = samples[start : start + per_byte]
            value = 0
            for sample in group:
                value = (value << bit_depth) | sample
            packed.append(value << (bit_depth * (per_byte - len(group))))
        return bytes(packed)

    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    raw = bytearray()
    for first_column, first_row, column_step, row_step in passes:
        columns = range(first_column, width, column_step)
        if not columns:
            continue
        for y in range(first_row, height, row_step):
            raw += b"\0" + row_bytes(y, columns)  # filter type 0 (None)
    compressed = zlib.compress(bytes(raw), 9)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlaced))
    chunks = [_chunk(b"IHDR", header)]
    if palette:
        chunks.append(_chunk(b"PLTE", palette))
    if transparency:
        chunks.append(_chunk(b"tRNS", transparency))
    chunks += [_chunk(b"IDAT", compressed[at : at + idat_bytes]) for at in range(0, len(compressed), idat_bytes)]
    chunks.append(_chunk(b"tEXt", b"Comment\0after the pixels, as some encoders put it"))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def libjpeg_with_restarts(data: bytes, quality: int = 80) -> bytes:
    """What libjpeg itself makes of the whole picture with a restart marker every band of
    pipeline/bands.py: what a preview encoded band by band while it downloaded must be, byte for byte."""
    with Image.open(io.BytesIO(data)) as picture:
        buffer = io.BytesIO()
        restart_rows = previews.BAND_ROWS // 16
        picture.convert("RGB").save(
            buffer, format="JPEG", quality=quality, subsampling=2, restart_marker_rows=restart_rows
        )
        return buffer.getvalue()
