"""Running the server over stdio (local clients) or streamable HTTP (remote clients).

Over HTTP the server guards itself: a bearer token when SILICONFLOW_MCP_TOKEN is set (compared in constant
time), or one of the named principals' tokens in SILICONFLOW_MCP_TOKENS_FILE (each principal then sees only
its own images), no listening beyond loopback without one unless explicitly allowed, Host/Origin checks against DNS
rebinding (the SDK's TransportSecuritySettings), a `/healthz` route for load balancers, and a graceful
shutdown on SIGTERM.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import anyio
import pydantic_core

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.app import build_server
from mcp_server_siliconflow_image.hosting.tenants import PRINCIPAL_SCOPE_KEY, TokenFile
from mcp_server_siliconflow_image.settings import Settings, SettingsError

if TYPE_CHECKING:  # the HTTP stack is imported only when serving HTTP: stdio starts faster without it
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
GRACEFUL_SHUTDOWN_SECONDS = 5


def serve(settings: Settings) -> None:
    if settings.transport == "http":
        check_http_exposure(settings)
    server = build_server(settings)
    if settings.api_key is None:
        logger.warning("SILICONFLOW_API_KEY is not set: generate_image will answer how to set it")
    logger.info("saving images to %s", settings.image_location)
    if settings.transport == "stdio":
        serve_stdio(server)
        return
    import uvicorn

    config = uvicorn.Config(
        http_app(server, settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our stderr logging, not uvicorn's stdout defaults
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    logger.info("serving MCP over streamable HTTP at http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    # uvicorn drains connections on SIGTERM/SIGINT, then re-raises the signal to the handler that was
    # there before it; this one turns that into a clean exit status instead of "killed by SIGTERM".
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    uvicorn.Server(config).run()
    logger.info("stopped")


def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve one client over stdin/stdout until it goes away, and say so on stderr rather than in a traceback.

    A client ends the session by closing stdin; one that dies or closes its end of stdout mid-call makes
    the next write fail with a broken pipe. Both are a normal end for a stdio server.
    """
    try:
        anyio.run(_serve_stdio_async, server)
    except BaseException as error:
        if not _client_went_away(error):
            raise
        # Nothing more can reach the client; keep the interpreter's final flush from complaining too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        logger.info("the client closed its end of stdout (it quit or crashed): stopping; unanswered calls dropped")
        return
    logger.info("stdin closed: the client ended the session; stopping")


async def _serve_stdio_async(server: MCPServer[Any]) -> None:
    """The SDK's stdio transport, reading stdin through `repaired_lines` so every request gets an answer."""
    from mcp.server.stdio import stdio_server

    lines = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    async with stdio_server(stdin=cast("anyio.AsyncFile[str]", RepairedLines(lines))) as (reading, writing):
        lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs; it takes no stdin of ours
        await lowlevel.run(reading, writing, lowlevel.create_initialization_options())


class RepairedLines:
    """Client lines repaired where the SDK's strict parser would drop them without an answer.

    A lone UTF-16 surrogate escape (a prompt cut inside an emoji: `"\\ud83d"`) or an integer of thousands of
    digits fails the SDK's JSON parsing, and the SDK then drops the request at DEBUG level: the client waits
    forever. Such a line is parsed leniently and written again (the surrogate as U+FFFD, the huge number as
    a short string), so the request reaches validation and is refused in words.
    """

    def __init__(self, lines: AsyncIterable[str]) -> None:
        self._lines = lines

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            yield repair_line(line)


def repair_line(line: str) -> str:
    try:
        pydantic_core.from_json(line)
    except ValueError:
        pass
    else:
        return line
    try:
        message = json.loads(line, parse_int=_bounded_int)
    except ValueError:
        return line  # not JSON at all: the SDK answers what it can
    return json.dumps(_without_surrogates(message), ensure_ascii=False) + "\n"


def _bounded_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= 40 else f"{digits[:12]}... ({len(digits)} digits)"


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def _client_went_away(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_client_went_away(inner) for inner in error.exceptions)
    return isinstance(error, BrokenPipeError | ConnectionResetError)


def _exit_after_graceful_shutdown(signum: int, _: object) -> None:
    logger.info("stopped after %s", signal.Signals(signum).name)
    raise SystemExit(0)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_http_exposure(settings: Settings) -> None:
    """Refuse to offer an unauthenticated image generator (and the key's credits) to a whole network."""
    authenticated = settings.mcp_token is not None or settings.mcp_tokens_file is not None
    if not authenticated and not is_loopback(settings.host) and not settings.allow_unauthenticated:
        raise SettingsError(
            f"refusing to listen on {settings.host} without SILICONFLOW_MCP_TOKEN: anyone who can reach it could "
            "spend your SiliconFlow credits. Set SILICONFLOW_MCP_TOKEN (clients then send "
            "'Authorization: Bearer <token>'), listen on 127.0.0.1, or pass --allow-unauthenticated."
        )


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin headers a request may carry: loopback names plus the operator's --allowed-host names."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"]
    origins = ["http://127.0.0.1", "http://127.0.0.1:*", "http://localhost", "http://localhost:*", "http://[::1]:*"]
    for name in settings.allowed_hosts:
        hosts += [name, f"{name}:*"]
        origins += [f"{scheme}://{name}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    from starlette.responses import JSONResponse

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    server.custom_route(HEALTH_PATH, methods=["GET"])(healthz)

    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    if settings.mcp_token is not None or settings.mcp_tokens_file is not None:
        token = settings.mcp_token.reveal() if settings.mcp_token is not None else None
        principals = TokenFile(settings.mcp_tokens_file) if settings.mcp_tokens_file is not None else None
        app = BearerTokenMiddleware(app, token, principals, open_paths=frozenset({HEALTH_PATH}))
    return app


_UNAUTHENTICATED = object()


class BearerTokenMiddleware:
    """Every HTTP request but the health check must carry `Authorization: Bearer <token>`.

    The server's own token (SILICONFLOW_MCP_TOKEN) reaches the server's images; a principal's token from
    the token file reaches that principal's, which the request carries on in its ASGI scope.
    """

    def __init__(
        self, app: ASGIApp, token: str | None, principals: TokenFile | None, open_paths: frozenset[str]
    ) -> None:
        self.app = app
        self._token = token.encode() if token is not None else None
        self._principals = principals
        self._open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self._open_paths:
            principal = self._authenticate(scope)
            if principal is _UNAUTHENTICATED:
                from starlette.responses import JSONResponse

                response = JSONResponse(
                    {"error": "unauthorized", "error_description": "send Authorization: Bearer <your token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="mcp-server-siliconflow-image"'},
                )
                await response(scope, receive, send)
                return
            scope = {**scope, PRINCIPAL_SCOPE_KEY: principal}
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> object:
        """The principal's name, None for the server's own token, or _UNAUTHENTICATED."""
        from starlette.datastructures import Headers

        scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = credentials.strip()
        if scheme.lower() != "bearer" or not presented:
            return _UNAUTHENTICATED
        if self._token is not None and hmac.compare_digest(presented.encode(), self._token):
            return None
        if self._principals is not None and (principal := self._principals.principal_for(presented)) is not None:
            return principal
        return _UNAUTHENTICATED
