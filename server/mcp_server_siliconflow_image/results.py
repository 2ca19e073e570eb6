"""The result of a generating call, as CONTRACT.md fixes it.

Content, in order: one image block per image (the original, or a preview when the batch would not fit
the client's size limit), one resource_link per image to the full-size file, one short text. The same
facts go into `structuredContent`, because some clients show the model only that. Clients that cannot
use resource links (older protocol versions, some presets) get the same facts in the text alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

from mcp_server_siliconflow_image.fanout import MadeImage
from mcp_server_siliconflow_image.imageformat import ImageFormat
from mcp_server_siliconflow_image.previews import (
    InlineImage,
    base64_length,
    fits_inline,
    inline_budget_per_image,
    make_preview,
    original_inline,
)
from mcp_server_siliconflow_image.storage import SavedImage


class TimingsOut(BaseModel):
    inference: float | None = Field(None, description="Seconds the provider spent generating.")


class ImageOut(BaseModel):
    path: str = Field(description="Absolute path of the saved full-size file: exactly the provider's bytes.")
    uri: str = Field(description="MCP resource URI; resources/read returns the full-size bytes.")
    mime_type: str
    width: int
    height: int
    bytes: int = Field(description="Size of the saved file in bytes.")
    sha256: str
    inline: Literal["original", "preview", "none"] = Field(
        description="What the image content block holds: the original bytes, a smaller JPEG preview, or nothing."
    )
    seed: int | None = Field(None, description="The seed that made this image; pass it again to reproduce it.")
    trace_id: str | None = Field(
        None, description="The provider's x-siliconcloud-trace-id for the request that made it (for its support)."
    )


class FailedImageOut(BaseModel):
    index: int = Field(description="1-based position of the image in the batch.")
    error: str
    seed: int | None = Field(None, description="The seed this image was asked for.")
    trace_id: str | None = Field(None, description="The provider's trace id for the failed request, if it answered.")


class GenerationResult(BaseModel):
    """Structured result of generate_image and edit_image."""

    model: str
    seed: int | None = Field(description="The seed the provider used; pass it again to reproduce the image.")
    timings: TimingsOut
    images: list[ImageOut]
    failed: list[FailedImageOut] = Field(
        default_factory=list, description="Images the provider generated that could not be fetched."
    )
    notes: list[str] = Field(default_factory=list, description="Adjusted arguments, previews and other remarks.")
    trace_id: str | None = Field(
        None, description="The provider's trace id for the (first) request; quote it to SiliconFlow support."
    )


def build_result(
    *,
    model: str,
    seed: int | None,
    inference_seconds: float | None,
    images: list[SavedImage],
    inlines: list[InlineImage | None],
    made: list[MadeImage],
    failed: list[FailedImageOut],
    notes: list[str],
    inline_max_bytes: int,
    structured: bool,
    resource_links: bool = True,
    trace_id: str | None = None,
    edited: bool = False,
) -> CallToolResult:
    """The contract's result; `inlines` and `made` (one per image) say what each image block shows and
    which seed and request made the image."""
    notes = list(notes)
    previews = sum(1 for inline in inlines if inline is not None and inline.is_preview)
    if previews:
        notes.append(
            f"{previews} inline image(s) are smaller JPEG previews so the result fits the client's size limit; "
            "the full-size originals are saved at the listed paths and readable via their resource URIs."
        )
    if inline_max_bytes == 0:
        notes.append("Inline images are off (SILICONFLOW_INLINE_MAX_BYTES=0); read the files or resource URIs.")

    result = GenerationResult(
        model=model,
        seed=seed,
        timings=TimingsOut(inference=inference_seconds),
        images=[_image_out(image, inline, origin) for image, inline, origin in zip(images, inlines, made, strict=True)],
        failed=failed,
        notes=notes,
        trace_id=trace_id,
    )
    content: list[ContentBlock] = [
        ImageContent(type="image", data=inline.data_base64, mime_type=inline.mime_type)
        for inline in inlines
        if inline is not None
    ]
    if resource_links:
        content += [_resource_link(image, index) for index, image in enumerate(images, start=1)]
    content.append(TextContent(type="text", text=summary_text(result, "Edited" if edited else "Generated")))
    return CallToolResult(
        content=content,
        structured_content=result.model_dump(mode="json") if structured else None,
        is_error=not images,
    )


@dataclass(frozen=True)
class InlinePlan:
    """How a batch is shown: originals only when all of them fit the budget together."""

    budget: int
    share: int
    originals_fit: bool

    @classmethod
    def for_batch(cls, sizes: list[int], budget: int) -> InlinePlan:
        share = inline_budget_per_image(budget, len(sizes))
        return cls(budget, share, budget > 0 and sum(base64_length(size) for size in sizes) <= budget)


def inline_for(data: bytes, image: ImageFormat, plan: InlinePlan) -> InlineImage | None:
    """The image block's content for one image: the original when the plan allows, else a preview."""
    if plan.budget <= 0:
        return None
    if plan.originals_fit and fits_inline(len(data), image.width, image.height, plan.budget):
        return original_inline(data, image.mime_type, image.width, image.height)
    return make_preview(data, plan.share)


def choose_inline_images(images: list[SavedImage], budget: int) -> list[InlineImage | None]:
    """`inline_for` over saved images, one after another."""
    plan = InlinePlan.for_batch([image.size for image in images], budget)
    return [
        inline_for(image.path.read_bytes(), ImageFormat(image.mime_type, image.width, image.height), plan)
        for image in images
    ]


def summary_text(result: GenerationResult, verb: str = "Generated") -> str:
    count = len(result.images)
    seeds = list(dict.fromkeys(image.seed for image in result.images)) or [result.seed]
    said_seeds = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(str(seed) for seed in seeds)
    lines = [f"{verb} {count} image{'s' if count != 1 else ''} with {result.model} ({said_seeds})."]
    for index, image in enumerate(result.images, start=1):
        shown = {"original": "", "preview": ", shown as a preview", "none": ", not shown inline"}[image.inline]
        seed = f", seed {image.seed}" if len(seeds) > 1 else ""
        lines.append(f"{index}. {image.path} ({image.width}x{image.height} {image.mime_type}{shown}{seed}) {image.uri}")
    lines += [f"Image {failure.index} failed: {failure.error}" for failure in result.failed]
    lines += [f"Note: {note}" for note in result.notes]
    traces = list(dict.fromkeys(image.trace_id for image in result.images if image.trace_id))
    if traces:
        lines.append(f"Provider trace id{'s' if len(traces) > 1 else ''}: {', '.join(traces)}.")
    return "\n".join(lines)


def _image_out(saved: SavedImage, inline: InlineImage | None, origin: MadeImage) -> ImageOut:
    return ImageOut(
        path=str(saved.path),
        uri=saved.uri,
        mime_type=saved.mime_type,
        width=saved.width,
        height=saved.height,
        bytes=saved.size,
        sha256=saved.sha256,
        inline="none" if inline is None else ("preview" if inline.is_preview else "original"),
        seed=origin.seed,
        trace_id=origin.trace_id,
    )


def _resource_link(saved: SavedImage, index: int) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        name=saved.path.name,
        title=f"Generated image {index} (full size)",
        uri=saved.uri,
        mime_type=saved.mime_type,
        size=saved.size,
    )
