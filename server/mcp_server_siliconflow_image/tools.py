"""The MCP tools: argument schemas from arguments.py, behaviour from payload.py and generation.py."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from mcp_server_siliconflow_image import arguments as arg
from mcp_server_siliconflow_image.catalog import find_model
from mcp_server_siliconflow_image.generation import Runtime, generate
from mcp_server_siliconflow_image.payload import InvalidArgumentError, build_request
from mcp_server_siliconflow_image.provider import ProviderError
from mcp_server_siliconflow_image.results import GenerationResult

GENERATE_DESCRIPTION = """Generate images from a text prompt with SiliconFlow (Kolors, FLUX, Qwen-Image, SD).

Returns the pictures themselves (inline), saves each full-size file to disk, and gives a resource URI
for each; the result lists path, size and seed. Takes 5-60 s. Reuse the returned seed to reproduce an
image. Arguments a model does not take are skipped and reported in the result's notes."""

# Claude Code truncates tool output past MAX_MCP_OUTPUT_TOKENS unless the tool asks for more room.
_LARGE_RESULT_META = {"anthropic/maxResultSizeChars": 500_000}


def register_tools(server: MCPServer, runtime: Runtime) -> None:
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
    ) -> Annotated[CallToolResult, GenerationResult]:
        model_id = model or runtime.settings.default_model
        try:
            request = build_request(
                model=model_id,
                model_info=find_model(model_id),
                prompt=prompt,
                aspect_ratio=aspect_ratio,
                options={
                    "negative_prompt": negative_prompt,
                    "image_size": image_size,
                    "batch_size": batch_size,
                    "num_inference_steps": num_inference_steps,
                    "guidance_scale": guidance_scale,
                    "seed": seed,
                    "cfg": cfg,
                    "prompt_enhancement": prompt_enhancement,
                },
            )
            return await generate(runtime, request)
        except (InvalidArgumentError, ProviderError) as error:
            return error_result(str(error))

    server.add_tool(
        generate_image,
        title="Generate image",
        description=GENERATE_DESCRIPTION,
        annotations=ToolAnnotations(
            title="Generate image", read_only_hint=False, destructive_hint=False, open_world_hint=True
        ),
        meta=_LARGE_RESULT_META,
        structured_output=structured,
    )


def error_result(message: str) -> CallToolResult:
    """A tool error the calling model can read and act on (isError, not a protocol error)."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
