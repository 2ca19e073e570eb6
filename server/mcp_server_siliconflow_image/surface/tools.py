"""The MCP tools: argument schemas from surface/arguments.py, behaviour from pipeline/.

Each call builds its `CallContext` from the request once (context.py): a hosted caller's own images,
input rules and provider key; every error it returns is redacted of the server's key and the caller's.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ParamSpec

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata, func_metadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from mcp_server_siliconflow_image.context import CallContext
from mcp_server_siliconflow_image.hosting.tenants import CallerError
from mcp_server_siliconflow_image.pipeline.execute import execute
from mcp_server_siliconflow_image.pipeline.inputs import InputImageError
from mcp_server_siliconflow_image.pipeline.preflight import NotReadyError, ToolCall, prepare
from mcp_server_siliconflow_image.pipeline.progress import ProgressReporter
from mcp_server_siliconflow_image.pipeline.request import InvalidArgumentError
from mcp_server_siliconflow_image.provider.catalog import GENERATION_ARGUMENTS
from mcp_server_siliconflow_image.provider.client import ProviderError, ProviderKey
from mcp_server_siliconflow_image.runtime import Runtime
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.surface import arguments as arg
from mcp_server_siliconflow_image.surface.model_list import ModelListResult, list_models_result
from mcp_server_siliconflow_image.surface.presets import ResultOptions, options_for_request
from mcp_server_siliconflow_image.surface.results import GenerationResult
from mcp_server_siliconflow_image.surface.viewer import VIEW_TOOL_META

logger = logging.getLogger(__name__)
P = ParamSpec("P")

GENERATE_DESCRIPTION = """Generate images from a text prompt with SiliconFlow (Kolors, FLUX, Qwen-Image, SD).

Returns the pictures themselves (inline), saves each full-size file to disk, and gives a resource URI
for each; the result lists path, size and seed. Takes 5-60 s. Reuse the returned seed to reproduce an
image. Arguments a model does not take are skipped and reported in the result's notes."""

EDIT_DESCRIPTION = """Edit or transform existing images from an instruction, e.g. "make the sky stormy",
"replace the text on the sign with OPEN", "put the person from image 1 into the scene of image 2".

`image` (and `image2`, `image3` for multi-image models such as Qwen/Qwen-Image-Edit-2509) may be an absolute
local file path, an https:// URL, or base64 / a data: URI (PNG, JPEG or WebP, up to 10 MB each). The path or
siliconflow-image:// URI of an earlier result works, also on a remote server. Returns the edited images like
generate_image does."""

LIST_DESCRIPTION = """List the image and video models you can use, with what each is for and what it accepts
(capabilities, arguments, recommended sizes and aspect ratios, defaults). Live from the provider when possible."""

# Claude Code truncates tool output past MAX_MCP_OUTPUT_TOKENS unless the tool asks for more room.
LARGE_RESULT_META = {"anthropic/maxResultSizeChars": 500_000}


