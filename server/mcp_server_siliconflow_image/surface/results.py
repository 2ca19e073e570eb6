"""The result of a generating call, in the shape docs/tools.md's "Results" documents (clients depend on it).

Content, in order: one image block per image (the original, or a preview when the batch would not fit
the client's size limit), one resource_link per image to the full-size file, one short text (first
instead, for clients whose preset says they keep only the first block). The same
facts go into `structuredContent`, because some clients show the model only that. Clients that cannot
use resource links (older protocol versions, some presets) get the same facts in the text alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

from mcp_server_siliconflow_image.pipeline.fanout import MadeImage
from mcp_server_siliconflow_image.pipeline.previews import InlineImage
from mcp_server_siliconflow_image.stores.naming import SavedImage
from mcp_server_siliconflow_image.surface.presets import ResultOptions


class TimingsOut(BaseModel):
    inference: float | None = Field(None, description="Seconds the provider spent generating.")


class ImageOut(BaseModel):
    path: str = Field(
        description="Absolute path of the saved full-size file, or its s3:// object URL: exactly the provider's bytes."
    )
    uri: str = Field(description="MCP resource URI; resources/read returns the full-size bytes.")
    url: str | None = Field(
        None, description="A presigned HTTPS link to the stored object (SILICONFLOW_IMAGE_URL_TTL), when enabled."
    )
    mime_type: str
    width: int
    height: int
    bytes: int = Field(description="Size of the saved file in bytes.")
    sha256: str
    inline: Literal["original", "preview", "none"] = Field(
        description="What the image content block holds: the original bytes, a smaller JPEG preview, or nothing."
    )
    problem: str | None = Field(
        None,
        description="Why the image is not shown inline although it was saved (e.g. its picture data cannot be "
        "decoded); the file holds the provider's bytes as received.",
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


@dataclass(frozen=True)
class ShownImage:
    """A saved image and how its image block shows it (None: not inline, `problem` says why if not by choice)."""

    saved: SavedImage
    inline: InlineImage | None
    problem: str | None = None
    made: MadeImage | None = None
    """Which request made it: its seed and trace id."""


@dataclass(frozen=True)
class Outcome:
    """What one generating call made and learnt: the facts its result reports, whatever the client."""

    model: str
    seed: int | None
    inference_seconds: float | None
    images: list[ShownImage]
    failed: list[FailedImageOut]
    notes: list[str]
    trace_id: str | None = None
    edited: bool = False


def build_result(outcome: Outcome, options: ResultOptions) -> CallToolResult:
    """The contract's result, from the saved images and what each image block shows."""
    images = outcome.images
    notes = list(outcome.notes)
    inlines = [image.inline for image in images]
    previews = sum(1 for inline in inlines if inline is not None and inline.is_preview)
    if previews:
        notes.append(
            f"{previews} inline image(s) are smaller JPEG previews so the result fits the client's size limit; "
            "the full-size originals are saved at the listed paths and readable via their resource URIs."
        )
    if options.inline_max_bytes == 0:
        notes.append("Inline images are off (SILICONFLOW_INLINE_MAX_BYTES=0); read the files or resource URIs.")

    result = GenerationResult(
        model=outcome.model,
        seed=outcome.seed,
        timings=TimingsOut(inference=outcome.inference_seconds),
        images=[_image_out(image) for image in images],
        failed=outcome.failed,
        notes=notes,
        trace_id=outcome.trace_id,
    )
    content: list[ContentBlock] = [
        ImageContent(type="image", data=inline.data_base64, mime_type=inline.mime_type)
        for inline in inlines
        if inline is not None
    ]
    if options.resource_links:
        content += [_resource_link(image.saved, index) for index, image in enumerate(images, start=1)]
    text = TextContent(type="text", text=summary_text(result, "Edited" if outcome.edited else "Generated"))
    content = [text, *content] if options.text_first else [*content, text]
    return CallToolResult(
        content=content,
        structured_content=result.model_dump(mode="json") if options.structured_output else None,
        is_error=not images,
    )


def summary_text(result: GenerationResult, verb: str = "Generated") -> str:
    count = len(result.images)
    seeds = list(dict.fromkeys(image.seed for image in result.images)) or [result.seed]
    said_seeds = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(str(seed) for seed in seeds)
    lines = [f"{verb} {count} image{'s' if count != 1 else ''} with {result.model} ({said_seeds})."]
    for index, image in enumerate(result.images, start=1):
        shown = {"original": "", "preview": ", shown as a preview", "none": ", not shown inline"}[image.inline]
        if image.problem:
            shown += f": {image.problem}; saved as received"
        seed = f", seed {image.seed}" if len(seeds) > 1 else ""
        lines.append(f"{index}. {image.path} ({image.width}x{image.height} {image.mime_type}{shown}{seed}) {image.uri}")
        if image.url:
            lines.append(f"   link (expires): {image.url}")
    lines += [f"Image {failure.index} failed: {failure.error}" for failure in result.failed]
    lines += [f"Note: {note}" for note in result.notes]
    traces = list(dict.fromkeys(image.trace_id for image in result.images if image.trace_id))
    if traces:
        lines.append(f"Provider trace id{'s' if len(traces) > 1 else ''}: {', '.join(traces)}.")
    return "\n".join(lines)


def saved_file_facts(saved: SavedImage) -> dict[str, Any]:
    """What every result says of a saved file (image or video): where it is, what it is, its size and digest."""
    return {
        "path": saved.location,
        "uri": saved.uri,
        "url": saved.url,
        "mime_type": saved.mime_type,
        "bytes": saved.size,
        "sha256": saved.sha256,
    }


def _image_out(image: ShownImage) -> ImageOut:
    saved, inline = image.saved, image.inline
    return ImageOut(
        **saved_file_facts(saved),
        width=saved.width,
        height=saved.height,
        inline="none" if inline is None else ("preview" if inline.is_preview else "original"),
        problem=image.problem,
        seed=image.made.seed if image.made else None,
        trace_id=image.made.trace_id if image.made else None,
    )


def _resource_link(saved: SavedImage, index: int) -> ResourceLink:
    return ResourceLink(
        type="resource_link",
        name=saved.name,
        title=f"Generated image {index} (full size)",
        uri=saved.uri,
        mime_type=saved.mime_type,
        size=saved.size,
    )
