"""Inline images: originals when the batch fits the budget, JPEG previews of the same picture when not."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from mcp_server_siliconflow_image.imageformat import ImageFormat, identify
from mcp_server_siliconflow_image.pipeline.previews import InlineImage, InlinePlan, inline_for, make_preview
from mcp_server_siliconflow_image.standin import noise_png
from mcp_server_siliconflow_image.stores.folder import FolderStore
from mcp_server_siliconflow_image.stores.naming import SavedImage
from tests.images import encode


def fetched(tmp_path: Path, data: bytes) -> SavedImage:
    return FolderStore(tmp_path).save(data, identify(data), seed=1, index=1)


def choose_inline_images(images: list[SavedImage], budget: int) -> list[InlineImage | None]:
    """What a batch of saved images shows inline, as generation decides it."""
    plan = InlinePlan.for_batch([image.size for image in images], budget)
    return [
        inline_for(image.path.read_bytes(), ImageFormat(image.mime_type, image.width, image.height), plan)
        for image in images
    ]


def test_preview_fits_budget_and_keeps_the_shape() -> None:
    data = noise_png((1024, 768), seed=3)
    preview = make_preview(data, 200_000)
    assert preview is not None and preview.is_preview
    assert len(preview.data_base64) <= 200_000
    picture = Image.open(io.BytesIO(base64.b64decode(preview.data_base64)))
    assert picture.format == "JPEG"
    assert abs(picture.width / picture.height - 1024 / 768) < 0.02
    assert (preview.width, preview.height) == picture.size


def test_transparent_images_preview_over_white() -> None:
    preview = make_preview(encode("PNG", (300, 300), mode="RGBA"), 50_000)
    assert preview is not None
    picture = Image.open(io.BytesIO(base64.b64decode(preview.data_base64))).convert("RGB")
    red, green, _ = picture.getpixel((150, 150))  # type: ignore[misc]
    assert red > 200 and green > 120  # pink over white, not over black


def test_batch_that_fits_is_sent_as_originals(tmp_path: Path) -> None:
    images = [fetched(tmp_path, encode("PNG", (50, 50))) for _ in range(3)]
    chosen = choose_inline_images(images, 900_000)
    assert all(c is not None and not c.is_preview for c in chosen)
    assert [base64.b64decode(c.data_base64) for c in chosen if c] == [i.path.read_bytes() for i in images]


def test_batch_over_budget_gets_previews_that_share_it(tmp_path: Path) -> None:
    images = [fetched(tmp_path, noise_png((512, 512), seed=s)) for s in range(4)]
    chosen = choose_inline_images(images, 400_000)
    assert all(c is not None and c.is_preview for c in chosen)
    assert sum(len(c.data_base64) for c in chosen if c) <= 400_000


def test_zero_budget_means_no_inline_images(tmp_path: Path) -> None:
    assert choose_inline_images([fetched(tmp_path, encode("PNG"))], 0) == [None]


def test_images_over_8000_px_are_never_inline_originals(tmp_path: Path) -> None:
    data = encode("PNG", (8200, 10))
    [chosen] = choose_inline_images([fetched(tmp_path, data)], 10_000_000)
    assert chosen is not None and chosen.is_preview and max(chosen.width, chosen.height) <= 8000


def test_previews_stop_near_what_a_vision_model_keeps() -> None:
    """Past ~1.5 megapixels a model downscales anyway: the preview is not encoded (nor sent) larger than that."""
    large = make_preview(encode("PNG", (2048, 2048)), 900_000)
    assert large is not None and (large.width, large.height) == (1024, 1024)
    wide = make_preview(encode("PNG", (2560, 1440)), 900_000)
    assert wide is not None and (wide.width, wide.height) == (1280, 720)
    qwen = make_preview(encode("PNG", (1328, 1328)), 900_000)  # halving it would lose what a model keeps
    assert qwen is not None and (qwen.width, qwen.height) == (1328, 1328)
