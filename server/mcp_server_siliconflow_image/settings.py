"""Configuration from environment variables and command-line flags (a flag wins over its variable).

The names are a public contract (README's "Configuration"): client configs and install manifests set them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mcp_server_siliconflow_image.credentials import Secret as Secret  # re-exported: the type of Settings.api_key

DEFAULT_BASE_URL = "https://api.siliconflow.cn/v1"
DEFAULT_MODEL = "Kwai-Kolors/Kolors"
DEFAULT_EDIT_MODEL = "Qwen/Qwen-Image-Edit-2509"
DEFAULT_TIMEOUT_SECONDS = 180.0
# Claude Desktop refuses a tool result over 1,048,576 bytes; this leaves room for the text,
# the resource links and the structured result around the base64 image data.
DEFAULT_INLINE_MAX_BYTES = 900_000
DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_DOWNLOAD_SECONDS = 120.0

Transport = Literal["stdio", "http"]

logger = logging.getLogger(__name__)

UNEXPANDED_PLACEHOLDER = re.compile(r"^\$\{[^{}]*\}$")
"""A whole value such as `${user_config.image_dir}` or `${input:key}`: a client left its template unfilled."""

ENV_VARIABLES: dict[str, str] = {
    "SILICONFLOW_API_KEY": "api_key",
    "SILICONFLOW_BASE_URL": "base_url",
    "SILICONFLOW_IMAGE_DIR": "image_dir",
    "SILICONFLOW_DEFAULT_MODEL": "default_model",
    "SILICONFLOW_EDIT_MODEL": "edit_model",
    "SILICONFLOW_INPUT_DIRS": "input_dirs",
    "SILICONFLOW_TIMEOUT": "timeout",
    "SILICONFLOW_INLINE_MAX_BYTES": "inline_max_bytes",
    "SILICONFLOW_STRUCTURED_OUTPUT": "structured_output",
    "SILICONFLOW_MCP_TOKEN": "mcp_token",
    "SILICONFLOW_MAX_IMAGE_BYTES": "max_download_bytes",
    "SILICONFLOW_RESOURCE_LINKS": "resource_links",
    "SILICONFLOW_MCP_TOKENS_FILE": "mcp_tokens_file",
    "SILICONFLOW_IMAGE_URL_TTL": "image_url_ttl",
}
"""Every environment variable the server reads, mapped to the settings field it fills."""


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable and what it accepts."""


