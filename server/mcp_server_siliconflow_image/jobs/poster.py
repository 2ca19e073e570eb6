"""What a downloaded video is, read with PyAV (FFmpeg): its size, its length, and a poster frame.

The poster is what the calling model sees of a video it cannot watch: the first frame, unless that frame
is blank (a fade in from black), then the first frame that shows something. Decoding never costs the
video: whatever goes wrong here (no decoder, damaged frames, a frame size no model makes) leaves the
facts unknown and says why, and the provider's bytes are saved and linked all the same.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MAX_FRAME_PIXELS = 4096 * 4096
"""Larger than any frame a video model makes; a file that declares more is not decoded (a decompression bomb)."""
FRAMES_SEARCHED = 48
"""Frames looked at for one that is not blank: two seconds of a 24 fps clip."""
BLANK_DEVIATION = 6.0
"""A frame whose brightness varies less than this (0-255 scale) shows nothing: black, white or one colour."""
POSTER_QUALITY = 85


@dataclass(frozen=True)
class VideoFacts:
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    poster: bytes | None = None
    """The poster frame as JPEG."""
    problem: str | None = None
    """Why something is unknown (the video itself is saved regardless)."""


def describe_video(data: bytes) -> VideoFacts:
    """The facts of the MP4 `data`, and its poster frame; never raises (see the module docstring)."""
    try:
        import av
    except ImportError:  # the wheel ships with the package; a broken install must not lose the video
        return VideoFacts(problem="no video decoder (PyAV) is installed, so no poster frame was made")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                return VideoFacts(problem="the file has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = round(container.duration / av.time_base, 3) if container.duration else None
            if not (0 < width * height <= MAX_FRAME_PIXELS):
                return VideoFacts(duration_s=duration, problem=f"its frames declare {width}x{height} pixels")
            picture = _poster_picture(frame.to_image() for frame in container.decode(stream))  # type: ignore[no-untyped-call]
    except (av.FFmpegError, ValueError, OSError, MemoryError) as error:
        return VideoFacts(problem=f"its frames could not be decoded ({type(error).__name__})")
    if picture is None:
        return VideoFacts(width, height, duration, problem="no frame of it could be decoded")
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=POSTER_QUALITY)
    return VideoFacts(width, height, duration, buffer.getvalue())


def _poster_picture(pictures: Iterator[Image.Image]) -> Image.Image | None:
    """The first picture that shows something among the first FRAMES_SEARCHED, else the first one."""
    first: Image.Image | None = None
    for picture in itertools.islice(pictures, FRAMES_SEARCHED):
        first = first or picture
        if _shows_something(picture):
            return picture
    return first


def _shows_something(picture: Image.Image) -> bool:
    from PIL import ImageStat

    return bool(ImageStat.Stat(picture.convert("L")).stddev[0] >= BLANK_DEVIATION)
