"""Secrets: what a provider key may look like, and how every secret is kept out of what is shown.

One rule for the key, whichever way it came (SILICONFLOW_API_KEY, --api-key, an X-SiliconFlow-Api-Key
header), so the server, `doctor` and the HTTP header check give the same verdict, and a key the server would
refuse never reaches the provider. One redaction for every text that leaves the process (logs, tool results,
sidecars, the doctor's report), so no caller hides less than another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MIN_KEY_LENGTH = 8
MAX_KEY_LENGTH = 256
"""Provider keys are `sk-` and 48 letters; gateways issue others, but none this short or this long."""

_CHARACTER_NAMES = {
    " ": "a space",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a line break",
    "\u00a0": "a non-breaking space",
    "\u200b": "an invisible zero-width space",
    "\ufeff": "an invisible byte order mark",
    "\u201c": "a curly quote",
    "\u201d": "a curly quote",
    "\u2018": "a curly quote",
    "\u2019": "a curly quote",
}

REDACTED = "[redacted]"
MIN_REDACTED_PREFIX = 6
"""A provider echoing the start of a key (`Invalid token sk-abcd...`) leaks it too: prefixes this long are hidden."""
MIN_REDACTED_RUN = 8
"""Any other run of the key this long is hidden too (an echo wrapped over two lines shows both halves)."""
_URL_USERINFO = re.compile(
    r"(?P<scheme>(?<![A-Za-z0-9+.-])[A-Za-z0-9+.-]+://)(?P<user>[^\s/?#:]*)(?P<password>:[^\s/?#]*)?@"
)
"""A URL's userinfo: `https://user:password@gateway/v1` (the password runs up to the last `@`, the user may be an
address: `me@corp.example:password`), or a token alone (`https://token@gateway/v1`, or `https://token:@…` as curl
writes it, which gateways and Git hosts take as the credential).

The scheme is looked for only from the start of a run of scheme characters: from every letter of `a.b.c.…` (a
gateway's error page can be a megabyte of them) each try would read to the run's end, and the time grow with the
square of the text's length."""


class Secret:
    """A string that never shows itself in repr(), str(), logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a provider key, worded to follow the name it came by; None when it may be one.

    E.g. "SILICONFLOW_API_KEY " + problem, or "The X-SiliconFlow-Api-Key header " + problem. The words never
    quote the key: they name the offending character and where it is.
    """
    wanted = f"must be one API key of {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} visible ASCII characters without spaces"
    if (unsent := first_unsendable(key)) is not None:
        return (
            f"{wanted}, but holds {unsent}, which an HTTP header cannot carry in a key "
            "(copy-paste often brings spaces, line breaks or curly quotes)"
        )
    if not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        return f"{wanted}, but is {len(key)} characters long"
    return None


def first_unsendable(text: str) -> str | None:
    """The first character of `text` that is not visible ASCII, named with its place (`a line break at character
    49`), never quoted; None when there is none. A header value holding one is not sent as written."""
    for position, character in enumerate(text, start=1):
        if not "\x21" <= character <= "\x7e":
            what = _CHARACTER_NAMES.get(character) or (
                "a non-ASCII character" if not character.isascii() else "a control character"
            )
            return f"{what} at character {position}"
    return None


SITE_KEYS = (
    "keys are per site and not interchangeable: a key made at https://cloud.siliconflow.cn/account/ak works only "
    "with the base URL https://api.siliconflow.cn/v1 (the default), one made at cloud.siliconflow.com only with "
    "https://api.siliconflow.com/v1"
)
"""Why a key that works in the console is refused here: the two SiliconFlow sites do not share keys."""


def refused_key_advice(key_name: str, base_url: str, *, show_address: bool = True) -> str:
    """What to do when the provider refuses a key: which site the key must come from for this base URL.

    SiliconFlow's own addresses are always named; any other (a gateway, maybe on an internal network) only when
    `show_address` (the caller is who configured it), and then without a password it may carry."""
    try:
        host = urlsplit(base_url).hostname or ""
    except ValueError:  # a host that is neither a name nor an address
        host = ""
    if host == "api.siliconflow.cn":
        uses = "This server uses https://api.siliconflow.cn/v1: if your key is from cloud.siliconflow.com, set "
        fix = f"{uses}SILICONFLOW_BASE_URL=https://api.siliconflow.com/v1."
    elif host == "api.siliconflow.com":
        uses = "This server uses https://api.siliconflow.com/v1: if your key is from cloud.siliconflow.cn, set "
        fix = f"{uses}SILICONFLOW_BASE_URL=https://api.siliconflow.cn/v1."
    else:
        gateway = f"{redact(base_url, [])}, a gateway" if show_address else "a gateway"
        fix = f"This server uses {gateway}, not SiliconFlow itself: use a key that gateway issued."
    return f"Check {key_name} (copy it again from the site you made it on); {SITE_KEYS}. {fix}"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` safe to show: without URL passwords, nor any secret, nor a prefix or long run of one.

    Always redact the whole text before cutting it short: a cut can split a key and leave a prefix behind.
    """
    text = _URL_USERINFO.sub(_without_credential, text)
    for secret in secrets:
        if secret:
            text = _without(text, secret)
    return text


def _without_credential(userinfo: re.Match[str]) -> str:
    """`user:[redacted]@` for a user and password, `[redacted]@` for a userinfo that is a token alone (an empty
    password too: `token:@`)."""
    if userinfo["password"] in (None, ":"):
        return f"{userinfo['scheme']}{REDACTED}@"
    return f"{userinfo['scheme']}{userinfo['user']}:{REDACTED}@"


def url_credential(url: str) -> str:
    """The secret in `url`'s userinfo: its password, or the user when it is a token alone (or with an empty
    password: `token:@`); "" if none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.password:
        return parts.password
    return parts.username or ""


def _without(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret`, of its prefixes from MIN_REDACTED_PREFIX characters and of its
    runs from MIN_REDACTED_RUN characters replaced, overlapping ones as one.

    Every longer run is made of MIN_REDACTED_RUN-character runs, so those alone are looked for: the work grows
    with the secret's length, not its square (an AWS session token is a thousand characters, and a gateway's
    error page can be a megabyte; both are redacted on the event loop)."""
    hidden = bytearray(len(text))
    needles = {secret, *(secret[:length] for length in range(MIN_REDACTED_PREFIX, min(len(secret), MIN_REDACTED_RUN)))}
    needles.update(secret[start : start + MIN_REDACTED_RUN] for start in range(len(secret) - MIN_REDACTED_RUN + 1))
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            hidden[start : start + len(needle)] = b"\x01" * len(needle)
            start = text.find(needle, start + 1)
    if not any(hidden):
        return text
    shown, end = [], 0
    for span in re.finditer(rb"\x01+", hidden):
        shown += [text[end : span.start()], REDACTED]
        end = span.end()
    return "".join([*shown, text[end:]])
