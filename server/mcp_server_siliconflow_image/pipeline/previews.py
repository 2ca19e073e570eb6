"""Inline image data that fits the client: originals when they fit, JPEG previews when they do not.

Claude Desktop refuses any tool result over 1,048,576 bytes and a 1024x1024 provider PNG is often
1.5-3 MB, so the inline copy may have to be a smaller rendition of the same picture. The original
always stays on disk and behind its resource link.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

from mcp_server_siliconflow_image.imageformat import ImageFormat, NotAnImageError, base64_length, identify

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image as PILImage
    from PIL.ImageFile import ImageFile

MAX_INLINE_SIDE = 8000
"""The Claude API rejects images over 8000 px on a side."""

MAX_PREVIEW_SIDE = 2048
"""Larger previews add bytes, not anything a model can see: vision models downscale to ~1.5k px."""
PREVIEW_PIXELS = 1_500_000
"""What vision models keep of a picture (~1.15-1.5 megapixels; more is downscaled before the model sees it).
A preview is reduced by the whole factor that brings it nearest to this: a 2048x2048 original previews at
1024x1024 (one quarter of the JPEG encode, bytes and transfer), a 1328x1328 one at full size (halving it
would throw away detail a model keeps, and a fractional resize costs more than it saves)."""
MIN_PREVIEW_SIDE = 32
PROBE_SIDE = 256
PREVIEW_QUALITIES = (80, 60)
SUBSAMPLING = 2
"""4:2:0 chroma, what Pillow uses for RGB at these qualities anyway: named, because bands depend on it."""
BAND_ROWS = 64
"""Rows per band of a preview encoded while its picture downloads (pipeline/bands.py): four MCU rows of a
4:2:0 JPEG (16 rows each), so bands meet on MCU boundaries. A 1024-row picture is 16 bands; the last one
(~0.5 ms to encode) is what is left after the last byte."""
RESTART_ROWS = BAND_ROWS // 16
"""Every preview has a restart marker after each band's MCU rows, however it was made."""
SAMPLE_TILES = 4
SAMPLE_TILE_SIDE = 64
PREDICTION_SLACK = 0.97
"""Tile samples predict JPEG sizes within about 3% on noisy pictures and over-predict smooth ones, so an
encode is skipped only when even 97% of its predicted size is over the budget."""
MAX_DECODE_PIXELS = 25_000_000
"""Larger images (a 30000x30000 "decompression bomb") are saved as received but never decoded here:
decoding one would take gigabytes of memory for a picture no client could be sent anyway."""
DECODED_FORMATS = ("PNG", "JPEG", "WEBP")
"""What Pillow may parse here: the types a saved image can have (imageformat.EXTENSIONS), no other plugin."""


class UndecodableImageError(ValueError):
    """Image bytes whose header looks right but whose picture cannot be decoded (or is too large to)."""


@dataclass(frozen=True)
class InlineImage:
    data_base64: str
    mime_type: str
    width: int
    height: int
    is_preview: bool


def inline_budget_per_image(total_budget: int, count: int) -> int:
    return total_budget // count if count else 0


def fits_inline(raw_length: int, width: int, height: int, budget: int) -> bool:
    return base64_length(raw_length) <= budget and max(width, height) <= MAX_INLINE_SIDE


def original_inline(data: bytes, mime_type: str, width: int, height: int) -> InlineImage:
    return InlineImage(base64.b64encode(data).decode("ascii"), mime_type, width, height, is_preview=False)


@dataclass(frozen=True)
class InlinePlan:
    """How a batch is shown: originals only when all of them fit the budget together."""

    budget: int
    share: int
    originals_fit: bool

    @classmethod
    def for_batch(cls, sizes: list[int], budget: int) -> InlinePlan:
        share = inline_budget_per_image(budget, len(sizes))
        return cls(budget, share, budget > 0 and sum(base64_length(size) for size in sizes) <= budget)


