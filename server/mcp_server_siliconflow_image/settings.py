"""Configuration from environment variables and command-line flags (a flag wins over its variable).

The names are a public contract (docs/configuration.md): client configs and install manifests set them.
Each variable, its flag, the function that reads it and its documentation are one row of `OPTIONS`, which
the environment reader, the command line (cli.py) and docs/configuration.md all use.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from mcp_server_siliconflow_image.credentials import MIN_REDACTED_PREFIX, redact, url_credential
from mcp_server_siliconflow_image.credentials import Secret as Secret  # re-exported: the type of Settings.api_key
from mcp_server_siliconflow_image.stores.naming import is_image_name

DEFAULT_BASE_URL = "https://api.siliconflow.cn/v1"
DEFAULT_MODEL = "Kwai-Kolors/Kolors"
DEFAULT_EDIT_MODEL = "Qwen/Qwen-Image-Edit-2509"
DEFAULT_VIDEO_MODEL = "Wan-AI/Wan2.2-T2V-A14B"
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
    kept_aside_dir: Path = field(default_factory=lambda: default_kept_aside_dir())
    """Object storage only: where images the bucket refused are kept on this machine until they can be moved there."""
    default_model: str = DEFAULT_MODEL
    edit_model: str = DEFAULT_EDIT_MODEL
    video_model: str = DEFAULT_VIDEO_MODEL
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
        """Every secret these settings hold (the key, the MCP token, a gateway password or token in
        SILICONFLOW_BASE_URL, and the object store's, from the standard AWS variables), for `redact`.

        Not those shorter than MIN_REDACTED_PREFIX: "test" is in too many words, and hiding it would mangle the
        saved paths results give (`/home/tester/…`). No such secret guards anything: keys are 8 characters or
        more, an HTTP server refuses a short token, and a URL's password is hidden in URLs whatever its length."""
        secrets = [secret.reveal() for secret in (self.api_key, self.mcp_token) if secret is not None]
        password = url_credential(self.base_url)
        secrets += [password, unquote(password)]
        secrets += [os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
        return [secret for secret in secrets if len(secret) >= MIN_REDACTED_PREFIX]

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        /,
        *,
        flags: Mapping[str, str | None] | None = None,
        **overrides: object,
    ) -> Settings:
        """Build settings from `env` (default: os.environ), then `flags` (the raw text of each option's flag, by
        field name: it wins, and is read by the very function that reads its variable), then `overrides` (values
        of the server's flag-only options: transport, host, port, ...)."""
        source = os.environ if env is None else env
        given = flags or {}
        raw: dict[str, object] = {}
        for option in OPTIONS:
            for name, text in ((option.variable, source.get(option.variable)), (option.flag, given.get(option.field))):
                value = option.read(name, text) if name is not None and text is not None else None
                if value is not None:
                    raw[option.field] = value
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


Parse = Callable[[str, str], object]
"""Reads one option's text; told the name it came by (variable or flag), so an error names that."""


@dataclass(frozen=True)
class Option:
    """One configuration value: its variable, its flag, the one function that reads it, and its documentation."""

    field: str
    """The `Settings` field it fills."""
    variable: str
    flag: str | None
    parse: Parse
    default: str
    """As documented (Markdown)."""
    meaning: str
    """What it does (Markdown), for `--help` and docs/configuration.md."""
    metavar: str | None = None
    keeps_placeholder: bool = False
    """Whether an unfilled `${...}` is kept as the value (to be refused by name) rather than read as unset."""
    guards_access: bool = False
    """Whether it decides who may call the server: then an unfilled `${...}` stops the server, because read as
    unset it would let every caller in."""

    def read(self, name: str, text: str) -> object | None:
        """The value `text` gives, read the same way whether `name` is the variable or the flag; None: unset."""
        value = text.strip()
        if not value:
            return None
        if UNEXPANDED_PLACEHOLDER.match(value) and self.guards_access:
            raise SettingsError(
                f"{name} is the unfilled placeholder {value}: the server would have no token and let every caller "
                f"in. Give {name} its real value, or remove it to run without one."
            )
        if UNEXPANDED_PLACEHOLDER.match(value) and not self.keeps_placeholder:
            # MCPB hosts may pass an optional `${user_config.x}` the user left empty as the literal text; read as
            # a value it would become a bogus key or model.
            logger.warning("%s is the unfilled placeholder %s; treating it as unset", name, value)
            return None
        return self.parse(name, value)

    def help_text(self) -> str:
        """The `--help` line: the variable, what it means, the default, as plain text."""
        plain = f"{self.variable}: {self.meaning} (default: {self.default})".replace("`", "")
        return plain.replace("%", "%%")  # argparse formats help with %


OBJECT_STORE_SCHEME = "s3://"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
MAX_URL_TTL_SECONDS = 7 * 24 * 3600
"""S3 refuses presigned links that live longer than seven days."""


def parse_image_location(name: str, value: str) -> Path | str:
    """SILICONFLOW_IMAGE_DIR: a folder (see `parse_image_dir`) or object storage as `s3://bucket/prefix`."""
    if OBJECT_STORE_SCHEME not in value and "://" not in value:
        return parse_image_dir(value)
    if not value.startswith(OBJECT_STORE_SCHEME):
        raise SettingsError(
            f"{name} must be an absolute folder or s3://bucket/prefix, got {redact(value, [])!r} "
            "(object storage is reached through the S3 API; S3-compatible stores take AWS_ENDPOINT_URL)."
        )
    bucket, _, prefix = value.removeprefix(OBJECT_STORE_SCHEME).strip("/").partition("/")
    parts = [part for part in prefix.split("/") if part]
    if not _BUCKET.fullmatch(bucket) or not all(_KEY_PART.fullmatch(part) for part in parts):
        raise SettingsError(
            f"{name}={value!r} is not a usable s3://bucket/prefix: the bucket is 3-63 lower-case "
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
        # printed before the log redacts anything: a mistyped scheme must not show the gateway's token
        shown = redact(value, [])
        raise SettingsError(f"{variable} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {shown!r}")
    return value.rstrip("/")


_VERSIONED_PATH = re.compile(r"/v\d+[a-z0-9]*$")


def with_version(base_url: str) -> str | None:
    """`base_url` with `/v1` added when its path names no API version (`…/v1`, `…/v2beta`), which is what a 404
    from it most likely means (SiliconFlow's API is under /v1); None when it names one."""
    try:
        path = urlsplit(base_url).path.rstrip("/")
    except ValueError:  # not a URL it can read: no guess
        return None
    return None if _VERSIONED_PATH.search(path) else f"{base_url.rstrip('/')}/v1"


def parse_bool(variable: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{variable} must be true or false, got {value!r}")


def parse_seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (math.isfinite(number) and number > 0):
        raise SettingsError(f"{name} must be a number of seconds greater than 0, got {value!r}")
    return number


def parse_byte_budget(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise SettingsError(f"{name} must be a whole number of bytes, 0 or more, got {value!r}")
    return number


def parse_byte_limit(name: str, value: str) -> int:
    number = parse_byte_budget(name, value)
    if number == 0:
        raise SettingsError(f"{name} must be a number of bytes greater than 0, got {value!r}")
    return number


def parse_secret(name: str, value: str) -> Secret:
    """Kept as given: whether a provider key is usable is `credentials.key_problem`'s verdict, at its use."""
    return Secret(value)


def parse_text(name: str, value: str) -> str:
    return value


def parse_folders(name: str, value: str) -> tuple[Path, ...]:
    return tuple(Path(part).expanduser().resolve() for part in value.split(os.pathsep) if part.strip())


def parse_file(name: str, value: str) -> Path:
    return Path(value).expanduser().resolve()


def default_image_dir() -> Path:
    """A per-user folder that survives reboots; never the working directory.

    Claude Desktop starts servers with `/` as the working directory, so a relative default would
    either fail or scatter images across the file system.
    """
    return default_image_folders().chosen


def default_kept_aside_dir() -> Path:
    """Where a bucket's images wait on this machine while the bucket refuses them: the server's own data folder,
    which survives reboots, one folder per bucket and prefix inside it."""
    return data_dir() / "kept-for-bucket"


@dataclass(frozen=True)
class DefaultImageFolders:
    """Which default folder images go to, and the default folders passed over (with those holding images)."""

    chosen: Path
    passed_over: tuple[Path, ...]
    """Default folders not used now: `~/Pictures/SiliconFlow` while another holds the images, or the reverse."""
    earlier_images: tuple[Path, ...]
    """The passed-over folders that hold images: where images of earlier runs are, to be said loudly."""


def default_image_folders() -> DefaultImageFolders:
    """`~/Pictures/SiliconFlow` when `~/Pictures` exists, else this server's per-user data folder; but a folder
    that already holds images keeps them company. `~/Pictures` may appear after the first images were saved (a
    desktop installed later): switching folders then would make every earlier image "vanish" from resources/list
    and from the user's view."""
    pictures = Path.home() / "Pictures"
    data = data_dir() / "images"
    candidates = [pictures / "SiliconFlow", data] if pictures.is_dir() else [data]  # preferred first
    holding = [folder for folder in candidates if _holds_images(folder)]
    chosen = holding[0] if holding else candidates[0]
    passed_over = tuple(folder for folder in candidates if folder != chosen)
    return DefaultImageFolders(chosen, passed_over, tuple(folder for folder in passed_over if folder in holding))


def _holds_images(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(is_image_name(entry.name) for entry in entries)
    except OSError:
        return False


def data_dir() -> Path:
    """This server's per-user data folder (the platform's place for application data)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    return base / "mcp-server-siliconflow-image"


OPTIONS: tuple[Option, ...] = (
    Option(
        field="api_key",
        variable="SILICONFLOW_API_KEY",
        flag="--api-key",
        parse=parse_secret,
        default="none",
        metavar="KEY",
        meaning=(
            "the provider key, sent as `Authorization: Bearer …`; never printed or logged (prefer the variable to the "
            "flag, which other users of the machine can see)"
        ),
    ),
    Option(
        field="base_url",
        variable="SILICONFLOW_BASE_URL",
        flag="--base-url",
        parse=parse_base_url,
        default=f"`{DEFAULT_BASE_URL}`",
        meaning=(
            "the provider's API base (international: `https://api.siliconflow.com/v1`); compatible gateways work too"
        ),
        metavar="URL",
    ),
    Option(
        field="image_dir",
        variable="SILICONFLOW_IMAGE_DIR",
        flag="--image-dir",
        parse=parse_image_location,
        default="a per-user pictures/data folder, never the working directory",
        meaning=(
            "where images are saved: an absolute folder (checked writable at start and before every generation), or "
            "`s3://bucket/prefix` (object storage; credentials and endpoint from the standard `AWS_*` variables)"
        ),
        metavar="PATH",
        # The image folder is kept as given: the folder check refuses it by name before any credit is spent,
        # rather than saving paid images somewhere the user did not choose.
        keeps_placeholder=True,
    ),
    Option(
        field="default_model",
        variable="SILICONFLOW_DEFAULT_MODEL",
        flag="--default-model",
        parse=parse_text,
        default=f"`{DEFAULT_MODEL}`",
        meaning="model for `generate_image` when none is given",
        metavar="MODEL",
    ),
    Option(
        field="edit_model",
        variable="SILICONFLOW_EDIT_MODEL",
        flag="--edit-model",
        parse=parse_text,
        default=f"`{DEFAULT_EDIT_MODEL}`",
        meaning="model for `edit_image` when none is given",
        metavar="MODEL",
    ),
    Option(
        field="video_model",
        variable="SILICONFLOW_VIDEO_MODEL",
        flag="--video-model",
        parse=parse_text,
        default=f"`{DEFAULT_VIDEO_MODEL}`",
        meaning="model for `generate_video` when none is given (with `image`: its image-to-video sibling)",
        metavar="MODEL",
    ),
    Option(
        field="input_dirs",
        variable="SILICONFLOW_INPUT_DIRS",
        flag="--input-dirs",
        parse=parse_folders,
        default="stdio: home + image dir; http: none",
        meaning="folders (`:`-separated, `;` on Windows) `edit_image` may read local files from",
        metavar="FOLDERS",
    ),
    Option(
        field="timeout",
        variable="SILICONFLOW_TIMEOUT",
        flag="--timeout",
        parse=parse_seconds,
        default=f"`{DEFAULT_TIMEOUT_SECONDS:g}`",
        meaning="seconds one generation may take, retries included",
        metavar="SECONDS",
    ),
    Option(
        field="inline_max_bytes",
        variable="SILICONFLOW_INLINE_MAX_BYTES",
        flag="--inline-max-bytes",
        parse=parse_byte_budget,
        default=f"`{DEFAULT_INLINE_MAX_BYTES}`",
        meaning="budget for all inline image data (base64) in one result; `0` = no inline images",
        metavar="BYTES",
    ),
    Option(
        field="structured_output",
        variable="SILICONFLOW_STRUCTURED_OUTPUT",
        flag="--structured-output",
        parse=parse_bool,
        default="`true`",
        meaning="`false` leaves out `structuredContent` (for clients that drop images when it is present)",
        metavar="BOOL",
    ),
    Option(
        field="mcp_token",
        variable="SILICONFLOW_MCP_TOKEN",
        flag="--mcp-token",
        parse=parse_secret,
        default="none (then loopback only)",
        meaning="HTTP transport: clients must send `Authorization: Bearer <token>` (16 characters or more)",
        metavar="TOKEN",
        guards_access=True,
    ),
    Option(
        field="max_download_bytes",
        variable="SILICONFLOW_MAX_IMAGE_BYTES",
        flag=None,
        parse=parse_byte_limit,
        default=f"`{DEFAULT_MAX_DOWNLOAD_BYTES}` ({DEFAULT_MAX_DOWNLOAD_BYTES // 2**20} MB)",
        meaning="largest image or video download accepted, in bytes",
    ),
    Option(
        field="resource_links",
        variable="SILICONFLOW_RESOURCE_LINKS",
        flag="--resource-links",
        parse=parse_bool,
        default="the client's preset, else `true`",
        meaning="`false` leaves `resource_link` blocks out of results (for clients that cannot use them)",
        metavar="BOOL",
    ),
    Option(
        field="mcp_tokens_file",
        variable="SILICONFLOW_MCP_TOKENS_FILE",
        flag="--mcp-tokens-file",
        parse=parse_file,
        default="none",
        meaning="HTTP: a file of `name:token` lines, one principal each, each with its own images",
        metavar="FILE",
        guards_access=True,
    ),
    Option(
        field="image_url_ttl",
        variable="SILICONFLOW_IMAGE_URL_TTL",
        flag="--image-url-ttl",
        parse=parse_url_ttl,
        default="none (no URLs)",
        meaning="object storage only: seconds a presigned HTTPS `url` for each image lives",
        metavar="SECONDS",
    ),
)
"""Every variable the server reads and its flag: the environment reader, `--help` and docs/configuration.md all
come from this table, so a value is read by the same function whichever way it came."""

ENV_VARIABLES: dict[str, str] = {option.variable: option.field for option in OPTIONS}
"""Every environment variable the server reads, mapped to the settings field it fills."""


def markdown_table() -> str:
    """The configuration table as Markdown, for docs/configuration.md (see docs/generate.py)."""
    rows = ["| variable | flag | meaning | default |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        flag = f"`{option.flag}`" if option.flag else "—"
        rows.append(f"| `{option.variable}` | {flag} | {option.meaning} | {option.default} |")
    return "\n".join(rows) + "\n"
