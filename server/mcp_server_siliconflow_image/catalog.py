"""What the server knows about each image model: data, not branching code.

Agents do not know that Kolors wants `guidance_scale` while Qwen-Image wants `cfg`, or that each
family has its own native sizes. Each entry here says it once; adding a model is adding an entry.
Sources: ../shared/seeds/ (SiliconFlow's image API guide and OpenAPI spec, a compatible gateway's docs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Capability = Literal["text-to-image", "image-to-image"]

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
    max_batch_size: int = 1


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: Family
    description: str
    capabilities: tuple[Capability, ...] = ("text-to-image",)
    max_input_images: int = 0
    extra_arguments: frozenset[str] = frozenset()

    @property
    def arguments(self) -> frozenset[str]:
        return self.family.arguments | self.extra_arguments

    @property
    def default_size(self) -> str:
        return next(iter(self.family.aspect_ratios.values()))

    @property
    def recommended_sizes(self) -> tuple[str, ...]:
        return (*self.family.aspect_ratios.values(), *self.family.extra_sizes)


KOLORS = Family(
    name="Kolors",
    aspect_ratios={"1:1": "1024x1024", "3:4": "960x1280", "1:2": "720x1440", "9:16": "720x1280"},
    extra_sizes=("768x1024",),
    arguments=frozenset(
        {"negative_prompt", "image_size", "batch_size", "num_inference_steps", "guidance_scale", "seed"}
    ),
    defaults={"num_inference_steps": 20, "guidance_scale": 7.5},
    max_batch_size=4,
)
QWEN_IMAGE = Family(
    name="Qwen-Image",
    aspect_ratios={
        "1:1": "1328x1328",
        "16:9": "1664x928",
        "9:16": "928x1664",
        "4:3": "1472x1140",
        "3:4": "1140x1472",
    },
    arguments=frozenset({"negative_prompt", "image_size", "num_inference_steps", "cfg", "seed"}),
    defaults={"num_inference_steps": 50, "cfg": 4.0},
)
QWEN_IMAGE_EDIT = Family(
    name="Qwen-Image-Edit",
    aspect_ratios={
        "1:1": "1328x1328",
        "16:9": "1664x928",
        "9:16": "928x1664",
        "4:3": "1472x1140",
        "3:4": "1140x1472",
    },
    arguments=frozenset({"negative_prompt", "num_inference_steps", "cfg", "seed"}),
    defaults={"num_inference_steps": 50, "cfg": 4.0},
)
FLUX = Family(
    name="FLUX",
    aspect_ratios={
        "1:1": "1024x1024",
        "4:3": "1024x768",
        "3:4": "768x1024",
        "16:9": "1024x576",
        "9:16": "576x1024",
    },
    arguments=frozenset({"image_size", "num_inference_steps", "seed", "prompt_enhancement"}),
    defaults={"num_inference_steps": 20},
)
FLUX_PRO = Family(
    name="FLUX pro",
    aspect_ratios=FLUX.aspect_ratios,
    arguments=frozenset({"image_size", "seed", "prompt_enhancement"}),
)
STABLE_DIFFUSION = Family(
    name="Stable Diffusion",
    aspect_ratios={
        "1:1": "1024x1024",
        "4:3": "1024x768",
        "3:4": "768x1024",
        "16:9": "1024x576",
        "9:16": "576x1024",
    },
    arguments=frozenset(
        {"negative_prompt", "image_size", "batch_size", "num_inference_steps", "guidance_scale", "seed"}
    ),
    defaults={"num_inference_steps": 20, "guidance_scale": 7.5},
    max_batch_size=4,
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
        max_input_images=1,
    ),
    ModelInfo(
        "Qwen/Qwen-Image-Edit-2509",
        QWEN_IMAGE_EDIT,
        "Qwen-Image-Edit-2509: edits and combines up to 3 input images (image, image2, image3).",
        capabilities=("image-to-image",),
        max_input_images=3,
    ),
    ModelInfo("black-forest-labs/FLUX.1-dev", FLUX, "FLUX.1 dev: excellent prompt following and image quality."),
    ModelInfo("black-forest-labs/FLUX.1-schnell", FLUX, "FLUX.1 schnell: the fastest FLUX, for drafts."),
    ModelInfo("black-forest-labs/FLUX.1-pro", FLUX_PRO, "FLUX.1 pro: top FLUX quality (paid)."),
    ModelInfo("black-forest-labs/FLUX-1.1-pro", FLUX_PRO, "FLUX 1.1 pro: faster, better FLUX pro (paid)."),
    ModelInfo(
        "stabilityai/stable-diffusion-3-5-large",
        STABLE_DIFFUSION,
        "Stable Diffusion 3.5 large: versatile styles, supports negative prompts.",
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
)

_BY_ID = {model.id.lower(): model for model in MODELS}
_BY_SHORT_NAME = {model.id.split("/")[-1].lower(): model for model in MODELS}


def find_model(model_id: str) -> ModelInfo | None:
    """The catalog entry for `model_id`; gateways often drop the organisation prefix, so match that too."""
    key = model_id.lower()
    return _BY_ID.get(key) or _BY_SHORT_NAME.get(key.split("/")[-1])


def size_for_aspect_ratio(model: ModelInfo | None, aspect_ratio: str) -> str | None:
    """The family's recommended size for a ratio such as "16:9", or None when it has none."""
    return (model.family if model else FLUX).aspect_ratios.get(aspect_ratio.strip())


def supported_aspect_ratios(model: ModelInfo | None) -> list[str]:
    return list((model.family if model else FLUX).aspect_ratios)
