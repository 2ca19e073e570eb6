"""Who is calling over HTTP: named principals from a token file, and a provider key a request may bring.

A hosted team instance gives each person (or service) a token of their own in SILICONFLOW_MCP_TOKENS_FILE,
one `name:token` a line. The file is read again for every request that presents a principal's token (off the
event loop, within a deadline), so tokens are added and revoked without a restart and a revocation holds from
the next request on. Each principal's images live under a prefix of its own, which no other principal's
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
import stat
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from mcp_server_siliconflow_image.credentials import Secret, first_unsendable, key_problem
from mcp_server_siliconflow_image.settings import SettingsError

logger = logging.getLogger(__name__)

PRINCIPAL_SCOPE_KEY = "mcp_server_siliconflow_image.principal"
"""Where the HTTP authentication puts the principal's name in the ASGI scope (clients cannot set it)."""
API_KEY_HEADER = "x-siliconflow-api-key"
CALLER_KEY_NAME = "the X-SiliconFlow-Api-Key header"
"""How messages name a caller's own key, so a refusal points at the key the caller can fix."""
PRINCIPAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MIN_TOKEN_LENGTH = 16
"""Shorter tokens can be guessed by whoever reaches the server; `openssl rand -hex 24` makes a good one."""
TOKEN_FILE_READ_SECONDS = 2.0
"""How long a request waits for the token file (a file on a hung network mount never answers); then it is refused."""
MAX_TOKEN_FILE_BYTES = 1 << 20
"""A token file is a few lines; anything larger is not one."""
TOKENS_VARIABLE = "SILICONFLOW_MCP_TOKENS_FILE"


class CallerError(Exception):
    """A request's own credentials are unusable; the message names the header and what it accepts."""


class TokenFileUnavailable(Exception):
    """The token file did not answer within TOKEN_FILE_READ_SECONDS: no principal is let in until it does."""


class UnreadableTokenFile(Exception):
    """The token file cannot be read as one: missing, not a regular file, too large, or not UTF-8 text."""


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


@dataclass(frozen=True)
class TokenTable:
    """What a token file says: the principals let in (name -> token digest) and each line refused, and why.

    A refusal names the line and the principal, never the token.
    """

    principals: Mapping[str, bytes]
    refusals: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entry:
    number: int
    name: str
    digest: bytes | None
    """None when the line's token itself is refused."""


def judge_tokens(text: str, source: str, operator_token: str | None = None) -> TokenTable:
    """`name:token` lines (blank lines and `#` comments skipped), each let in or refused on its own.

    Refused: a bad name, a short token, a token that is SILICONFLOW_MCP_TOKEN (its holder would work in the
    operator's images, not its own), and every line of a clash: names equal but for case (they would share one
    folder on a case-insensitive file system) or one token for two lines (nobody could tell whose it is).
    """
    refusals: dict[int, str] = {}
    entries: list[_Entry] = []
    operator_digest = _digest(operator_token) if operator_token is not None else None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, token = (part.strip() for part in line.partition(":"))
        where = f"{source} line {number}"
        if not separator or not PRINCIPAL_NAME.fullmatch(name):
            refusals[number] = (
                f"{where} must be name:token, the name 1-64 letters, digits, '_' or '-' (starting with a letter "
                "or digit)"
            )
            continue
        if (problem := token_problem(token)) is not None:
            # the name is not shown: a line written token-first would show the token
            refusals[number] = f"{where}: the token {problem}, after the name and a ':'"
            entries.append(_Entry(number, name, None))
            continue
        digest = _digest(token)
        if operator_digest is not None and hmac.compare_digest(digest, operator_digest):
            refusals[number] = (
                f"{where}: the token for {name!r} is SILICONFLOW_MCP_TOKEN, the operator's own, which reaches the "
                f"operator's images, not {name!r}'s; give {name!r} a token of its own"
            )
        entries.append(_Entry(number, name, digest))
    for clash in _clashes(entries, source):
        for number, message in clash.items():
            refusals.setdefault(number, message)
    principals = {
        entry.name: entry.digest for entry in entries if entry.digest is not None and entry.number not in refusals
    }
    return TokenTable(principals, tuple(dict.fromkeys(refusals[number] for number in sorted(refusals))))


