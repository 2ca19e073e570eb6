"""Real image bytes for tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def encode(image_format: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    colour = (200, 30, 90, 128) if mode == "RGBA" else (200, 30, 90)
    buffer = io.BytesIO()
    Image.new(mode, size, colour[: len(mode)]).save(buffer, format=image_format)
    return buffer.getvalue()
