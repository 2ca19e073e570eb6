"""Tool argument types: names, ranges and formats from SiliconFlow's image API reference.

These annotations become the tools' JSON input schema, so the model that calls a tool sees the same
limits the provider enforces, and out-of-range values are refused before any credit is spent.
Descriptions are written for that model: what the field does and values that work.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

IMAGE_SIZE_PATTERN = r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$"
ASPECT_RATIO_PATTERN = r"^[1-9][0-9]?:[1-9][0-9]?$"
MAX_SEED = 9_999_999_999

Prompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8000,
        description=(
            "What the image should show. Be concrete: subject, setting, style, lighting, composition, "
            'e.g. "a red fox in fresh snow at dawn, soft golden light, photorealistic, 85mm". '
            "English works for every model; Kolors and Qwen-Image also understand Chinese well."
        ),
    ),
]
Model = Annotated[
    str | None,
    Field(
        description=(
            "Model id, e.g. Kwai-Kolors/Kolors (default), Qwen/Qwen-Image (text inside images), "
            "black-forest-labs/FLUX.1-schnell (fast). Run list_models for all ids and what each accepts."
        ),
    ),
]
NegativePrompt = Annotated[
    str | None,
    Field(
        max_length=4000,
        description='What must NOT appear, e.g. "blurry, low quality, watermark, extra fingers". '
        "Ignored by FLUX models.",
    ),
]
ImageSize = Annotated[
    str | None,
    Field(
        pattern=IMAGE_SIZE_PATTERN,
        examples=["1024x1024", "768x1024"],
        description=(
            'Output size as "WIDTHxHEIGHT" in pixels, e.g. "1024x1024". Each family has native sizes: '
            "Kolors 1024x1024, 960x1280, 768x1024, 720x1440, 720x1280; Qwen-Image 1328x1328, 1664x928, "
            "928x1664, 1472x1140, 1140x1472; FLUX 1024x1024, 1024x768, 768x1024. "
            "Prefer aspect_ratio if you only care about the shape."
        ),
    ),
]
AspectRatio = Annotated[
    str | None,
    Field(
        pattern=ASPECT_RATIO_PATTERN,
        examples=["16:9", "1:1"],
        description=(
            'Shape instead of an exact size, e.g. "1:1", "16:9", "9:16", "4:3", "3:4": the server picks '
            "the chosen model's recommended size for it. Do not combine with image_size."
        ),
    ),
]
BatchSize = Annotated[
    int | None,
    Field(
        ge=1,
        le=4,
        description="How many images to generate in one call, 1-4 (default 1). Every model: Kolors makes them in "
        "one request, others in parallel requests, each image with its own seed (listed in the result).",
    ),
]
InferenceSteps = Annotated[
    int | None,
    Field(
        ge=1,
        le=100,
        description="Denoising steps, 1-100. More is slower and more detailed. Typical: 20 (Kolors, FLUX), "
        "50 (Qwen-Image), 4 (FLUX schnell). Default: the model's recommended value.",
    ),
]
GuidanceScale = Annotated[
    float | None,
    Field(
        ge=0,
        le=20,
        description="Kolors only: how strictly to follow the prompt (CFG scale), 0-20. Typical 5-8 (default 7.5); "
        "higher follows the prompt more literally, lower is more creative. Qwen-Image models use cfg instead.",
    ),
]
Seed = Annotated[
    int | None,
    Field(
        ge=0,
        le=MAX_SEED,
        description="Random seed, 0-9999999999. Reuse the seed from an earlier result with the same prompt "
        "and arguments to reproduce an image; omit for a new random one.",
    ),
]
Cfg = Annotated[
    float | None,
    Field(
        ge=0.1,
        le=20,
        description="Qwen-Image family only: prompt adherence, 0.1-20 (recommended 4.0 with 50 steps).",
    ),
]
PromptEnhancement = Annotated[
    bool | None,
    Field(description="Let the provider rewrite the prompt for better results, where the model supports it."),
]
CapabilityFilter = Annotated[
    Literal["text-to-image", "image-to-image", "text-to-video", "image-to-video"] | None,
    Field(description="Only list models with this capability."),
]
EditPrompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8000,
        description=(
            'The edit to make, as an instruction: "change the car to red", "add a rainbow in the sky", '
            '"put the cat from image 2 on the sofa in image 1". Say what must stay unchanged, too.'
        ),
    ),
]
EditModel = Annotated[
    str | None,
    Field(
        description=(
            "Model id, e.g. Qwen/Qwen-Image-Edit-2509 (default; up to 3 input images), Qwen/Qwen-Image-Edit "
            "(1 image), Kwai-Kolors/Kolors (image-to-image restyling). Run list_models for all."
        ),
    ),
]
_INPUT_FORMS = (
    "an earlier result's path or siliconflow-image:// URI, an absolute local file path, an https:// URL, "
    "or base64 / a data:image/png;base64,... URI. PNG, JPEG or WebP, up to 10 MB."
)
InputImage = Annotated[str, Field(min_length=1, description=f"The image to edit: {_INPUT_FORMS}")]
ExtraInputImage = Annotated[
    str | None,
    Field(description=f"Another input image for multi-image edit models (Qwen/Qwen-Image-Edit-2509): {_INPUT_FORMS}"),
]

VideoPrompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8000,
        description=(
            "What the video should show, and how it moves: subject, action, camera, setting, style, e.g. "
            '"a red fox trotting through fresh snow at dawn, slow tracking shot, soft golden light". With image, '
            "describe the motion to give the picture."
        ),
    ),
]
VideoModel = Annotated[
    str | None,
    Field(
        description=(
            "Video model id: Wan-AI/Wan2.2-T2V-A14B (text-to-video, default) or Wan-AI/Wan2.2-I2V-A14B "
            "(image-to-video; chosen by itself when image is given). Run list_models for all."
        ),
    ),
]
VideoSize = Annotated[
    Literal["1280x720", "720x1280", "960x960"] | None,
    Field(description="Frame size: 1280x720 (landscape, default), 720x1280 (portrait) or 960x960 (square)."),
]
VideoImage = Annotated[
    str | None,
    Field(description=f"Makes it image-to-video: the picture to animate (its first frame): {_INPUT_FORMS}"),
]
WAIT_DEFAULT_SECONDS = 45
"""Below the 60 s many clients allow one tool call."""
MAX_WAIT_SECONDS = 600
Wait = Annotated[
    float | None,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=(
            f"Seconds to wait for the video within this call, 0-{MAX_WAIT_SECONDS} (default {WAIT_DEFAULT_SECONDS}, "
            "under most clients' time limit). 0 answers at once with the job; if it is not done in time, the result "
            "is the job with status working, and get_video picks it up."
        ),
    ),
]
JobHandle = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="The job handle a generate_video result gave (its `job`, 32 hex digits).",
    ),
]