def inline_for(
    data: bytes,
    image: ImageFormat,
    plan: InlinePlan,
    picture: PILImage | None = None,
    preview: InlineImage | None = None,
) -> InlineImage | None:
    """The image block's content for one image: the original when the plan allows, else a preview.

    `picture` is the image already decoded (while it downloaded, see pipeline/arriving.py); without it,
    `data` is decoded here. `preview` is the preview made while it downloaded (pipeline/bands.py), if one
    was; it is shown when it fits this plan.
    Raises UndecodableImageError rather than send bytes the client cannot decode: one undecodable image
    block makes the Claude API refuse the whole conversation turn, not just the picture.
    """
    if plan.budget <= 0:
        return None
    _check_decodable_size(image.width, image.height)
    if plan.originals_fit and data and fits_inline(len(data), image.width, image.height, plan.budget):
        if picture is None:
            decode_picture(data)
        return original_inline(data, image.mime_type, image.width, image.height)
    if preview is not None and len(preview.data_base64) <= plan.share:
        return preview
    return make_preview(data, plan.share, picture)


def _check_decodable_size(width: int, height: int) -> None:
    if width * height > MAX_DECODE_PIXELS:
        raise UndecodableImageError(
            f"{width}x{height} is over the {MAX_DECODE_PIXELS // 1_000_000} megapixels this server "
            "decodes, so it is not shown inline"
        )


HEADER_PEEK_BYTES = 64 * 1024
"""Where a picture's size is read from before Pillow sees it (PNG's is at byte 16, JPEG's after its metadata)."""


def _check_header(file: IO[bytes]) -> None:
    """Refuse a picture too large to decode by the size its header declares, in this server's words (Pillow
    would refuse one over twice the limit itself, in its own); a header not found in the first bytes is
    left to Pillow."""
    head = file.read(HEADER_PEEK_BYTES)
    file.seek(0)
    try:
        declared = identify(head)
    except NotAnImageError:
        return
    _check_decodable_size(declared.width, declared.height)


def decode_picture(source: bytes | io.RawIOBase, before_load: Callable[[ImageFile], None] | None = None) -> PILImage:
    """The decoded picture, flattened to RGB, from image bytes or a file of them (read as Pillow reads).

    UndecodableImageError for broken pixel data behind a valid header, and for pictures over
    MAX_DECODE_PIXELS (refused from the header, before any pixel is decoded). `before_load` is given the
    opened picture before its pixels are decoded (to follow the decoding: pipeline/bands.py).
    """
    from PIL import Image  # Pillow is only needed here, and importing it costs start-up time.

    Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS
    file = io.BytesIO(source) if isinstance(source, bytes) else cast(IO[bytes], source)
    _check_header(file)
    try:
        with Image.open(file, formats=DECODED_FORMATS) as opened:
            _check_decodable_size(opened.width, opened.height)
            if before_load is not None:
                before_load(opened)
            opened.load()
            return _flatten_to_rgb(opened)
    except UndecodableImageError:
        raise
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError ...
        raise UndecodableImageError(f"its picture data cannot be decoded ({error})") from error


