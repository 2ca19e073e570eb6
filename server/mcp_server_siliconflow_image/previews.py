"""Inline image data that fits the client: originals when they fit, JPEG previews when they do not.

Claude Desktop refuses any tool result over 1,048,576 bytes and a 1024x1024 provider PNG is often
1.5-3 MB, so the inline copy may have to be a smaller rendition of the same picture. The original
always stays on disk and behind its resource link.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_INLINE_SIDE = 8000
"""The Claude API rejects images over 8000 px on a side."""

_PREVIEW_SIDES = (2048, 1536, 1280, 1024, 768, 640, 512, 384, 256, 192, 128, 96, 64)
_PREVIEW_QUALITIES = (85, 75, 60)


@dataclass(frozen=True)
class InlineImage:
    data_base64: str
    mime_type: str
    width: int
    height: int
    is_preview: bool


def base64_length(raw_length: int) -> int:
    return 4 * ((raw_length + 2) // 3)


def inline_budget_per_image(total_budget: int, count: int) -> int:
    return total_budget // count if count else 0


def fits_inline(raw_length: int, width: int, height: int, budget: int) -> bool:
    return base64_length(raw_length) <= budget and max(width, height) <= MAX_INLINE_SIDE


def original_inline(data: bytes, mime_type: str, width: int, height: int) -> InlineImage:
    return InlineImage(base64.b64encode(data).decode("ascii"), mime_type, width, height, is_preview=False)


def make_preview(data: bytes, budget: int) -> InlineImage | None:
    """A JPEG of the same picture whose base64 fits `budget`, or None when even a thumbnail will not.

    JPEG because every MCP client and model API accepts it; sizes shrink step by step so a preview
    is as large as the budget allows.
    """
    from PIL import Image  # Pillow is only needed here, and importing it costs start-up time.

    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        source = _flatten_to_rgb(opened)
    longest = max(source.size)
    for side in (s for s in _PREVIEW_SIDES if s < longest or s == _PREVIEW_SIDES[-1]):
        scaled = source.copy()
        scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in _PREVIEW_QUALITIES:
            buffer = io.BytesIO()
            scaled.save(buffer, format="JPEG", quality=quality, optimize=True)
            if base64_length(buffer.tell()) <= budget:
                encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
                return InlineImage(encoded, "image/jpeg", scaled.width, scaled.height, is_preview=True)
    return None


def _flatten_to_rgb(image: PILImage) -> PILImage:
    """JPEG has no alpha: composite transparent images over white rather than black."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
