"""The models a call may use: the provider's live list merged with the built-in catalog.

The live list (`GET /models?type=image&sub_type=...`) says what exists right now; the catalog says
what each model accepts. Live answers are cached for a few minutes, failures briefly, so neither a
burst of calls nor a gateway without `/models` slows generation down. The account's balance
(`GET /user/info`) is cached the same way, for list_models to report.
"""

from __future__ import annotations

import difflib
import logging
import time
from dataclasses import dataclass

import anyio

from mcp_server_siliconflow_image.catalog import MODELS, Capability, ModelInfo, find_model
from mcp_server_siliconflow_image.provider import Account, ProviderClient, ProviderError

logger = logging.getLogger(__name__)

LIVE_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 60.0
LIVE_LOOKUP_TIMEOUT = 10.0
SUB_TYPES: tuple[Capability, ...] = ("text-to-image", "image-to-image")


@dataclass(frozen=True)
class LiveModels:
    capabilities: dict[str, tuple[Capability, ...]]
    """Model id -> the sub-types the provider lists it under."""


@dataclass(frozen=True)
class DirectoryEntry:
    id: str
    info: ModelInfo | None
    capabilities: tuple[Capability, ...]
    live: bool


class AccountCache:
    """The key's account (balance, status), fetched at most every few minutes; failures remembered briefly."""

    def __init__(self) -> None:
        self._account: Account | None = None
        self._fetched_at = -float("inf")
        self._failed_at = -float("inf")
        self._failure: str | None = None
        self._lock = anyio.Lock()

    async def account(self, provider: ProviderClient, *, has_key: bool) -> Account | None:
        """The account, or None when it cannot be known now (see `last_failure` for why)."""
        if not has_key:
            return None
        async with self._lock:
            now = time.monotonic()
            if self._account is not None and now - self._fetched_at < LIVE_TTL_SECONDS:
                return self._account
            if now - self._failed_at < FAILURE_TTL_SECONDS:
                return None
            try:
                with anyio.fail_after(LIVE_LOOKUP_TIMEOUT):
                    self._account = await provider.user_info()
                self._fetched_at = time.monotonic()
                self._failure = None
                return self._account
            except (ProviderError, TimeoutError) as error:
                self._failed_at = time.monotonic()
                self._account = None
                self._failure = _account_failure(error)
                logger.warning("could not read the account balance: %s", self._failure)
                return None

    @property
    def last_failure(self) -> str | None:
        return self._failure


def _account_failure(error: Exception) -> str:
    """Why the balance is unknown. A 404 is no fault of the key: SiliconFlow's China site retired
    `GET /user/info` (Aug 2026, a third-party note says), and compatible gateways often lack it."""
    if isinstance(error, ProviderError) and error.status == 404:
        return "the provider has no account endpoint (GET /user/info answered 404)"
    return str(error) or "the account information did not arrive in time"


class ModelDirectory:
    def __init__(self) -> None:
        self.accounts = AccountCache()
        """The key's balance, cached beside the model list it is reported with."""
        self._live: LiveModels | None = None
        self._fetched_at = -float("inf")
        self._failed_at = -float("inf")
        self._failure: str | None = None
        self._lock = anyio.Lock()

    async def live(self, provider: ProviderClient, *, has_key: bool) -> LiveModels | None:
        """The provider's image models, or None when they cannot be known (no key, offline, no /models)."""
        if not has_key:
            return None
        async with self._lock:
            now = time.monotonic()
            if self._live is not None and now - self._fetched_at < LIVE_TTL_SECONDS:
                return self._live
            if now - self._failed_at < FAILURE_TTL_SECONDS:
                return self._live
            try:
                with anyio.fail_after(LIVE_LOOKUP_TIMEOUT):
                    self._live = await _fetch_live(provider)
                self._fetched_at = time.monotonic()
                self._failure = None
            except (ProviderError, TimeoutError) as error:
                self._failed_at = time.monotonic()
                self._failure = str(error) or "the model list did not arrive in time"
                logger.warning("could not list the provider's models: %s", self._failure)
            return self._live

    @property
    def last_failure(self) -> str | None:
        return self._failure

    def entries(self, live: LiveModels | None) -> list[DirectoryEntry]:
        """Catalog models (marked live when the provider lists them) followed by live-only models."""
        entries: list[DirectoryEntry] = []
        seen: set[str] = set()
        for info in MODELS:
            listed = live is not None and info.id in live.capabilities
            if live is not None and not listed:
                continue  # the provider does not offer it (any more)
            entries.append(DirectoryEntry(info.id, info, info.capabilities, listed))
            seen.add(info.id)
        for model_id, capabilities in live.capabilities.items() if live else ():
            if model_id not in seen:
                entries.append(DirectoryEntry(model_id, find_model(model_id), capabilities, True))
        return entries


def unknown_model_message(model_id: str, live: LiveModels, capability: Capability) -> str | None:
    """Why `model_id` cannot be used, when the provider's live list proves it does not exist."""
    if model_id in live.capabilities:
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

    async def fetch(sub_type: Capability) -> None:
        try:
            for model_id in await provider.list_model_ids(sub_type):
                found.setdefault(model_id, []).append(sub_type)
        except ProviderError as error:
            errors.append(error)

    async with anyio.create_task_group() as group:
        for sub_type in SUB_TYPES:
            group.start_soon(fetch, sub_type)
    if errors:
        raise errors[0]
    return LiveModels({model_id: tuple(caps) for model_id, caps in found.items()})