def register_tools(server: MCPServer[Any], runtime: Runtime) -> dict[str, FuncMetadata]:
    """Register the image tools; returns each one's argument model, for checking calls before they run."""
    structured = runtime.settings.structured_output

    async def generate_image(
        prompt: arg.Prompt,
        model: arg.Model = None,
        negative_prompt: arg.NegativePrompt = None,
        image_size: arg.ImageSize = None,
        aspect_ratio: arg.AspectRatio = None,
        batch_size: arg.BatchSize = None,
        num_inference_steps: arg.InferenceSteps = None,
        guidance_scale: arg.GuidanceScale = None,
        seed: arg.Seed = None,
        cfg: arg.Cfg = None,
        prompt_enhancement: arg.PromptEnhancement = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        options = generation_options(locals())
        call = ToolCall("text-to-image", model or runtime.settings.default_model, prompt, aspect_ratio, options)
        return await run_generation(runtime, call, ctx)

    async def edit_image(
        image: arg.InputImage,
        prompt: arg.EditPrompt,
        model: arg.EditModel = None,
        image2: arg.ExtraInputImage = None,
        image3: arg.ExtraInputImage = None,
        negative_prompt: arg.NegativePrompt = None,
        image_size: arg.ImageSize = None,
        aspect_ratio: arg.AspectRatio = None,
        batch_size: arg.BatchSize = None,
        num_inference_steps: arg.InferenceSteps = None,
        guidance_scale: arg.GuidanceScale = None,
        seed: arg.Seed = None,
        cfg: arg.Cfg = None,
        prompt_enhancement: arg.PromptEnhancement = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        options = generation_options(locals())
        inputs = {name: value for name, value in (("image", image), ("image2", image2), ("image3", image3)) if value}
        call = ToolCall("image-to-image", model or runtime.settings.edit_model, prompt, aspect_ratio, options, inputs)
        return await run_generation(runtime, call, ctx)

    async def list_models(
        capability: arg.CapabilityFilter = None, ctx: Context | None = None
    ) -> Annotated[CallToolResult, ModelListResult]:
        try:
            context = CallContext.for_request(runtime, request_of(ctx))
        except CallerError as error:
            return error_result(str(error))
        try:
            return await list_models_result(context, capability)
        except ProviderError as error:
            return error_result(context.redact(str(error)))

    generating = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    server.add_tool(
        readable_errors(generate_image, runtime),
        title="Generate image",
        description=GENERATE_DESCRIPTION,
        annotations=generating.model_copy(update={"title": "Generate image"}),
        meta={**LARGE_RESULT_META, **VIEW_TOOL_META},
        structured_output=structured,
    )
    server.add_tool(
        readable_errors(edit_image, runtime),
        title="Edit image",
        description=EDIT_DESCRIPTION,
        annotations=generating.model_copy(update={"title": "Edit image"}),
        meta={**LARGE_RESULT_META, **VIEW_TOOL_META},
        structured_output=structured,
    )
    server.add_tool(
        readable_errors(list_models, runtime),
        title="List models",
        description=LIST_DESCRIPTION,
        annotations=ToolAnnotations(title="List models", read_only_hint=True, open_world_hint=True),
        structured_output=structured,
    )
    tools: dict[str, Callable[..., Any]] = {
        "generate_image": generate_image,
        "edit_image": edit_image,
        "list_models": list_models,
    }
    return {name: func_metadata(tool, skip_names=["ctx"], structured_output=False) for name, tool in tools.items()}


async def run_generation(runtime: Runtime, call: ToolCall, ctx: Context | None) -> CallToolResult:
    """Check everything that can be checked, then generate, for the caller behind `ctx` (its images, its key
    if it brought one); every failure is a readable tool error."""
    try:
        context = CallContext.for_request(runtime, request_of(ctx))
    except CallerError as error:
        return error_result(str(error))
    try:
        request = await prepare(context, call)
        return await execute(context, request, reporter_for(ctx), options_for_client(runtime.settings, ctx))
    except (InvalidArgumentError, InputImageError, ProviderError, NotReadyError) as error:
        return error_result(context.redact(str(error)))


def request_of(ctx: Context | None) -> object | None:
    """The HTTP request behind a call (None over stdio and in memory)."""
    return ctx.request_context.request if ctx is not None else None


def readable_errors(
    tool: Callable[P, Awaitable[CallToolResult]], runtime: Runtime
) -> Callable[P, Awaitable[CallToolResult]]:
    """Turn any unexpected failure of `tool` into a tool error a person can act on (and a traceback on stderr).

    Without this the SDK answers "Error executing tool ...", which tells the caller nothing it can act on.
    """

    @functools.wraps(tool)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await tool(*args, **kwargs)
        except Exception as error:
            said = redact_for_caller(runtime, kwargs.get("ctx"), str(error))
            trace = redact_for_caller(runtime, kwargs.get("ctx"), "".join(traceback.format_exception(error)))
            logger.error("%s failed unexpectedly\n%s", tool.__name__, trace.rstrip())
            return error_result(
                f"{tool.__name__} failed unexpectedly inside this server ({type(error).__name__}: "
                f"{said[:200]}). Images already saved stay in SILICONFLOW_IMAGE_DIR. "
                "Try again; if it keeps failing, report it with the server's log (stderr)."
            )

    return guarded


def redact_for_caller(runtime: Runtime, ctx: object, text: str) -> str:
    """`text` without the server's key, nor the caller's own key if the request behind `ctx` brought one."""
    try:
        return CallContext.for_request(runtime, request_of(ctx if isinstance(ctx, Context) else None)).redact(text)
    except CallerError:  # a header that is no key was refused before anything ran; redact the server's key
        return ProviderKey(runtime.settings.api_key).redact(text)


def options_for_client(settings: Settings, ctx: Context | None) -> ResultOptions:
    """What results carry for the calling client (its preset, its protocol version, the settings)."""
    if ctx is None:
        return ResultOptions.from_settings(settings)
    return options_for_request(settings, ctx.request_context)


def reporter_for(ctx: Context | None) -> ProgressReporter:
    """Progress for this call; the SDK sends nothing when the client gave no progressToken."""
    return ProgressReporter(ctx.report_progress if ctx is not None else None)


def generation_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The optional generation arguments among a tool's parameters (each tool has them all)."""
    return {name: arguments[name] for name in GENERATION_ARGUMENTS}


def error_result(message: str) -> CallToolResult:
    """A tool error the calling model can read and act on (isError, not a protocol error)."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
