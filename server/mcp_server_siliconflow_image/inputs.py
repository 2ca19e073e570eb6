"""Input images for edit_image: a local path, an http(s) URL, or base64 / a `data:` URI.

Whatever the form, the bytes are checked to be a PNG, JPEG or WebP image and capped in size, then sent
to the provider as `data:<mime>;base64,...`. Because a tool call can come from a remote client or a
prompt-injected agent, reading is fenced: URLs may not point at loopback, private, link-local (cloud
metadata) or reserved addresses, checked again at every redirect; local files are read only under
the allowed folders, after symlinks and `..` are resolved.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from mcp_server_siliconflow_image.downloads import TooLargeError, read_capped
from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify
from mcp_server_siliconflow_image.previews import base64_length

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
_BASE64_IMAGE_STARTS = ("iVBORw0KGgo", "/9j/", "UklGR")
_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s_-]+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class InputImageError(ValueError):
    """An input image that cannot be used; the message names the argument and what would work."""


@dataclass(frozen=True)
class InputImage:
    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class InputPolicy:
    allowed_dirs: tuple[Path, ...]
    max_bytes: int = MAX_INPUT_BYTES
    trusted_hosts: frozenset[str] = frozenset()
    """Host names fetched even though they resolve to private addresses (the test suite's loopback server)."""


async def load_input_image(field: str, value: str, policy: InputPolicy, http: httpx.AsyncClient) -> InputImage:
    text = value.strip()
    if not text:
        raise InputImageError(f"{field} is empty: give a local file path, an https:// URL, or base64 image data.")
    if text.startswith("data:"):
        data = _decode_data_uri(field, text, policy.max_bytes)
    elif text.startswith(_BASE64_IMAGE_STARTS):
        data = _decode_base64(field, text, policy.max_bytes)
    elif (scheme := _scheme_of(text)) is not None:
        if scheme not in ("http", "https"):
            raise InputImageError(
                f"{field}: {scheme}: URLs are not accepted. Give an https:// URL, base64 data, "
                "or a plain local file path."
            )
        data = await _download(field, text, policy, http)
    elif len(text) >= 256 and _BASE64_TEXT.fullmatch(text):  # real paths have a dot; base64 has none
        data = _decode_base64(field, text, policy.max_bytes)
    else:
        data = await _read_local(field, text, policy)
    return _checked(field, data, policy.max_bytes)


def _scheme_of(text: str) -> str | None:
    match = _SCHEME.match(text)
    if match is None or re.match(r"^[A-Za-z]:[\\/]", text):  # C:\\ is a Windows path, not a scheme
        return None
    return match.group(1).lower()


def _checked(field: str, data: bytes, max_bytes: int) -> InputImage:
    if len(data) > max_bytes:
        raise InputImageError(
            f"{field} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
            "Resize or re-encode it (e.g. as JPEG) and try again."
        )
    try:
        found = identify(data)
    except NotAnImageError as error:
        raise InputImageError(f"{field} is {error}; give a PNG, JPEG or WebP image.") from error
    return InputImage(data, found.mime_type, found.width, found.height)


def _decode_data_uri(field: str, text: str, max_bytes: int) -> bytes:
    header, comma, payload = text.partition(",")
    if not comma or ";base64" not in header:
        raise InputImageError(f"{field}: a data: URI must look like data:image/png;base64,<data>.")
    return _decode_base64(field, payload, max_bytes)


def _decode_base64(field: str, text: str, max_bytes: int) -> bytes:
    compact = re.sub(r"\s+", "", text)
    if len(compact) > base64_length(max_bytes):  # refused before decoding, not after
        raise InputImageError(f"{field}: the base64 data is over the {max_bytes / 1e6:.0f} MB input limit.")
    try:
        url_safe = "-" in compact or "_" in compact
        padded = compact + "=" * (-len(compact) % 4)
        return base64.b64decode(padded, altchars=b"-_" if url_safe else None, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InputImageError(f"{field}: the base64 data is not valid base64.") from error


async def _read_local(field: str, text: str, policy: InputPolicy) -> bytes:
    return await anyio.to_thread.run_sync(_read_local_sync, field, text, policy)


def _read_local_sync(field: str, text: str, policy: InputPolicy) -> bytes:
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise InputImageError(f"{field}: {text!r} is not an absolute path; give the full path to the image file.")
    if not policy.allowed_dirs:
        raise InputImageError(
            f"{field}: this server reads no local files (SILICONFLOW_INPUT_DIRS is empty, the default over HTTP). "
            "Send the image as base64 or an https:// URL, or have the operator set SILICONFLOW_INPUT_DIRS."
        )
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise InputImageError(f"{field}: no file at {text}.") from error
    except OSError as error:
        raise InputImageError(f"{field}: cannot open {text}: {error.strerror}.") from error
    allowed = [directory.resolve() for directory in policy.allowed_dirs]
    if not any(resolved.is_relative_to(directory) for directory in allowed):
        raise InputImageError(
            f"{field}: {text} is outside the folders this server may read "
            f"({', '.join(map(str, allowed))}); copy it there or extend SILICONFLOW_INPUT_DIRS."
        )
    if not resolved.is_file():
        raise InputImageError(f"{field}: {text} is not a file.")
    if resolved.stat().st_size > policy.max_bytes:
        raise InputImageError(
            f"{field} is larger than the {policy.max_bytes / 1e6:.0f} MB input limit; resize or re-encode it."
        )
    return resolved.read_bytes()


async def _download(field: str, url: str, policy: InputPolicy, http: httpx.AsyncClient) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        await _check_destination(field, url, policy)
        try:
            async with http.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InputImageError(f"{field}: downloading {_safe(url)} failed with HTTP {response.status_code}.")
                return await read_capped(response, policy.max_bytes)
        except TooLargeError as error:
            raise InputImageError(f"{field} is larger than the {policy.max_bytes / 1e6:.0f} MB input limit.") from error
        except httpx.HTTPError as error:
            raise InputImageError(f"{field}: downloading {_safe(url)} failed ({type(error).__name__}).") from error
    raise InputImageError(f"{field}: {_safe(url)} redirected more than {MAX_REDIRECTS} times.")


async def _check_destination(field: str, url: str, policy: InputPolicy) -> None:
    """Refuse URLs that would make this server reach into its own host or network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InputImageError(f"{field}: a redirect led to a {parts.scheme}: URL, which is not accepted.")
    if not parts.hostname:
        raise InputImageError(f"{field}: {_safe(url)} has no host name.")
    if parts.hostname in policy.trusted_hosts:
        return
    try:
        infos = await anyio.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as error:
        raise InputImageError(f"{field}: cannot resolve the host {parts.hostname!r}.") from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise InputImageError(
                f"{field}: {parts.hostname} resolves to {address}, a loopback, private, link-local or reserved "
                "address; only public http(s) URLs are fetched. Send the image as base64 instead."
            )


def _safe(url: str) -> str:
    """A URL without its query string, which may carry signatures or tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
