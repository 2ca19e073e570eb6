"""The result of generate_video and get_video, in the shape docs/tools.md documents (clients depend on it).

A finished job: its poster frame as an image block (what the calling model sees of the video), a
resource_link to the saved MP4, a short text (path, seed, job), and `structuredContent` with the job, the
video and the poster. A job still working: the text and `{job, status, model, position, message}` only, so
the caller knows to ask get_video again. A failed job: an error result with the provider's reason and
trace id. The facts in the text are in `structuredContent` too, since some clients show the model only that.
"""

from __future__ import annotations

from typing import Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

from mcp_server_siliconflow_image.jobs.record import JobOutcome, JobRecord
from mcp_server_siliconflow_image.pipeline.previews import InlineImage
from mcp_server_siliconflow_image.provider.client import trace_id_sentence
from mcp_server_siliconflow_image.surface.presets import ResultOptions
from mcp_server_siliconflow_image.surface.results import saved_file_facts


class VideoOut(BaseModel):
    path: str = Field(
        description="Absolute path of the saved MP4, or its s3:// object URL: exactly the provider's bytes."
    )
    uri: str = Field(description="MCP resource URI; resources/read returns the video's bytes.")
    url: str | None = Field(None, description="A presigned HTTPS link to the stored object, when enabled.")
    mime_type: str
    bytes: int = Field(description="Size of the saved file in bytes.")
    sha256: str
    width: int | None = Field(None, description="Frame width in pixels (absent when the video could not be read).")
    height: int | None = Field(None, description="Frame height in pixels (absent when the video could not be read).")
    duration_s: float | None = Field(None, description="Length in seconds (absent when the video could not be read).")


class PosterOut(BaseModel):
    uri: str = Field(description="MCP resource URI of the poster frame (a JPEG saved beside the video).")
    mime_type: str
    width: int
    height: int
    inline: Literal["original", "preview", "none"] = Field(description="What the result's image block holds.")


class VideoResult(BaseModel):
    """Structured result of generate_video and get_video."""

    job: str = Field(description="The job's handle: pass it to get_video to pick the video up later.")
    status: Literal["working", "completed", "failed"]
    model: str
    seed: int | None = Field(None, description="The seed that made the video (the one asked for while working).")
    video: VideoOut | None = None
    poster: PosterOut | None = None
    position: int | None = Field(None, description="The job's place in the provider's queue, while it waits.")
    message: str | None = Field(None, description="Where a working job stands, in words.")
    error: str | None = Field(None, description="Why a failed job failed: the provider's reason, or ours.")
    trace_id: str | None = Field(None, description="The provider's trace id; quote it to SiliconFlow support.")
    notes: list[str] = Field(default_factory=list, description="Switched models, missing posters and other remarks.")


def build_video_result(
    record: JobRecord, outcome: JobOutcome | None, poster: InlineImage | None, options: ResultOptions
) -> CallToolResult:
    """The contract's result for a job: finished (video, poster), working (where it stands) or failed (why)."""
    notes = [*record.notes, *(outcome.notes if outcome else [])]
    result = VideoResult(
        job=record.job, status=outcome.status if outcome else "working", model=record.model, notes=notes
    )
    content: list[ContentBlock] = []
    if outcome is None:
        result.seed, result.position, result.message = record.seed, record.position, record.message
        text = _working_text(result)
    elif outcome.status == "failed" or outcome.video is None:
        result.status, result.error, result.trace_id = "failed", outcome.error, outcome.trace_id or record.trace_id
        text = f"Video job {record.job} failed: {outcome.error}{trace_id_sentence(result.trace_id)}."
        text += "".join(f"\nNote: {note}" for note in notes)
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=_structured(result, options),
            is_error=True,
        )
    else:
        video = outcome.video
        result.seed, result.trace_id = outcome.seed, outcome.trace_id or record.trace_id
        result.video = VideoOut(
            **saved_file_facts(video),
            width=video.width or None,  # 0: the video's frames could not be read
            height=video.height or None,
            duration_s=outcome.duration_s,
        )
        if outcome.poster is not None:
            shown = "none" if poster is None else ("preview" if poster.is_preview else "original")
            result.poster = PosterOut(
                uri=outcome.poster.uri,
                mime_type=outcome.poster.mime_type,
                width=outcome.poster.width,
                height=outcome.poster.height,
                inline=shown,
            )
        if poster is not None:
            content.append(ImageContent(type="image", data=poster.data_base64, mime_type=poster.mime_type))
        if options.resource_links:
            content.append(
                ResourceLink(
                    type="resource_link",
                    name=video.name,
                    title="Generated video",
                    uri=video.uri,
                    mime_type=video.mime_type,
                    size=video.size,
                )
            )
        text = _completed_text(result)
    content.append(TextContent(type="text", text=text))
    return CallToolResult(content=content, structured_content=_structured(result, options))


def _structured(result: VideoResult, options: ResultOptions) -> dict[str, object] | None:
    """Only what is known: a working job has no `video` (nor a null one)."""
    return result.model_dump(mode="json", exclude_none=True) if options.structured_output else None


def _working_text(result: VideoResult) -> str:
    return (
        f"Video job {result.job} ({result.model}) is still working: {result.message}. The server keeps following it "
        "and saves the video the moment it is ready, whether or not you ask. Call get_video with "
        f'job="{result.job}" to get it (generation usually takes a few minutes).'
        + "".join(f"\nNote: {note}" for note in result.notes)
    )


def _completed_text(result: VideoResult) -> str:
    video = result.video
    assert video is not None
    size = f"{video.width}x{video.height}, " if video.width and video.height else ""
    length = f"{video.duration_s:g} s, " if video.duration_s else ""
    lines = [
        f"Generated a video with {result.model} (seed {result.seed}), job {result.job}.",
        f"{video.path} ({size}{length}{video.mime_type}, {video.bytes} bytes) {video.uri}",
    ]
    if video.url:
        lines.append(f"link (expires): {video.url}")
    if result.poster is not None:
        lines.append(f"Poster frame (shown above): {result.poster.uri}")
    lines += [f"Note: {note}" for note in result.notes]
    if result.trace_id:
        lines.append(f"Provider trace id: {result.trace_id}.")
    return "\n".join(lines)
