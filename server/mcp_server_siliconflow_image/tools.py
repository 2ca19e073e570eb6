"""The MCP tools: argument schemas from arguments.py, behaviour from payload.py and generation.py."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from mcp_server_siliconflow_image import arguments as arg
from mcp_server_siliconflow_image.catalog import GENERATION_ARGUMENTS, Capability, find_model
from mcp_server_siliconflow_image.directory import unknown_model_message
from mcp_server_siliconflow_image.generation import Runtime, generate
from mcp_server_siliconflow_image.inputs import InputImageError, InputPolicy, load_input_image
from mcp_server_siliconflow_image.models_listing import ModelList, list_models_result
from mcp_server_siliconflow_image.payload import InvalidArgumentError, build_request, check_model_fits
from mcp_server_siliconflow_image.progress import ProgressReporter
from mcp_server_siliconflow_image.provider import ProviderError
from mcp_server_siliconflow_image.results import GenerationResult
from mcp_server_siliconflow_image.viewer import VIEW_TOOL_META

GENERATE_DESCRIPTION = """Generate images from a text prompt with SiliconFlow (Kolors, FLUX, Qwen-Image, SD).

Returns the pictures themselves (inline), saves each full-size file to disk, and gives a resource URI
for each; the result lists path, size and seed. Takes 5-60 s. Reuse the returned seed to reproduce an
image. Arguments a model does not take are skipped and reported in the result's notes."""

EDIT_DESCRIPTION = """Edit or transform existing images from an instruction, e.g. "make the sky stormy",
"replace the text on the sign with OPEN", "put the person from image 1 into the scene of image 2".

`image` (and `image2`, `image3` for multi-image models such as Qwen/Qwen-Image-Edit-2509) may be an absolute
local file path, an https:// URL, or base64 / a data: URI (PNG, JPEG or WebP, up to 10 MB each). A path from an
earlier generate_image result works. Returns the edited images like generate_image does."""

LIST_DESCRIPTION = """List the image models you can use, with what each is for and what it accepts
(capabilities, arguments, recommended sizes and aspect ratios, defaults). Live from the provider when possible."""

# Claude Code truncates tool output past MAX_MCP_OUTPUT_TOKENS unless the tool asks for more room.
_LARGE_RESULT_META = {"anthropic/maxResultSizeChars": 500_000}


def register_tools(server: MCPServer[Any], runtime: Runtime) -> None:
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
        model_id = model or runtime.settings.default_model
        progress = reporter_for(ctx)
        return await run_generation(runtime, "text-to-image", model_id, prompt, aspect_ratio, options, {}, progress)

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
        model_id = model or runtime.settings.edit_model
        progress = reporter_for(ctx)
        return await run_generation(
            runtime, "image-to-image", model_id, prompt, aspect_ratio, options, inputs, progress
        )

    async def list_models(capability: arg.Capability = None) -> Annotated[CallToolResult, ModelList]:
        return await list_models_result(runtime, capability)

    generating = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    server.add_tool(
        generate_image,
        title="Generate image",
        description=GENERATE_DESCRIPTION,
        annotations=generating.model_copy(update={"title": "Generate image"}),
        meta={**_LARGE_RESULT_META, **VIEW_TOOL_META},
        structured_output=structured,
    )
    server.add_tool(
        edit_image,
        title="Edit image",
        description=EDIT_DESCRIPTION,
        annotations=generating.model_copy(update={"title": "Edit image"}),
        meta={**_LARGE_RESULT_META, **VIEW_TOOL_META},
        structured_output=structured,
    )
    server.add_tool(
        list_models,
        title="List image models",
        description=LIST_DESCRIPTION,
        annotations=ToolAnnotations(title="List image models", read_only_hint=True, open_world_hint=True),
        structured_output=structured,
    )


async def run_generation(
    runtime: Runtime,
    capability: Capability,
    model_id: str,
    prompt: str,
    aspect_ratio: str | None,
    options: dict[str, Any],
    inputs: dict[str, str],
    progress: ProgressReporter,
) -> CallToolResult:
    """Check everything that can be checked here, then generate; every failure is a readable tool error."""
    try:
        model_info = find_model(model_id)
        check_model_fits(model_id, model_info, capability, len(inputs))
        live = await runtime.directory.live(runtime.provider, has_key=runtime.settings.api_key is not None)
        if live is not None and (problem := unknown_model_message(model_id, live, capability)):
            return error_result(problem)
        request = build_request(
            model=model_id, model_info=model_info, prompt=prompt, aspect_ratio=aspect_ratio, options=options
        )
        runtime.provider.require_key()  # before reading or downloading any input image
        policy = InputPolicy(
            allowed_dirs=runtime.settings.allowed_input_dirs(),
            trusted_hosts=runtime.settings.trusted_hosts,
        )
        for name, value in inputs.items():
            loaded = await load_input_image(name, value, policy, runtime.http)
            request.payload[name] = loaded.data_uri
        return await generate(runtime, request, progress)
    except (InvalidArgumentError, InputImageError, ProviderError) as error:
        return error_result(str(error))


def reporter_for(ctx: Context | None) -> ProgressReporter:
    """Progress for this call; the SDK sends nothing when the client gave no progressToken."""
    return ProgressReporter(ctx.report_progress if ctx is not None else None)


def generation_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The optional generation arguments among a tool's parameters (each tool has them all)."""
    return {name: arguments[name] for name in GENERATION_ARGUMENTS}


def error_result(message: str) -> CallToolResult:
    """A tool error the calling model can read and act on (isError, not a protocol error)."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
