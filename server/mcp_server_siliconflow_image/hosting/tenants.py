"""Who is calling over HTTP: named principals from a token file, and a provider key a request may bring.

A hosted team instance gives each person (or service) a token of their own in SILICONFLOW_MCP_TOKENS_FILE,
one `name:token` a line. The file is read again whenever it changes, so tokens are added and revoked
without a restart. Each principal's images live under a prefix of its own, which no other principal's
requests ever reach; a principal edits its own results by path or URI, and reads no other local file. A
stateful HTTP session answers only the token that opened it (hosting/http.py). A request may also carry
`X-SiliconFlow-Api-Key`: the caller's own provider key, used for that one call and kept nowhere; what the
provider says about it (models, balance, a refusal) is cached under a digest of it, for that key alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp_server_siliconflow_image.credentials import Secret, key_problem
from mcp_server_siliconflow_image.settings import SettingsError

logger = logging.getLogger(__name__)

PRINCIPAL_SCOPE_KEY = "mcp_server_siliconflow_image.principal"
"""Where the HTTP authentication puts the principal's name in the ASGI scope (clients cannot set it)."""
API_KEY_HEADER = "x-siliconflow-api-key"
CALLER_KEY_NAME = "the X-SiliconFlow-Api-Key header"
"""How messages name a caller's own key, so a refusal points at the key the caller can fix."""
PRINCIPAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MIN_TOKEN_LENGTH = 16


class CallerError(Exception):
    """A request's own credentials are unusable; the message names the header and what it accepts."""


@dataclass(frozen=True)
class Caller:
    """Whose call this is: a principal from the token file (None: the server's own images) and its key."""

    principal: str | None = None
    api_key: Secret | None = None


def caller_of(request: object | None) -> Caller:
    """The caller behind an HTTP request (the SDK hands the Starlette request to handlers); stdio: the owner.

    Raises CallerError for an `X-SiliconFlow-Api-Key` header that cannot be a key.
    """
    principal = principal_of(request)
    headers: Mapping[str, str] = getattr(request, "headers", None) or {}
    raw_key = headers.get(API_KEY_HEADER)
    if raw_key is None:
        return Caller(principal)
    key = raw_key.strip()
    problem = key_problem(key)
    if problem is not None:
        raise CallerError(
            f"The X-SiliconFlow-Api-Key header {problem}; or leave it out to use the server's key. "
            "Nothing was sent to the provider."
        )
    return Caller(principal, Secret(key))


def principal_of(request: object | None) -> str | None:
    scope = getattr(request, "scope", None)
    principal = scope.get(PRINCIPAL_SCOPE_KEY) if isinstance(scope, dict) else None
    return principal if isinstance(principal, str) else None


def _digest(token: str) -> bytes:
    """Tokens are compared by digest: equal lengths, so the comparison time says nothing about the token."""
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(text: str, source: str) -> dict[str, bytes]:
    """`name:token` lines (blank lines and `#` comments skipped) as principal name -> token digest.

    Raises SettingsError naming the line for a bad name, a short token, or a name or token used twice.
    """
    principals: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, token = (part.strip() for part in line.partition(":"))
        where = f"{source} line {number}"
        if not separator or not PRINCIPAL_NAME.fullmatch(name):
            raise SettingsError(
                f"{where} must be name:token, the name 1-64 letters, digits, '_' or '-' (starting with a letter "
                "or digit)"
            )
        if len(token) < MIN_TOKEN_LENGTH or any(character.isspace() for character in token):
            raise SettingsError(
                f"{where}: the token for {name!r} must be at least {MIN_TOKEN_LENGTH} characters without spaces "
                "(e.g. from `openssl rand -hex 24`)"
            )
        digest = _digest(token)
        if name in principals or digest in principals.values():
            raise SettingsError(f"{where}: {name!r} or its token appears twice; each principal needs its own")
        principals[name] = digest
    return principals


class TokenFile:
    """The principals in SILICONFLOW_MCP_TOKENS_FILE, re-read whenever the file changes.

    A change that does not parse is refused and the previous principals stay (an editor's half-saved file
    must not lock a team out); a file that disappears lets nobody in until it is back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature: tuple[int, int, int] | None = None
        self._principals: dict[str, bytes] = {}
        self._principals = self._load(refuse=True)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _load(self, *, refuse: bool) -> dict[str, bytes]:
        signature = self._stat()
        try:
            text = self.path.read_text(encoding="utf-8-sig")  # a BOM from a Windows editor is not a name
            principals = parse_tokens(text, f"SILICONFLOW_MCP_TOKENS_FILE={self.path}")
        except (OSError, UnicodeError, SettingsError) as error:
            message = error if isinstance(error, SettingsError) else f"cannot read {self.path}: {error}"
            if refuse:
                raise SettingsError(str(message)) from error
            self._signature = signature
            if isinstance(error, SettingsError):
                logger.error("%s; keeping the principals read before", message)
                return self._principals
            logger.error("%s; no principal from the file is let in until it can be read", message)
            return {}
        self._signature = signature
        if not principals:
            logger.warning("SILICONFLOW_MCP_TOKENS_FILE=%s names no principal", self.path)
        return principals

    def names(self) -> list[str]:
        return list(self._principals)

    def principal_for(self, presented: str) -> str | None:
        """The principal whose token `presented` is, or None. Every token is compared, in constant time."""
        if self._stat() != self._signature:
            self._principals = self._load(refuse=False)
            logger.info("reloaded %s: %d principal(s)", self.path, len(self._principals))
        digest = _digest(presented)
        found: str | None = None
        for name, expected in self._principals.items():
            if hmac.compare_digest(digest, expected):
                found = name
        return found
