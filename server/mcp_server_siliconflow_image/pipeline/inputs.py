"""Input images for edit_image: a saved result, a local path, an http(s) URL, or base64 / a `data:` URI.

A result of this server is named by its `siliconflow-image://images/<name>` URI or by the `path` its result
gave (a file in the image folder, or an `s3://` object); either is read from the caller's own store, which
for a hosted principal is its own folder or prefix and nothing else. Any other local path must lie in
SILICONFLOW_INPUT_DIRS, which a hosted principal never reads.

Whatever the form, the bytes are checked to be a PNG, JPEG or WebP image and capped in size, then sent
to the provider as `data:<mime>;base64,...`. Because a tool call can come from a remote client or a
prompt-injected agent, reading is fenced, and each fence checks what is actually used, not a name
that could change meanwhile:

- a URL's host is resolved once, every address it resolves to must be public (an IPv6 address that
  embeds an IPv4 one is judged by the IPv4 inside), and the connection goes to that checked address
  (with the original Host header and TLS server name), at every redirect; DNS cannot rebind between
  the check and the connection;
- a local file is opened first, component by component without following symlinks, from an allowed
  folder down, so a path swapped for a symlink after the check is refused rather than followed. Errors
  never say whether a file outside the allowed folders exists, nor show any byte of a file that is not
  an image.
"""

from __future__ import annotations

import base64
import binascii
import errno
import ipaddress
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urljoin, urlsplit

import anyio
import httpx2

from mcp_server_siliconflow_image.httpclient import TooLargeError, read_capped, tls_context
from mcp_server_siliconflow_image.imageformat import NotAnImageError, base64_length, identify
from mcp_server_siliconflow_image.stores.naming import RESOURCE_PREFIX

if TYPE_CHECKING:
    from mcp_server_siliconflow_image.stores.base import Store

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
MAX_LOCATION_CHARS = 4096
"""Longer than any path or URI of a saved image (PATH_MAX): such text is base64, never looked up as one."""
INPUT_DOWNLOAD_SECONDS = 30.0
"""Total time for fetching one input URL, redirects included: a trickling server cannot hold the call."""
_BASE64_IMAGE_STARTS = ("iVBORw0KGgo", "/9j/", "UklGR")
_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s_-]+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NOT_PUBLIC_V6 = tuple(
    ipaddress.ip_network(network)
    for network in ("64:ff9b:1::/48", "fec0::/10", "3fff::/20", "5f00::/16")  # local NAT64, site-local, docs, SRv6
)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InputImageError(ValueError):
    """An input image that cannot be used; the message names the argument and what would work."""


@dataclass(frozen=True)
class LoadedImage:
    """An input image's bytes, checked, ready to be sent."""

    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class InputPolicy:
    """What one caller's edit inputs may read."""

    allowed_dirs: tuple[Path, ...]
    """Local folders any file may come from (none for a hosted principal)."""
    saved: Store | None = None
    """The caller's own saved images, readable by URI or by the location a result gave."""
    principal: str | None = None
    """The hosted principal calling, if any: then no local file but its own saved images is read."""
    max_bytes: int = MAX_INPUT_BYTES


async def load_input_image(field: str, value: str, policy: InputPolicy) -> LoadedImage:
    text = value.strip()
    if not text:
        raise InputImageError(f"{field} is empty: give a local file path, an https:// URL, or base64 image data.")
    if "\0" in text:
        raise InputImageError(f"{field} contains a NUL byte: give a file path, an https:// URL or base64 data.")
    if text.startswith("data:"):
        return _checked(field, _decode_data_uri(field, text, policy.max_bytes), policy.max_bytes, describe=True)
    if text.startswith(_BASE64_IMAGE_STARTS):
        return _checked(field, _decode_base64(field, text, policy.max_bytes), policy.max_bytes, describe=True)
    if (saved := await anyio.to_thread.run_sync(_read_saved, field, text, policy)) is not None:
        return _checked(field, saved, policy.max_bytes, describe=False)
    if (scheme := _scheme_of(text)) is not None:
        if scheme not in ("http", "https"):
            raise InputImageError(
                f"{field}: {scheme}: URLs are not accepted. Give an https:// URL, base64 data, "
                "or a plain local file path."
            )
        return _checked(field, await _download(field, text, policy), policy.max_bytes, describe=False)
    if len(text) >= 256 and _BASE64_TEXT.fullmatch(text):  # real paths have a dot; base64 has none
        return _checked(field, _decode_base64(field, text, policy.max_bytes), policy.max_bytes, describe=True)
    data = await anyio.to_thread.run_sync(_read_local, field, text, policy)
    return _checked(field, data, policy.max_bytes, describe=False)


def _scheme_of(text: str) -> str | None:
    match = _SCHEME.match(text)
    if match is None or re.match(r"^[A-Za-z]:[\\/]", text):  # C:\\ is a Windows path, not a scheme
        return None
    return match.group(1).lower()


