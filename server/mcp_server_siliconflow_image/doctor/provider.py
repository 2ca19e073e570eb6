"""The doctor's provider checks: is the endpoint an image API, and does it accept the key?

Each is one real request, bounded to a few seconds, the same ones the server makes: `GET /user/info` for
the key and its balance, `GET /models?type=image` for the image API. SiliconFlow's China site retired
`/user/info`, so a 404 there is not a bad key: the model list (which needs the key too) checks it instead.
Where a gateway has no model list either, an empty `POST /images/generations` tells an image API (which
refuses it with 400, generating nothing) from a wrong base URL (404). The key is never part of a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import anyio
import httpx2

from mcp_server_siliconflow_image.credentials import key_problem, refused_key_advice
from mcp_server_siliconflow_image.doctor.check import Check
from mcp_server_siliconflow_image.httpclient import unreachable_address
from mcp_server_siliconflow_image.provider.client import (
    MODEL_LIST_TIMEOUT_SECONDS,
    Account,
    ProviderClient,
    ProviderError,
    create_http_client,
)
from mcp_server_siliconflow_image.settings import Settings, with_version

KEY_PAGE = "https://cloud.siliconflow.cn/account/ak"
BASE_URL_FIX = (
    "check SILICONFLOW_BASE_URL (https://api.siliconflow.cn/v1, https://api.siliconflow.com/v1 for the "
    "international site, or your gateway's URL ending in /v1) and the network (proxy, firewall)"
)


@dataclass(frozen=True)
class Answers:
    """What the endpoint said to each probe."""

    models: list[str] | ProviderError
    account: Account | ProviderError
    generations: int | str | None = None
    """Only asked when there is no model list: the HTTP status of an empty request, or why there was none."""


async def check_provider(settings: Settings) -> list[Check]:
    """The `endpoint` and `key` findings."""
    async with create_http_client(settings) as http:
        if settings.api_key is None:
            return [await _endpoint_without_key(settings, http), _no_key()]
        problem = key_problem(settings.api_key.reveal())
        if problem is not None:  # the server would refuse it too, before sending anything
            return [await _endpoint_without_key(settings, http), _unusable_key(problem)]
        answers = await _ask(settings, http, ProviderClient(settings, http))
    return [_endpoint_verdict(settings, answers), _key_verdict(settings, answers)]


async def _ask(settings: Settings, http: httpx2.AsyncClient, provider: ProviderClient) -> Answers:
    models: list[str] | ProviderError = ProviderError("not asked")
    account: Account | ProviderError = ProviderError("not asked")

    async def ask_models() -> None:
        nonlocal models
        try:
            models = await provider.list_model_ids("text-to-image")
        except ProviderError as error:
            models = error

    async def ask_account() -> None:
        nonlocal account
        try:
            account = await provider.user_info()
        except ProviderError as error:
            account = error

    async with anyio.create_task_group() as group:
        group.start_soon(ask_models)
        group.start_soon(ask_account)
    generations = None
    if isinstance(models, ProviderError) and models.status == 404:
        generations = await _empty_generation_status(settings, http, provider.require_key())
    return Answers(models, account, generations)


async def _empty_generation_status(settings: Settings, http: httpx2.AsyncClient, key: str) -> int | str:
    """The status an empty generation request gets: 400 from an image API (nothing is generated), 404 elsewhere."""
    try:
        response = await http.post(
            settings.generations_url,
            json={},
            headers={"Authorization": f"Bearer {key}"},
            timeout=MODEL_LIST_TIMEOUT_SECONDS,
        )
    except httpx2.HTTPError as error:
        return type(error).__name__
    return response.status_code


def _unusable_key(problem: str) -> Check:
    return Check(
        "key",
        "fail",
        f"SILICONFLOW_API_KEY {problem}, so the server refuses it and no request can be made with it",
        f"copy the key again from {KEY_PAGE}, as plain text, into SILICONFLOW_API_KEY",
    )


def _no_key() -> Check:
    return Check(
        "key",
        "fail",
        "no API key is set, so generate_image and edit_image cannot work",
        f"set SILICONFLOW_API_KEY in the client's config for this server (create a key at {KEY_PAGE})",
    )


async def _endpoint_without_key(settings: Settings, http: httpx2.AsyncClient) -> Check:
    try:
        response = await http.get(
            f"{settings.base_url}/models", params={"type": "image"}, timeout=MODEL_LIST_TIMEOUT_SECONDS
        )
    except httpx2.HTTPError as error:
        why = str(unreachable_address(error) or type(error).__name__)
        return Check("endpoint", "fail", f"{settings.base_url} cannot be reached ({why})", BASE_URL_FIX)
    return Check(
        "endpoint",
        "ok",
        f"{settings.base_url} answers (HTTP {response.status_code} without a key); "
        "its image models can be checked once a key is set",
    )


def _endpoint_verdict(settings: Settings, answers: Answers) -> Check:
    models = answers.models
    if isinstance(models, ProviderError):
        if models.status is None:
            return Check("endpoint", "fail", str(models), BASE_URL_FIX)
        if models.status == 404:
            return _endpoint_without_model_list(settings, answers.generations)
        return Check("endpoint", "ok", f"{settings.base_url} answers (GET /models: HTTP {models.status})")
    if not models:
        return Check(
            "endpoint",
            "warn",
            f"{settings.base_url} answers but lists no text-to-image models",
            "check SILICONFLOW_BASE_URL points at SiliconFlow or a gateway that offers image models",
        )
    detail = f"{settings.base_url} answers: {len(models)} text-to-image models"
    if settings.default_model not in models:
        return Check(
            "endpoint",
            "warn",
            f"{detail}, but not the default model {settings.default_model}",
            f"set SILICONFLOW_DEFAULT_MODEL to one it offers, e.g. {models[0]} (list_models shows them all)",
        )
    return Check("endpoint", "ok", f"{detail}, the default {settings.default_model} among them")


def _endpoint_without_model_list(settings: Settings, generations: int | str | None) -> Check:
    base = settings.base_url
    if generations in (400, 422):
        return Check(
            "endpoint",
            "ok",
            f"{base} has no model list (GET /models: 404), as some gateways, but its image API answers "
            f"(an empty request was refused with HTTP {generations}; nothing was generated)",
        )
    if generations in (404, 405):
        versioned = with_version(base)
        return Check(
            "endpoint",
            "fail",
            f"{base} is not an image API: GET /models and POST /images/generations both answer {generations}"
            + (f"; it probably lacks /v1 (try {versioned})" if versioned else ""),
            f"set SILICONFLOW_BASE_URL to {versioned} (a gateway's URL ending in /v1)" if versioned else BASE_URL_FIX,
        )
    if generations in (401, 403):
        return Check("endpoint", "ok", f"{base} answers (POST /images/generations: HTTP {generations})")
    return Check(
        "endpoint",
        "warn",
        f"{base} has no model list (GET /models: 404) and its image API could not be confirmed "
        f"(POST /images/generations: {generations})",
        BASE_URL_FIX,
    )


def _key_verdict(settings: Settings, answers: Answers) -> Check:
    account = answers.account
    if isinstance(account, Account):
        return _balance_verdict(account)
    if account.status in (401, 403):
        return _refused(settings, account.status)
    if account.status == 404:
        return _key_verdict_without_balance(settings, answers, "this endpoint has no /user/info")
    if account.status is None and not isinstance(answers.models, ProviderError):
        return _key_verdict_without_balance(settings, answers, str(account))
    if account.status is None:
        return Check("key", "skip", f"not checked: {settings.base_url} did not answer")
    return Check("key", "fail", f"could not be checked: {account}", "try again shortly")


def _key_verdict_without_balance(settings: Settings, answers: Answers, why: str) -> Check:
    models = answers.models
    if not isinstance(models, ProviderError):
        return Check("key", "ok", f"accepted (checked with GET /models); balance unavailable: {why}")
    if models.status in (401, 403):
        return _refused(settings, models.status)
    if answers.generations in (401, 403):
        return _refused(settings, int(answers.generations or 0))
    if answers.generations in (400, 422):
        return Check("key", "ok", "accepted (checked with POST /images/generations); balance unavailable")
    if models.status is None:
        return Check("key", "skip", f"not checked: {settings.base_url} did not answer")
    return Check(
        "key",
        "warn",
        "could not be checked: this endpoint has neither /user/info nor /models",
        "generate one image to find out; a 401 then means the key is wrong",
    )


def _refused(settings: Settings, status: int) -> Check:
    return Check(
        "key",
        "fail",
        f"the provider refused the key (HTTP {status})",
        refused_key_advice("SILICONFLOW_API_KEY", settings.base_url),
    )


def _balance_verdict(account: Account) -> Check:
    balance = account.total_balance or account.balance
    detail = f"accepted; balance {balance}" if balance is not None else "accepted; balance not reported"
    if account.status not in (None, "normal"):
        return Check(
            "key",
            "warn",
            f"{detail}, account status {account.status!r}",
            "check the account in the SiliconFlow console",
        )
    try:
        empty = balance is not None and Decimal(balance) <= 0
    except InvalidOperation:
        empty = False
    if empty:
        return Check(
            "key",
            "warn",
            f"{detail}: paid models will be refused",
            "top up in the SiliconFlow console, or use a free model such as Kwai-Kolors/Kolors",
        )
    return Check("key", "ok", detail)
