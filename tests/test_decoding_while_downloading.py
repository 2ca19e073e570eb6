"""Images are decoded and hashed while they download: exactly Pillow's pixels, the right digest, and never at
the cost of saving them, whatever the bytes are or however the download goes."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from PIL import Image

from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.pipeline import arriving as arriving_module
from mcp_server_siliconflow_image.pipeline.arriving import ArrivingBytes, ArrivingImage
from mcp_server_siliconflow_image.pipeline.previews import InlinePlan, decode_picture, inline_for
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from mcp_server_siliconflow_image.standin.pictures import BROKEN_IMAGES, photo_png
from mcp_server_siliconflow_image.stores.folder import FolderStore, PendingImage
from tests.images import handmade_png


def pillow_written(mode: str, image_format: str, **options: object) -> bytes:
    picture = Image.open(io.BytesIO(photo_png((72, 40), seed=2))).convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format, **options)
    return buffer.getvalue()


PALETTE = bytes(value for index in range(16) for value in (index * 16, 255 - index * 16, (index * 80) % 256))
IMAGES = {
    "8-bit RGB photo (the stand-in's)": photo_png((96, 64), seed=3),
    "8-bit RGBA": pillow_written("RGBA", "PNG"),
    "8-bit palette with a transparent index": pillow_written("P", "PNG", transparency=3),
    "8-bit grey, Pillow-written": pillow_written("L", "PNG"),
    "16-bit RGB, interlaced": handmade_png((37, 29), colour_type=2, bit_depth=16, interlaced=True),
    "16-bit RGBA in 64-byte IDAT chunks": handmade_png((37, 29), colour_type=6, bit_depth=16, idat_bytes=64),
    "16-bit grey": handmade_png((37, 29), colour_type=0, bit_depth=16),
    "grey + alpha, interlaced": handmade_png((37, 29), colour_type=4, bit_depth=8, interlaced=True),
    "1-bit grey, interlaced": handmade_png((37, 29), colour_type=0, bit_depth=1, interlaced=True),
    "4-bit palette with alpha, interlaced": handmade_png(
        (37, 29), colour_type=3, bit_depth=4, interlaced=True, palette=PALETTE, transparency=bytes(range(0, 256, 17))
    ),
    "JPEG, baseline": pillow_written("RGB", "JPEG", quality=85),
    "JPEG, progressive": pillow_written("RGB", "JPEG", quality=85, progressive=True),
    "WebP": pillow_written("RGB", "WEBP"),
}


def pieces(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """`data` cut into consecutive pieces of the given sizes (repeated as long as needed)."""
    at, turn = 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        yield data[at : at + size]
        at, turn = at + size, turn + 1


def arrive(tmp_path: Path, data: bytes, sizes: list[int], *, decode: bool = True) -> tuple[ArrivingImage, PendingImage]:
    """`data` arriving chunk by chunk, as a download writes it, into a real folder store's upload."""
    upload = FolderStore(tmp_path).pending()
    arriving = ArrivingImage(upload, decode=decode)
    arriving.restart()  # as every download begins
    for piece in pieces(data, sizes):
        arriving.write(piece)
    arriving.end()
    return arriving, upload


def same_picture(actual: Image.Image, expected: Image.Image) -> bool:
    return (actual.mode, actual.size, actual.tobytes()) == (expected.mode, expected.size, expected.tobytes())


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize("name", list(IMAGES))
def test_the_picture_decoded_on_the_way_is_exactly_pillows(name: str, chunk: int, tmp_path: Path) -> None:
    data = IMAGES[name]
    arriving, upload = arrive(tmp_path, data, [chunk])
    decoded = arriving.decoded()
    assert decoded.problem is None and decoded.picture is not None
    assert same_picture(decoded.picture, decode_picture(data))
    assert arriving.sha256() == hashlib.sha256(data).hexdigest()
    assert upload.read_all() == data


