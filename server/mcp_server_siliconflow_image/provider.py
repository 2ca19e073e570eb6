"""The SiliconFlow image API (and compatible gateways): one request in, image bytes out.

One pooled `httpx.AsyncClient` serves the whole server life. Responses come in two shapes
(`images[]` per SiliconFlow's OpenAPI spec, `data[]` per its OpenAI-compatible guide), with items that
carry a `url` or, from some gateways, `b64_json`; both are accepted.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_server_siliconflow_image import __version__
from mcp_server_siliconflow_image.downloads import TooLargeError, read_capped
from mcp_server_siliconflow_image.settings import Settings

logger = logging.getLogger(__name__)

HINTS = {
    400: "The provider rejected the arguments; fix them (run list_models to see what this model accepts).",
    401: "The API key was refused: check SILICONFLOW_API_KEY (create one at https://cloud.siliconflow.cn/account/ak).",
    403: "The key may not use this model, or the account is out of balance: check the SiliconFlow console.",
    404: "The model or endpoint does not exist: run list_models for valid model ids, and check SILICONFLOW_BASE_URL.",
    413: "The request is too large: use smaller input images.",
    429: "Rate limited by the provider: wait a little, lower batch_size, or make fewer calls at once.",
    500: "The provider failed internally: try again shortly.",
    502: "The provider's gateway failed: try again shortly.",
    503: "The provider is overloaded: try again in a minute or pick another model.",
    504: "The provider timed out generating: try again, or use fewer inference steps or a smaller size.",
}


class ProviderError(Exception):
    """A failure talking to the provider, worded for the agent: what happened and what to do."""

    def __init__(self, message: str, *, status: int | None = None, code: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ProviderImage(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str | None = None
    b64_json: str | None = None


class Timings(BaseModel):
    model_config = ConfigDict(extra="allow")
    inference: float | None = None


class GenerationResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    images: list[ProviderImage] = Field(default_factory=list)
    data: list[ProviderImage] = Field(default_factory=list)
    seed: int | None = None
    timings: Timings | None = None

    @property
    def outputs(self) -> list[ProviderImage]:
        return self.images or self.data


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str


class ModelListing(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: list[ModelEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Generation:
    outputs: list[ProviderImage]
    seed: int | None
    inference_seconds: float | None


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """The connection pool shared by every call for the life of the server."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout, connect=min(15.0, settings.timeout)),
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        headers={"User-Agent": f"mcp-server-siliconflow-image/{__version__}"},
        follow_redirects=True,
    )


class ProviderClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def generate(self, payload: dict[str, Any]) -> Generation:
        """POST one generation request; raise ProviderError with an actionable message on failure."""
        response = await self._request("POST", self._settings.generations_url, json=payload)
        try:
            parsed = GenerationResponse.model_validate_json(response.content)
        except ValidationError as error:
            raise ProviderError(
                "The provider answered 200 but not with an image generation result; "
                "check that SILICONFLOW_BASE_URL points at an OpenAI-compatible image API."
            ) from error
        if not parsed.outputs:
            raise ProviderError("The provider answered without any image (maybe filtered by its content policy).")
        inference = parsed.timings.inference if parsed.timings else None
        return Generation(parsed.outputs, parsed.seed, inference)

    async def list_model_ids(self, sub_type: str) -> list[str]:
        """Ids of the provider's image models of one sub-type (`text-to-image` or `image-to-image`)."""
        response = await self._request(
            "GET", f"{self._settings.base_url}/models", params={"type": "image", "sub_type": sub_type}
        )
        try:
            listing = ModelListing.model_validate_json(response.content)
        except ValidationError as error:
            raise ProviderError("The provider's model list was not in the expected format.") from error
        return [entry.id for entry in listing.data]

    async def _request(self, method: str, url: str, **options: Any) -> httpx.Response:
        key = self._require_key()
        try:
            response = await self._http.request(method, url, headers={"Authorization": f"Bearer {key}"}, **options)
        except httpx.TimeoutException as error:
            raise ProviderError(
                f"The provider did not answer within {self._settings.timeout:g} s "
                "(SILICONFLOW_TIMEOUT). Try again, or use fewer steps or a smaller size."
            ) from error
        except httpx.HTTPError as error:
            raise ProviderError(
                f"Could not reach the provider at {self._settings.base_url}: {self._redact(str(error))}. "
                "Check the network and SILICONFLOW_BASE_URL."
            ) from error
        if response.status_code != 200:
            raise self._status_error(response)
        return response

    async def fetch_image(self, output: ProviderImage) -> bytes:
        """The bytes of one generated image, from its URL or its inline base64."""
        if output.b64_json:
            try:
                return base64.b64decode(output.b64_json, validate=True)
            except (binascii.Error, ValueError) as error:
                raise ProviderError("The provider returned b64_json that is not valid base64.") from error
        if not output.url:
            raise ProviderError("The provider returned an image entry with neither url nor b64_json.")
        return await self._download(output.url)

    async def _download(self, url: str) -> bytes:
        limit = self._settings.max_download_bytes
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ProviderError(
                        f"Downloading the image failed with HTTP {response.status_code}"
                        + (" (the link has expired)" if response.status_code in (403, 410) else "")
                        + "."
                    )
                return await read_capped(response, limit)
        except TooLargeError as error:
            raise ProviderError(f"The image is larger than the {limit} byte download limit.") from error
        except httpx.HTTPError as error:
            raise ProviderError(f"Downloading the image failed: {type(error).__name__}.") from error

    def _require_key(self) -> str:
        if self._settings.api_key is None:
            raise ProviderError(
                "No API key is set. Set SILICONFLOW_API_KEY in the server's environment (for Claude Desktop: "
                'the "env" block of this server in claude_desktop_config.json) or pass --api-key; '
                "get a key at https://cloud.siliconflow.cn/account/ak."
            )
        return self._settings.api_key.reveal()

    def _status_error(self, response: httpx.Response) -> ProviderError:
        code, message = _error_details(response)
        status = response.status_code
        hint = HINTS.get(status, "Try again later." if status >= 500 else "Check the arguments.")
        detail = f" (provider code {code})" if code is not None else ""
        said = f": {self._redact(message)}" if message else ""
        return ProviderError(f"The provider answered HTTP {status}{detail}{said}. {hint}", status=status, code=code)

    def _redact(self, text: str) -> str:
        key = self._settings.api_key.reveal() if self._settings.api_key else ""
        return text.replace(key, "[redacted]") if key else text


def _error_details(response: httpx.Response) -> tuple[object, str]:
    """The provider's own code and message, from `{"code", "message"}` or `{"error": {...}}` bodies."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text.strip()[:300]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("code"), str(error.get("message", ""))[:300]
        message = body.get("message") or body.get("error") or body.get("detail") or ""
        return body.get("code"), str(message)[:300]
    return None, str(body)[:300]
