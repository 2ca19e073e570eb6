"""Following one video job until it ends: polling the provider, then saving the video the moment it is done.

The provider's link to a finished video may live only ten minutes, so the follower downloads it as soon as
the status says `Succeed`, whether or not anyone is waiting. Only one follower downloads a job's video:
within a process the board (jobs/board.py) runs one follower per job, and across processes sharing a store
the follower first claims the download with a conditional create (`<job>.claim-<n>`): the others wait for
the claimant's outcome, and take over only when its claim has gone stale (the claimant died). Status
questions that fail are asked again with growing pauses; a download that fails is tried again for as long
as the link may live. How the job ended is written once (`<job>.outcome.json`), by whoever gets there first.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.jobs.delivery import save_video
from mcp_server_siliconflow_image.jobs.record import (
    JobOutcome,
    JobRecord,
    JobRecordError,
    JobStatus,
    claim_name,
    now_text,
    outcome_name,
    record_name,
)
from mcp_server_siliconflow_image.provider.client import ProviderError
from mcp_server_siliconflow_image.provider.video import VideoStatus
from mcp_server_siliconflow_image.stores.folder import describe_os_error

logger = logging.getLogger(__name__)

POLL_SECONDS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
"""Pauses between status questions; then MAX_POLL_SECONDS. A real job takes minutes: ten seconds apart costs at
most ten seconds of a link's life, and a short stand-in job ends within seconds."""
MAX_POLL_SECONDS = 10.0
KEY_REFUSED_POLL_SECONDS = 60.0
"""A refused key is the operator's to fix: the job is asked about again once a minute meanwhile."""
GIVE_UP_AFTER = timedelta(hours=24)
FORGOTTEN_STATUSES = frozenset({400, 404})
"""The provider's answer to a status question about a job it does not know (any more)."""
DELIVERY_WINDOW_SECONDS = 600.0
"""How long a failed download or save is tried again: the reference's shortest link life, ten minutes."""
CLAIM_CHECK_SECONDS = 1.0
CLAIM_MARGIN_SECONDS = 60.0
"""A claim not renewed for the download budget plus this long was left by a follower that stopped."""


@dataclass(eq=False)
class Job:
    """One video job as this process knows it: its record, its outcome once ended, and who waits on it."""

    context: CallContext
    """Whose job it is: its principal's store, and the key its status is asked with."""
    record: JobRecord
    outcome: JobOutcome | None = None
    _changed: anyio.Event = field(default_factory=anyio.Event)

    @property
    def id(self) -> str:
        return self.record.job

    @property
    def status(self) -> JobStatus:
        return self.outcome.status if self.outcome is not None else self.record.status

    def changed(self) -> None:
        """Wake everyone waiting on this job (its record or outcome changed)."""
        self._changed.set()
        self._changed = anyio.Event()

    async def next_change(self) -> None:
        await self._changed.wait()


async def follow_job(job: Job) -> None:
    """Follow `job` to its end (see the module docstring). Never raises but on cancellation (the server stops,
    and the next one resumes the job from its record)."""
    try:
        await _follow(job)
    except Exception:  # one job's surprise must not end the others' followers, which share a task group
        logger.exception("following video job %s failed unexpectedly; it is resumed within a minute", job.id)


async def _follow(job: Job) -> None:
    if await _adopt_outcome(job):
        return
    for asked in itertools.count():
        if _age(job.record) > GIVE_UP_AFTER:
            await _finish(job, _failure(job, f"the provider had not finished it after {GIVE_UP_AFTER}; gave up"))
            return
        wait = POLL_SECONDS[asked] if asked < len(POLL_SECONDS) else MAX_POLL_SECONDS
        try:
            status = await job.context.video.video_status(job.record.request_id)
        except ProviderError as error:
            said = job.context.redact(str(error))
            if error.status in FORGOTTEN_STATUSES:
                await _finish(job, _failure(job, f"the provider no longer knows this job: {said}", error.trace_id))
                return
            wait = KEY_REFUSED_POLL_SECONDS if error.status in (401, 403) else wait
            await _update(job, message=f"its status could not be read ({said}); asking again in {wait:g} s")
            await anyio.sleep(wait)
            continue
        if status.state == "failed":
            reason = status.reason or "the provider gave no reason"
            await _finish(job, _failure(job, f"the provider could not make the video: {reason}", status.trace_id))
            return
        if status.state == "succeeded":
            await _deliver(job, status)
            return
        await _update(job, status=status, wait=wait)
        await anyio.sleep(wait)


async def _update(
    job: Job, *, message: str | None = None, status: VideoStatus | None = None, wait: float | None = None
) -> None:
    """Record where the job stands; written to the store when the provider's word or the queue changed."""
    record = job.record
    changes: dict[str, object] = {"updated_at": now_text()}
    if status is not None:
        queued = status.state == "queued"
        place = f", position {status.position}" if queued and status.position is not None else ""
        changes |= {
            "provider_status": status.said,
            "position": status.position if queued else None,
            "message": f"queued at the provider{place}" if queued else "being generated by the provider",
        }
    if message is not None:
        changes["message"] = message
    if wait is not None:
        changes["poll_interval_ms"] = int(wait * 1000)
    lasting = ("provider_status", "position", "message")
    job.record = record.model_copy(update=changes)
    if any(getattr(job.record, name) != getattr(record, name) for name in lasting):
        await _store_record(job)
    job.changed()


async def _store_record(job: Job) -> None:
    try:
        await anyio.to_thread.run_sync(job.context.store.jobs.replace, record_name(job.id), job.record.to_json())
    except OSError as error:
        logger.warning("video job %s: its record could not be updated: %s", job.id, describe_os_error(error))


