"""A video job as the store keeps it: what was asked and where it stands (`JobRecord`), and how it ended
(`JobOutcome`), each a small JSON file in the store's jobs folder (stores/base.py `JobShelf`).

The record is written before the tool that submitted the job returns, so a restarted server, or another
replica sharing the bucket, finds the job and finishes it. Where it stands is rewritten as the provider
answers; how it ended is written once, by a conditional create, so it never changes and two followers
can never disagree about it. A reader takes the outcome when there is one, else the record.

The fields are those of a task in MCP's Tasks extension (2026-07-28, `io.modelcontextprotocol/tasks`), so
serving jobs as tasks once the SDK runs that extension is a thin layer over these two files: `job` is the
`taskId` (32 random hex digits: unguessable), `status` maps 1:1 (`working`; `completed` and `failed` are
both a task's `completed`, the failure being an `isError` tool result, not a JSON-RPC error), `message` is
`statusMessage`, `created_at` / `updated_at` are `createdAt` / `lastUpdatedAt`, `poll_interval_ms` is
`pollIntervalMs`, and the outcome rebuilds the `CallToolResult` a `tasks/get` returns.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from mcp_server_siliconflow_image.provider.catalog import VideoCapability
from mcp_server_siliconflow_image.stores.naming import SavedImage

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
JobStatus = Literal["working", "completed", "failed"]
KeyUsed = Literal["server", "caller"]


class JobRecordError(ValueError):
    """A file in the jobs folder that is not a job's record (damaged, or not written by this server)."""


def new_job_id() -> str:
    """128 random bits as hex: a handle nobody can guess, also its files' names."""
    return secrets.token_hex(16)


def is_job_id(text: str) -> bool:
    return bool(JOB_ID.fullmatch(text))


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_name(job: str) -> str:
    return f"{job}.json"


def outcome_name(job: str) -> str:
    return f"{job}.outcome.json"


def claim_name(job: str, attempt: int) -> str:
    """The n-th claim on downloading a job's video: whoever creates it downloads (see jobs/follower.py)."""
    return f"{job}.claim-{attempt}"


Stored = TypeVar("Stored", bound="StoredJson")


class StoredJson(BaseModel):
    """A JSON file of the jobs folder: written whole, read back strictly (anything else is no record of ours)."""

    def to_json(self) -> bytes:
        return (self.model_dump_json(indent=2) + "\n").encode()

    @classmethod
    def parse(cls: type[Stored], data: bytes) -> Stored:
        try:
            return cls.model_validate_json(data)
        except ValidationError as error:
            raise JobRecordError(f"not a {cls.__name__} ({error.error_count()} problems)") from error


class JobRecord(StoredJson):
    """What was asked, and where the job stands (rewritten as the provider answers)."""

    job: str = Field(pattern=JOB_ID.pattern)
    request_id: str = Field(description="The provider's requestId for the job.")
    model: str
    capability: VideoCapability
    prompt: str
    negative_prompt: str | None = None
    image_size: str
    seed: int | None = Field(None, description="The seed asked for (None: the provider picks one).")
    input_image: str | None = Field(None, description="The input image by digest and size, never its bytes.")
    principal: str | None = None
    key: KeyUsed = Field(
        "server",
        description="Whose provider key the job was submitted with: a caller's own key is kept nowhere, so such "
        "a job is followed only while its caller's request is at hand.",
    )
    trace_id: str | None = Field(None, description="The provider's trace id for the submit request.")
    status: JobStatus = "working"
    provider_status: str | None = Field(None, description="The provider's last word: InQueue, InProgress, ...")
    position: int | None = Field(None, description="The job's place in the provider's queue, when it said.")
    message: str = "submitted"
    result: str | None = Field(None, description="Where the video was saved (a path or s3:// URL), once it was.")
    created_at: str = Field(default_factory=now_text)
    updated_at: str = Field(default_factory=now_text)
    poll_interval_ms: int = 1000
    notes: list[str] = Field(default_factory=list)


class JobOutcome(StoredJson):
    """How a job ended: written once (conditionally), never changed."""

    job: str = Field(pattern=JOB_ID.pattern)
    status: Literal["completed", "failed"]
    finished_at: str = Field(default_factory=now_text)
    error: str | None = Field(None, description="Why it failed: the provider's reason, or what went wrong here.")
    trace_id: str | None = Field(None, description="The provider's trace id of the answer that ended it.")
    seed: int | None = None
    inference_seconds: float | None = None
    video: SavedImage | None = None
    poster: SavedImage | None = None
    duration_s: float | None = None
    notes: list[str] = Field(default_factory=list)
