"""The video tools: generate_video submits a job and waits a while for it; get_video picks a job up.

Video takes minutes, longer than many clients wait for one tool call, so a call waits at most `wait`
seconds (with progress notifications) and otherwise answers the job's handle, status `working`. The
server follows the job regardless (jobs/board.py) and saves the video the moment it is done; get_video
answers from there. A handle names a job in the caller's own store only: another principal's is unknown.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata, func_metadata
from mcp_types import CallToolResult, ToolAnnotations

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.hosting.tenants import CallerError
from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify
from mcp_server_siliconflow_image.jobs.board import JobBoard, wait_for
from mcp_server_siliconflow_image.jobs.follower import Job
from mcp_server_siliconflow_image.jobs.request import VideoCall, prepare_video
from mcp_server_siliconflow_image.pipeline.inputs import InputImageError
from mcp_server_siliconflow_image.pipeline.preflight import NotReadyError
from mcp_server_siliconflow_image.pipeline.previews import InlineImage, InlinePlan, UndecodableImageError, inline_for
from mcp_server_siliconflow_image.pipeline.request import InvalidArgumentError
from mcp_server_siliconflow_image.provider.client import ProviderError
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.surface import arguments as arg
from mcp_server_siliconflow_image.surface.presets import ResultOptions
from mcp_server_siliconflow_image.surface.tools import (
    LARGE_RESULT_META,
    error_result,
    options_for_client,
    readable_errors,
    reporter_for,
    request_of,
)
from mcp_server_siliconflow_image.surface.video_results import VideoResult, build_video_result
from mcp_server_siliconflow_image.surface.viewer import VIEW_TOOL_META

GENERATE_VIDEO_DESCRIPTION = f"""Generate a short video with SiliconFlow's Wan2.2 models: from a text prompt, or
from an image (image-to-video: the image is the first frame; give `image`).

Video takes minutes. The call waits up to `wait` seconds (default {arg.WAIT_DEFAULT_SECONDS}) and returns the saved
video (an MP4 file and its resource URI) with a poster frame to look at; if it is not done by then, it returns a
`job` handle with status "working": the server keeps following the job and saves the video the moment it is ready,
even if nobody asks, and get_video(job) returns it. Handles stay valid as long as the image store keeps the job's
records (the server deletes none)."""

GET_VIDEO_DESCRIPTION = """Get the video of a job that generate_video started: waits up to `wait` seconds for it,
then returns the saved video with its poster frame, or the job's status ("working", and where it stands) if it is
still being made, or the provider's reason if it failed."""


def register_video_tools(server: MCPServer[Any], runtime: Runtime, board: JobBoard) -> dict[str, FuncMetadata]:
    """Register generate_video and get_video; returns each one's argument model, for checking calls first."""

    async def generate_video(
        prompt: arg.VideoPrompt,
        model: arg.VideoModel = None,
        negative_prompt: arg.NegativePrompt = None,
        image_size: arg.VideoSize = None,
        image: arg.VideoImage = None,
        seed: arg.Seed = None,
        wait: arg.Wait = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, VideoResult]:
        try:
            context = CallContext.for_request(runtime, request_of(ctx))
        except CallerError as error:
            return error_result(str(error))
        progress = reporter_for(ctx)
        try:
            call = VideoCall(prompt, model, negative_prompt, image_size, image, seed)
            request = await prepare_video(context, call)
            await progress.update("submitting the video job")
            job = await board.submit(context, request, progress)
        except (InvalidArgumentError, InputImageError, ProviderError, NotReadyError) as error:
            return error_result(context.redact(str(error)))
        return await _answer(board, job, wait, ctx)

    async def get_video(
        job: arg.JobHandle, wait: arg.Wait = None, ctx: Context | None = None
    ) -> Annotated[CallToolResult, VideoResult]:
        try:
            context = CallContext.for_request(runtime, request_of(ctx))
        except CallerError as error:
            return error_result(str(error))
        found = await board.find(context, job.strip())
        if found is None:
            return error_result(
                f"Unknown job {job.strip()[:80]!r}: none of your video jobs has this handle. Use the `job` a "
                "generate_video result gave (32 hex digits); a job submitted by another user is not yours to read."
            )
        return await _answer(board, found, wait, ctx)

    generating = ToolAnnotations(
        title="Generate video", read_only_hint=False, destructive_hint=False, open_world_hint=True
    )
    picking_up = ToolAnnotations(title="Get video", read_only_hint=True, idempotent_hint=True, open_world_hint=True)
    structured = runtime.settings.structured_output
    for tool, title, description, hints in (
        (generate_video, "Generate video", GENERATE_VIDEO_DESCRIPTION, generating),
        (get_video, "Get video", GET_VIDEO_DESCRIPTION, picking_up),
    ):
        server.add_tool(
            readable_errors(tool, runtime),
            title=title,
            description=description,
            annotations=hints,
            meta={**LARGE_RESULT_META, **VIEW_TOOL_META},
            structured_output=structured,
        )
    return {
        name: func_metadata(tool, skip_names=["ctx"], structured_output=False)
        for name, tool in (("generate_video", generate_video), ("get_video", get_video))
    }


async def _answer(board: JobBoard, job: Job, wait: float | None, ctx: Context | None) -> CallToolResult:
    """Wait up to `wait` seconds for the job (if it is being followed), then its result for this client."""
    seconds = arg.WAIT_DEFAULT_SECONDS if wait is None else wait
    if job.outcome is None and seconds > 0 and board.follows(job):
        await wait_for(job, seconds, reporter_for(ctx))
    options = options_for_client(job.context.settings, ctx)
    return build_video_result(job.record, job.outcome, await _poster_inline(job, options), options)


async def _poster_inline(job: Job, options: ResultOptions) -> InlineImage | None:
    """The finished job's poster frame as the result's image block (a preview if it is over the budget)."""
    poster = job.outcome.poster if job.outcome is not None else None
    if poster is None or options.inline_max_bytes == 0:
        return None
    try:
        data = await anyio.to_thread.run_sync(job.context.store.read, poster.name)
        plan = InlinePlan.for_batch([len(data)], options.inline_max_bytes)
        show = partial(inline_for, data, identify(data), plan)
        return await anyio.to_thread.run_sync(show, limiter=job.context.preview_workers)
    except (OSError, NotAnImageError, UndecodableImageError):
        return None  # the poster went missing or is damaged: the video itself is still linked