def make_preview(data: bytes, budget: int, picture: PILImage | None = None) -> InlineImage | None:
    """A JPEG of the same picture whose base64 fits `budget`, or None when even a thumbnail will not.

    JPEG because every MCP client and model API accepts it. Downscaling is by whole factors with a box
    filter (`Image.reduce`: fast, and sharp enough for a preview), the factor chosen from a small probe
    encode when the first size is not predicted to fit, and a quality is encoded at full size only when a
    sample of tiles predicts it fits, so a preview costs one full encode (a 1024x1024 JPEG is ~7 ms) rather
    than a search over sizes.
    `picture`, when given, is `data` already decoded.
    """
    source = picture if picture is not None else decode_picture(data)
    if max(source.size) // MIN_PREVIEW_SIDE < 1:
        return None
    target = budget * 3 // 4  # raw bytes whose base64 fits the budget
    longest = max(source.size)
    factor = preview_factor(source.width, source.height)
    sizes = _SampleSizes(factor, source.reduce(factor) if factor > 1 else source)
    predicted = sizes.predicted(factor, sizes.first, PREVIEW_QUALITIES[0])
    if predicted is None or predicted > target:  # a smaller size is needed: a small probe says from where
        probe_factor = max(1, longest // PROBE_SIDE)
        probe = source.reduce(probe_factor) if probe_factor > 1 else source
        bytes_per_pixel = len(_jpeg(probe, PREVIEW_QUALITIES[0])) / (probe.width * probe.height)
        while factor < longest and (source.width // factor) * (source.height // factor) * bytes_per_pixel > target:
            factor += 1
    for factor_tried in range(factor, max(factor, longest // MIN_PREVIEW_SIDE) + 1):
        scaled = sizes.first if factor_tried == sizes.first_factor else source.reduce(factor_tried)
        for quality in PREVIEW_QUALITIES:
            predicted = sizes.predicted(factor_tried, scaled, quality)
            if predicted is not None and predicted * PREDICTION_SLACK > target:
                continue  # a full-size encode that would not fit costs as much as the one that does
            encoded = _jpeg(scaled, quality)
            if base64_length(len(encoded)) <= budget:
                data_base64 = base64.b64encode(encoded).decode("ascii")
                return InlineImage(data_base64, "image/jpeg", scaled.width, scaled.height, is_preview=True)
    return None


def preview_factor(width: int, height: int) -> int:
    """The whole factor a preview of a `width` x `height` picture is first tried at (1: full size)."""
    nearest_to_kept = round(math.sqrt(width * height / PREVIEW_PIXELS))
    return max(1, math.ceil(max(width, height) / MAX_PREVIEW_SIDE), nearest_to_kept)


class _SampleSizes:
    """JPEG sizes predicted from tile samples, each sample encoded once per (factor, quality).

    When the first size tried is predicted to fit at the best quality, no probe is needed to find where to
    start (the probe was ~2 ms of a 1024x1024 preview's ~11), and that sample's encode is reused."""

    def __init__(self, first_factor: int, first: PILImage) -> None:
        self.first_factor = first_factor
        self.first = first
        self._samples: dict[int, PILImage | None] = {}
        self._encoded: dict[tuple[int, int], int] = {}

    def predicted(self, factor: int, scaled: PILImage, quality: int) -> float | None:
        """JPEG bytes `scaled` is expected to take at `quality`; None when it is too small to sample."""
        if factor not in self._samples:
            self._samples[factor] = _sample_tiles(scaled)
        sample = self._samples[factor]
        if sample is None:
            return None
        if (factor, quality) not in self._encoded:
            self._encoded[factor, quality] = len(_jpeg(sample, quality))
        scale = (scaled.width * scaled.height) / (sample.width * sample.height)
        return self._encoded[factor, quality] * scale


def _sample_tiles(image: PILImage) -> PILImage | None:
    """A mosaic of full-resolution tiles from across `image`, whose JPEG size predicts the whole image's.

    A reduced probe smooths detail away and under-predicts noisy pictures; tiles keep their detail. Tile
    corners sit on 16 px (JPEG block) boundaries. None when the image is small enough to just encode.
    """
    from PIL import Image

    side = SAMPLE_TILES * SAMPLE_TILE_SIDE
    if image.width < 2 * side or image.height < 2 * side:
        return None
    mosaic = Image.new("RGB", (side, side))
    last = SAMPLE_TILES - 1
    for row in range(SAMPLE_TILES):
        for column in range(SAMPLE_TILES):
            left = (image.width - SAMPLE_TILE_SIDE) * column // last // 16 * 16
            top = (image.height - SAMPLE_TILE_SIDE) * row // last // 16 * 16
            tile = image.crop((left, top, left + SAMPLE_TILE_SIDE, top + SAMPLE_TILE_SIDE))
            mosaic.paste(tile, (column * SAMPLE_TILE_SIDE, row * SAMPLE_TILE_SIDE))
    return mosaic


def _jpeg(image: PILImage, quality: int) -> bytes:
    """A preview JPEG as pipeline/bands.py makes one band by band while a picture downloads (4:2:0, a
    restart marker every band), so a picture's preview is the same bytes whichever way it was made."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=SUBSAMPLING, restart_marker_rows=RESTART_ROWS)
    return buffer.getvalue()


def _flatten_to_rgb(image: PILImage) -> PILImage:
    """JPEG has no alpha: composite transparent images over white rather than black."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")
