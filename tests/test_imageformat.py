"""Images are recognised by their bytes, whatever a server's Content-Type claims."""

from __future__ import annotations

import pytest

from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify, sniff_mime_type
from mcp_server_siliconflow_image.standin import noise_png
from tests.images import encode


@pytest.mark.parametrize(
    ("image_format", "mime_type", "mode"),
    [
        ("PNG", "image/png", "RGB"),
        ("PNG", "image/png", "RGBA"),
        ("JPEG", "image/jpeg", "RGB"),
        ("WEBP", "image/webp", "RGB"),
        ("WEBP", "image/webp", "RGBA"),
    ],
)
def test_identifies_type_and_size_from_the_header(image_format: str, mime_type: str, mode: str) -> None:
    found = identify(encode(image_format, (123, 45), mode))
    assert (found.mime_type, found.width, found.height) == (mime_type, 123, 45)


def test_progressive_jpeg_size_is_read() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buffer, format="JPEG", progressive=True)
    assert (identify(buffer.getvalue()).width, identify(buffer.getvalue()).height) == (300, 200)


def test_hand_built_noise_png_is_a_valid_png() -> None:
    found = identify(noise_png((40, 30), seed=1))
    assert (found.mime_type, found.width, found.height) == ("image/png", 40, 30)


@pytest.mark.parametrize(
    ("data", "described"),
    [
        (b"<!DOCTYPE html><html><body>502</body></html>", "an HTML page"),
        (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "an XML document"),
        (b'{"code": 20012, "message": "bad"}', "a JSON document"),
        (b"", "empty response"),
    ],
)
def test_error_pages_are_refused_with_a_description(data: bytes, described: str) -> None:
    assert sniff_mime_type(data) is None
    with pytest.raises(NotAnImageError, match=described):
        identify(data)


def test_truncated_png_header_is_refused() -> None:
    with pytest.raises(NotAnImageError, match="damaged or truncated"):
        identify(encode("PNG")[:14])