def _checked(field: str, data: bytes, max_bytes: int, *, describe: bool) -> LoadedImage:
    """Check the bytes are an image; `describe` says what they look like instead (never for files and URLs)."""
    if len(data) > max_bytes:
        raise InputImageError(
            f"{field} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
            "Resize or re-encode it (e.g. as JPEG) and try again."
        )
    try:
        found = identify(data)
    except NotAnImageError as error:
        what = str(error) if describe else "not a PNG, JPEG or WebP image"
        raise InputImageError(f"{field} is {what}; give a PNG, JPEG or WebP image.") from error
    return LoadedImage(data, found.mime_type, found.width, found.height)


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


# --- saved results -----------------------------------------------------------------------------------------


def _read_saved(field: str, text: str, policy: InputPolicy) -> bytes | None:
    """The caller's saved image `text` names (its resource URI or its location), or None when it names none."""
    store = policy.saved
    if store is None or len(text) > MAX_LOCATION_CHARS:
        return None
    name = text.removeprefix(RESOURCE_PREFIX) if text.startswith(RESOURCE_PREFIX) else store.name_at(text)
    if name is None:
        return None
    try:
        return store.read(name)
    except FileNotFoundError as error:
        raise InputImageError(
            f"{field}: no saved image named {name!r}; give the path or siliconflow-image:// URI of one of your "
            "own results (list them with resources/list)."
        ) from error
    except OSError as error:
        raise InputImageError(f"{field}: the saved image {name} could not be read: {error}.") from error


# --- local files -----------------------------------------------------------------------------------------


def _read_local(field: str, text: str, policy: InputPolicy) -> bytes:
    try:
        path = Path(text).expanduser()
    except RuntimeError as error:  # "~someone/..." for a user this machine does not know
        raise InputImageError(f"{field}: {text!r} names a home folder this machine does not have.") from error
    if not path.is_absolute():
        raise InputImageError(f"{field}: {text!r} is not an absolute path; give the full path to the image file.")
    if policy.principal is not None:
        raise InputImageError(
            f"{field}: this server reads no local files for a hosted caller, only your own saved images: give the "
            "path or siliconflow-image:// URI of one of your results, or send the image as base64 or an https:// URL."
        )
    if not policy.allowed_dirs:
        raise InputImageError(
            f"{field}: this server reads no local files (SILICONFLOW_INPUT_DIRS is empty, the default over HTTP). "
            "Give the path or siliconflow-image:// URI of one of its results, send the image as base64 or an "
            "https:// URL, or have the operator set SILICONFLOW_INPUT_DIRS."
        )
    # Where the path leads is judged before anything is opened, and the same way whether or not it exists,
    # so the answer never tells a caller which files exist outside the allowed folders.
    real = Path(os.path.realpath(path))
    roots = [Path(os.path.realpath(directory)) for directory in policy.allowed_dirs]
    root = next((candidate for candidate in roots if real.is_relative_to(candidate)), None)
    if root is None:
        raise InputImageError(
            f"{field}: {text} is outside the folders this server may read "
            f"({', '.join(map(str, roots))}); copy it there or extend SILICONFLOW_INPUT_DIRS."
        )
    try:
        return _read_beneath(root, real.relative_to(root), policy.max_bytes, field)
    except FileNotFoundError as error:
        raise InputImageError(f"{field}: no file at {text}.") from error
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise InputImageError(
                f"{field}: {text} changed while it was being opened (a folder or the file became a symlink); "
                "give the image file's real path."
            ) from error
        raise InputImageError(f"{field}: cannot open {text}: {error.strerror or type(error).__name__}.") from error


def _read_beneath(root: Path, relative: Path, max_bytes: int, field: str) -> bytes:
    """Read `root / relative`, opening each component without following symlinks, then checking the file."""
    parts = relative.parts
    if not parts:
        raise InputImageError(f"{field}: {root} is a folder, not an image file.")
    if os.open not in os.supports_dir_fd:  # no openat (Windows): open, then make sure it is what was checked
        descriptor = os.open(root / relative, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        if not os.path.samestat(os.fstat(descriptor), os.stat(root / relative, follow_symlinks=False)):
            os.close(descriptor)
            raise OSError(errno.ELOOP, "changed while being opened")
    else:
        folder = os.open(root, os.O_RDONLY | _DIRECTORY)
        try:
            for part in parts[:-1]:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NO_FOLLOW, dir_fd=folder)
                os.close(folder)
                folder = inner
            descriptor = os.open(parts[-1], os.O_RDONLY | _NO_FOLLOW | _NON_BLOCKING, dir_fd=folder)
        finally:
            os.close(folder)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputImageError(f"{field}: {root / relative} is not a regular file.")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputImageError(
            f"{field} is larger than the {max_bytes / 1e6:.0f} MB input limit; resize or re-encode it."
        )
    return data


