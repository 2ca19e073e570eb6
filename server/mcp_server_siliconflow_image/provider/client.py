"""The SiliconFlow image API (and compatible gateways): one request in, image bytes out.

One pooled `httpx2.AsyncClient` serves the whole server life. Responses come in two shapes
(`images[]` per SiliconFlow's OpenAPI spec, `data[]` per its OpenAI-compatible guide), with items that
carry a `url` or, from some gateways, `b64_json`; both are accepted. A generation request is sent again
only when it cannot have been processed (a rate limit, overload, or a connection that failed before the
request went out), within the call's deadline, so a retry never pays twice for one image; every failure
becomes a ProviderError worded for the agent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.cookiejar
import logging
import re
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.credentials import Secret, key_problem, redact, refused_key_advice
from mcp_server_siliconflow_image.httpclient import (
    TooLargeError,
    read_capped,
    timeout_within,
    tls_context,
    unreachable_address,
)
from mcp_server_siliconflow_image.imageformat import (
    NotAnImageError,
    NotAVideoError,
    base64_length,
    check_complete,
    check_mp4,
    describe_bytes,
    identify,
    is_mp4,
    sniff_mime_type,
)
from mcp_server_siliconflow_image.provider.catalog import images_asked
from mcp_server_siliconflow_image.provider.retry import (
    DOWNLOAD_RETRYABLE_STATUSES,
    RETRYABLE_STATUSES,
    RetryPolicy,
    parse_retry_after,
)
from mcp_server_siliconflow_image.settings import Settings, with_version
from mcp_server_siliconflow_image.stores.base import Upload

logger = logging.getLogger(__name__)

OnRetry = Callable[[str], Awaitable[None]]
Answer = TypeVar("Answer", bound=BaseModel)
"""Told, before each wait, what failed and how long the wait is (for progress notifications)."""

HINTS = {
    400: "The provider rejected the arguments; fix them (run list_models to see what this model accepts).",
    401: "The API key was refused.",
    403: (
        "On SiliconFlow a 403 usually means the account has not completed real-name verification, its balance "
        "is used up, or the key may not use this model (some need a paid balance or an application): check "
        "https://cloud.siliconflow.cn/account (verification, balance) and run list_models."
    ),
    404: "The model or endpoint does not exist: run list_models for valid model ids, and check SILICONFLOW_BASE_URL.",
    413: "The request is too large: use smaller input images.",
    429: "Rate limited by the provider: wait a little, lower batch_size, or make fewer calls at once.",
    500: "The provider failed internally: try again shortly.",
    502: (
        "The provider's gateway failed. It was not asked again, since the image may have been made (and charged) "
        "behind it: try again shortly."
    ),
    503: "The provider is overloaded: try again in a minute or pick another model.",
    504: (
        "The provider timed out generating. It was not asked again, since the generation may have run (and been "
        "charged): try again, or use fewer inference steps or a smaller size."
    ),
}
BASE_URLS = (
    "use https://api.siliconflow.cn/v1 (the default), https://api.siliconflow.com/v1 for the international site, "
    "or your gateway's address ending in /v1"
)
WRONG_ADDRESS_GRACE_SECONDS = 3.0
"""How long a refused local address is tried again (a local gateway restarting) before it is answered as a setting
to fix, instead of the 15-20 s a passing failure may be retried for."""
DOWNLOAD_ATTEMPTS = 3
MODEL_LIST_TIMEOUT_SECONDS = 10.0
MAX_ERROR_MESSAGE_CHARS = 300
MAX_TOLD_WAIT_SECONDS = 86_400.0
JSON_HEADROOM_BYTES = 1024 * 1024
TRACE_ID_HEADER = "x-siliconcloud-trace-id"
"""Every SiliconFlow answer carries one; its support needs it to find a request."""
_TRACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.ProxyError)
"""Failures before the request left this machine (refused, DNS, TLS handshake, proxy): the provider never saw it."""


SERVER_KEY_NAME = "SILICONFLOW_API_KEY"


@dataclass(frozen=True)
class ProviderKey:
    """The key a call spends, and what its caller knows it as, so a refusal names the key to fix."""

    secret: Secret | None
    name: str = SERVER_KEY_NAME
    """SILICONFLOW_API_KEY for the server's own key; the request header for a caller's own."""

    @property
    def digest(self) -> str | None:
        """Stands for the key where answers are kept per key: the key itself is never kept as a name."""
        return hashlib.sha256(self.secret.reveal().encode()).hexdigest() if self.secret is not None else None

    def redact(self, text: str) -> str:
        """`text` without this key or any prefix of it."""
        return redact(text, [self.secret.reveal()] if self.secret is not None else [])


class ImageSink(Protocol):
    """Where a download writes an image: the store's `Upload`, or something that passes every chunk on to it."""

    @property
    def size(self) -> int: ...

    @property
    def head(self) -> bytearray: ...

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None:
        """Forget what was received: the download starts (again) from the first byte."""
        ...

    def tail(self, length: int) -> bytes: ...


