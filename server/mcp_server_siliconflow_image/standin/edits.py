"""Offline edits: the input picture itself, changed the way the instruction says, and labelled with it.

An edit starts from the input's pixels (resized to the size asked) and applies what it recognises in the
instruction: things to add ("add a full moon above the lighthouse"), remove ("remove the cat"), replace
("turn the cat into a dog") or recolour ("make the boat red"), and changes to the whole picture (night,
sunset, snow, rain, fog, black and white, sepia, a colour tint, brighter, darker, blur, a sketch, a
painting, pixels, a mirror image, a zoom, a frame). A picture the stand-in drew carries its layout (see
standin/scenes.py), so things are found and placed where a person expects; any other picture gets its
additions where such things usually are (a moon in the upper part, a cat near the bottom). An instruction
with nothing recognised still visibly changes the picture (a warm tone and a vignette), and every edit writes
the instruction on the picture, so a person sees which request made it.

Deterministic in (input images, instruction, seed, size, index); no model weights.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from mcp_server_siliconflow_image.standin import scenes
from mcp_server_siliconflow_image.standin.drawings import LIGHTS, Box, Canvas, Colour, Light, Thing, lamp_beam

MAX_INPUT_PIXELS = 40_000_000
"""Inputs larger than this are not decoded (the real provider refuses far smaller ones)."""

ADD_VERBS = ("add", "put", "place", "insert", "draw", "include", "give", "with", "plus", "show", "paint a", "there")
REMOVE_VERBS = ("remove", "delete", "erase", "get rid of", "take away", "take out", "without", "no more")
REPLACE = re.compile(
    r"(?:replace|swap)\s+(?:the\s+)?(?P<old>[\w\u3400-\u9fff]+)\s+(?:with|for|by)\s+(?:a\s+|an\s+|the\s+)?(?P<new>[\w\u3400-\u9fff]+)"
    r"|(?:turn|change|transform|make)\s+(?:the\s+)?(?P<old2>[\w\u3400-\u9fff]+)\s+(?:into|to)\s+(?:a\s+|an\s+|the\s+)?(?P<new2>[\w\u3400-\u9fff]+)"
)
RECOLOUR = re.compile(r"(?:make|paint|turn|colou?r)\s+(?:the\s+)?(?P<thing>[a-z]+)\s+(?P<colour>[a-z]+)")
RESIZE = re.compile(r"\b(?P<thing>[a-z]+)\s+(?P<how>bigger|larger|taller|huge|smaller|tiny)\b")
"""Word-bounded at its start: a run of thousands of letters is not tried at each of its positions."""


@dataclass
class Edit:
    """The picture being edited, with what is known of its layout."""

    canvas: Canvas
    layout: dict[str, Any]
    scene_bottom: int
    horizon: float
    notes: list[str] = field(default_factory=list)
    """What was done, in words: the label's second half."""

    @property
    def image(self) -> Image.Image:
        return self.canvas.image

    @property
    def unit(self) -> float:
        return float(min(self.image.size[0], self.scene_bottom))

    def things(self, name: str) -> list[list[Any]]:
        return [entry for entry in self.layout["things"] if entry[0] == name]

    def forget(self, entry: list[Any]) -> None:
        self.layout["things"].remove(entry)

    def remember(self, name: str, box: Box, cx: float, base: float, height: float) -> None:
        self.layout["things"].append([name, *box, round(cx, 1), round(base, 1), round(height, 1)])

    def scene_region(self, change: Callable[[Image.Image], Image.Image]) -> None:
        """Apply `change` to the picture above its caption band (the caption stays legible)."""
        width = self.image.size[0]
        region = self.image.crop((0, 0, width, self.scene_bottom))
        self.image.paste(change(region).convert("RGB").resize(region.size), (0, 0))
        self.canvas.draw = ImageDraw.Draw(self.image, "RGBA")


# ---------------------------------------------------------------- reading the input


