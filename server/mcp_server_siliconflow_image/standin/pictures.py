"""The stand-in's images: deterministic bytes for (prompt, seed, size, index), and deliberately broken ones.

`ImageKind` chooses what a good image looks like: "scene" (the default) draws what the prompt describes
(standin/scenes.py; an edit of one is its input picture changed, standin/edits.py), "pattern" draws shapes
derived from the prompt, "noise" makes incompressible PNGs of realistic provider size (1024x1024 RGB is
~3 MB), "photo" makes photo-like deflated PNGs with the size and decode cost of real provider output
(~2.5 MB at 1024x1024), "jpeg" is a photo-like JPEG. The broken kinds (`BROKEN_IMAGES`) are what a faulty
CDN serves instead.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import struct
import zlib
from collections.abc import Callable
from typing import Literal

ImageKind = Literal["scene", "pattern", "noise", "photo", "jpeg"]
PHOTO_VARIANTS = 8
"""Distinct photos per size: (seed, index) picks one, so a stand-in asked for random seeds makes at most this many."""
PHOTO_GRAIN = 48
"""Amplitude of the per-pixel grain: what makes a photo's PNG large (48 gives ~2.5 MB at 1024x1024, as real
provider PNGs of detailed pictures are) and as slow to inflate and unfilter as one."""


@functools.lru_cache(maxsize=32)
def render_image(kind: ImageKind, prompt: str, seed: int, size: tuple[int, int], index: int) -> tuple[bytes, str]:
    """Deterministic image bytes for (prompt, seed, size, index), and their MIME type.

    Cached: a real provider's CDN serves stored bytes, so repeating a request costs the stand-in nothing.
    """
    digest = hashlib.sha256(f"{prompt}\0{seed}\0{size}\0{index}".encode()).digest()
    if kind == "scene":
        from mcp_server_siliconflow_image.standin.scenes import scene_png

        return scene_png(prompt, seed, size, index), "image/png"
    if kind == "noise":
        return noise_png(size, int.from_bytes(digest[:8], "big")), "image/png"
    if kind == "photo":
        variant = hashlib.sha256(f"{seed}\0{index}".encode()).digest()[0] % PHOTO_VARIANTS
        return photo_png(size, variant), "image/png"
    return _drawn_image(prompt, seed, size, digest, "JPEG" if kind == "jpeg" else "PNG")


def noise_png(size: tuple[int, int], seed: int) -> bytes:
    """An RGB PNG of random pixels: it does not compress, like a detailed photo from a provider."""
    width, height = size
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return _rgb_png(width, height, zlib.compress(rows, 1))


@functools.lru_cache(maxsize=2 * PHOTO_VARIANTS)
def photo_png(size: tuple[int, int], seed: int) -> bytes:
    """A photo-like RGB PNG, deflated as Pillow (and so most providers) writes it: soft light and colour
    with grain over it. It compresses and decodes like a detailed photo, not like noise (which barely
    deflates) or flat shapes (which decode in no time). Made once per (size, seed): ~0.3 s at 1024x1024.
    """
    from PIL import Image, ImageChops

    width, height = size
    rng = random.Random(seed)

    def noise(plane_width: int, plane_height: int, amplitude: int) -> Image.Image:
        plane = Image.frombytes("L", (plane_width, plane_height), rng.randbytes(plane_width * plane_height))
        return plane if amplitude == 256 else plane.point(lambda value: value * amplitude // 256)

    def smooth(divisor: int, amplitude: int) -> Image.Image:
        coarse = noise(max(2, width // divisor), max(2, height // divisor), amplitude)
        return coarse.resize(size, Image.Resampling.BICUBIC)

    light = smooth(48, 256)
    channels = []
    for _ in range(3):
        shaded = ImageChops.add(light, smooth(12, 112), scale=1.4)
        channels.append(ImageChops.add(shaded, noise(width, height, PHOTO_GRAIN), offset=-PHOTO_GRAIN // 2))
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, format="PNG")
    return buffer.getvalue()


def _rgb_png(width: int, height: int, compressed_rows: bytes) -> bytes:
    """A PNG file around already compressed 8-bit RGB rows (which need not cover the whole height)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", compressed_rows)
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _drawn_image(prompt: str, seed: int, size: tuple[int, int], digest: bytes, image_format: str) -> tuple[bytes, str]:
    from PIL import Image, ImageDraw

    width, height = size
    top, bottom = digest[0:3], digest[3:6]
    column = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", size, tuple(bottom)), Image.new("RGB", size, tuple(top)), column)
    draw = ImageDraw.Draw(image)
    rng = random.Random(digest)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(8, min(size) // 12), max(16, min(size) // 4))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        box = (x0 - radius, y0 - radius, x0 + radius, y0 + radius)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour, outline=(0, 0, 0))
    caption = f"{prompt[:60]}\nseed {seed}"
    draw.multiline_text((12, 12), caption, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue(), f"image/{image_format.lower()}"


def _corrupt_png(data: bytes) -> bytes:
    """The same PNG with its compressed pixel data overwritten: the header and the end still look right."""
    start = data.find(b"IDAT") + 4
    return data[:start] + bytes(range(256)) * 8 + data[start + 2048 :]


def _huge_png(_: bytes) -> bytes:
    """A complete, valid-looking PNG that declares 30000x30000 pixels (2.7 GB decoded): a decompression bomb."""
    width = height = 30_000
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 64)  # the first rows only: enough to look real
    return _rgb_png(width, height, rows)


BROKEN_IMAGES: dict[str, Callable[[bytes], bytes]] = {"corrupt": _corrupt_png, "huge": _huge_png}
"""Download fault kinds that replace a good image's bytes with a broken image made from them."""