class ProviderError(Exception):
    """A failure talking to the provider, worded for the agent: what happened and what to do."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: object = None,
        retryable: bool = False,
        retry_for: float | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message + trace_id_sentence(trace_id))
        self.status = status
        self.code = code
        self.trace_id = trace_id
        """The provider's `x-siliconcloud-trace-id` for the failed request, when it answered at all."""
        self.retryable = retryable
        """Whether trying the same thing again may succeed (a dropped connection, a truncated download)."""
        self.retry_for = retry_for
        """Seconds after the first attempt that retrying still makes sense; None: the call's whole deadline."""


class ProviderImage(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str | None = None
    b64_json: str | None = None


def _number_or_none(value: object) -> object:
    """Decorative fields (timings, seed) of an answer never sink it: an odd value (`"1.2s"`) reads as unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(str(value)) if "." in str(value) else int(str(value))
    except ValueError:
        return None


LenientFloat = Annotated[float | None, BeforeValidator(_number_or_none)]
LenientInt = Annotated[int | None, BeforeValidator(lambda value: _whole(_number_or_none(value)))]


def _whole(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and float(value).is_integer() else None


class Timings(BaseModel):
    model_config = ConfigDict(extra="allow")
    inference: LenientFloat = None


class GenerationResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    images: list[ProviderImage] = Field(default_factory=list)
    data: list[ProviderImage] = Field(default_factory=list)
    seed: LenientInt = None
    timings: Timings | None = None

    @field_validator("timings", mode="before")
    @classmethod
    def _timings_or_none(cls, value: object) -> object:
        return value if isinstance(value, dict) else None

    @property
    def outputs(self) -> list[ProviderImage]:
        return self.images or self.data


class AccountData(BaseModel):
    """The `data` of `GET /user/info`: balances are decimal strings in the account's currency."""

    model_config = ConfigDict(extra="allow")
    balance: str | None = None
    charge_balance: str | None = Field(None, alias="chargeBalance")
    total_balance: str | None = Field(None, alias="totalBalance")
    status: str | None = None


class AccountAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: AccountData | None = None


@dataclass(frozen=True)
class Account:
    """What the provider says of the key's account: enough to tell a user whether generating can work."""

    total_balance: str | None
    balance: str | None
    charge_balance: str | None
    status: str | None


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str


class ModelListAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: list[ModelEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class ImagesAnswer:
    outputs: list[ProviderImage]
    seed: int | None
    inference_seconds: float | None
    notes: tuple[str, ...] = ()
    """What was adjusted in the provider's answer (e.g. images beyond those asked for)."""
    trace_id: str | None = None


def trace_id_of(response: httpx2.Response) -> str | None:
    """The answer's trace id, when it looks like one: it is quoted in messages and files, so a peer must not be
    able to put arbitrary text (or a megabyte) there."""
    value = response.headers.get(TRACE_ID_HEADER, "").strip()
    return value if _TRACE_ID.fullmatch(value) else None


def read_answer(response: httpx2.Response, shape: type[Answer], otherwise: str, *, retryable: bool = False) -> Answer:
    """The provider's 200 answer read as `shape`; else ProviderError saying `otherwise`, with the trace id."""
    try:
        return shape.model_validate_json(response.content)
    except ValidationError as error:
        raise ProviderError(otherwise, trace_id=trace_id_of(response), retryable=retryable) from error


def trace_id_sentence(trace_id: str | None) -> str:
    return f" (trace id {trace_id}, quote it to SiliconFlow support)" if trace_id else ""


class UrlCredentialsStayHome(httpx2.Auth):
    """Sends no `user:password@` of a URL: the key travels in its own Authorization header.

    httpx2 would otherwise turn the userinfo of SILICONFLOW_BASE_URL (or of a link the provider returns) into
    Basic auth, replacing the Bearer key, and keep it in the request URL that its log lines show. The
    userinfo is dropped from the request instead; the settings and messages keep it redacted (credentials.py).
    """

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        if request.url.userinfo:
            request.url = request.url.copy_with(userinfo=b"")
        yield request


def create_http_client(settings: Settings) -> httpx2.AsyncClient:
    """The connection pool shared by every call for the life of the server.

    It keeps no cookies: callers with keys of their own share it, and a cookie a gateway set for one key's
    request (a session, a sticky route) must never ride along on another's."""
    return httpx2.AsyncClient(
        auth=UrlCredentialsStayHome(),
        verify=tls_context(),
        timeout=timeout_within(settings.timeout),
        limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32),
        headers={"User-Agent": f"mcp-server-siliconflow-image/{__version__}"},
        cookies=http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=True,
    )


async def no_retry_report(_: str) -> None:
    return None


class ProviderClient:
    """The provider as one key sees it (by default the server's own), over the shared connection pool."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient, key: ProviderKey | None = None) -> None:
        self._settings = settings
        self._http = http
        self.key = key if key is not None else ProviderKey(settings.api_key)
        self._retry = RetryPolicy(base_delay=settings.retry_base_delay)

    async def create_images(
        self, payload: dict[str, Any], on_retry: OnRetry = no_retry_report, *, deadline: float | None = None
    ) -> ImagesAnswer:
        """POST one generation request, retrying only what the provider cannot have processed (see retry.py),
        within SILICONFLOW_TIMEOUT.

        `deadline` (a `time.monotonic()` value) lets several requests of one call share its time budget.
        """
        if deadline is None:
            deadline = time.monotonic() + self._settings.timeout
        images = images_asked(payload)
        response = await self._request_with_retries(
            "POST", self._settings.generations_url, deadline, on_retry, json=payload, images=images
        )
        trace_id = trace_id_of(response)
        parsed = read_answer(
            response,
            GenerationResponse,
            "The provider answered 200 but not with an image generation result; "
            "check that SILICONFLOW_BASE_URL points at an OpenAI-compatible image API.",
        )
        if not parsed.outputs:
            raise ProviderError(
                "The provider answered without any image (maybe filtered by its content policy).", trace_id=trace_id
            )
        inference = parsed.timings.inference if parsed.timings else None
        outputs, notes = _as_many_as_asked(parsed.outputs, images)
        return ImagesAnswer(outputs, parsed.seed, inference, notes, trace_id)

    async def list_model_ids(self, sub_type: str | None = None, *, kind: str = "image") -> list[str]:
        """Ids of the provider's models of one type (`image`, `video`), and of one sub-type if given."""
        filters = {"type": kind} | ({"sub_type": sub_type} if sub_type is not None else {})
        listing = await self._get_once("/models", ModelListAnswer, "model list", **filters)
        return [entry.id for entry in listing.data]

    async def user_info(self) -> Account:
        """The key's account (`GET /user/info`): balance and status; ProviderError when it cannot be had."""
        answer = await self._get_once("/user/info", AccountAnswer, "account information")
        data = answer.data or AccountData()
        return Account(data.total_balance, data.balance, data.charge_balance, data.status)

    async def _get_once(self, path: str, shape: type[Answer], what: str, **params: str) -> Answer:
        """One briefly bounded GET, read as `shape`: it informs (list_models, doctor) and never holds up a call."""
        response = await self._attempt(
            "GET", f"{self._settings.base_url}{path}", time.monotonic() + MODEL_LIST_TIMEOUT_SECONDS, params=params
        )
        if response.status_code != 200:
            raise self._status_error(response)
        return read_answer(response, shape, f"The provider's {what} was not in the expected format.")

    async def _request_with_retries(
        self, method: str, url: str, deadline: float, on_retry: OnRetry, **options: Any
    ) -> httpx2.Response:
        started = time.monotonic()
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                response = await self._attempt(method, url, deadline, **options)
            except ProviderError as error:
                if not error.retryable:
                    raise
                failure, retry_after, reason = error, None, "a connection that failed before the request was sent"
            else:
                if response.status_code == 200:
                    return response
                failure = self._status_error(response)
                if response.status_code not in RETRYABLE_STATUSES or _carries_images(response):
                    raise failure
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                reason = f"HTTP {response.status_code}"
            if attempt == self._retry.max_attempts:
                raise failure
            wait = self._retry.wait_before(attempt, retry_after)
            if failure.retry_for is not None and time.monotonic() + wait - started > failure.retry_for:
                raise failure  # no longer a hiccup: answered now rather than after every retry
            if retry_after is not None and time.monotonic() + wait >= deadline:
                raise self._asked_to_wait(failure, wait)
            if time.monotonic() + wait >= deadline:
                out_of_time = ProviderError(
                    f"{failure} No time was left to retry within SILICONFLOW_TIMEOUT="
                    f"{self._settings.timeout:g} s (attempt {attempt}).",
                    status=failure.status,
                    code=failure.code,
                )
                out_of_time.trace_id = failure.trace_id  # already quoted in the failure's own message
                raise out_of_time
            logger.info("provider answered %s; retrying in %.1f s (attempt %d)", reason, wait, attempt + 1)
            await on_retry(f"retrying after {reason} in {wait:.0f} s")
            await anyio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _asked_to_wait(self, failure: ProviderError, wait: float) -> ProviderError:
        """The provider's Retry-After reaches past the call's deadline: obey it by answering now, saying when."""
        if wait > MAX_TOLD_WAIT_SECONDS:  # also a garbage or infinite header: no date that far can be printed
            when_text = "much later (it asks for more than a day)"
        else:
            when_text = f"{datetime.now(UTC) + timedelta(seconds=wait):%H:%M:%S} UTC"
        return ProviderError(
            f"{failure} The provider asks to wait {min(wait, MAX_TOLD_WAIT_SECONDS):.0f} s before trying again "
            f"(Retry-After), longer than the time left within SILICONFLOW_TIMEOUT={self._settings.timeout:g} s: "
            f"try again {'after ' if wait <= MAX_TOLD_WAIT_SECONDS else ''}{when_text}.",
            status=failure.status,
            code=failure.code,
        )

    async def _attempt(
        self, method: str, url: str, deadline: float, *, images: int = 1, **options: Any
    ) -> httpx2.Response:
        """One request, bounded by the deadline and in size: the answer, whatever its status.

        Anything else raises ProviderError; a connection failure before the request was sent is marked
        retryable (the caller decides); one after it may have reached the provider, and is not.

        The answer is read with a cap, so a runaway or hostile endpoint cannot exhaust memory: the largest
        legitimate answer carries the `images` asked for, each at most SILICONFLOW_MAX_IMAGE_BYTES as base64,
        plus room for the JSON.
        """
        key = self.require_key()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout_error()
        timeout = timeout_within(remaining)
        limit = images * base64_length(self._settings.max_download_bytes) + JSON_HEADROOM_BYTES
        with anyio.move_on_after(remaining) as scope:
            try:
                request = self._http.build_request(
                    method, url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout, **options
                )
                response = await self._http.send(request, stream=True)
                try:
                    body = await read_capped(response, limit)
                finally:
                    await response.aclose()
                return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)
            except TooLargeError as error:
                raise ProviderError(
                    f"The provider's answer was larger than {limit / 1e6:.0f} MB, more than any image result needs; "
                    "it was not read. Check SILICONFLOW_BASE_URL."
                ) from error
            except (httpx2.ReadTimeout, httpx2.WriteTimeout, httpx2.PoolTimeout) as error:
                raise self._timeout_error() from error
            except httpx2.HTTPError as error:
                raise self._connection_error(method, error) from error
        assert scope.cancelled_caught
        raise self._timeout_error()

    def _connection_error(self, method: str, error: httpx2.HTTPError) -> ProviderError:
        """A failed connection, worded by whether the provider may have seen the request, or as a setting to fix when
        the address can never answer; redacted whole, since the base URL may carry a gateway password."""
        wrong = unreachable_address(error)
        if wrong is not None:  # a local provider may be starting: tried again briefly; a name that does not exist not
            return ProviderError(
                self._redact(
                    f"Nothing answers at {self._shown_base_url()}: {wrong.describe(show=self._operator_asks)}. That "
                    f"address is SILICONFLOW_BASE_URL, so this is a setting to fix, not a network hiccup: {BASE_URLS}."
                ),
                retryable=wrong.port is not None,
                retry_for=WRONG_ADDRESS_GRACE_SECONDS,
            )
        reason = str(error) or type(error).__name__
        where = f"the provider at {self._shown_base_url()}"
        if isinstance(error, NOT_SENT):
            message = f"Could not reach {where}: {reason}. Check the network and SILICONFLOW_BASE_URL."
            return ProviderError(self._redact(message), retryable=True)
        message = f"The connection to {where} failed after the request was sent ({type(error).__name__}: {reason})."
        if method == "POST":
            message += (
                " The provider may have made (and charged for) the image, so it was not asked again: check the "
                "usage in your SiliconFlow console before trying again."
            )
        return ProviderError(self._redact(message))

    def _timeout_error(self) -> ProviderError:
        return ProviderError(
            f"The provider did not finish within SILICONFLOW_TIMEOUT={self._settings.timeout:g} s. "
            "Try again, use fewer inference steps or a smaller size, or raise SILICONFLOW_TIMEOUT."
        )

    async def fetch_image(self, output: ProviderImage, pending: ImageSink) -> None:
        """Receive one generated image into `pending`, from its URL (with retries) or its inline base64.

        A URL download has a time budget of its own (`Settings.download_seconds`, retries included),
        outside SILICONFLOW_TIMEOUT, so paid work is not dropped because the generation took long, and a
        CDN trickling bytes cannot hold the call for longer than that budget.
        """
        if output.b64_json:
            pending.write(self._decode_inline(output.b64_json))
            return
        if not output.url:
            raise ProviderError("The provider returned an image entry with neither url nor b64_json.")
        await self.fetch_link(output.url, pending, IMAGE_LINK)

    async def fetch_link(self, url: str, pending: ImageSink, kind: LinkKind) -> None:
        """Receive what a provider link serves into `pending`, retried within `Settings.download_seconds`."""
        budget = self._settings.download_seconds
        deadline = time.monotonic() + budget
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            pending.restart()
            try:
                await self._download_once(url, pending, deadline, kind)
            except ProviderError as failure:
                wait = self._retry.backoff(attempt) / 2
                if not failure.retryable or attempt == DOWNLOAD_ATTEMPTS or time.monotonic() + wait >= deadline:
                    raise
                logger.info("%s download failed (%s); retrying in %.1f s", kind.noun, failure, wait)
                await anyio.sleep(wait)
            else:
                return

    def _decode_inline(self, b64_json: str) -> bytes:
        limit = self._settings.max_download_bytes
        if len(b64_json) > base64_length(limit) + 4:
            raise ProviderError(
                f"The provider sent an image inline (b64_json) of about {len(b64_json) * 3 / 4e6:.0f} MB, over the "
                f"{limit} byte limit (SILICONFLOW_MAX_IMAGE_BYTES); it was not saved."
            )
        try:
            return base64.b64decode(b64_json, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ProviderError("The provider returned b64_json that is not valid base64; it was not saved.") from error

    async def _download_once(self, url: str, pending: ImageSink, deadline: float, kind: LinkKind) -> None:
        """One download attempt within the budget: returns when the whole file arrived, else raises
        ProviderError saying what went wrong (marked retryable when another attempt may succeed)."""
        limit = self._settings.max_download_bytes
        noun = kind.noun
        remaining = max(0.0, deadline - time.monotonic())
        timeout = timeout_within(remaining)
        try:
            with anyio.fail_after(remaining):
                async with self._http.stream("GET", url, timeout=timeout) as response:
                    if response.status_code != 200:
                        raise _download_status_error(response.status_code, kind)
                    sniffed = False
                    async for chunk in response.aiter_bytes():
                        pending.write(chunk)
                        if pending.size > limit:
                            raise ProviderError(
                                f"The {noun} is larger than the {limit} byte download limit "
                                "(SILICONFLOW_MAX_IMAGE_BYTES); nothing was saved."
                            )
                        if not sniffed and len(pending.head) >= 16:
                            sniffed = True  # an error page is refused at its first bytes, not after 50 MB
                            kind.recognise(bytes(pending.head))
        except (NotAnImageError, NotAVideoError) as error:
            raise ProviderError(
                f"The provider's link did not return {kind.article} {noun}: {error}. Nothing was saved."
            ) from error
        except (TimeoutError, httpx2.TimeoutException) as error:
            raise ProviderError(
                f"Downloading the {noun} took longer than its {self._settings.download_seconds:g} s budget "
                f"(the provider's link may still work for {kind.link_life}).",
                retryable=True,  # later, with a budget of its own (the budget itself allows no retry now)
            ) from error
        except httpx2.InvalidURL as error:
            raise ProviderError(
                f"The provider's {noun} link is not a usable URL ({error}); nothing was saved."
            ) from error
        except httpx2.HTTPError as error:
            raise ProviderError(f"Downloading the {noun} failed ({type(error).__name__}).", retryable=True) from error
        if not kind.complete(pending):
            raise ProviderError(f"The downloaded {noun} was truncated.", retryable=True)

    def require_key(self) -> str:
        if self.key.secret is None:
            raise ProviderError(
                "No API key is set. Set SILICONFLOW_API_KEY in the server's environment (for Claude Desktop: "
                'the "env" block of this server in claude_desktop_config.json) or pass --api-key; '
                "get a key at https://cloud.siliconflow.cn/account/ak."
            )
        key = self.key.secret.reveal()
        problem = key_problem(key)
        if problem is not None:
            raise ProviderError(
                f"{self.key.name} {problem}. Copy the key again from https://cloud.siliconflow.cn/account/ak "
                "and set it as plain text. Nothing was sent to the provider."
            )
        return key

    def _status_error(self, response: httpx2.Response) -> ProviderError:
        code, message = _error_details(response)
        status = response.status_code
        hint = HINTS.get(status, "Try again later." if status >= 500 else "Check the arguments.")
        base_url = self._redact(self._settings.base_url)
        if status == 401:
            advice = refused_key_advice(self.key.name, self._settings.base_url, show_address=self._operator_asks)
            hint = f"{hint} {self._redact(advice)}"
        elif status == 404 and (versioned := with_version(self._settings.base_url)) is not None:
            if self._operator_asks:
                setting, fix = f"SILICONFLOW_BASE_URL={base_url}", f"set it to {self._redact(versioned)}"
            else:
                setting, fix = "This server's SILICONFLOW_BASE_URL", "its operator should add /v1 at its end"
            hint = f"{setting} probably lacks /v1 (SiliconFlow's API is under https://api.siliconflow.cn/v1): {fix}."
        detail = f" (provider code {self._redact(str(code))[:40]})" if code is not None else ""
        said = f": {_shorten(self._redact(message))}" if message else ""
        return ProviderError(
            f"The provider answered HTTP {status}{detail}{said}. {hint}",
            status=status,
            code=code,
            trace_id=trace_id_of(response),
        )

    @property
    def _operator_asks(self) -> bool:
        """Whether the caller configured this server (stdio: the one user), so may see its provider address; over
        HTTP callers are others, and a gateway's address may be internal."""
        return self._settings.transport == "stdio"

    def _shown_base_url(self) -> str:
        return self._settings.base_url if self._operator_asks else "this server's SILICONFLOW_BASE_URL"

    def _redact(self, text: str) -> str:
        """`text` without URL passwords, the server's secrets, this call's key or any part of them."""
        return self.key.redact(redact(text, self._settings.secret_values()))


def _carries_images(response: httpx2.Response) -> bool:
    """Whether an error answer still carries a generation (a gateway passing one on with its own status):
    then the request was processed, and asking again would pay twice."""
    try:
        return bool(GenerationResponse.model_validate_json(response.content).outputs)
    except ValidationError:
        return False


def _download_status_error(status: int, kind: LinkKind) -> ProviderError:
    if status in EXPIRED_LINK_STATUSES:
        return ProviderError(
            f"The {kind.noun} link answered HTTP {status}: it has expired (provider {kind.noun} links live "
            f"{kind.link_life}) or was refused. Generate the {kind.noun} again.",
            status=status,
        )
    return ProviderError(
        f"Downloading the {kind.noun} failed with HTTP {status}.",
        status=status,
        retryable=status in DOWNLOAD_RETRYABLE_STATUSES,
    )


@dataclass(frozen=True)
class LinkKind:
    """What a provider link serves, so a download can tell the real thing from an error page or a cut-off."""

    noun: str
    article: str
    link_life: str
    """How long the provider says its links of this kind live, for messages."""
    recognise: Callable[[bytes], object]
    """Raises NotAnImageError / NotAVideoError for leading bytes that are not this kind of file."""
    complete: Callable[[Any], bool]
    """Whether what arrived is whole: images read the head and tail of any sink; a video needs the whole
    upload (`Upload.read_all`), which only the video path hands in."""


def _image_complete(pending: ImageSink) -> bool:
    return check_complete(bytes(pending.head), pending.tail(16), pending.size)


def _recognise_image(head: bytes) -> None:
    if sniff_mime_type(head[:16]) is None:
        identify(head)  # raises NotAnImageError describing the bytes


def _recognise_video(head: bytes) -> None:
    if not is_mp4(head):
        raise NotAVideoError(f"not an MP4 video ({describe_bytes(head)})")


def _video_complete(pending: Upload) -> bool:
    try:
        check_mp4(pending.read_all())
    except NotAVideoError:
        return False
    return True


IMAGE_LINK = LinkKind("image", "an", "one hour", _recognise_image, _image_complete)
VIDEO_LINK = LinkKind("video", "a", "10 minutes to an hour", _recognise_video, _video_complete)
"""SiliconFlow's video reference says both: "valid for 10 minutes" (submit) and "for one hour" (status)."""
EXPIRED_LINK_STATUSES = frozenset({401, 403, 410})
"""What a signed CDN link answers once it has expired (or was tampered with)."""


def _error_details(response: httpx2.Response) -> tuple[object, str]:
    """The provider's own code and message, from `{"code", "message"}` or `{"error": {...}}` bodies, whole.

    Not shortened here: redaction must see the whole text first (see `_shorten`).
    """
    try:
        body = response.json()
    except ValueError:
        return None, response.text.strip()
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("code"), str(error.get("message", ""))
        message = body.get("message") or body.get("error") or body.get("detail") or ""
        return body.get("code"), str(message)
    return None, str(body)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_ERROR_MESSAGE_CHARS else text[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"


def _as_many_as_asked(outputs: list[ProviderImage], wanted: int) -> tuple[list[ProviderImage], tuple[str, ...]]:
    """At most the images the request asked for: a provider answering with more cannot multiply our work."""
    if len(outputs) <= wanted:
        return outputs, ()
    note = f"The provider returned {len(outputs)} images for {wanted} asked; only the first {wanted} were kept."
    return outputs[:wanted], (note,)
