"""Every video job this process follows: submitted here, asked about, or found unfinished in a store.

The board's followers run in a task group of the server's own (its lifespan), never in a tool call's: a
cancelled or timed-out call stops waiting, never the paid job. One follower per job and store, so two calls
about one job share it. At start, and every minute after, the board reads the jobs folder of each store
(the server's, and each principal's) and resumes every job without an outcome, so a restarted server, or a
replica sharing the bucket, finishes what another process submitted. A job submitted with a caller's own
provider key is resumed only when that caller asks about it again with the key (the key is kept nowhere).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.hosting.tenants import CALLER_KEY_NAME, Caller
from mcp_server_siliconflow_image.jobs.follower import Job, follow_job
from mcp_server_siliconflow_image.jobs.record import (
    JobOutcome,
    JobRecord,
    JobRecordError,
    is_job_id,
    new_job_id,
    outcome_name,
    record_name,
)
from mcp_server_siliconflow_image.jobs.request import VideoRequest
from mcp_server_siliconflow_image.pipeline.progress import ProgressReporter
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.stores.folder import describe_os_error

logger = logging.getLogger(__name__)

RESUME_SECONDS = 60.0
"""How often the stores are read for jobs nobody here follows (another replica's, whose server stopped)."""
_OUTCOME_SUFFIX = ".outcome.json"


class JobBoard:
    """The jobs this process follows, and the task group their followers run in (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._following: dict[tuple[str, str], Job] = {}
        self._group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[JobBoard]:
        """The server's lifespan: followers run until it ends (the next server resumes them from their records)."""
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._resume_forever)
            try:
                yield self
            finally:
                self._group = None
                group.cancel_scope.cancel()

    async def submit(self, context: CallContext, request: VideoRequest, progress: ProgressReporter) -> Job:
        """Submit the job, record it in the caller's store, and follow it. Shielded from the call's cancellation:
        once the provider may have accepted a paid job, it is recorded and followed."""
        with anyio.CancelScope(shield=True):
            submitted = await context.video.submit_video(request.payload, progress.update)
            payload = request.payload
            record = JobRecord(
                job=new_job_id(),
                request_id=submitted.request_id,
                model=request.model,
                capability=request.capability,
                prompt=str(payload["prompt"]),
                negative_prompt=payload.get("negative_prompt"),
                image_size=str(payload["image_size"]),
                seed=payload.get("seed"),
                input_image=request.input_image,
                principal=context.principal,
                key="caller" if context.key.name == CALLER_KEY_NAME else "server",
                trace_id=submitted.trace_id,
                notes=list(request.notes),
            )
            try:
                await anyio.to_thread.run_sync(context.store.jobs.create, record_name(record.job), record.to_json())
            except OSError as error:
                record.notes.append(
                    f"The job could not be recorded in {context.store.location} ({describe_os_error(error)}): this "
                    "server follows it until it stops, but a restarted server would not know it."
                )
            logger.info("video job %s submitted (%s, request %s)", record.job, record.model, record.request_id)
            job = self._follow(Job(context, record))
        return job

    async def find(self, context: CallContext, job_id: str) -> Job | None:
        """The caller's job `job_id`, followed from here on if it has not ended; None when the caller has none
        such (another principal's job is not the caller's: it is not found)."""
        if not is_job_id(job_id):
            return None
        if (job := self._following.get((context.store.location, job_id))) is not None:
            return job
        shelf = context.store.jobs
        try:
            record = JobRecord.parse(await anyio.to_thread.run_sync(shelf.read, record_name(job_id)))
        except FileNotFoundError:
            return None
        except JobRecordError as error:
            logger.warning("video job %s: its record is unreadable (%s)", job_id, error)
            return None
        try:
            outcome: JobOutcome | None = JobOutcome.parse(
                await anyio.to_thread.run_sync(shelf.read, outcome_name(job_id))
            )
        except FileNotFoundError:
            outcome = None
        except JobRecordError as error:
            logger.warning("video job %s: its outcome is unreadable (%s); following it again", job_id, error)
            outcome = None
        if outcome is not None:
            return Job(context, record, outcome)
        follower = self._context_for(context, record)
        if follower is None:
            record = record.model_copy(
                update={
                    "message": "submitted with your own X-SiliconFlow-Api-Key, which this server keeps nowhere: "
                    "send the header with get_video so the server can follow the job again"
                }
            )
            return Job(context, record)
        return self._follow(Job(follower, record))

    def follows(self, job: Job) -> bool:
        """Whether a follower of this process watches `job` (so waiting on it can end in news)."""
        return self._following.get((job.context.store.location, job.id)) is job

    def _context_for(self, context: CallContext, record: JobRecord) -> CallContext | None:
        """Who follows `record` found in the caller's store: with the caller's own key if the job was submitted
        with one (None when this call brought none), else with the server's key."""
        if record.key == "caller":
            return context if context.key.name == CALLER_KEY_NAME else None
        return CallContext.for_caller(self._runtime, Caller(context.principal))

    def _follow(self, job: Job) -> Job:
        """Follow `job` unless this process already does (then that follower's job is the one to watch)."""
        key = (job.context.store.location, job.id)
        if (current := self._following.get(key)) is not None:
            return current
        if self._group is None:
            raise RuntimeError("the server is not running: video jobs cannot be followed")
        self._following[key] = job
        self._group.start_soon(self._run, key, job)
        return job

    async def _run(self, key: tuple[str, str], job: Job) -> None:
        try:
            await follow_job(job)
        finally:
            self._following.pop(key, None)

    async def _resume_forever(self) -> None:
        while True:
            await self.resume()
            await anyio.sleep(RESUME_SECONDS)

    async def resume(self) -> None:
        """Follow every unfinished job in every store this server keeps that nobody here follows yet."""
        for principal in [None, *self._runtime.principals()]:
            context = CallContext.for_caller(self._runtime, Caller(principal))
            try:
                names = await anyio.to_thread.run_sync(context.store.jobs.names)
            except OSError as error:
                logger.warning("video jobs in %s could not be listed: %s", context.store.location, error)
                continue
            ended = {name.removesuffix(_OUTCOME_SUFFIX) for name in names if name.endswith(_OUTCOME_SUFFIX)}
            for name in names:
                job_id = name.removesuffix(".json")
                unfinished = name.endswith(".json") and is_job_id(job_id) and job_id not in ended
                if unfinished and (context.store.location, job_id) not in self._following:
                    await self._resume_one(context, job_id)

    async def _resume_one(self, context: CallContext, job_id: str) -> None:
        try:
            record = JobRecord.parse(await anyio.to_thread.run_sync(context.store.jobs.read, record_name(job_id)))
        except (OSError, JobRecordError) as error:
            logger.warning("video job %s could not be resumed: %s", job_id, error)
            return
        if record.key == "caller":
            return  # its key is the caller's: followed again when the caller asks with it
        logger.info("resuming video job %s (submitted %s)", job_id, record.created_at)
        self._follow(Job(context, record))


async def wait_for(job: Job, seconds: float, progress: ProgressReporter) -> None:
    """Wait up to `seconds` for `job` to end, telling the caller where it stands as that changes."""
    with anyio.move_on_after(seconds):
        async with progress.heartbeat():
            while job.outcome is None:
                await progress.update(f"video job: {job.record.message}")
                await job.next_change()