@pytest.mark.parametrize("name", list(IMAGES))
def test_pillow_reads_arriving_bytes_as_it_reads_the_whole_file(name: str) -> None:
    """Before flattening too: the same mode, size, palette, transparency and pixels as from the whole file."""
    data = IMAGES[name]
    file = ArrivingBytes()

    def download() -> None:
        for piece in pieces(data, [3, 500, 61, 9000]):
            file.feed(piece)
            time.sleep(0)  # let the reader run between chunks, as on a real network
        file.end()

    feeder = threading.Thread(target=download)
    feeder.start()
    with Image.open(cast(IO[bytes], file)) as streamed, Image.open(io.BytesIO(data)) as whole:
        streamed.load()
        whole.load()
        assert same_picture(streamed, whole)
        assert streamed.getpalette() == whole.getpalette()
        assert streamed.info.get("transparency") == whole.info.get("transparency")
    feeder.join()


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=12))
def test_wherever_the_chunks_break_the_picture_and_digest_are_the_same(
    sizes: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    for data in (IMAGES["8-bit RGB photo (the stand-in's)"], IMAGES["16-bit RGB, interlaced"]):
        arriving, _ = arrive(tmp_path_factory.mktemp("chunks"), data, sizes)
        picture = arriving.decoded().picture
        assert picture is not None and same_picture(picture, decode_picture(data))
        assert arriving.sha256() == hashlib.sha256(data).hexdigest()


def test_the_decoder_reads_as_far_as_the_bytes_have_arrived_before_the_last_one(tmp_path: Path) -> None:
    data = photo_png((256, 256), seed=4)
    arriving = ArrivingImage(FolderStore(tmp_path).pending())
    arriving.restart()
    arriving.write(data[:-12])  # everything but IEND: the pixels are all here, the download is not over
    deadline = time.monotonic() + 30
    while arriving.bytes_read < len(data) - 12 - 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert arriving.bytes_read >= len(data) - 12 - 8  # every IDAT byte was decoded before the last byte came
    arriving.write(data[-12:])
    arriving.end()
    assert arriving.decoded().picture is not None


def test_a_retried_download_decodes_and_hashes_only_the_new_bytes(tmp_path: Path) -> None:
    first, second = photo_png((64, 64), seed=1), photo_png((80, 48), seed=2)
    upload = FolderStore(tmp_path).pending()
    arriving = ArrivingImage(upload)
    arriving.restart()
    arriving.write(first[: len(first) // 2])  # the connection drops halfway
    arriving.restart()
    for piece in pieces(second, [1000]):
        arriving.write(piece)
    arriving.end()
    picture = arriving.decoded().picture
    assert picture is not None and same_picture(picture, decode_picture(second))
    assert arriving.sha256() == hashlib.sha256(second).hexdigest()
    assert upload.read_all() == second


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (photo_png((64, 64), seed=1)[:900], "cannot be decoded"),
        (b"<!DOCTYPE html><html><body>Gateway error</body></html>", "cannot be decoded"),
        (BROKEN_IMAGES["huge"](b""), "over the 25 megapixels"),
        (BROKEN_IMAGES["corrupt"](photo_png((128, 128), seed=1)), "cannot be decoded"),
    ],
    ids=["truncated", "an HTML page", "a decompression bomb's header", "garbage pixel data"],
)
def test_bytes_that_are_no_picture_say_why_and_are_still_hashed(data: bytes, problem: str, tmp_path: Path) -> None:
    arriving, upload = arrive(tmp_path, data, [333])
    decoded = arriving.decoded()
    assert decoded.picture is None and decoded.problem is not None and problem in decoded.problem
    assert arriving.sha256() == hashlib.sha256(data).hexdigest()
    assert upload.read_all() == data


def test_an_abandoned_download_stops_the_decoder_at_once(tmp_path: Path) -> None:
    data = photo_png((128, 128), seed=1)
    arriving = ArrivingImage(FolderStore(tmp_path).pending())
    arriving.restart()
    arriving.write(data[:5000])
    arriving.abandon()  # the download failed or the call was cancelled
    done = threading.Thread(target=arriving.decoded)
    done.start()
    done.join(timeout=10)
    assert not done.is_alive()
    assert arriving.decoded().picture is None
    assert arriving.sha256() is None


def test_a_download_too_large_to_keep_gives_up_the_head_start_not_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arriving_module, "MAX_KEPT_BYTES", 4000)
    data = photo_png((128, 128), seed=1)
    arriving, upload = arrive(tmp_path, data, [1500])
    assert arriving.given_up
    assert arriving.decoded().picture is None
    assert arriving.sha256() is None  # the store hashes the file itself
    assert upload.read_all() == data


