"""A photo's preview is encoded band by band while it downloads: after its last byte only the last band is
left, and the preview is exactly libjpeg's JPEG of the picture (with a restart marker every band), or, when it
cannot be made that way, the preview the picture always had."""

from __future__ import annotations

import base64
import io
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.pipeline import bands, execute
from mcp_server_siliconflow_image.pipeline.arriving import ArrivingImage, Decoded
from mcp_server_siliconflow_image.pipeline.previews import InlinePlan, decode_picture, inline_for
from mcp_server_siliconflow_image.standin.pictures import noise_png, photo_png
from mcp_server_siliconflow_image.stores.folder import FolderStore
from tests.images import _chunk, handmade_png, libjpeg_with_restarts

BUDGET = 900_000  # base64 characters: Claude Desktop's share for one image


def preview_jpeg(arriving: ArrivingImage) -> bytes | None:
    """The preview made while the picture arrived, as the JPEG bytes a client gets."""
    preview = arriving.decoded().preview
    return None if preview is None else base64.b64decode(preview.data_base64)


def arrive(tmp_path: Path, data: bytes, chunk: int, budget: int = BUDGET) -> ArrivingImage:
    arriving = ArrivingImage(FolderStore(tmp_path).pending(), preview_budget=budget)
    arriving.restart()
    for start in range(0, len(data), chunk):
        arriving.write(data[start : start + chunk])
    arriving.end()
    return arriving


@pytest.mark.parametrize(
    "size",
    [(1024, 1024), (1000, 777), (1328, 1328), (40, 200), (513, 65)],
    ids=["1024 square", "height no multiple of 16", "1.76 megapixels", "narrower than an MCU row", "two bands"],
)
@pytest.mark.parametrize("chunk", [4096, 65536])
def test_the_preview_is_libjpegs_own_jpeg_of_the_picture(size: tuple[int, int], chunk: int, tmp_path: Path) -> None:
    data = photo_png(size, seed=5)
    preview = preview_jpeg(arrive(tmp_path, data, chunk))
    assert preview is not None and preview == libjpeg_with_restarts(data)
    with Image.open(io.BytesIO(preview)) as shown:
        shown.load()
        assert (shown.format, shown.size) == ("JPEG", size)