async def _deliver(job: Job, status: VideoStatus) -> None:
    """Download and save the finished video, once across every follower; tried again while the link may live."""
    if not status.url:
        await _finish(job, _failure(job, "the provider said the video is done but gave no link to it", status.trace_id))
        return
    claim = await _claim(job)
    if claim is None:
        return  # another follower delivered it
    started = time.monotonic()
    for attempt in itertools.count():
        await _update(job, message="downloading the video")
        try:
            outcome = await save_video(job.context, job.record, status)
        except (ProviderError, OSError) as error:
            said = job.context.redact(str(error) if isinstance(error, ProviderError) else describe_os_error(error))
            # An expired link, an error page or an oversized file will not change: only a dropped or slow
            # download, or a store that refused (a full disk), is worth trying again while the link may live.
            lasting = isinstance(error, ProviderError) and not error.retryable
            if lasting or time.monotonic() - started > DELIVERY_WINDOW_SECONDS:
                what = "downloaded" if isinstance(error, ProviderError) else "saved"
                await _finish(job, _failure(job, f"the video was made but could not be {what}: {said}"))
                return
            wait = min(60.0, 5.0 * 2**attempt)
            await _update(job, message=f"the video could not be saved yet ({said}); trying again in {wait:g} s")
            await anyio.sleep(wait)
            await _renew(job, claim)
            continue
        await _finish(job, outcome)
        return


async def _claim(job: Job) -> str | None:
    """Claim the download: the claim's name, or None when another follower delivered the video meanwhile."""
    shelf = job.context.store.jobs
    stale_after = job.context.settings.download_seconds + CLAIM_MARGIN_SECONDS
    attempt = 1
    while True:
        name = claim_name(job.id, attempt)
        if await anyio.to_thread.run_sync(shelf.create, name, _claim_text()):
            return name
        if await _adopt_outcome(job):
            return None
        held = await _read(job, name)
        if held is not None and (_claim_age(held) > stale_after or _claimant_gone(held)):
            logger.warning("video job %s: claim %d was left by a server that stopped; taking it over", job.id, attempt)
            attempt += 1
            continue
        await _update(job, message="the video is done; another server is saving it")
        await anyio.sleep(CLAIM_CHECK_SECONDS)


async def _renew(job: Job, claim: str) -> None:
    """Keep a claim fresh while its holder keeps trying, so no other follower takes it over."""
    try:
        await anyio.to_thread.run_sync(job.context.store.jobs.replace, claim, _claim_text())
    except OSError as error:
        logger.warning("video job %s: its claim could not be renewed: %s", job.id, describe_os_error(error))


def _claim_text() -> bytes:
    return json.dumps({"claimed_at": time.time(), "by": _CLAIMANT}).encode()


_CLAIMANT = f"{socket.gethostname()}:{os.getpid()}"


def _claimant_gone(data: bytes) -> bool:
    """Whether a claim was made by another process on this machine that no longer runs (a server restarted
    mid-download): its claim need not be waited out. Other machines' claims go stale by age alone."""
    try:
        host, _, pid = str(json.loads(data)["by"]).rpartition(":")
        claimant = int(pid)
    except (ValueError, KeyError, TypeError):
        return False
    if os.name != "posix" or host != socket.gethostname() or claimant == os.getpid():
        return False
    try:
        os.kill(claimant, 0)  # signal 0: no signal, only whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's process): not ours to judge
    return False


def _claim_age(data: bytes) -> float:
    """Seconds since a claim was made or renewed (a claim that is not one of ours: forever)."""
    try:
        claimed = float(json.loads(data)["claimed_at"])
    except (ValueError, KeyError, TypeError):
        return math.inf
    return time.time() - claimed


async def _read(job: Job, name: str) -> bytes | None:
    try:
        return await anyio.to_thread.run_sync(job.context.store.jobs.read, name)
    except OSError:
        return None


async def _adopt_outcome(job: Job) -> bool:
    """Take the job's outcome from the store when some follower wrote one; True when it did."""
    data = await _read(job, outcome_name(job.id))
    if data is None:
        return False
    try:
        outcome = JobOutcome.parse(data)
    except JobRecordError as error:
        logger.warning("video job %s: its outcome file is unreadable (%s)", job.id, error)
        return False
    job.outcome = outcome
    job.record = job.record.model_copy(update={"status": outcome.status, "message": outcome.status})
    job.changed()
    return True


async def _finish(job: Job, outcome: JobOutcome) -> None:
    """Write how the job ended, unless another follower already did (then theirs stands), and tell the waiting."""
    with anyio.CancelScope(shield=True):
        try:
            created = await anyio.to_thread.run_sync(
                job.context.store.jobs.create, outcome_name(job.id), outcome.to_json()
            )
        except OSError as error:
            logger.error("video job %s ended, but its outcome could not be recorded: %s", job.id, error)
            created = True
        if not created and await _adopt_outcome(job):
            return
        message = "done" if outcome.status == "completed" else f"failed: {outcome.error}"
        result = outcome.video.location if outcome.video is not None else None
        ended = {"status": outcome.status, "message": message, "result": result, "updated_at": now_text()}
        job.record = job.record.model_copy(update=ended)
        await _store_record(job)
    job.outcome = outcome
    logger.info("video job %s %s", job.id, message)
    job.changed()


def _failure(job: Job, error: str, trace_id: str | None = None) -> JobOutcome:
    return JobOutcome(job=job.id, status="failed", error=error[:1000], trace_id=trace_id)


def _age(record: JobRecord) -> timedelta:
    try:
        return datetime.now(UTC) - datetime.fromisoformat(record.created_at)
    except ValueError:
        return timedelta(0)
