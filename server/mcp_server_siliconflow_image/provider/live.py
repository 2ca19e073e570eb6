"""The models a call may use: the provider's live list merged with the built-in catalog.

The live list (`GET /models?type=image&sub_type=...`, and `type=video` for the video models) says what
exists right now; the catalog says what each model accepts. Live answers are cached for a few minutes,
failures briefly, so neither a burst of calls nor a gateway without `/models` slows generation down. The
account's balance (`GET /user/info`) is cached the same way, for list_models to report.

Both answers belong to the key that fetched them: what one key may use, what its account holds, or that
the provider refused it, is kept under a digest of that key and never shown to a caller with another key
(a hosted instance's callers may bring their own keys, see hosting/tenants.py).
"""

from __future__ import annotations

import difflib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

from mcp_server_siliconflow_image.provider.catalog import MODELS, VIDEO_CAPABILITIES, Capability, ModelInfo, find_model
from mcp_server_siliconflow_image.provider.client import Account, ProviderClient, ProviderError

logger = logging.getLogger(__name__)

LIVE_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
LIVE_LOOKUP_TIMEOUT = 10.0
KEYS_REMEMBERED = 256
"""Keys whose answers are cached at once; the least recently used key's are dropped first."""
SUB_TYPES: tuple[Capability, ...] = ("text-to-image", "image-to-image")
VIDEO_SUB_TYPE: Capability = "text-to-video"
"""The one video sub-type the reference names for `GET /models`; the other video models are image-to-video."""
T = TypeVar("T")


@dataclass(frozen=True)
class LiveModels:
    capabilities: dict[str, tuple[Capability, ...]]
    """Model id -> the sub-types the provider lists it under."""
    video_listed: bool = False
    """Whether the provider listed its video models (gateways without video may not): if not, the catalog's
    video models are offered unchecked rather than hidden."""

    def lists(self, model: ModelInfo) -> bool:
        """Whether the provider's answer says `model` is offered (unknown for video when it listed none)."""
        return model.id in self.capabilities or (model.makes_video and not self.video_listed)


@dataclass(frozen=True)
class DirectoryEntry:
    id: str
    info: ModelInfo | None
    capabilities: tuple[Capability, ...]
    live: bool


@dataclass(frozen=True)
class Lookup(Generic[T]):
    """A cached provider answer, or why there is none (`failure`; `status` is the provider's HTTP status)."""

    value: T | None
    failure: str | None = None
    status: int | None = None

    @property
    def key_refused(self) -> bool:
        return self.status == 401


class CachedLookup(Generic[T]):
    """One provider lookup, answered from memory for a few minutes; a failure is remembered briefly, so a
    provider or gateway that cannot answer is not asked again on every call."""

    def __init__(self, what: str, describe_failure: Callable[[Exception], str], *, keep_stale: bool) -> None:
        self._what = what
        self._describe_failure = describe_failure
        self._keep_stale = keep_stale
        """Whether a failed refresh still answers the last good value (else None)."""
        self._value: T | None = None
        self._fetched_at = -float("inf")
        self._failed_at = -float("inf")
        self._failure: str | None = None
        self._status: int | None = None
        self._lock = anyio.Lock()

    async def get(self, fetch: Callable[[], Awaitable[T]]) -> Lookup[T]:
        async with self._lock:
            now = time.monotonic()
            if self._value is not None and now - self._fetched_at < LIVE_TTL_SECONDS:
                return Lookup(self._value)
            if now - self._failed_at >= FAILURE_TTL_SECONDS:
                try:
                    with anyio.fail_after(LIVE_LOOKUP_TIMEOUT):
                        self._value = await fetch()
                    self._fetched_at = time.monotonic()
                    self._failure = self._status = None
                    return Lookup(self._value)
                except (ProviderError, TimeoutError) as error:
                    self._failed_at = time.monotonic()
                    self._failure = self._describe_failure(error)
                    self._status = error.status if isinstance(error, ProviderError) else None
                    logger.warning("could not read %s: %s", self._what, self._failure)
            return Lookup(self._value if self._keep_stale else None, self._failure, self._status)


def _model_list_failure(error: Exception) -> str:
    return str(error) or "the model list did not arrive in time"


def _account_failure(error: Exception) -> str:
    """Why the balance is unknown. A 404 is no fault of the key: SiliconFlow's China site retired
    `GET /user/info` (Aug 2026, a third-party note says), and compatible gateways often lack it."""
    if isinstance(error, ProviderError) and error.status == 404:
        return "the provider has no account endpoint (GET /user/info answered 404)"
    return str(error) or "the account information did not arrive in time"