@settings(max_examples=25, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=70_000))
def test_wherever_the_chunks_break_the_preview_is_the_same(
    chunk: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = photo_png((300, 260), seed=6)
    assert preview_jpeg(arrive(tmp_path_factory.mktemp("bands"), data, chunk)) == libjpeg_with_restarts(data)


def test_every_band_but_the_last_is_encoded_before_the_last_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = photo_png((512, 1000), seed=7)  # 15 whole bands of 64 rows, then 40 rows
    download_over = threading.Event()
    encoded: list[bool] = []  # for each band: whether the download was over when it was encoded
    encode_band = bands.BandedJpeg._encode_band

    def counted(self: bands.BandedJpeg, bottom: int) -> None:
        encoded.append(download_over.is_set())
        encode_band(self, bottom)

    monkeypatch.setattr(bands.BandedJpeg, "_encode_band", counted)
    arriving = ArrivingImage(FolderStore(tmp_path).pending(), preview_budget=BUDGET)
    arriving.restart()
    arriving.write(data[:-12])  # every pixel's bytes, not yet the file's end
    deadline = time.monotonic() + 30
    while len(encoded) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    download_over.set()
    arriving.write(data[-12:])
    arriving.end()
    assert preview_jpeg(arriving) == libjpeg_with_restarts(data)
    assert encoded == [False] * 15 + [True]


NOT_FOLLOWED = {
    "RGBA": handmade_png((300, 200), colour_type=6, bit_depth=8),
    "interlaced RGB": handmade_png((300, 200), colour_type=2, bit_depth=8, interlaced=True),
    "16-bit RGB": handmade_png((300, 200), colour_type=2, bit_depth=16),
    "palette": handmade_png((300, 200), colour_type=3, bit_depth=8, palette=bytes(range(48)) * 16),
    "grey": handmade_png((300, 200), colour_type=0, bit_depth=8),
    "2048 square (previewed at half size)": photo_png((2048, 2048), seed=1),
}


@pytest.mark.parametrize("name", list(NOT_FOLLOWED))
def test_pictures_not_followed_get_the_preview_they_always_had(name: str, tmp_path: Path) -> None:
    data = NOT_FOLLOWED[name]
    decoded = arrive(tmp_path, data, 8192).decoded()
    assert decoded.picture is not None and decoded.preview is None
    plan = InlinePlan.for_batch([len(data)], 4000)  # small enough that the original never fits
    shown = inline_for(data, identify(data), plan, decoded.picture, decoded.preview)
    assert shown is not None and shown == inline_for(data, identify(data), plan)


def test_a_preview_heading_over_its_budget_at_full_size_goes_on_at_half_size(tmp_path: Path) -> None:
    """A photo in a batch of four: its full-size preview would take ~380 KB of a 225 KB share."""
    data = photo_png((1024, 1024), seed=9)
    share = 225_000
    arriving = arrive(tmp_path, data, 65536, budget=share)
    preview = arriving.decoded().preview
    assert preview is not None and (preview.width, preview.height) == (512, 512)
    assert len(preview.data_base64) <= share
    with Image.open(io.BytesIO(data)) as picture:
        halved = io.BytesIO()
        picture.reduce(2).save(halved, format="PNG")
    assert preview_jpeg(arriving) == libjpeg_with_restarts(halved.getvalue())
    plan = InlinePlan.for_batch([len(data)] * 4, 4 * share)
    assert inline_for(data, identify(data), plan) == preview  # what the usual search picks too


def test_a_preview_that_fits_at_no_size_tried_is_given_up_early_for_the_usual_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = noise_png((512, 512), seed=3)  # noise: even at half size, ~2x what this share allows
    bands_encoded: list[int] = []
    encode_band = bands.BandedJpeg._encode_band

    def counted(self: bands.BandedJpeg, bottom: int) -> None:
        bands_encoded.append(bottom)
        encode_band(self, bottom)

    monkeypatch.setattr(bands.BandedJpeg, "_encode_band", counted)
    share = 20_000
    decoded = arrive(tmp_path, data, 16384, budget=share).decoded()
    assert decoded.preview is None
    assert len(bands_encoded) <= 4  # a quarter of the bands at each size, then it stopped
    plan = InlinePlan(budget=4 * share, share=share, originals_fit=False)
    shown = inline_for(data, identify(data), plan, decoded.picture, decoded.preview)
    assert shown is not None and len(shown.data_base64) <= share  # the usual search: a lower quality or size
    assert shown == inline_for(data, identify(data), plan)


def test_rows_that_look_undecoded_only_wait_for_the_end(tmp_path: Path) -> None:
    """A picture painted in exactly the colour undecoded memory is filled with: no band is taken for done
    early or late; they are all encoded once the picture is, and the preview is still exact."""
    picture = Image.new("RGB", (256, 256), bands.DecodedRows.SENTINEL)
    picture.paste((10, 20, 30), (0, 200, 256, 256))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = buffer.getvalue()
    assert preview_jpeg(arrive(tmp_path, data, 64)) == libjpeg_with_restarts(data)


def test_a_band_encoder_that_breaks_costs_the_head_start_not_the_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: bands.BandedJpeg, bottom: int) -> None:
        raise RuntimeError("a bug in the band encoder")

    monkeypatch.setattr(bands.BandedJpeg, "_encode_band", broken)
    data = photo_png((512, 512), seed=8)
    decoded = arrive(tmp_path, data, 8192).decoded()
    assert decoded.problem is None and decoded.picture is not None and decoded.preview is None
    plan = InlinePlan.for_batch([len(data)] * 2, BUDGET)
    assert inline_for(data, identify(data), plan, decoded.picture, None) == inline_for(data, identify(data), plan)