def _clashes(entries: list[_Entry], source: str) -> list[dict[int, str]]:
    """Lines that would mix two holders up, each group as line number -> why it is refused."""
    by_name: dict[str, list[_Entry]] = defaultdict(list)
    by_token: dict[bytes, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_name[entry.name.casefold()].append(entry)
        if entry.digest is not None:
            by_token[entry.digest].append(entry)
    clashes: list[dict[int, str]] = []
    for group in by_name.values():
        if len(group) > 1:
            if len({entry.name for entry in group}) == 1:
                why = "the same principal appears twice; keep one line per principal"
            else:
                why = (
                    "these names differ only in case, and would share one image folder on a case-insensitive file "
                    "system; keep one of them"
                )
            clashes.append(_clash(group, f"{source}: {_lines(group)}: {why}"))
    for group in by_token.values():
        if len(group) > 1:
            clashes.append(
                _clash(group, f"{source}: {_lines(group)} have the same token; each principal needs its own")
            )
    return clashes


def _clash(group: list[_Entry], message: str) -> dict[int, str]:
    return {entry.number: message for entry in group}


def _lines(group: list[_Entry]) -> str:
    return " and ".join(f"line {entry.number} ({entry.name!r})" for entry in group)


def token_problem(token: str) -> str | None:
    """Why `token` cannot guard the server (worded to follow "the token" or a variable's name); None when it can.

    One rule for the operator's SILICONFLOW_MCP_TOKEN and every line of the tokens file. Visible ASCII only: a
    client sends its token in a header, where a line break (`$(cat file)` of a file without one is fine; a
    Kubernetes secret made from `echo token > file` keeps it), a non-ASCII or an invisible character never
    arrives as written, so every request would be refused."""
    wanted = f"must be at least {MIN_TOKEN_LENGTH} characters without spaces (e.g. from `openssl rand -hex 24`)"
    if (unsent := first_unsendable(token)) is not None:
        return f"{wanted}, in visible ASCII, but holds {unsent}"
    if len(token) < MIN_TOKEN_LENGTH:
        return wanted
    return None


def parse_tokens(text: str, source: str, operator_token: str | None = None) -> dict[str, bytes]:
    """`judge_tokens`, all or nothing: principal name -> token digest, or SettingsError naming every bad line."""
    table = judge_tokens(text, source, operator_token)
    if table.refusals:
        raise SettingsError("; ".join(table.refusals))
    return dict(table.principals)


def read_token_file(path: Path) -> bytes:
    """The token file's bytes, opened so that opening never blocks (O_NONBLOCK: a FIFO with no writer would).

    Raises UnreadableTokenFile for anything but a regular file (checked with fstat on what was opened, before any
    read), a file over MAX_TOKEN_FILE_BYTES, or one that cannot be opened or read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise UnreadableTokenFile(f"cannot be opened ({error.strerror})") from error
    try:
        kind = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(kind):
            raise UnreadableTokenFile(f"is not a regular file (it is {_kind_of(kind)}); point it at a plain text file")
        content = b""
        while chunk := os.read(descriptor, MAX_TOKEN_FILE_BYTES + 1 - len(content)):
            content += chunk
            if len(content) > MAX_TOKEN_FILE_BYTES:
                raise UnreadableTokenFile(f"is larger than {MAX_TOKEN_FILE_BYTES} bytes: not a token file")
        return content
    except OSError as error:
        raise UnreadableTokenFile(f"cannot be read ({error.strerror})") from error
    finally:
        os.close(descriptor)


def _kind_of(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISDIR: "a folder",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a plain file")


def _table_of(content: bytes, source: str, operator_token: str | None) -> TokenTable:
    try:
        text = content.decode("utf-8-sig")  # a BOM from a Windows editor is not a name
    except UnicodeDecodeError as error:
        raise UnreadableTokenFile(f"is not UTF-8 text (byte {error.start})") from error
    return judge_tokens(text, source, operator_token)


class TokenFile:
    """The principals in SILICONFLOW_MCP_TOKENS_FILE, as the file says at each request.

    At start the file must be perfect: any refused line stops the server, which says why. Afterwards each
    request that presents a token (other than the operator's) has the file read again, off the event loop, and
    compared with the last reading by content (a same-size rewrite within one timestamp tick is seen). A changed
    file takes effect at once, line by line: the lines it refuses let nobody in and are logged, every other line
    works, so a token removed in the same edit as a typo is revoked all the same. A file that cannot be read
    (gone, a FIFO, not UTF-8) lets no principal in until it can; one that does not answer within
    TOKEN_FILE_READ_SECONDS (a hung mount) refuses the request with TokenFileUnavailable, and while that read
    stays stuck, later requests are refused at once rather than each leaving another thread stuck on it.
    """

    def __init__(self, path: Path, operator_token: Secret | None = None) -> None:
        self.path = path
        self._source = f"{TOKENS_VARIABLE}={path}"
        self._operator_token = operator_token.reveal() if operator_token is not None else None
        content, table = self._read_at_start()
        if table.refusals:
            raise SettingsError("; ".join(table.refusals))
        if not table.principals:
            logger.warning("%s names no principal", self._source)
        self._principals = table.principals
        self._content_digest = hashlib.sha256(content).digest()
        self._one_reader = anyio.Lock()
        self._reader_thread = anyio.CapacityLimiter(1)
        self._reading = threading.Lock()
        """Held by the thread reading the file: still held when a request gives up on it, the read is stuck."""
        self._reads_begun = 0
        self._last_read_done = 0
        """Reads are numbered as they begin; the number of the last one that finished."""

    def _read_at_start(self) -> tuple[bytes, TokenTable]:
        """The file read and judged in full, within the same deadline as every later read."""
        outcome: list[tuple[bytes, TokenTable] | BaseException] = []

        def read() -> None:
            try:
                content = read_token_file(self.path)
                outcome.append((content, _table_of(content, self._source, self._operator_token)))
            except BaseException as error:  # handed to the starting thread below
                outcome.append(error)

        reader = threading.Thread(target=read, name="token-file-reader", daemon=True)
        reader.start()
        reader.join(TOKEN_FILE_READ_SECONDS)
        if not outcome:
            raise SettingsError(
                f"{self._source} could not be read within {TOKEN_FILE_READ_SECONDS:g} s (a hung network mount?)"
            )
        result = outcome[0]
        if isinstance(result, UnreadableTokenFile):
            raise SettingsError(f"{self._source} {result}") from result
        if isinstance(result, BaseException):
            raise result
        return result

    def names(self) -> list[str]:
        return list(self._principals)

    async def principal_for(self, presented: str) -> str | None:
        """The principal whose token `presented` is, as the file says now, or None. Every token is compared, in
        constant time. Raises TokenFileUnavailable when the file does not answer in time."""
        principals = await self.current()
        digest = _digest(presented)
        found: str | None = None
        for name, expected in principals.items():
            if hmac.compare_digest(digest, expected):
                found = name
        return found

    async def current(self) -> Mapping[str, bytes]:
        """The principals as the file says now: as a read that began after this request arrived found them.

        One read at a time; requests that queue behind it share the next read rather than each making its own,
        so a burst costs a read or two, not one per request.
        """
        arrived = self._reads_begun
        async with self._one_reader:
            if self._last_read_done > arrived:
                return self._principals  # read after this request arrived: fresh enough for it
            if self._reading.locked():
                raise TokenFileUnavailable(f"{self._source} still has not answered a read")
            self._reads_begun += 1
            this_read = self._reads_begun
            with anyio.move_on_after(TOKEN_FILE_READ_SECONDS):
                change = await anyio.to_thread.run_sync(
                    self._read_if_changed, self._content_digest, abandon_on_cancel=True, limiter=self._reader_thread
                )
                if change is not None:
                    self._apply(*change)
                self._last_read_done = this_read
                return self._principals
            logger.error(
                "%s did not answer within %g s (a hung network mount?): refusing principals until it does",
                self._source,
                TOKEN_FILE_READ_SECONDS,
            )
            raise TokenFileUnavailable(f"{self._source} did not answer within {TOKEN_FILE_READ_SECONDS:g} s")

    def _read_if_changed(self, last_digest: bytes) -> tuple[bytes, TokenTable] | None:
        """On a worker thread: the file's content digest and what it says, or None when it is what was read last.

        What cannot be read is a table of no principals whose refusal says why; its digest is that of the
        reason, so a file that stays unreadable is reported once.
        """
        if not self._reading.acquire(blocking=False):
            raise TokenFileUnavailable(f"{self._source} still has not answered a read")
        try:
            try:
                content = read_token_file(self.path)
                digest = hashlib.sha256(content).digest()
                if digest == last_digest:
                    return None
                return digest, _table_of(content, self._source, self._operator_token)
            except UnreadableTokenFile as error:
                reason = f"{self._source} {error}; no principal from it is let in until it can be read"
                digest = hashlib.sha256(reason.encode()).digest()
                return None if digest == last_digest else (digest, TokenTable({}, (reason,)))
        finally:
            self._reading.release()

    def _apply(self, digest: bytes, table: TokenTable) -> None:
        self._content_digest = digest
        self._principals = table.principals
        for refusal in table.refusals:
            logger.error("%s", refusal)
        logger.info(
            "reloaded %s: %d principal(s) let in, %d line(s) refused",
            self._source,
            len(table.principals),
            len(table.refusals),
        )