@dataclass
class _KeyAnswers:
    """What the provider told one key: its models, and its account's balance reported beside them."""

    models: CachedLookup[LiveModels] = field(
        default_factory=lambda: CachedLookup("the provider's models", _model_list_failure, keep_stale=True)
    )
    account: CachedLookup[Account] = field(
        default_factory=lambda: CachedLookup("the account balance", _account_failure, keep_stale=False)
    )


class LiveCache:
    """The provider's answers about each key, kept per key (by digest) for the server's life."""

    def __init__(self) -> None:
        self._by_key: OrderedDict[str, _KeyAnswers] = OrderedDict()

    def _answers(self, digest: str) -> _KeyAnswers:
        answers = self._by_key.pop(digest, None) or _KeyAnswers()
        self._by_key[digest] = answers
        while len(self._by_key) > KEYS_REMEMBERED:
            self._by_key.popitem(last=False)
        return answers

    async def live(self, provider: ProviderClient) -> Lookup[LiveModels]:
        """The image models `provider`'s key may use; no value when they cannot be known (no key, offline,
        no /models, the key refused)."""
        if (digest := provider.key.digest) is None:
            return Lookup(None)
        return await self._answers(digest).models.get(lambda: _fetch_live(provider))

    async def account(self, provider: ProviderClient) -> Lookup[Account]:
        """The account of `provider`'s key; no value when it cannot be known now (`failure` says why)."""
        if (digest := provider.key.digest) is None:
            return Lookup(None)
        return await self._answers(digest).account.get(provider.user_info)

    def entries(self, live: LiveModels | None) -> list[DirectoryEntry]:
        """Catalog models (marked live when the provider lists them) followed by live-only models."""
        entries: list[DirectoryEntry] = []
        seen: set[str] = set()
        for info in MODELS:
            listed = live is not None and info.id in live.capabilities
            if live is not None and not live.lists(info):
                continue  # the provider does not offer it (any more)
            entries.append(DirectoryEntry(info.id, info, info.capabilities, listed))
            seen.add(info.id)
        for model_id, capabilities in live.capabilities.items() if live else ():
            if model_id not in seen:
                entries.append(DirectoryEntry(model_id, find_model(model_id), capabilities, True))
        return entries


def unknown_model_message(model_id: str, live: LiveModels, capability: Capability) -> str | None:
    """Why `model_id` cannot be used, when the provider's live list proves it does not exist."""
    if model_id in live.capabilities or (capability in VIDEO_CAPABILITIES and not live.video_listed):
        return None
    candidates = sorted(model for model, caps in live.capabilities.items() if capability in caps)
    close = difflib.get_close_matches(model_id, candidates, n=3, cutoff=0.4)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return (
        f"Unknown model {model_id!r}: the provider does not list it.{hint} "
        f"Valid {capability} models: {', '.join(candidates)}."
    )


async def _fetch_live(provider: ProviderClient) -> LiveModels:
    found: dict[str, list[Capability]] = {}
    errors: list[ProviderError] = []

    videos: dict[Capability | None, list[str]] = {}

    async def fetch(sub_type: Capability) -> None:
        try:
            for model_id in await provider.list_model_ids(sub_type):
                found.setdefault(model_id, []).append(sub_type)
        except ProviderError as error:
            errors.append(error)

    async def fetch_videos(sub_type: Capability | None) -> None:
        try:
            videos[sub_type] = await provider.list_model_ids(sub_type, kind="video")
        except ProviderError as error:  # a gateway without video: its image models are still known
            logger.info("the provider's video models are unknown: %s", error)

    async with anyio.create_task_group() as group:
        for sub_type in SUB_TYPES:
            group.start_soon(fetch, sub_type)
        group.start_soon(fetch_videos, None)
        group.start_soon(fetch_videos, VIDEO_SUB_TYPE)
    if errors:
        raise errors[0]
    every_video, text_to_video = videos.get(None), set(videos.get(VIDEO_SUB_TYPE, ()))
    for model_id in every_video or ():
        if model_id not in found:  # a gateway that ignores `type` must not turn image models into video ones
            found[model_id] = ["text-to-video" if model_id in text_to_video else "image-to-video"]
    return LiveModels({model_id: tuple(caps) for model_id, caps in found.items()}, video_listed=bool(every_video))