@dataclass(frozen=True)
class Settings:
    api_key: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    image_dir: Path = field(default_factory=lambda: default_image_dir())
    image_store: str | None = None
    """`s3://bucket/prefix` when SILICONFLOW_IMAGE_DIR names object storage; then `image_dir` is unused."""
    image_url_ttl: int | None = None
    """Seconds a presigned HTTPS link to each stored object lives (object storage only); None: no links."""
    default_model: str = DEFAULT_MODEL
    edit_model: str = DEFAULT_EDIT_MODEL
    input_dirs: tuple[Path, ...] | None = None
    """None means "the transport's default" (see `allowed_input_dirs`)."""
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    structured_output: bool = True
    resource_links: bool = True
    """False leaves `resource_link` blocks out of results, for clients that cannot use them."""
    mcp_token: Secret | None = None
    mcp_tokens_file: Path | None = None
    """HTTP: a file of `name:token` lines, one principal each (see tenants.py)."""
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    retry_base_delay: float = 1.0
    """First backoff wait in seconds; tests shorten it."""
    download_seconds: float = DEFAULT_DOWNLOAD_SECONDS
    """Total time one provider image may take to download, retries included, outside `timeout`."""
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ()
    """Host names (besides loopback) HTTP clients may address the server by, e.g. behind a proxy."""
    allow_unauthenticated: bool = False
    stateless: bool = False
    log_level: str = "INFO"
    explicitly_set: frozenset[str] = frozenset()
    """Fields given by a variable or flag; a client preset (client_presets.py) never overrides these."""

    @property
    def image_location(self) -> str:
        """Where images go, as the operator wrote it: the folder, or the `s3://` URL."""
        return self.image_store or str(self.image_dir)

    @property
    def generations_url(self) -> str:
        return f"{self.base_url}/images/generations"

    def allowed_input_dirs(self) -> tuple[Path, ...]:
        """Folders `edit_image` may read from: over stdio the user's own files, over HTTP none by default.

        A remote caller must never be able to read the host's files unless the operator said so.
        """
        if self.input_dirs is not None:
            return self.input_dirs
        if self.transport == "http":
            return ()
        return (Path.home(), self.image_dir)

    def secret_values(self) -> list[str]:
        """Every secret these settings hold (and the object store's, from the standard AWS variables), for `redact`."""
        secrets = [secret.reveal() for secret in (self.api_key, self.mcp_token) if secret is not None]
        return secrets + [os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
        """Build settings from `env` (default: os.environ), then apply non-None `overrides` (CLI flags)."""
        source = os.environ if env is None else env
        raw: dict[str, object] = {}
        for variable, name in ENV_VARIABLES.items():
            value = source.get(variable, "").strip()
            if UNEXPANDED_PLACEHOLDER.match(value) and variable != "SILICONFLOW_IMAGE_DIR":
                # MCPB hosts may pass an optional `${user_config.x}` the user left empty as the literal text;
                # read as a value it would become a bogus key or model. The image folder is kept as given: the
                # folder check refuses it by name before any credit is spent, rather than saving paid images
                # somewhere the user did not choose.
                logger.warning("%s is the unfilled placeholder %s; treating it as unset", variable, value)
                continue
            if value:
                raw[name] = _parse(variable, name, value)
        raw.update({name: value for name, value in overrides.items() if value is not None})
        if isinstance(raw.get("image_dir"), str):  # an object store URL, not a folder
            raw["image_store"] = raw.pop("image_dir")
        if raw.get("image_url_ttl") is not None and raw.get("image_store") is None:
            raise SettingsError(
                "SILICONFLOW_IMAGE_URL_TTL gives presigned links to objects in a bucket: it needs "
                "SILICONFLOW_IMAGE_DIR=s3://bucket/prefix. Unset it, or store images in object storage."
            )
        raw["explicitly_set"] = frozenset(raw)
        return cls(**raw)  # type: ignore[arg-type]


def _parse(variable: str, name: str, value: str) -> object:
    if name in {"api_key", "mcp_token"}:
        return Secret(value)
    if name == "base_url":
        return parse_base_url(variable, value)
    if name == "image_dir":
        return parse_image_location(value)
    if name == "mcp_tokens_file":
        return Path(value).expanduser().resolve()
    if name == "image_url_ttl":
        return parse_url_ttl(variable, value)
    if name == "input_dirs":
        return tuple(Path(part).expanduser().resolve() for part in value.split(os.pathsep) if part.strip())
    if name == "timeout":
        return _positive_number(variable, value)
    if name == "inline_max_bytes":
        return _non_negative_int(variable, value)
    if name == "max_download_bytes":
        number = _non_negative_int(variable, value)
        if number == 0:
            raise SettingsError(f"{variable} must be a number of bytes greater than 0, got {value!r}")
        return number
    if name in {"structured_output", "resource_links"}:
        return parse_bool(variable, value)
    return value


OBJECT_STORE_SCHEME = "s3://"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
MAX_URL_TTL_SECONDS = 7 * 24 * 3600
"""S3 refuses presigned links that live longer than seven days."""


def parse_image_location(value: str) -> Path | str:
    """SILICONFLOW_IMAGE_DIR: a folder (see `parse_image_dir`) or object storage as `s3://bucket/prefix`."""
    if OBJECT_STORE_SCHEME not in value and "://" not in value:
        return parse_image_dir(value)
    if not value.startswith(OBJECT_STORE_SCHEME):
        raise SettingsError(
            f"SILICONFLOW_IMAGE_DIR must be an absolute folder or s3://bucket/prefix, got {value!r} "
            "(object storage is reached through the S3 API; S3-compatible stores take AWS_ENDPOINT_URL)."
        )
    bucket, _, prefix = value.removeprefix(OBJECT_STORE_SCHEME).strip("/").partition("/")
    parts = [part for part in prefix.split("/") if part]
    if not _BUCKET.fullmatch(bucket) or not all(_KEY_PART.fullmatch(part) for part in parts):
        raise SettingsError(
            f"SILICONFLOW_IMAGE_DIR={value!r} is not a usable s3://bucket/prefix: the bucket is 3-63 lower-case "
            "letters, digits, dots or hyphens, and each part of the prefix letters, digits, '.', '_' or '-'."
        )
    return OBJECT_STORE_SCHEME + "/".join([bucket, *parts])


def parse_url_ttl(variable: str, value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= MAX_URL_TTL_SECONDS:
        raise SettingsError(
            f"{variable} must be a whole number of seconds from 1 to {MAX_URL_TTL_SECONDS} (seven days, the "
            f"longest a presigned S3 link may live), got {value!r}"
        )
    return seconds


def parse_image_dir(value: str) -> Path:
    """The image folder as given: a relative path stays relative (and unresolved) so that the folder check
    can refuse it by name, rather than quietly saving into whatever working directory the client chose."""
    path = Path(value).expanduser()
    return path.resolve() if path.is_absolute() else path


def parse_base_url(variable: str, value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise SettingsError(f"{variable} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {value!r}")
    return value.rstrip("/")


def parse_bool(variable: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{variable} must be true or false, got {value!r}")


def _positive_number(variable: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (math.isfinite(number) and number > 0):
        raise SettingsError(f"{variable} must be a number of seconds greater than 0, got {value!r}")
    return number


def _non_negative_int(variable: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise SettingsError(f"{variable} must be a whole number of bytes, 0 or more, got {value!r}")
    return number


def default_image_dir() -> Path:
    """A per-user folder that survives reboots; never the working directory.

    Claude Desktop starts servers with `/` as the working directory, so a relative default would
    either fail or scatter images across the file system.
    """
    home = Path.home()
    pictures = home / "Pictures"
    if pictures.is_dir():
        return pictures / "SiliconFlow"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    return base / "mcp-server-siliconflow-image" / "images"
