"""The command line: `mcp-server-siliconflow-image [--transport stdio|http] ...`.

stdout belongs to the MCP protocol in stdio mode, so everything else (logs, errors) goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.settings import (
    Secret,
    Settings,
    SettingsError,
    parse_base_url,
    parse_bool,
    parse_image_location,
    parse_url_ttl,
    redact,
)

logger = logging.getLogger("mcp_server_siliconflow_image")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-siliconflow-image",
        description=(
            "MCP server for SiliconFlow image generation. Serves MCP over stdio by default (what Claude "
            "Desktop, Claude Code, Cursor and VS Code start). Every option can also be set by the environment "
            "variable named in its help; the flag wins."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", default=None, help="HTTP only: interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="HTTP only: port (default 8000); MCP is at /mcp")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="HTTP only: a host name clients may use besides loopback (repeatable), e.g. images.example.com",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="HTTP only: allow listening beyond loopback without SILICONFLOW_MCP_TOKEN (not recommended)",
    )
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP only: no server-side sessions, for several instances behind a load balancer",
    )
    parser.add_argument("--api-key", help="SILICONFLOW_API_KEY: the provider key (prefer the variable)")
    parser.add_argument("--base-url", help="SILICONFLOW_BASE_URL (default https://api.siliconflow.cn/v1)")
    parser.add_argument(
        "--image-dir", help="SILICONFLOW_IMAGE_DIR: where images are saved, an absolute folder or s3://bucket/prefix"
    )
    parser.add_argument(
        "--image-url-ttl", help="SILICONFLOW_IMAGE_URL_TTL: seconds a presigned link to each stored object lives"
    )
    parser.add_argument("--default-model", help="SILICONFLOW_DEFAULT_MODEL (default Kwai-Kolors/Kolors)")
    parser.add_argument("--edit-model", help="SILICONFLOW_EDIT_MODEL (default Qwen/Qwen-Image-Edit-2509)")
    parser.add_argument("--input-dirs", help="SILICONFLOW_INPUT_DIRS: folders edit_image may read files from")
    parser.add_argument("--timeout", type=float, help="SILICONFLOW_TIMEOUT: seconds per generation (default 180)")
    parser.add_argument(
        "--inline-max-bytes",
        type=int,
        help="SILICONFLOW_INLINE_MAX_BYTES: inline image budget (default 900000)",
    )
    parser.add_argument(
        "--structured-output", help="SILICONFLOW_STRUCTURED_OUTPUT: true/false (default true)", metavar="BOOL"
    )
    parser.add_argument(
        "--resource-links",
        help="SILICONFLOW_RESOURCE_LINKS: true/false (default: the client's preset, else true)",
        metavar="BOOL",
    )
    parser.add_argument("--mcp-token", help="SILICONFLOW_MCP_TOKEN: bearer token HTTP clients must send")
    parser.add_argument(
        "--mcp-tokens-file", help="SILICONFLOW_MCP_TOKENS_FILE: name:token lines, one principal each (HTTP)"
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.upper, default="INFO", help="default: INFO")
    commands = parser.add_subparsers(dest="command", metavar="{doctor,stand-in,demo}")
    doctor = commands.add_parser(
        "doctor",
        help="check the key, the endpoint, the image folder and the client configs; exit 0 when generating works",
        description=(
            "When a client says the server disconnected or generation fails: checks the key (a real "
            "GET /user/info, never printing it), the base URL and its image API, the image folder (writable, "
            "free space), the Python and package versions, and what the Claude Desktop, Claude Code, Cursor and "
            "VS Code configs would start. One line per check with the fix. Reads the same variables and flags "
            "as the server (give flags before 'doctor'). Exit status 0 only when generating would work."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON, for scripts")
    standin = commands.add_parser(
        "stand-in",
        help="run the offline stand-in provider (no key, no network) for demos and agents' CI",
        description=(
            "Serve SiliconFlow's image API offline on loopback: POST /v1/images/generations, GET /v1/models, "
            "expiring image links and the documented errors, with deterministic images drawn from "
            "(prompt, seed, size). Point the server at it with SILICONFLOW_BASE_URL=http://127.0.0.1:PORT/v1. "
            "Inject faults with POST /_standin/faults, change behaviour with POST /_standin/config."
        ),
    )
    standin.add_argument("--host", dest="standin_host", default="127.0.0.1", help="default: 127.0.0.1")
    standin.add_argument("--port", dest="standin_port", type=int, default=8765, help="default: 8765")
    standin.add_argument("--key", default="sk-standin", help="the API key it accepts (default: sk-standin)")
    standin.add_argument("--image-kind", choices=("pattern", "noise", "jpeg"), default="pattern")
    standin.add_argument("--delay", type=float, default=0.0, help="seconds each generation takes (default 0)")
    demo = commands.add_parser(
        "demo",
        help="see it work with no key: stand-in provider + this server + a real MCP client",
        description="Start the stand-in provider and this server, call every tool through the MCP client, "
        "and print where the images went and what the results looked like.",
    )
    demo.add_argument("--out", help="folder for the demo images (default: a new folder in the temp dir)")
    return parser


def settings_from_args(options: argparse.Namespace) -> Settings:
    import os
    from pathlib import Path

    overrides: dict[str, object] = {
        "transport": options.transport,
        "host": options.host,
        "port": options.port,
        "log_level": options.log_level,
        "default_model": options.default_model,
        "edit_model": options.edit_model,
        "timeout": options.timeout,
        "inline_max_bytes": options.inline_max_bytes,
        "allowed_hosts": tuple(options.allowed_host),
        "allow_unauthenticated": options.allow_unauthenticated,
        "stateless": options.stateless,
    }
    if options.api_key:
        overrides["api_key"] = Secret(options.api_key)
    if options.mcp_token:
        overrides["mcp_token"] = Secret(options.mcp_token)
    if options.base_url:
        overrides["base_url"] = parse_base_url("--base-url", options.base_url)
    if options.image_dir:
        overrides["image_dir"] = parse_image_location(options.image_dir)
    if options.image_url_ttl:
        overrides["image_url_ttl"] = parse_url_ttl("--image-url-ttl", options.image_url_ttl)
    if options.mcp_tokens_file:
        overrides["mcp_tokens_file"] = Path(options.mcp_tokens_file).expanduser().resolve()
    if options.input_dirs is not None:
        overrides["input_dirs"] = tuple(
            Path(part).expanduser().resolve() for part in options.input_dirs.split(os.pathsep) if part.strip()
        )
    if options.structured_output is not None:
        overrides["structured_output"] = parse_bool("--structured-output", options.structured_output)
    if options.resource_links is not None:
        overrides["resource_links"] = parse_bool("--resource-links", options.resource_links)
    if options.timeout is not None and options.timeout <= 0:
        raise SettingsError("--timeout must be greater than 0")
    if options.inline_max_bytes is not None and options.inline_max_bytes < 0:
        raise SettingsError("--inline-max-bytes must be 0 or more")
    return Settings.load(None, **overrides)


class RedactingFormatter(logging.Formatter):
    """Formats log records with every secret replaced, whichever library logged them."""

    def __init__(self, fmt: str, secrets: Sequence[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """Everything to stderr (stdout is the protocol's in stdio mode), with secrets redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; provider image URLs carry signatures.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    options = parser.parse_args(argv)
    configure_logging(options.log_level)
    if options.command == "stand-in":
        run_standin(options)
        return
    if options.command == "doctor":
        parser.exit(run_doctor_command(options))
    if options.command == "demo":
        from mcp_server_siliconflow_image.standin.demo import run_demo

        parser.exit(run_demo(options.out))
    try:
        settings = settings_from_args(options)
    except SettingsError as error:
        parser.exit(2, f"mcp-server-siliconflow-image: {error}\n")
    secrets = [secret.reveal() for secret in (settings.api_key, settings.mcp_token) if secret is not None]
    secrets += [os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    configure_logging(options.log_level, secrets)

    try:
        serve(settings)
    except SettingsError as error:
        parser.exit(2, f"mcp-server-siliconflow-image: {error}\n")


def serve(settings: Settings) -> None:
    """Build the server and serve it over the chosen transport (the HTTP stack is imported only for HTTP)."""
    from mcp_server_siliconflow_image.app import build_server

    if settings.transport == "http":
        from mcp_server_siliconflow_image.hosting.http import check_http_exposure

        check_http_exposure(settings)
    server = build_server(settings)
    if settings.api_key is None:
        logger.warning("SILICONFLOW_API_KEY is not set: generate_image will answer how to set it")
    logger.info("saving images to %s", settings.image_location)
    if settings.transport == "http":
        from mcp_server_siliconflow_image.hosting.http import serve_http

        serve_http(server, settings)
    else:
        from mcp_server_siliconflow_image.hosting.stdio import serve_stdio

        serve_stdio(server)


def run_doctor_command(options: argparse.Namespace) -> int:
    from mcp_server_siliconflow_image.doctor.run import run_doctor

    try:
        settings = settings_from_args(options)
    except SettingsError as error:
        return run_doctor(None, str(error), as_json=options.json)
    secrets = [secret.reveal() for secret in (settings.api_key, settings.mcp_token) if secret is not None]
    configure_logging(options.log_level, secrets)
    return run_doctor(settings, as_json=options.json)


def run_standin(options: argparse.Namespace) -> None:
    from mcp_server_siliconflow_image.standin.provider import StandInState, serve_standin

    state = StandInState(api_key=options.key, image_kind=options.image_kind, inference_delay=options.delay)
    base = f"http://{options.standin_host}:{options.standin_port}/v1"
    print(f"stand-in provider at {base} (API key: {options.key})", file=sys.stderr, flush=True)
    print(
        f"  SILICONFLOW_BASE_URL={base} SILICONFLOW_API_KEY={options.key} mcp-server-siliconflow-image", file=sys.stderr
    )
    serve_standin(state, host=options.standin_host, port=options.standin_port)
