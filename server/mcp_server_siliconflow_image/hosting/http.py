"""Serving remote clients over streamable HTTP at /mcp, and who may do what there.

Over HTTP the server guards itself: a bearer token when SILICONFLOW_MCP_TOKEN is set (compared in constant
time), or one of the named principals' tokens in SILICONFLOW_MCP_TOKENS_FILE (each principal then sees only
its own images), no listening beyond loopback without one unless explicitly allowed, Host/Origin checks against DNS
rebinding (the SDK's TransportSecuritySettings), a `/healthz` route for load balancers, and a graceful
shutdown on SIGTERM. A POST body that is no valid JSON-RPC request gets the error it is owed, with its id
(hosting/malformed.py), where the SDK would answer -32602 with a null id, or 202 for an id it cannot use. A
stateful session (Mcp-Session-Id) belongs to the token that opened it: a request with
another token, even a valid one, gets the 404 an unknown session gets, so it can neither post to it, read its
stream nor end it. Stateless mode keeps no sessions to guard.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import signal
from collections import deque
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.hosting.malformed import refusals
from mcp_server_siliconflow_image.hosting.tenants import (
    MIN_TOKEN_LENGTH,
    PRINCIPAL_SCOPE_KEY,
    TokenFile,
    TokenFileUnavailable,
    token_problem,
)
from mcp_server_siliconflow_image.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
GRACEFUL_SHUTDOWN_SECONDS = 5
OPERATOR_PRINCIPAL = "(operator)"
"""Who holds the server's own token (SILICONFLOW_MCP_TOKEN), as session ownership names it; no principal name
has parentheses."""


def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    """Serve over streamable HTTP until SIGTERM or SIGINT, then drain connections and exit cleanly."""
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
    """Refuse to offer an unauthenticated image generator (and the key's credits) to a whole network, or one
    behind a token short enough to guess."""
    if settings.mcp_token is not None and (problem := token_problem(token := settings.mcp_token.reveal())):
        why = (
            "a shorter token can be guessed by anyone who can reach the server"
            if len(token) < MIN_TOKEN_LENGTH
            else "clients could not send it as written (copy-paste often brings spaces, line breaks or curly quotes)"
        )
        raise SettingsError(f"SILICONFLOW_MCP_TOKEN {problem}: {why}")
    authenticated = settings.mcp_token is not None or settings.mcp_tokens_file is not None
    if not authenticated and not is_loopback(settings.host) and not settings.allow_unauthenticated:
        raise SettingsError(
            f"refusing to listen on {settings.host} without SILICONFLOW_MCP_TOKEN: anyone who can reach it could "
            "spend your SiliconFlow credits. Set SILICONFLOW_MCP_TOKEN (clients then send "
            "'Authorization: Bearer <token>'), listen on 127.0.0.1, or pass --allow-unauthenticated."
        )


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin headers a request may carry: loopback names plus the operator's --allowed-host names."""
    hosts = ["127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"]
    origins = ["http://127.0.0.1", "http://127.0.0.1:*", "http://localhost", "http://localhost:*", "http://[::1]:*"]
    for name in settings.allowed_hosts:
        hosts += [name, f"{name}:*"]
        origins += [f"{scheme}://{name}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    server.custom_route(HEALTH_PATH, methods=["GET"])(healthz)

    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    app = AnswerMalformedRequests(app, MCP_PATH, DEFAULT_MAX_REQUEST_BODY_SIZE)
    if settings.mcp_token is not None or settings.mcp_tokens_file is not None:
        token = settings.mcp_token.reveal() if settings.mcp_token is not None else None
        principals = (
            TokenFile(settings.mcp_tokens_file, settings.mcp_token) if settings.mcp_tokens_file is not None else None
        )
        app = BearerTokenMiddleware(app, token, principals, open_paths=frozenset({HEALTH_PATH}))
    return app


class AnswerMalformedRequests:
    """A POST to /mcp whose body the SDK cannot read is answered here: 400 with the JSON-RPC error it is owed.

    Inside the bearer check, so only an authenticated caller is ever told what was wrong with its body. A body
    over the SDK's size limit is passed on unread (the SDK answers 413), as is every body the SDK can read.
    """

    def __init__(self, app: ASGIApp, path: str, max_body_bytes: int) -> None:
        self.app = app
        self._path = path
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self._path:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            await self.app(scope, receive, send)
            return
        read, body, complete = await self._read_body(receive)
        answers = refusals(body) if complete else None
        if answers:
            batch = body.lstrip().startswith(b"[")
            encoded = [answer.model_dump(mode="json") for answer in answers]
            content = encoded if batch else encoded[0]
            logger.warning("answered a malformed request body: %s", answers[0].error.message)
            await Response(json.dumps(content), status_code=400, media_type="application/json")(scope, receive, send)
            return
        await self.app(scope, _replaying(read, receive), send)

    async def _read_body(self, receive: Receive) -> tuple[list[Message], bytes, bool]:
        """The messages received (to hand on as they came), the body read, and whether that is all of it (not
        when the client went away, or the body outgrew the size limit)."""
        read: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                return read, b"".join(chunks), False
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if not message.get("more_body", False):
                return read, b"".join(chunks), True
            if size > self._max_body_bytes:
                return read, b"".join(chunks), False


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """A receive that hands on the messages already read, then reads on."""
    pending = deque(read)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


_UNAUTHENTICATED = object()


class BearerTokenMiddleware:
    """Every HTTP request but the health check must carry `Authorization: Bearer <token>`.

    The server's own token (SILICONFLOW_MCP_TOKEN) reaches the server's images; a principal's token from
    the token file reaches that principal's, which the request carries on in its ASGI scope. The scope's
    `user` names the token's holder too: the SDK's session manager answers a session only to the `user` that
    opened it (`StreamableHTTPSessionManager._session_owners`).
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
            try:
                principal = await self._authenticate(scope)
            except TokenFileUnavailable:
                await _TOKENS_UNAVAILABLE(scope, receive, send)
                return
            if principal is _UNAUTHENTICATED:
                response = JSONResponse(
                    {"error": "unauthorized", "error_description": "send Authorization: Bearer <your token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="mcp-server-siliconflow-image"'},
                )
                await response(scope, receive, send)
                return
            scope = {**scope, PRINCIPAL_SCOPE_KEY: principal, "user": _holder(principal)}
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> object:
        """The principal's name, None for the server's own token, or _UNAUTHENTICATED.

        The server's own token is checked first and needs no file; a principal's is looked up in the token file
        as it is now (raises TokenFileUnavailable when the file does not answer in time).
        """
        scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = credentials.strip()
        if scheme.lower() != "bearer" or not presented:
            return _UNAUTHENTICATED
        if self._token is not None and hmac.compare_digest(presented.encode(), self._token):
            return None
        if self._principals is not None and (principal := await self._principals.principal_for(presented)) is not None:
            return principal
        return _UNAUTHENTICATED


_TOKENS_UNAVAILABLE = JSONResponse(
    {
        "error": "temporarily_unavailable",
        "error_description": "the server cannot read its list of tokens right now; try again shortly",
    },
    status_code=503,
    headers={"Retry-After": "5"},
)
"""The answer while the token file does not answer (a hung mount): not a 401, the caller's token may be fine."""


def _holder(principal: object) -> AuthenticatedUser:
    """The token's holder as the SDK compares session owners: the principal's name, or the server token's."""
    holder = principal if isinstance(principal, str) else OPERATOR_PRINCIPAL
    return AuthenticatedUser(AccessToken(token="", client_id=holder, scopes=[]))