def rgb_png(size: tuple[int, int], chunks: tuple[bytes, ...] = (), *, drawn: tuple[int, int] | None = None) -> bytes:
    """An 8-bit RGB PNG of `size` whose pixel data is only `drawn` (width, rows; all of it: None), with `chunks`
    (acTL, fcTL ...) before its IDAT: a file Pillow decodes, leaving the pixels it lacks untouched."""
    width, height = drawn or size
    pixels = Image.open(io.BytesIO(photo_png((width, height), seed=11))).tobytes()
    raw = b"".join(b"\0" + pixels[y * width * 3 : (y + 1) * width * 3] for y in range(height))
    header = struct.pack(">IIBBBBB", *size, 8, 2, 0, 0, 0)
    parts = [_chunk(b"IHDR", header), *chunks, _chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(parts)


def apng_chunks(first_frame: tuple[int, int]) -> tuple[bytes, ...]:
    """An APNG's acTL and its first frame's fcTL (the IDAT is that frame), `first_frame` wide and high."""
    frame = struct.pack(">IIIIIHHBB", 0, *first_frame, 0, 0, 1, 10, 0, 0)
    return _chunk(b"acTL", struct.pack(">II", 1, 0)), _chunk(b"fcTL", frame)


PARTLY_DRAWN = {
    "pixel data ending halfway down": rgb_png((200, 300), drawn=(200, 150)),
    "pixel data ending one row short": rgb_png((200, 300), drawn=(200, 299)),
    "an APNG whose first frame is its top half": rgb_png((200, 300), apng_chunks((200, 150)), drawn=(200, 150)),
    "an APNG whose first frame is its left half": rgb_png((200, 300), apng_chunks((100, 300)), drawn=(100, 300)),
}


def assert_decoded_and_shown_as_usual(decoded: Decoded, data: bytes) -> None:
    """The picture is Pillow's own, and what is shown (in a batch of four, small shares) is the usual preview.
    The picture itself is checked: a large image's bytes are not kept for decoding it again."""
    assert decoded.problem is None and decoded.picture is not None
    assert decoded.picture.tobytes() == decode_picture(data).tobytes()
    plan = InlinePlan.for_batch([len(data)] * 4, 4 * 20_000)
    shown = inline_for(data, identify(data), plan, decoded.picture, decoded.preview)
    assert shown is not None and shown == inline_for(data, identify(data), plan)


@pytest.mark.parametrize("name", list(PARTLY_DRAWN))
def test_rows_the_decoder_never_writes_are_what_pillow_leaves_not_the_fill_colour(name: str, tmp_path: Path) -> None:
    """Pillow decodes these, leaving the rows they lack as new memory is (black); memory filled to follow the
    decoding must not show through in the picture nor in its preview."""
    data = PARTLY_DRAWN[name]
    assert_decoded_and_shown_as_usual(arrive(tmp_path, data, 4096).decoded(), data)


def test_a_check_that_breaks_before_following_costs_the_head_start_not_the_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(picture: object) -> bool:
        raise RuntimeError("a bug in deciding what to follow")

    monkeypatch.setattr(bands, "follows", broken)
    data = photo_png((300, 200), seed=8)
    decoded = arrive(tmp_path, data, 8192).decoded()
    assert decoded.problem is None and decoded.picture is not None and decoded.preview is None
    assert decoded.picture.tobytes() == decode_picture(data).tobytes()


def test_a_picture_ending_in_the_fill_colour_is_shown_as_it_always_was(tmp_path: Path) -> None:
    """Its last row cannot be told from one never written: it costs the head start (it is decoded again, as
    always), not the picture."""
    picture = Image.open(io.BytesIO(photo_png((200, 300), seed=12)))
    picture.paste(bands.DecodedRows.SENTINEL, (0, 260, 200, 300))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = buffer.getvalue()
    assert_decoded_and_shown_as_usual(arrive(tmp_path, data, 4096).decoded(), data)


def test_a_download_retried_midway_is_previewed_from_its_second_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = photo_png((400, 600), seed=13), photo_png((300, 700), seed=14)
    encoded: list[int] = []
    encode_band = bands.BandedJpeg._encode_band

    def counted(self: bands.BandedJpeg, bottom: int) -> None:
        encode_band(self, bottom)
        encoded.append(bottom)

    monkeypatch.setattr(bands.BandedJpeg, "_encode_band", counted)
    arriving = ArrivingImage(FolderStore(tmp_path).pending(), preview_budget=BUDGET)
    arriving.restart()
    arriving.write(first[: len(first) * 2 // 3])
    deadline = time.monotonic() + 30
    while len(encoded) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(encoded) >= 3  # the first try's bands were under way
    arriving.restart()
    for start in range(0, len(second), 5000):
        arriving.write(second[start : start + 5000])
    arriving.end()
    assert preview_jpeg(arriving) == libjpeg_with_restarts(second)


def test_a_preview_halved_for_its_share_is_not_shown_when_the_share_grew(tmp_path: Path) -> None:
    """Made for one of three photos' shares, a preview is halved; one of the three failing leaves the other
    two a share their full-size preview fits, and they get it, as they did before previews were banded."""
    data = photo_png((1024, 1024), seed=9)  # its full-size preview: ~380 KB of base64
    arriving = arrive(tmp_path, data, 65536, budget=300_000)
    banded = arriving.decoded().preview
    assert banded is not None and banded.width == 512
    item = execute._Received(cast("Any", None), FolderStore(tmp_path).pending(), identify(data), arriving)
    shown = execute._inline_copy(item, InlinePlan.for_batch([len(data)] * 2, 900_000))
    assert shown is not None and shown.width == 1024
    assert shown == inline_for(data, identify(data), InlinePlan.for_batch([len(data)] * 2, 900_000))