def test_past_the_thread_limit_images_are_decoded_afterwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arriving_module, "_threads", threading.BoundedSemaphore(1))
    data = photo_png((64, 64), seed=1)
    first, second = (ArrivingImage(FolderStore(tmp_path).pending()) for _ in range(2))
    assert not first.given_up and second.given_up  # the second reads its bytes back after the download
    for arriving in (first, second):
        arriving.restart()
        arriving.write(data)
        arriving.end()
    assert first.decoded().picture is not None and second.decoded().picture is None
    assert (first.sha256(), second.sha256()) == (hashlib.sha256(data).hexdigest(), None)
    third = ArrivingImage(FolderStore(tmp_path).pending())
    assert not third.given_up  # the first one's thread is free again
    third.abandon()


def test_without_inline_images_the_bytes_are_only_hashed(tmp_path: Path) -> None:
    data = photo_png((64, 64), seed=1)
    arriving, _ = arrive(tmp_path, data, [1000], decode=False)
    decoded = arriving.decoded()
    assert decoded.picture is None and decoded.problem is None
    assert arriving.sha256() == hashlib.sha256(data).hexdigest()


# Through the server: what the tool returns and saves is what it was before the head start.


async def generated(settings: Settings, **arguments: object) -> dict[str, Any]:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a harbour at dusk", "seed": 7, **arguments})
    assert not result.is_error, result.content
    previews = [block.data for block in result.content if block.type == "image"]
    return {**result.structured_content, "previews": previews}


def assert_saved_and_shown_as_from_the_file(answer: dict[str, Any], budget: int) -> None:
    """Each image's file has its digest, and its inline copy is what the saved file alone gives."""
    images = answer["images"]
    saved = [Path(image["path"]).read_bytes() for image in images]
    plan = InlinePlan.for_batch([len(data) for data in saved], budget)
    for image, data, shown in zip(images, saved, answer["previews"], strict=True):
        assert image["sha256"] == hashlib.sha256(data).hexdigest()
        expected = inline_for(data, identify(data), plan)
        assert expected is not None and shown == expected.data_base64


@pytest.mark.anyio
async def test_photos_arriving_at_a_real_networks_pace_are_saved_and_previewed_as_before(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.image_kind = "photo"
    standin.state.download_first_byte_delay = 0.05
    standin.state.download_rate = 4e6
    answer = await generated(settings, image_size="512x512", batch_size=2)
    assert_saved_and_shown_as_from_the_file(answer, settings.inline_max_bytes)


@pytest.mark.anyio
async def test_a_batch_larger_than_the_thread_limit_is_shown_exactly_as_well(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arriving_module, "_threads", threading.BoundedSemaphore(1))
    standin.state.image_kind = "photo"
    answer = await generated(settings, image_size="512x512", batch_size=3)
    assert_saved_and_shown_as_from_the_file(answer, settings.inline_max_bytes)


@pytest.mark.anyio
async def test_a_download_cut_short_and_retried_is_saved_and_previewed_from_its_second_try(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.image_kind = "photo"
    standin.state.faults.append(Fault(target="download", kind="truncate"))
    answer = await generated(settings, image_size="512x512")
    assert_saved_and_shown_as_from_the_file(answer, settings.inline_max_bytes)


@pytest.mark.anyio
async def test_a_decoder_that_breaks_costs_at_most_the_preview_never_the_saved_image(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: object) -> Image.Image:
        raise RuntimeError("a bug in the decoder")

    monkeypatch.setattr(arriving_module, "decode_picture", broken)
    standin.state.image_kind = "photo"
    small = await generated(settings, image_size="512x512")  # its original fits inline: decoded afterwards
    assert_saved_and_shown_as_from_the_file(small, settings.inline_max_bytes)
    large = await generated(settings, image_size="1024x1024")  # a preview: the picture was due from the thread
    [image] = large["images"]
    assert image["sha256"] == hashlib.sha256(Path(image["path"]).read_bytes()).hexdigest()
    assert image["inline"] == "none" and "failed unexpectedly" in image["problem"]


def test_no_thread_to_be_had_costs_the_head_start_not_the_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_start = threading.Thread.start

    def exhausted(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(arriving_module, "_threads", threading.BoundedSemaphore(1))
    monkeypatch.setattr(threading.Thread, "start", exhausted)
    data = photo_png((64, 64), seed=1)
    arriving, upload = arrive(tmp_path, data, [1000])
    assert arriving.given_up and arriving.decoded().picture is None and arriving.sha256() is None
    assert upload.read_all() == data
    monkeypatch.setattr(threading.Thread, "start", real_start)
    later = ArrivingImage(FolderStore(tmp_path).pending())
    assert not later.given_up  # the slot it could not use was given back
    later.abandon()
