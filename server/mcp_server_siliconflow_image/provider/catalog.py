"""What the server knows about each image model: data, not branching code.

Agents do not know that Kolors wants `guidance_scale` while Qwen-Image wants `cfg`, or that each
family has its own native sizes. Each entry here says it once; adding a model is adding an entry.

Sources, cited beside each rule as [ref], [spec] or [guide]:
- [ref] SiliconFlow's API reference for `POST /images/generations` (api-docs.siliconflow.cn
  "images-generations-post", docs.siliconflow.cn/api-reference/images/images-generations) and for
  `GET /models` ("models-get"), read for this catalog in December 2026;
- [spec], [guide] the provider's OpenAPI spec and image API guide this server was first built from;
- [video] SiliconFlow's API reference for `POST /video/submit` and `POST /video/status` (api-docs.siliconflow.cn
  "video-submit-post" and "video-status-post", docs.siliconflow.com/en/api-reference/videos/videos_submit), and
  for `GET /models` `type=video`, read for the video tools in December 2026.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ImageCapability = Literal["text-to-image", "image-to-image"]
VideoCapability = Literal["text-to-video", "image-to-video"]
Capability = ImageCapability | VideoCapability
VIDEO_CAPABILITIES: tuple[VideoCapability, ...] = ("text-to-video", "image-to-video")

GENERATION_ARGUMENTS = (
    "negative_prompt",
    "image_size",
    "batch_size",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "cfg",
    "prompt_enhancement",
)
"""Optional arguments beyond `prompt` and `model` that some model may accept."""


MAX_BATCH_SIZE = 4
"""Images one call may ask for ([ref] batch_size: 1-4): one request for native batching, else several."""


def images_asked(arguments: Mapping[str, Any]) -> int:
    """The images a tool call or one provider request asks for: its `batch_size`, else one (the provider's default).

    The one reading of it: how many requests a batch takes, how large an answer may be, how many images of an
    answer are kept.
    """
    asked = arguments.get("batch_size")
    return asked if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0 else 1


@dataclass(frozen=True)
class Family:
    """Rules shared by a model family: sizes it was trained on and the arguments it takes."""

    name: str
    aspect_ratios: dict[str, str]
    """Aspect ratio -> recommended `WxH`; the first entry is the default size."""
    arguments: frozenset[str]
    extra_sizes: tuple[str, ...] = ()
    """Further recommended sizes that share a ratio with one above."""
    defaults: dict[str, float | int] = field(default_factory=dict)
    native_batch: bool = False
    """Whether one request can return several images (`batch_size`); otherwise a batch is fanned out."""

    @property
    def max_batch_size(self) -> int:
        """The most images one request returns for this family."""
        return MAX_BATCH_SIZE if self.native_batch else 1


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: Family
    description: str
    capabilities: tuple[Capability, ...] = ("text-to-image",)
    max_input_images: int = 0
    extra_arguments: frozenset[str] = frozenset()
    image_to_video: str | None = None
    """A text-to-video model's image-to-video sibling: what generate_video switches to when given an image."""

    @property
    def makes_video(self) -> bool:
        return any(capability in VIDEO_CAPABILITIES for capability in self.capabilities)

    @property
    def arguments(self) -> frozenset[str]:
        return self.family.arguments | self.extra_arguments

    @property
    def default_size(self) -> str:
        return next(iter(self.family.aspect_ratios.values()))

    @property
    def recommended_sizes(self) -> tuple[str, ...]:
        return (*self.family.aspect_ratios.values(), *self.family.extra_sizes)


_SIZE_RATIOS_1024 = {
    "1:1": "1024x1024",
    "4:3": "1024x768",
    "3:4": "768x1024",
    "16:9": "1024x576",
    "9:16": "576x1024",
}
"""FLUX and Stable Diffusion sizes ([guide]; [ref] lists recommended sizes for Kolors and Qwen-Image only)."""

KOLORS = Family(
    name="Kolors",
    # [ref] image_size, "Recommended Values ... For Kolor model": 1024x1024, 960x1280, 768x1024, 720x1440, 720x1280.
    aspect_ratios={"1:1": "1024x1024", "3:4": "960x1280", "1:2": "720x1440", "9:16": "720x1280"},
    extra_sizes=("768x1024",),
    # [ref] batch_size and guidance_scale: "Only applicable to Kwai-Kolors/Kolors".
    arguments=frozenset(
        {"negative_prompt", "image_size", "batch_size", "num_inference_steps", "guidance_scale", "seed"}
    ),
    # [ref] the request example: num_inference_steps 20, guidance_scale 7.5.
    defaults={"num_inference_steps": 20, "guidance_scale": 7.5},
    native_batch=True,
)
QWEN_IMAGE = Family(
    name="Qwen-Image",
    # [ref] image_size, "For Qwen-Image model": 1328x1328 (1:1), 1664x928 (16:9), 928x1664 (9:16),
    # 1472x1140 (4:3), 1140x1472 (3:4), 1584x1056 (3:2), 1056x1584 (2:3).
    aspect_ratios={
        "1:1": "1328x1328",
        "16:9": "1664x928",
        "9:16": "928x1664",
        "4:3": "1472x1140",
        "3:4": "1140x1472",
        "3:2": "1584x1056",
        "2:3": "1056x1584",
    },
    # [ref] cfg "is only applicable to Qwen/Qwen-Image models"; guidance_scale and batch_size are Kolors' only.
    arguments=frozenset({"negative_prompt", "image_size", "num_inference_steps", "cfg", "seed"}),
    # [ref] cfg: "The official configuration uses 50 steps with CFG 4.0".
    defaults={"num_inference_steps": 50, "cfg": 4.0},
)
QWEN_IMAGE_EDIT = Family(
    name="Qwen-Image-Edit",
    aspect_ratios=QWEN_IMAGE.aspect_ratios,
    # [ref] image_size: "Qwen/Qwen-Image-Edit-2509 and Qwen/Qwen-Image-Edit not support this field" (the
    # edit keeps the input's size); the reference's own example sends cfg to Qwen-Image-Edit-2509.
    arguments=frozenset({"negative_prompt", "num_inference_steps", "cfg", "seed"}),
    defaults={"num_inference_steps": 50, "cfg": 4.0},
)
FLUX = Family(
    name="FLUX",
    aspect_ratios=_SIZE_RATIOS_1024,
    # [guide] FLUX takes no negative prompt; [ref] batch_size and guidance_scale are Kolors' only.
    arguments=frozenset({"image_size", "num_inference_steps", "seed", "prompt_enhancement"}),
    defaults={"num_inference_steps": 20},
)
FLUX_FIXED_STEPS = Family(
    name="FLUX schnell",
    aspect_ratios=_SIZE_RATIOS_1024,
    # [ref] as read for issue #11: FLUX.1-schnell and Pro/FLUX.1-schnell run a fixed number of steps, so
    # num_inference_steps is not sent to them.
    arguments=frozenset({"image_size", "seed", "prompt_enhancement"}),
)
FLUX_PRO = Family(
    name="FLUX pro",
    aspect_ratios=_SIZE_RATIOS_1024,
    arguments=frozenset({"image_size", "seed", "prompt_enhancement"}),
)
STABLE_DIFFUSION = Family(
    name="Stable Diffusion",
    aspect_ratios=_SIZE_RATIOS_1024,
    # [ref] batch_size and guidance_scale: "Only applicable to Kwai-Kolors/Kolors"; SD batches are fanned out.
    arguments=frozenset({"negative_prompt", "image_size", "num_inference_steps", "seed"}),
    defaults={"num_inference_steps": 20},
)
STABLE_DIFFUSION_TURBO = Family(
    name="Stable Diffusion turbo",
    aspect_ratios=_SIZE_RATIOS_1024,
    # [ref] as read for issue #11: the SD 3.5 turbo variants run a fixed number of steps.
    arguments=frozenset({"negative_prompt", "image_size", "seed"}),
)
VIDEO_SIZES = ("1280x720", "720x1280", "960x960")
"""[video] submit `image_size`: "1280x720" | "720x1280" | "960x960" (the provider refuses any other)."""
WAN_VIDEO = Family(
    name="Wan2.2 video",
    aspect_ratios=dict(zip(("16:9", "9:16", "1:1"), VIDEO_SIZES, strict=True)),
    # [video] submit: model, prompt and image_size are required; negative_prompt, seed and (image-to-video
    # only) image are the other fields. There is no duration, frame rate or step count to choose.
    arguments=frozenset({"negative_prompt", "image_size", "seed"}),
)

MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        "Kwai-Kolors/Kolors",
        KOLORS,
        "Kolors: strong on Chinese prompts and Chinese art styles; batches of up to 4; also image-to-image.",
        capabilities=("text-to-image", "image-to-image"),
        max_input_images=1,
    ),
    ModelInfo("Qwen/Qwen-Image", QWEN_IMAGE, "Qwen-Image: best at rendering text inside images; 50 steps, cfg 4."),
    ModelInfo(
        "Qwen/Qwen-Image-Edit",
        QWEN_IMAGE_EDIT,
        "Qwen-Image-Edit: edits one input image from an instruction (change text, style, objects).",
        capabilities=("image-to-image",),
        max_input_images=1,  # [ref] image2/image3 are only applicable to Qwen/Qwen-Image-Edit-2509
    ),
    ModelInfo(
        "Qwen/Qwen-Image-Edit-2509",
        QWEN_IMAGE_EDIT,
        "Qwen-Image-Edit-2509: edits and combines up to 3 input images (image, image2, image3).",
        capabilities=("image-to-image",),
        max_input_images=3,  # [ref] image, image2, image3
    ),
    ModelInfo("black-forest-labs/FLUX.1-dev", FLUX, "FLUX.1 dev: excellent prompt following and image quality."),
    ModelInfo(
        "black-forest-labs/FLUX.1-schnell",
        FLUX_FIXED_STEPS,
        "FLUX.1 schnell: the fastest FLUX, for drafts (fixed steps).",
    ),
    ModelInfo(
        "Pro/black-forest-labs/FLUX.1-schnell",
        FLUX_FIXED_STEPS,
        "FLUX.1 schnell on dedicated capacity (Pro/, paid): fast drafts without the free tier's limits.",
    ),
    ModelInfo("black-forest-labs/FLUX.1-pro", FLUX_PRO, "FLUX.1 pro: top FLUX quality (paid)."),
    ModelInfo("black-forest-labs/FLUX-1.1-pro", FLUX_PRO, "FLUX 1.1 pro: faster, better FLUX pro (paid)."),
    ModelInfo(
        "stabilityai/stable-diffusion-3-5-large",
        STABLE_DIFFUSION,
        "Stable Diffusion 3.5 large: versatile styles, supports negative prompts.",
    ),
    ModelInfo(
        "stabilityai/stable-diffusion-3-5-large-turbo",
        STABLE_DIFFUSION_TURBO,
        "Stable Diffusion 3.5 large turbo: SD 3.5 in a few fixed steps.",
    ),
    ModelInfo(
        "stabilityai/stable-diffusion-3-medium",
        STABLE_DIFFUSION,
        "Stable Diffusion 3 medium: balanced speed and quality.",
    ),
    ModelInfo(
        "stabilityai/stable-diffusion-xl-base-1.0",
        STABLE_DIFFUSION,
        "SDXL base 1.0: classic, fast, huge style vocabulary.",
    ),
    ModelInfo(
        "Wan-AI/Wan2.2-T2V-A14B",
        WAN_VIDEO,
        "Wan2.2 text-to-video (A14B): a short 720p clip from a prompt; takes minutes.",
        capabilities=("text-to-video",),
        image_to_video="Wan-AI/Wan2.2-I2V-A14B",  # [video] the submit `model` enum names the two as a pair
    ),
    ModelInfo(
        "Wan-AI/Wan2.2-I2V-A14B",
        WAN_VIDEO,
        "Wan2.2 image-to-video (A14B): animates one input image as a short 720p clip; takes minutes.",
        capabilities=("image-to-video",),
        # [video] "When selecting the model Wan-AI/Wan2.2-I2V-... the image parameter is a required field."
        max_input_images=1,
    ),
)

_BY_ID = {model.id.lower(): model for model in MODELS}
_BY_SHORT_NAME = {model.id.split("/")[-1].lower(): model for model in reversed(MODELS)}
"""First entry wins: `FLUX.1-schnell` means black-forest-labs/FLUX.1-schnell, not its Pro/ twin."""


def find_model(model_id: str) -> ModelInfo | None:
    """The catalog entry for `model_id`; gateways often drop the organisation prefix, so match that too."""
    key = model_id.lower()
    return _BY_ID.get(key) or _BY_SHORT_NAME.get(key.split("/")[-1])


def size_for_aspect_ratio(model: ModelInfo | None, aspect_ratio: str) -> str | None:
    """The family's recommended size for a ratio such as "16:9", or None when it has none."""
    return (model.family if model else FLUX).aspect_ratios.get(aspect_ratio.strip())


def supported_aspect_ratios(model: ModelInfo | None) -> list[str]:
    return list((model.family if model else FLUX).aspect_ratios)