def decode_input(data: bytes) -> tuple[Image.Image, dict[str, Any] | None] | None:
    """The input picture and the layout it carries (when the stand-in drew it); None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.size[0] * opened.size[1] > MAX_INPUT_PIXELS:
                return None
            text = getattr(opened, "text", {}) or {}
            image = opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    try:
        layout = json.loads(text[scenes.LAYOUT_KEY]) if scenes.LAYOUT_KEY in text else None
    except (ValueError, TypeError):
        layout = None
    return image, layout if isinstance(layout, dict) and isinstance(layout.get("things"), list) else None


def _scaled_layout(layout: dict[str, Any] | None, source: tuple[int, int], size: tuple[int, int]) -> dict[str, Any]:
    """The layout of a picture resized from `source` to `size` (or a guess for a picture without one)."""
    height = size[1]
    guess: dict[str, Any] = {"prompt": None, "light": "day", "horizon": round(height * 0.55), "scene_bottom": height,
             "land": None, "sea": None, "things": [], "edits": []}  # fmt: skip
    if layout is None:
        return guess
    try:
        scaled = scenes.scaled_layout(copy.deepcopy(layout), source, size)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):  # a layout this stand-in did not write
        return guess
    edits = scaled.get("edits")
    scaled["edits"] = [str(item) for item in edits] if isinstance(edits, list) else []
    scaled["scene_bottom"] = min(max(1, scaled["scene_bottom"]), height)  # inside the picture, whatever it said
    scaled["horizon"] = min(max(0, scaled["horizon"]), scaled["scene_bottom"])
    return scaled


# ---------------------------------------------------------------- the edit


def edit_png(inputs: tuple[bytes, ...], instruction: str, seed: int, size: tuple[int, int], index: int) -> bytes | None:
    """The first input changed by `instruction` (further inputs set into it), as PNG; None when it cannot be read."""
    digest = hashlib.sha256(b"".join(hashlib.sha256(data).digest() for data in inputs)).hexdigest()
    return _cached_edit(digest, inputs, instruction, seed, size, index)


@functools.lru_cache(maxsize=8)
def _cached_edit(
    digest: str, inputs: tuple[bytes, ...], instruction: str, seed: int, size: tuple[int, int], index: int
) -> bytes | None:
    decoded = decode_input(inputs[0])
    if decoded is None:
        return None
    picture, layout = decoded
    asked = size
    factor = scenes.SMALLEST_DRAWN / min(size)
    if factor > 1 and max(size) * factor <= 4096:  # edit a thumbnail at a size its shapes can be drawn at
        size = (round(size[0] * factor), round(size[1] * factor))
    source = picture.size
    image = picture.resize(size) if picture.size != size else picture
    layout = _scaled_layout(layout, source, size)
    rng = random.Random(hashlib.sha256(f"edit\0{digest}\0{instruction}\0{seed}\0{size}\0{index}".encode()).digest())
    light = LIGHTS.get(str(layout.get("light")), LIGHTS["day"])
    scene_bottom = (
        int(layout["scene_bottom"]) if layout.get("prompt") is not None else size[1] - scenes.caption_height(size)
    )
    edit = Edit(Canvas(image, light, rng), layout, scene_bottom, float(layout["horizon"]))
    apply_instruction(edit, instruction)
    for number, extra in enumerate(inputs[1:], start=2):
        _set_in(edit, extra, number)
    edit.layout["edits"] = [*edit.layout.get("edits", []), instruction]
    edit.layout["scene_bottom"] = edit.scene_bottom
    said = f"edit: {instruction}" + ("" if edit.notes else " (not understood offline: toned and vignetted)")
    lines = [scenes.legible(str(layout["prompt"]))] if layout.get("prompt") else []
    draw_label(edit, [*lines, scenes.legible(said)], f"seed {seed} · offline edit")
    if size != asked:
        return scenes.png_with_layout(
            edit.image.resize(asked, Image.Resampling.LANCZOS), scenes.scaled_layout(edit.layout, size, asked)
        )
    return scenes.png_with_layout(edit.image, edit.layout)


def apply_instruction(edit: Edit, instruction: str) -> None:
    text = instruction.lower()
    handled: set[int] = set()
    for change in (_replace, _remove, _recolour, _resize):
        handled |= change(edit, text)
    _whole_picture(edit, text)
    found = scenes.mentions(instruction)
    targets = {mention.relation[1] for mention in found if mention.relation}
    adding = any(re.search(rf"(?<![a-z]){verb}(?![a-z])", text) for verb in ADD_VERBS)
    for mention in found:
        if mention.start in handled:
            continue
        known = bool(edit.things(mention.thing.name))
        if mention.thing.name in targets and known:
            continue  # "above the lighthouse": the lighthouse is where the moon goes, not something to add
        if known and not adding and mention.thing.name not in ("star", "bird", "cloud"):
            continue
        _add(edit, mention)
    if not edit.notes:
        _unknown(edit)


def _positions(text: str, word: str) -> set[int]:
    return {match.start() for match in re.finditer(re.escape(word), text)}


def _replace(edit: Edit, text: str) -> set[int]:
    handled: set[int] = set()
    for match in REPLACE.finditer(text):
        old_word, new_word = match.group("old") or match.group("old2"), match.group("new") or match.group("new2")
        old, new = scenes.find_thing(old_word), scenes.find_thing(new_word)
        if old is None or new is None or not edit.things(old.name):
            continue
        for entry in edit.things(old.name):
            _erase(edit, scenes.box_of(entry))
            edit.forget(entry)
            cx, base, tall = _stand_of(entry)
            _draw_thing(edit, new, cx, base, tall * new.scale / old.scale, None)
        edit.notes.append(f"{old.name} replaced by {new.name}")
        handled |= _positions(text, old_word) | _positions(text, new_word)
    return handled


def _remove(edit: Edit, text: str) -> set[int]:
    verbs = "|".join(re.escape(verb) for verb in REMOVE_VERBS)
    handled: set[int] = set()
    for match in re.finditer(rf"(?:{verbs})\s+(?:the\s+|a\s+|an\s+|all\s+|any\s+)?([\w\u3400-\u9fff]+)", text):
        thing = scenes.find_thing(match.group(1))
        if thing is None:
            continue
        handled |= {match.start(1)}
        entries = edit.things(thing.name)
        if not entries:
            edit.notes.append(f"no {thing.name} found to remove")
            continue
        for entry in entries:
            _erase(edit, scenes.box_of(entry))
            edit.forget(entry)
        edit.notes.append(f"{thing.name} removed")
    return handled


def _recolour(edit: Edit, text: str) -> set[int]:
    handled: set[int] = set()
    for match in RECOLOUR.finditer(text):
        thing, colour = scenes.find_thing(match.group("thing")), scenes.COLOURS.get(match.group("colour"))
        if thing is None or colour is None or not edit.things(thing.name):
            continue
        for entry in edit.things(thing.name):
            box = scenes.box_of(entry)
            _erase(edit, box)
            edit.forget(entry)
            _draw_thing(edit, thing, *_stand_of(entry), colour)
        edit.notes.append(f"{thing.name} made {match.group('colour')}")
        handled |= {match.start("thing"), match.start("colour")}
    return handled


def _resize(edit: Edit, text: str) -> set[int]:
    handled: set[int] = set()
    for match in RESIZE.finditer(text):
        thing = scenes.find_thing(match.group("thing"))
        if thing is None or not edit.things(thing.name):
            continue
        factor = 1.5 if match.group("how") in ("bigger", "larger", "taller", "huge") else 0.6
        for entry in edit.things(thing.name):
            box = scenes.box_of(entry)
            _erase(edit, box)
            edit.forget(entry)
            cx, base, tall = _stand_of(entry)
            _draw_thing(edit, thing, cx, base, min(tall * factor, base * 0.95), None)
        edit.notes.append(f"{thing.name} made {match.group('how')}")
        handled |= {match.start("thing")}
    return handled


def _stand_of(entry: list[Any]) -> tuple[float, float, float]:
    """Where a drawn thing stands and how tall it was drawn: (cx, base, height)."""
    return float(entry[5]), float(entry[6]), float(entry[7])


# ---------------------------------------------------------------- adding things


def _add(edit: Edit, mention: scenes.Mention) -> None:
    thing = mention.thing
    if thing.name == "star":
        scenes.scatter_stars(edit.canvas, 0, edit.horizon * 0.9, only_dark=edit.canvas.light.name != "night")
        edit.notes.append("stars added")
        return
    count = mention.count or (4 if thing.name == "bird" else 2)
    for copy_number in range(count):
        cx, base, tall = _spot_for(edit, mention, copy_number, count)
        _draw_thing(edit, thing, cx, base, tall, mention.colour)
    where = f" {mention.relation[0]} the {mention.relation[1]}" if mention.relation else ""
    edit.notes.append(f"{thing.name}{'s' if count > 1 else ''} added{where}")


def _draw_thing(edit: Edit, thing: Thing, cx: float, base: float, tall: float, colour: Colour | None) -> None:
    try:
        box = thing.draw(edit.canvas, cx, base, tall, colour)
    except ValueError:  # too thin to draw where it was asked (Pillow refuses inverted boxes)
        return
    edit.remember(thing.name, box, cx, base, tall)


def _spot_for(edit: Edit, mention: scenes.Mention, number: int, count: int) -> tuple[float, float, float]:
    """Where an added thing goes: by its relation to a thing in the picture, else where such things are."""
    thing, rng = mention.thing, edit.canvas.rng
    width = edit.image.size[0]
    unit = edit.unit
    tall = unit * 0.24 * thing.scale * rng.uniform(0.9, 1.1) / max(1, count) ** 0.3
    entries = edit.things(mention.relation[1]) if mention.relation else []
    if entries and mention.relation is not None:
        how = mention.relation[0]
        target = entries[number % len(entries)]
        x0, y0, x1, y1 = scenes.box_of(target)
        if how in ("above", "over"):
            cx, base, height = _stand_of(target)
            cx, cy = scenes.spot_above(cx, base - height, (x1 - x0) / 2, tall, width)
            return cx + (number - (count - 1) / 2) * tall * 1.3, cy, tall
        if how in ("on", "on top of"):
            return (x0 + x1) / 2, float(y0), min(tall, (y1 - y0) * 0.6)
        if how in ("below", "under", "in front of"):
            return (x0 + x1) / 2, min(edit.scene_bottom - 2.0, y1 + (edit.scene_bottom - y1) * 0.5), tall
        side = -1 if how == "left of" or (how not in ("right of",) and x1 + tall > width) else 1
        gap = tall * thing.aspect * 0.6 + (x1 - x0) * 0.1
        cx = (x0 - gap) if side < 0 else (x1 + gap)
        ground_tall = min(tall, (y1 - y0) * 1.2) if thing.layer != "sky" else tall
        return cx, float(y1) if thing.layer != "sky" else (y0 + y1) / 2, ground_tall
    if thing.layer == "sky":
        cx = _open_x(edit, rng, tall)
        cy = edit.horizon * rng.uniform(0.18, 0.4) if thing.name != "bird" else edit.horizon * rng.uniform(0.15, 0.55)
        return cx, max(tall * 0.65, cy), tall
    if thing.layer == "far":
        return width * rng.uniform(0.25, 0.75), edit.horizon, tall
    region = edit.layout.get("sea") if thing.layer == "water" else edit.layout.get("land")
    if not region:
        region = [
            width * 0.08,
            width * 0.92,
            edit.horizon + (edit.scene_bottom - edit.horizon) * 0.4,
            edit.scene_bottom * 0.97,
        ]
    x0, x1, y0, y1 = region
    cell = (x1 - x0) / count
    cx = x0 + cell * (number + 0.5) + rng.uniform(-0.2, 0.2) * cell
    base = y0 + (y1 - y0) * rng.uniform(0.3, 1.0)
    return cx, base, min(tall, base * 0.9)


def _open_x(edit: Edit, rng: random.Random, tall: float) -> float:
    """An x in the sky where the fewest drawn things already are."""
    width = edit.image.size[0]
    candidates = [width * rng.uniform(0.15, 0.85) for _ in range(6)]

    def crowding(x: float) -> float:
        return sum(
            1.0 for entry in edit.layout["things"] if entry[1] - tall < x < entry[3] + tall and entry[2] < edit.horizon
        )

    return min(candidates, key=crowding)


def _erase(edit: Edit, box: Box) -> None:
    """Paint over `box` with what surrounds it: each row blended from its left to its right neighbour (tall
    things), or each column from above to below (wide things), so a horizon or a gradient carries through."""
    width, _ = edit.image.size
    x0, y0 = max(0, box[0] - 2), max(0, box[1] - 2)
    x1, y1 = min(width, box[2] + 2), min(edit.scene_bottom, box[3] + 2)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    image = edit.image
    w, h = x1 - x0, y1 - y0
    if h >= w:
        left = image.crop((max(0, x0 - 2), y0, max(0, x0 - 2) + 1, y1)).resize((w, h))
        right = image.crop((min(width - 1, x1 + 1), y0, min(width - 1, x1 + 1) + 1, y1)).resize((w, h))
        mask = Image.linear_gradient("L").rotate(90).transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((w, h))
        patch = Image.composite(right, left, mask)
    else:
        above = image.crop((x0, max(0, y0 - 2), x1, max(0, y0 - 2) + 1)).resize((w, h))
        below = image.crop((x0, min(edit.scene_bottom - 1, y1 + 1), x1, min(edit.scene_bottom - 1, y1 + 1) + 1)).resize(
            (w, h)
        )
        patch = Image.composite(below, above, Image.linear_gradient("L").resize((w, h)))
    image.paste(patch, (x0, y0))


# ---------------------------------------------------------------- the whole picture


def _tinted(colour: Colour, amount: float) -> Callable[[Image.Image], Image.Image]:
    def change(region: Image.Image) -> Image.Image:
        grey = ImageOps.grayscale(region)
        dark = tuple(int(c * 0.25) for c in colour)
        light = tuple(min(255, int(c * 0.6 + 110)) for c in colour)
        toned = ImageOps.colorize(grey, black=dark, white=light).convert("RGB")
        return Image.blend(region, toned, amount)

    return change


def _blend_with(colour: Colour, amount: float, brightness: float = 1.0) -> Callable[[Image.Image], Image.Image]:
    def change(region: Image.Image) -> Image.Image:
        darker = ImageEnhance.Brightness(region).enhance(brightness)
        return Image.blend(darker, Image.new("RGB", region.size, colour), amount)

    return change


def _sepia(region: Image.Image) -> Image.Image:
    return ImageOps.colorize(ImageOps.grayscale(region), black=(40, 26, 12), white=(255, 238, 204)).convert("RGB")


def _sketch(region: Image.Image) -> Image.Image:
    edges = ImageOps.grayscale(region).filter(ImageFilter.FIND_EDGES)
    return ImageOps.autocontrast(ImageOps.invert(edges)).convert("RGB")


def _painting(region: Image.Image) -> Image.Image:
    """Soft, flat patches of colour: smoothed and posterised at half size, then scaled back up."""
    half = region.resize((max(1, region.size[0] // 2), max(1, region.size[1] // 2)))
    flat = ImageOps.posterize(half.filter(ImageFilter.SMOOTH_MORE), 4).filter(ImageFilter.EDGE_ENHANCE)
    return flat.resize(region.size, Image.Resampling.BICUBIC)


def _pixelated(region: Image.Image) -> Image.Image:
    small = region.resize((max(1, region.size[0] // 24), max(1, region.size[1] // 24)), Image.Resampling.BILINEAR)
    return small.resize(region.size, Image.Resampling.NEAREST)


def _zoomed(region: Image.Image) -> Image.Image:
    width, height = region.size
    return region.crop((width * 0.15, height * 0.15, width * 0.85, height * 0.85)).resize(region.size)


def _mirrored(edit: Edit) -> Callable[[Image.Image], Image.Image]:
    width = edit.image.size[0]
    for entry in edit.layout["things"]:
        entry[1], entry[3] = width - entry[3], width - entry[1]
    return ImageOps.mirror


WHOLE_PICTURE: tuple[tuple[str, tuple[str, ...], Callable[[Edit], Callable[[Image.Image], Image.Image]]], ...] = (
    ("made black and white", ("black and white", "grayscale", "greyscale", "monochrome", "b&w", "黑白"),
     lambda _: lambda region: ImageOps.grayscale(region).convert("RGB")),
    ("made sepia", ("sepia", "vintage", "old photo", "retro", "antique"), lambda _: _sepia),
    ("colours inverted", ("invert", "negative"), lambda _: ImageOps.invert),
    ("blurred", ("blur", "blurry", "soft focus", "dreamy", "模糊"),
     lambda edit: lambda region: region.filter(ImageFilter.GaussianBlur(max(1.0, edit.unit / 160)))),
    ("drawn as a sketch", ("sketch", "pencil", "line drawing", "outline", "素描"), lambda _: _sketch),
    ("painted", ("painting", "watercolor", "watercolour", "oil paint", "impressionist", "van gogh", "cartoon", "comic",
                 "油画", "水彩"), lambda _: _painting),
    ("pixelated", ("pixel", "pixelate", "pixelated", "8-bit", "8 bit", "mosaic", "retro game"), lambda _: _pixelated),
    ("mirrored", ("mirror", "flip", "flipped", "镜像"), _mirrored),
    ("zoomed in", ("zoom", "closer", "close-up", "close up", "crop"), lambda _: _zoomed),
    ("brightened", ("brighter", "lighter", "brighten", "more light", "daytime", "make it day", "变亮"),
     lambda _: lambda region: ImageEnhance.Brightness(region).enhance(1.4)),
    ("darkened", ("darker", "darken", "dim", "moody", "变暗"),
     lambda _: lambda region: ImageEnhance.Brightness(region).enhance(0.6)),
    ("more contrast", ("contrast", "punchy", "vivid", "saturated"),
     lambda _: lambda region: ImageEnhance.Color(ImageEnhance.Contrast(region).enhance(1.4)).enhance(1.4)),
    ("warmer", ("warm", "warmer", "cozy", "cosy"), lambda _: _blend_with((255, 150, 60), 0.16)),
    ("cooler", ("cool", "cooler", "cold", "icy"), lambda _: _blend_with((60, 120, 255), 0.16)),
)  # fmt: skip
TIME_OF_DAY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("night", ("night", "midnight", "nighttime", "starry", "moonlit", "夜", "晚上")),
    ("dusk", ("dusk", "sunset", "evening", "twilight", "golden hour", "黄昏", "日落")),
    ("dawn", ("dawn", "sunrise", "morning", "日出")),
    ("storm", ("storm", "stormy", "thunderstorm", "暴风雨")),
    ("winter", ("winter", "snow", "snowy", "snowing", "wintry", "冬", "雪")),
)  # fmt: skip


def _whole_picture(edit: Edit, text: str) -> None:
    for name, words in TIME_OF_DAY:
        if scenes.contains_word(text, words):
            _relight(edit, LIGHTS[name])
            break
    weather = {name: scenes.contains_word(text, words) for name, words in scenes.WEATHER_WORDS.items()}
    if any(weather.values()):
        scenes.apply_weather(edit.canvas, weather, 0, edit.scene_bottom)
        edit.notes.append(" and ".join(name for name, on in weather.items() if on) + " added")
    for note, words, change in WHOLE_PICTURE:
        if scenes.contains_word(text, words):
            edit.scene_region(change(edit))
            edit.notes.append(note)
    tint = _tint_word(text)
    if tint is not None:
        edit.scene_region(_tinted(scenes.COLOURS[tint], 0.55))
        edit.notes.append(f"tinted {tint}")


def _tint_word(text: str) -> str | None:
    """A colour asked for the whole picture ("make it blue", "in red tones"), not for a thing ("a red boat")."""
    text = re.sub(r"black\s+and\s+white|b&w", " ", text)
    for word in scenes.COLOURS:
        if re.search(
            rf"(?:\bit|\bimage|\bpicture|\bphoto|\beverything|\bmore|\ball)\s+{word}\b|\b{word}\s+(?:tint|tones?|hue|filter|shades?)\b|^\s*{word}\s*$",
            text,
        ):
            return word
    return None


def _relight(edit: Edit, light: Light) -> None:
    """Night, dusk, dawn, a storm or winter over the whole picture, with its lights (stars, a lit lamp)."""
    changes: dict[str, Callable[[Image.Image], Image.Image]] = {
        "night": _blend_with((10, 20, 64), 0.3, 0.55),
        "dusk": _dusk,
        "dawn": _blend_with((255, 190, 150), 0.25, 1.05),
        "storm": lambda region: ImageEnhance.Color(_blend_with((70, 74, 84), 0.3, 0.7)(region)).enhance(0.5),
        "winter": lambda region: ImageEnhance.Color(_blend_with((236, 240, 250), 0.3, 1.1)(region)).enhance(0.55),
    }
    edit.scene_region(changes[light.name])
    edit.canvas.light = light
    edit.layout["light"] = light.name
    if light.name == "night":
        scenes.scatter_stars(edit.canvas, 0, edit.horizon * 0.85, only_dark=True)
    if light.dark:
        for entry in edit.things("lighthouse"):
            x0, y0, x1, y1 = scenes.box_of(entry)
            lamp = ((x0 + x1) / 2, y0 + (y1 - y0) * 0.19)
            edit.canvas.glow(lamp, (y1 - y0) * 0.1, (255, 236, 150), 120)
            if light.name == "night":
                lamp_beam(edit.canvas, lamp, -1 if lamp[0] > edit.image.size[0] / 2 else 1, y1 - y0)
        for entry in edit.things("house"):
            x0, y0, x1, y1 = scenes.box_of(entry)
            edit.canvas.glow(((x0 + x1) / 2, (y0 + y1) * 0.55), (x1 - x0) * 0.3, (255, 214, 110), 50)
    edit.notes.append({"night": "made night", "dusk": "made sunset", "dawn": "made dawn", "storm": "made stormy",
                       "winter": "made wintry"}[light.name])  # fmt: skip


def _dusk(region: Image.Image) -> Image.Image:
    width, height = region.size
    mask = Image.linear_gradient("L").resize((width, height))
    glow = Image.composite(
        Image.new("RGB", region.size, (255, 140, 60)), Image.new("RGB", region.size, (90, 50, 130)), mask
    )
    return Image.blend(ImageEnhance.Brightness(region).enhance(0.85), glow, 0.38)


def _unknown(edit: Edit) -> None:
    """Nothing recognised: still visibly this picture, changed (a warm tone and a vignette); the label says so."""

    def vignette(region: Image.Image) -> Image.Image:
        width, height = region.size
        mask = Image.radial_gradient("L").resize((width, height))
        warm = _blend_with((255, 170, 90), 0.12)(region)
        return Image.composite(Image.new("RGB", region.size, (20, 14, 10)), warm, mask.point(lambda v: int(v * 0.55)))

    edit.scene_region(vignette)


def _set_in(edit: Edit, data: bytes, number: int) -> None:
    """A further input (image2, image3) set into the picture's upper corner, framed and named."""
    decoded = decode_input(data)
    if decoded is None:
        return
    picture, _ = decoded
    width = edit.image.size[0]
    inset_w = max(8, int(width * 0.26))
    inset_h = max(8, int(inset_w * picture.size[1] / max(1, picture.size[0])))
    inset = picture.resize((inset_w, inset_h))
    margin = max(2, int(width * 0.02))
    x = width - margin - inset_w if number == 2 else margin
    y = margin
    border = max(1, int(width / 256))
    edit.canvas.draw.rectangle(
        (x - border, y - border, x + inset_w + border, y + inset_h + border), fill=(250, 250, 250)
    )
    edit.image.paste(inset, (x, y))
    edit.remember(f"image {number}", (x, y, x + inset_w, y + inset_h), x + inset_w / 2, y + inset_h, inset_h)
    edit.notes.append(f"image {number} set in")


def draw_label(edit: Edit, lines: list[str], understood: str) -> None:
    """The caption band again: the original prompt (when known) and this edit's instruction, with what was done."""
    size = edit.image.size
    band = scenes.caption_height(size)
    if band == 0:
        return
    top = size[1] - int(band * (1.4 if len(lines) > 1 else 1.0))
    edit.scene_bottom = min(edit.scene_bottom, top)
    scenes.draw_caption(edit.image, top, lines, understood)
