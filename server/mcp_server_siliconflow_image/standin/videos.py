"""The stand-in's videos: small, real, deterministic MP4 files for (prompt, seed, size, first frame).

A real Wan2.2 clip is 1280x720 and about five seconds; the stand-in's is a tenth of the size and one
second long (8 frames), so tests and demos stay fast and cheap while exercising the real path: an H.264
MP4 that players and PyAV decode. Its first frame is the input image for image-to-video (as the real
model's is), else a picture drawn from the prompt; the frames then pan across it, so it moves.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from mcp_server_siliconflow_image.standin.pictures import render_image

if TYPE_CHECKING:
    from PIL import Image

FRAMES = 8
FRAMES_PER_SECOND = 8
SCALE = 10
"""Stand-in videos are this many times smaller on each side than the size asked for."""


def video_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """The stand-in's frame size for a requested size: a tenth of it, even (H.264 in 4:2:0 needs even sides)."""
    width, height = image_size
    return max(16, width // SCALE // 2 * 2), max(16, height // SCALE // 2 * 2)


@functools.lru_cache(maxsize=16)
def render_video(prompt: str, seed: int, image_size: tuple[int, int], first_frame: bytes | None = None) -> bytes:
    """Deterministic MP4 bytes: the same arguments give the same file (cached, as a CDN serves stored bytes)."""
    from PIL import Image

    size = video_size(image_size)
    if first_frame is not None:
        picture = Image.open(io.BytesIO(first_frame)).convert("RGB").resize(size)
    else:
        data, _ = render_image("pattern", prompt, seed, size, 1)
        picture = Image.open(io.BytesIO(data)).convert("RGB")
    return encode_mp4([_panned(picture, step) for step in range(FRAMES)], FRAMES_PER_SECOND)


def _panned(picture: Image.Image, step: int) -> Image.Image:
    """The picture shifted a little further left with each step, wrapping around."""
    from PIL import ImageChops

    return ImageChops.offset(picture, -step * max(1, picture.width // 32), 0)


def encode_mp4(frames: list[Image.Image], fps: int) -> bytes:
    """H.264 (libx264, one thread, so the bytes are the same on every run) in an MP4 container."""
    import av

    buffer = io.BytesIO()
    width, height = frames[0].size
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "28"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_image(frame)):  # type: ignore[no-untyped-call]
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def garbled_mp4(data: bytes) -> bytes:
    """The same MP4 with its index (the `moov` box's contents) zeroed: whole by its box sizes, so it downloads
    and saves like a good one, but no decoder can read a frame of it."""
    garbled, offset = bytearray(data), 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if size < 8:
            break
        if data[offset + 4 : offset + 8] == b"moov":
            garbled[offset + 8 : offset + size] = bytes(size - 8)
        offset += size
    return bytes(garbled)
