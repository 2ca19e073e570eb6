"""SiliconFlow's video API: submit a job, ask for its status, fetch the video its link serves.

Video generation takes minutes, so it is a job: `POST /video/submit` answers a `requestId`, and
`POST /video/status` with that id answers `InQueue` / `InProgress` (with a queue `position`) until
`Succeed` with `results.videos[].url` (a link the reference says lives 10 minutes, or one hour) or
`Failed` with a `reason`. Answers are read leniently: only the status itself and, on success, a link
are needed; an odd position, seed or timing reads as unknown. The same key, pool, retries, size caps and
error wording as the image calls (provider/client.py) apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mcp_server_siliconflow_image.provider.client import (
    VIDEO_LINK,
    LenientInt,
    OnRetry,
    ProviderClient,
    Timings,
    no_retry_report,
    read_answer,
    trace_id_of,
)
from mcp_server_siliconflow_image.stores.base import Upload

STATUS_SECONDS = 30.0
"""One status question, its retries of rate limits and overload included: a follower asks again later anyway."""
MAX_REASON_CHARS = 500

JobState = Literal["queued", "running", "succeeded", "failed"]
_STATES: dict[str, JobState] = {
    "inqueue": "queued",
    "inprogress": "running",
    "succeed": "succeeded",
    "succeeded": "succeeded",
    "failed": "failed",
}
"""[video] status: "Possible values are 'Succeed','InQueue','InProgress','Failed'". Anything else reads as running."""


class _SubmitAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    request_id: str = Field(alias="requestId", min_length=1, max_length=200)


class _VideoLink(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str | None = None


class _Results(BaseModel):
    model_config = ConfigDict(extra="allow")
    videos: list[_VideoLink] = Field(default_factory=list)
    timings: Timings | None = None
    seed: LenientInt = None

    @field_validator("timings", mode="before")
    @classmethod
    def _timings_or_none(cls, value: object) -> object:
        return value if isinstance(value, dict) else None


class _StatusAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    position: LenientInt = None
    reason: str | None = None
    results: _Results | None = None

    @field_validator("results", mode="before")
    @classmethod
    def _results_leniently(cls, value: object) -> object:
        """A list of links (as one third-party client types it) is the `videos`; anything odd is no results."""
        if isinstance(value, list):
            return {"videos": [item for item in value if isinstance(item, dict)]}
        return value if isinstance(value, dict) else None

    @field_validator("reason", mode="before")
    @classmethod
    def _reason_as_text(cls, value: object) -> object:
        return None if value is None else str(value)


@dataclass(frozen=True)
class SubmittedVideo:
    request_id: str
    trace_id: str | None


@dataclass(frozen=True)
class VideoStatus:
    """One status answer, as a follower needs it."""

    state: JobState
    said: str
    """The provider's own word for the state (InQueue, InProgress, ...), for messages."""
    position: int | None = None
    reason: str | None = None
    url: str | None = None
    seed: int | None = None
    inference_seconds: float | None = None
    trace_id: str | None = None


class VideoClient(ProviderClient):
    """The provider's video endpoints as one key sees them (see the module docstring)."""

    async def submit_video(self, payload: dict[str, Any], on_retry: OnRetry = no_retry_report) -> SubmittedVideo:
        """POST the job; its `requestId`. Rate limits and overload are retried within SILICONFLOW_TIMEOUT."""
        deadline = time.monotonic() + self._settings.timeout
        url = f"{self._settings.base_url}/video/submit"
        response = await self._request_with_retries("POST", url, deadline, on_retry, json=payload)
        answer = read_answer(
            response,
            _SubmitAnswer,
            "The provider answered 200 but not with a video job (no requestId); check that "
            "SILICONFLOW_BASE_URL points at SiliconFlow's API, which has /video/submit.",
        )
        return SubmittedVideo(answer.request_id, trace_id_of(response))

    async def video_status(self, request_id: str) -> VideoStatus:
        """Where the job `request_id` stands; ProviderError when the provider cannot say now (see `retryable`)."""
        deadline = time.monotonic() + STATUS_SECONDS
        url = f"{self._settings.base_url}/video/status"
        response = await self._request_with_retries(
            "POST", url, deadline, no_retry_report, json={"requestId": request_id}
        )
        answer = read_answer(
            response,
            _StatusAnswer,
            "The provider's video status answer was not in the expected format.",
            retryable=True,
        )
        said = answer.status.strip()
        state = _STATES.get(said.lower(), "running")
        results = answer.results or _Results()
        url_found = next((video.url for video in results.videos if video.url), None)
        reason = self._redact(answer.reason)[:MAX_REASON_CHARS] if answer.reason else None
        return VideoStatus(
            state=state,
            said=said[:40],
            position=answer.position,
            reason=reason,
            url=url_found,
            seed=results.seed,
            inference_seconds=results.timings.inference if results.timings else None,
            trace_id=trace_id_of(response),
        )

    async def fetch_video(self, url: str, pending: Upload) -> None:
        """Receive the MP4 a job's link serves into `pending`: whole, or ProviderError (an expired link: status 403)."""
        await self.fetch_link(url, pending, VIDEO_LINK)