# --- URLs --------------------------------------------------------------------------------------------------


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%")[0] for info in infos]


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, translated, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address) or address.is_loopback or address.is_unspecified:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if packed[:12] == bytes(12) or packed[:12] == bytes(8) + b"\xff\xff\x00\x00" or address in _NAT64:
        return ipaddress.IPv4Address(packed[12:])
    return None


def address_allowed(address: IPAddress) -> bool:
    """Whether this server may connect to `address` for a caller: public unicast only."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return address_allowed(inner)
    if isinstance(address, ipaddress.IPv6Address) and (
        address.is_site_local or any(address in network for network in _NOT_PUBLIC_V6)
    ):
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class _Target:
    """A URL's host resolved and checked once: where to connect, and what to tell the server."""

    parts: SplitResult
    address: IPAddress

    @property
    def connect_url(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        port = self.parts.port or (443 if self.parts.scheme == "https" else 80)
        query = f"?{self.parts.query}" if self.parts.query else ""
        return f"{self.parts.scheme}://{host}:{port}{self.parts.path or '/'}{query}"

    @property
    def host_header(self) -> str:
        host = self.parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{self.parts.port}" if self.parts.port else shown


async def _download(field: str, url: str, policy: InputPolicy) -> bytes:
    with anyio.move_on_after(INPUT_DOWNLOAD_SECONDS):
        async with httpx2.AsyncClient(
            verify=tls_context(), trust_env=False, follow_redirects=False, timeout=INPUT_DOWNLOAD_SECONDS
        ) as http:
            for _ in range(MAX_REDIRECTS + 1):
                target = await _checked_target(field, url)
                extensions = {"sni_hostname": target.parts.hostname} if target.parts.scheme == "https" else {}
                try:
                    request = http.build_request(
                        "GET", target.connect_url, headers={"Host": target.host_header}, extensions=extensions
                    )
                    response = await http.send(request, stream=True)
                    try:
                        if response.is_redirect and "location" in response.headers:
                            url = _redirected(field, url, response.headers["location"])
                            continue
                        if response.status_code != 200:
                            raise InputImageError(
                                f"{field}: downloading {_safe(url)} failed with HTTP {response.status_code}."
                            )
                        return await read_capped(response, policy.max_bytes)
                    finally:
                        await response.aclose()
                except TooLargeError as error:
                    raise InputImageError(
                        f"{field} is larger than the {policy.max_bytes / 1e6:.0f} MB input limit."
                    ) from error
                except httpx2.InvalidURL as error:
                    raise InputImageError(f"{field}: {_safe(url)[:200]} is not a valid URL ({error}).") from error
                except httpx2.HTTPError as error:
                    raise InputImageError(
                        f"{field}: downloading {_safe(url)} failed ({type(error).__name__})."
                    ) from error
            raise InputImageError(f"{field}: {_safe(url)} redirected more than {MAX_REDIRECTS} times.")
    raise InputImageError(
        f"{field}: downloading {_safe(url)} took longer than {INPUT_DOWNLOAD_SECONDS:g} s; "
        "send the image as base64, or from a faster host."
    )


def _redirected(field: str, url: str, location: str) -> str:
    """Where a redirect from `url` leads; an InputImageError when its Location is no URL at all."""
    try:
        return urljoin(url, location)
    except ValueError as error:
        raise InputImageError(
            f"{field}: {_safe(url)} redirected to a location that is not a valid URL; send the image as base64."
        ) from error


async def _checked_target(field: str, url: str) -> _Target:
    """Refuse URLs that would make this server reach into its own host or network; else where to connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InputImageError(f"{field}: {_safe(url)} is not a valid URL ({error}).") from error
    if parts.scheme not in ("http", "https"):
        raise InputImageError(f"{field}: a redirect led to a {parts.scheme}: URL, which is not accepted.")
    if not parts.hostname:
        raise InputImageError(f"{field}: {_safe(url)} has no host name.")
    try:
        literal: IPAddress | None = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        answers = [literal]
    else:
        try:
            answers = [ipaddress.ip_address(found) for found in await resolve_host(parts.hostname, port or 443)]
        except (OSError, ValueError) as error:
            raise InputImageError(f"{field}: cannot resolve the host {parts.hostname!r}.") from error
    if not answers:
        raise InputImageError(f"{field}: cannot resolve the host {parts.hostname!r}.")
    for address in answers:
        if not address_allowed(address):
            shown = embedded_ipv4(address) or address
            raise InputImageError(
                f"{field}: {parts.hostname} resolves to {shown}, a loopback, private, link-local or reserved "
                "address; only public http(s) URLs are fetched. Send the image as base64 instead."
            )
    return _Target(parts, answers[0])


def _safe(url: str) -> str:
    """A URL without its query string, which may carry signatures or tokens."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the URL"
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
