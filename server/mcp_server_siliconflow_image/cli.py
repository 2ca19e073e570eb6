"""The command line: `mcp-server-siliconflow-image [--transport stdio|http] ...`.

stdout belongs to the MCP protocol in stdio mode, so everything else (logs, errors) goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.credentials import key_problem, redact
from mcp_server_siliconflow_image.settings import OPTIONS, Settings, SettingsError, default_image_folders

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
    add_server_flags(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", metavar="{doctor,stand-in,demo}")
    doctor = commands.add_parser(
        "doctor",
        help="check the key, the endpoint, the image folder and the client configs; exit 0 when generating works",
        description=(
            "When a client says the server disconnected or generation fails: checks the key (a real "
            "GET /user/info, never printing it), the base URL and its image API, the image folder (writable, "
            "free space), the Python and package versions, and what the Claude Desktop, Claude Code, Cursor and "
            "VS Code configs would start. One line per check with the fix. Reads the same variables and flags "
            "as the server (before or after 'doctor'). Exit status 0 only when generating would work."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON, for scripts")
    add_server_flags(doctor, after_command=True)  # `doctor --base-url …` as well as `--base-url … doctor`
    standin = commands.add_parser(
        "stand-in",
        help="run the offline stand-in provider (no key, no network) for demos and agents' CI",
        description=(
            "Serve SiliconFlow's image and video APIs offline on loopback: POST /v1/images/generations, "
            "POST /v1/video/submit and /v1/video/status, GET /v1/models, expiring links and the documented errors, "
            "with deterministic images and small MP4 videos drawn from (prompt, seed, size). Point the server at it "
            "with SILICONFLOW_BASE_URL=http://127.0.0.1:PORT/v1. "
            "Inject faults with POST /_standin/faults, change behaviour with POST /_standin/config."
        ),
    )
    standin.add_argument("--host", dest="standin_host", default="127.0.0.1", help="default: 127.0.0.1")
    standin.add_argument("--port", dest="standin_port", type=int, default=8765, help="default: 8765")
    standin.add_argument("--key", default="sk-standin", help="the API key it accepts (default: sk-standin)")
    standin.add_argument("--image-kind", choices=("scene", "pattern", "noise", "photo", "jpeg"), default="scene")
    standin.add_argument("--delay", type=float, default=0.0, help="seconds each generation takes (default 0)")
    standin.add_argument(
        "--first-byte-delay", type=float, default=0.0, help="seconds each image download waits to answer (default 0)"
    )
    standin.add_argument(
        "--download-rate",
        type=float,
        default=0.0,
        help="bytes per second per image download, e.g. 20e6 (default 0: unlimited)",
    )
    demo = commands.add_parser(
        "demo",
        help="see it work with no key: stand-in provider + this server + a real MCP client",
        description="Start the stand-in provider and this server, call every tool through the MCP client, "
        "and print where the images went and what the results looked like.",
    )
    demo.add_argument("--out", help="folder for the demo images (default: a new folder in the temp dir)")
    return parser


def add_server_flags(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """Every flag of the server: how it is reached, every setting's flag, and --log-level.

    A subcommand's parser (`after_command`) has them too, with no defaults of its own (argparse.SUPPRESS), so a
    flag given before the subcommand still counts when it is not given again after it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument("--transport", choices=("stdio", "http"), default=default("stdio"), help="default: stdio")
    parser.add_argument("--host", default=default(None), help="HTTP only: interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=default(None), help="HTTP only: port (default 8000); MCP is at /mcp"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=default([]),
        metavar="NAME",
        help="HTTP only: a host name clients may use besides loopback (repeatable), e.g. images.example.com",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=default(False),
        help="HTTP only: allow listening beyond loopback without SILICONFLOW_MCP_TOKEN (not recommended)",
    )
    parser.add_argument(
        "--stateless",
        action="store_true",
        default=default(False),
        help="HTTP only: no server-side sessions, for several instances behind a load balancer",
    )
    for option in OPTIONS:
        if option.flag is not None:  # read as text: Settings.load parses it as it parses the variable
            parser.add_argument(
                option.flag, dest=option.field, metavar=option.metavar, help=option.help_text(), default=default(None)
            )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, type=str.upper, default=default("INFO"), help="default: INFO"
    )


def settings_from_args(options: argparse.Namespace) -> Settings:
    """The settings the variables and these flags give; each flag's text is read by its variable's parser."""
    flags = {option.field: getattr(options, option.field) for option in OPTIONS if option.flag is not None}
    return Settings.load(
        None,
        flags=flags,
        transport=options.transport,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        allowed_hosts=tuple(options.allowed_host),
        allow_unauthenticated=options.allow_unauthenticated,
        stateless=options.stateless,
    )


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
    # httpx2 logs every request URL at INFO; provider image URLs carry signatures.
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, root.level))


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
    if options.transport == "stdio":
        from mcp_server_siliconflow_image.hosting.stdio import closed_pipe

        if (closed := closed_pipe()) is not None:
            parser.exit(0, f"mcp-server-siliconflow-image: {closed}\n")
    try:
        settings = settings_from_args(options)
    except SettingsError as error:
        parser.exit(2, f"mcp-server-siliconflow-image: {error}\n")
    configure_logging(options.log_level, settings.secret_values())
    if settings.api_key is not None and (problem := key_problem(settings.api_key.reveal())):
        logger.error("SILICONFLOW_API_KEY %s. generate_image and edit_image will refuse until it is fixed.", problem)

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
    if "image_dir" not in settings.explicitly_set:
        for folder in default_image_folders().earlier_images:
            logger.warning(
                "images of earlier runs are in %s, not in %s where new ones go: set SILICONFLOW_IMAGE_DIR to the "
                "folder you want (and move the others there) to keep them in one place",
                folder,
                settings.image_location,
            )
    if settings.transport == "http":
        from mcp_server_siliconflow_image.hosting.http import serve_http

        serve_http(server, settings)
    else:
        from mcp_server_siliconflow_image.hosting.stdio import serve_stdio

        serve_stdio(server, finish_within=settings.timeout + settings.download_seconds)


def run_doctor_command(options: argparse.Namespace) -> int:
    from mcp_server_siliconflow_image.doctor.run import run_doctor

    try:
        settings = settings_from_args(options)
    except SettingsError as error:
        return run_doctor(None, str(error), as_json=options.json)
    configure_logging(options.log_level, settings.secret_values())
    return run_doctor(settings, as_json=options.json)


def run_standin(options: argparse.Namespace) -> None:
    from mcp_server_siliconflow_image.standin import StandInState, serve_standin

    state = StandInState(
        api_key=options.key,
        image_kind=options.image_kind,
        inference_delay=options.delay,
        download_first_byte_delay=options.first_byte_delay,
        download_rate=options.download_rate,
    )
    base = f"http://{options.standin_host}:{options.standin_port}/v1"
    print(f"stand-in provider at {base} (API key: {options.key})", file=sys.stderr, flush=True)
    print(
        f"  SILICONFLOW_BASE_URL={base} SILICONFLOW_API_KEY={options.key} mcp-server-siliconflow-image", file=sys.stderr
    )
    serve_standin(state, host=options.standin_host, port=options.standin_port)
