"""Offline pictures that follow their prompt: a scene composed from the prompt's words, drawn with Pillow.

"a lighthouse on a cliff at dusk" gives a striped lighthouse on a cliff over the sea under a dusk sky; "two
cats in the snow at night" two cats on snow under stars. About forty drawable things (`THINGS`: the sun, the
moon, clouds, mountains, a city, houses, trees, animals, boats...) are placed by where they belong (sky,
horizon, ground, water), coloured by adjectives ("a red car"), counted ("three birds"), lit by the words for
the time and weather (night, dusk, storm, snow, fog), and the prompt is written along the bottom. A prompt
with no word the stand-in knows gets a signpost with its words on it.

Deterministic in (prompt, seed, size, index), no model weights, a few tens of milliseconds. What was drawn
where is kept in the PNG (a text chunk, `LAYOUT_KEY`), so an edit of the picture (standin/edits.py) can put
"a full moon above the lighthouse" or "remove the cat" where a person expects.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from mcp_server_siliconflow_image.standin import drawings as d
from mcp_server_siliconflow_image.standin.drawings import LIGHTS, Box, Canvas, Colour, Light, Thing

LAYOUT_KEY = "siliconflow-standin-layout"
"""The PNG text chunk holding a scene's layout (JSON), read back by edits."""
PNG_COMPRESSION = 3
"""zlib level for the stand-in's PNGs: a tenth of the encoding time of level 9, files still ~100 KB at 1024 px."""

THINGS: tuple[Thing, ...] = (
    Thing("sun", ("sun", "sunny", "sunshine", "太阳"), "sky", d.draw_sun, scale=0.6),
    Thing("moon", ("moon", "full moon", "moonlight", "月亮"), "sky", d.draw_moon, scale=0.5),
    Thing("crescent", ("crescent", "crescent moon", "new moon", "弯月"), "sky", d.draw_crescent, scale=0.5),
    Thing("star", ("star", "starry", "starlight", "星"), "sky", d.draw_star, scale=0.06),
    Thing("cloud", ("cloud", "cloudy", "云"), "sky", d.draw_cloud, scale=0.35),
    Thing("bird", ("bird", "seagull", "gull", "crow", "鸟"), "sky", d.draw_bird, scale=0.14),
    Thing("rainbow", ("rainbow", "彩虹"), "sky", d.draw_rainbow, scale=1.6),
    Thing("balloon", ("hot air balloon", "balloon", "气球"), "sky", d.draw_balloon, scale=0.5),
    Thing("kite", ("kite", "风筝"), "sky", d.draw_kite, scale=0.35),
    Thing("plane", ("airplane", "aeroplane", "plane", "jet", "aircraft", "飞机"), "sky", d.draw_plane, scale=0.25),
    Thing("rocket", ("rocket", "spaceship", "火箭"), "sky", d.draw_rocket, scale=0.6),
    Thing("mountain", ("mountain", "peak", "alps", "山"), "far", d.draw_mountain, aspect=1.8, scale=1.2),
    Thing("hill", ("hill", "hillside", "丘"), "far", d.draw_hill, aspect=3.2, scale=0.5),
    Thing("volcano", ("volcano", "火山"), "far", d.draw_volcano, aspect=2.0, scale=0.9),
    Thing(
        "city",
        ("city", "skyline", "skyscraper", "buildings", "town", "metropolis", "城市"),
        "far",
        d.draw_city,
        aspect=4.8,
        scale=0.9,
    ),
    Thing("forest", ("forest", "woods", "jungle", "森林"), "far", d.draw_forest, aspect=5.2, scale=0.5),
    Thing("lighthouse", ("lighthouse", "灯塔"), "ground", d.draw_lighthouse, aspect=0.4, scale=1.05),
    Thing(
        "house",
        ("house", "home", "cottage", "cabin", "hut", "barn", "villa", "房子", "小屋"),
        "ground",
        d.draw_house,
        aspect=1.25,
    ),
    Thing("castle", ("castle", "palace", "fortress", "城堡"), "ground", d.draw_castle, aspect=1.45, scale=1.4),
    Thing("tower", ("tower", "塔"), "ground", d.draw_tower, aspect=0.35, scale=1.3),
    Thing("tree", ("tree", "oak", "maple", "树"), "ground", d.draw_tree, aspect=0.85, scale=1.1),
    Thing(
        "pine",
        ("pine", "fir", "spruce", "christmas tree", "pine tree", "松"),
        "ground",
        d.draw_pine,
        aspect=0.7,
        scale=1.2,
    ),
    Thing("palm", ("palm", "palm tree", "coconut", "椰子"), "ground", d.draw_palm, aspect=0.85, scale=1.3),
    Thing(
        "flowers",
        ("flower", "rose", "tulip", "daisy", "bouquet", "花"),
        "ground",
        d.draw_flowers,
        aspect=1.25,
        scale=0.35,
    ),
    Thing("cat", ("cat", "kitten", "kitty", "猫"), "ground", d.draw_cat, aspect=0.85, scale=0.5),
    Thing("dog", ("dog", "puppy", "狗"), "ground", d.draw_dog, aspect=1.4, scale=0.5),
    Thing("fox", ("fox", "狐狸"), "ground", d.draw_fox, aspect=1.5, scale=0.45),
    Thing("rabbit", ("rabbit", "bunny", "hare", "兔"), "ground", d.draw_rabbit, aspect=0.7, scale=0.4),
    Thing(
        "person",
        ("person", "man", "woman", "girl", "boy", "child", "kid", "people", "astronaut", "人"),
        "ground",
        d.draw_person,
        aspect=0.4,
        scale=0.7,
    ),
    Thing("car", ("car", "truck", "taxi", "汽车"), "ground", d.draw_car, aspect=2.0, scale=0.45),
    Thing("windmill", ("windmill", "风车"), "ground", d.draw_windmill, aspect=0.9, scale=1.3),
    Thing("tent", ("tent", "camp", "campsite", "帐篷"), "ground", d.draw_tent, aspect=1.2, scale=0.6),
    Thing("snowman", ("snowman", "雪人"), "ground", d.draw_snowman, aspect=0.4, scale=0.7),
    Thing("robot", ("robot", "android", "机器人"), "ground", d.draw_robot, aspect=0.62, scale=0.8),
    Thing("boat", ("boat", "sailboat", "yacht", "sail", "canoe", "船"), "water", d.draw_boat, aspect=1.1, scale=0.6),
    Thing("ship", ("ship", "ferry", "steamer", "liner", "轮船"), "water", d.draw_ship, aspect=2.0, scale=0.55),
    Thing("fish", ("fish", "鱼"), "water", d.draw_fish, aspect=1.25, scale=0.18),
    Thing("duck", ("duck", "swan", "goose", "鸭", "天鹅"), "water", d.draw_duck, aspect=1.2, scale=0.25),
)
BY_NAME = {thing.name: thing for thing in THINGS}

COLOURS: dict[str, Colour] = {
    "red": (214, 40, 46), "orange": (240, 130, 30), "yellow": (246, 210, 40), "green": (60, 160, 70),
    "blue": (44, 100, 214), "purple": (130, 60, 180), "violet": (140, 80, 200), "pink": (240, 130, 170),
    "white": (246, 246, 246), "black": (28, 28, 32), "grey": (130, 130, 136), "gray": (130, 130, 136),
    "brown": (130, 84, 44), "golden": (226, 176, 40), "gold": (226, 176, 40), "silver": (196, 200, 210),
    "teal": (30, 150, 150), "cyan": (40, 200, 220), "红": (214, 40, 46), "蓝": (44, 100, 214), "绿": (60, 160, 70),
    "黄": (246, 210, 40), "黑": (28, 28, 32), "白": (246, 246, 246),
}  # fmt: skip
COUNTS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "several": 3, "some": 3, "few": 3, "many": 5, "lots": 5, "flock": 5, "herd": 4, "group": 4,
}  # fmt: skip
LIGHT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("night", ("night", "midnight", "nighttime", "starry", "moonlit", "dark", "夜", "晚上")),
    ("dusk", ("dusk", "sunset", "evening", "twilight", "golden hour", "黄昏", "日落", "傍晚")),
    ("dawn", ("dawn", "sunrise", "morning", "日出", "早晨")),
    ("storm", ("storm", "stormy", "thunder", "thunderstorm", "lightning", "rain", "rainy", "overcast", "暴风雨", "雨")),
    ("winter", ("snow", "snowy", "winter", "blizzard", "frozen", "雪", "冬")),
)
WEATHER_WORDS: dict[str, tuple[str, ...]] = {
    "rain": ("rain", "rainy", "raining", "storm", "stormy", "thunderstorm", "雨"),
    "snow": ("snow", "snowy", "snowing", "snowfall", "blizzard", "雪"),
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy", "雾"),
    "lightning": ("lightning", "thunder", "thunderstorm"),
}
TERRAIN_WORDS: dict[str, tuple[str, ...]] = {
    "water": ("sea", "ocean", "lake", "river", "water", "waves", "wave", "coast", "coastal", "harbor", "harbour",
              "bay", "pond", "seaside", "shore", "海", "湖", "河"),
    "beach": ("beach", "sand", "sandy", "shore", "沙滩"),
    "cliff": ("cliff", "rock", "rocky", "crag", "headland", "悬崖"),
    "island": ("island", "isle", "岛"),
    "desert": ("desert", "dune", "dunes", "沙漠"),
    "snow": ("snow", "snowy", "winter", "ice", "frozen", "雪", "冬"),
}  # fmt: skip
RELATIONS = ("above", "over", "beside", "next to", "near", "behind", "below", "under", "left of", "right of",
             "in front of", "on top of", "on")  # fmt: skip
STOPWORDS = frozenset(
    ("a", "an", "the", "of", "on", "in", "at", "and", "with", "by", "to", "from", "for", "into", "under", "over",
     "near", "its", "it", "is", "are", "this", "that", "very", "some")
)  # fmt: skip


# ---------------------------------------------------------------- reading the prompt


@dataclass(frozen=True)
class Mention:
    """A drawable thing the text asks for: how many, in what colour, and where relative to what."""

    thing: Thing
    count: int
    colour: Colour | None
    start: int
    end: int
    plural: bool = False
    relation: tuple[str, str] | None = None
    """("above", "lighthouse"): the relation word and the name of the thing it refers to."""


def _has_cjk(word: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" for char in word)


def _pattern(word: str) -> str:
    if _has_cjk(word):
        return re.escape(word)
    plural = "(?:e?s)?" if not word.endswith("s") else ""
    return rf"(?<![a-z]){re.escape(word)}{plural}(?![a-z])"


@functools.lru_cache(maxsize=256)
def _word_regex(word: str) -> re.Pattern[str]:
    return re.compile(_pattern(word))


def contains_word(text: str, words: Iterable[str]) -> bool:
    return any(_word_regex(word).search(text) for word in words)


@functools.lru_cache(maxsize=1024)
def find_thing(word: str) -> Thing | None:
    """The thing a single word names ("lighthouse", "cats", "灯塔"), if any."""
    for thing in THINGS:
        if any(_word_regex(candidate).fullmatch(word) for candidate in thing.words):
            return thing
    return None


MAX_MENTIONS = 12
"""A picture draws at most this many of the things a prompt names (the first ones): an 8000-character prompt
listing hundreds of things stays a picture made in a fraction of a second."""


def mentions(text: str) -> list[Mention]:
    """The drawable things `text` names, in the order it names them (longest words first where they overlap);
    at most MAX_MENTIONS."""
    lowered = text.lower()
    found: list[tuple[int, int, Thing]] = []
    for thing in THINGS:
        for word in thing.words:
            found += [(match.start(), match.end(), thing) for match in _word_regex(word).finditer(lowered)]
    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    taken: list[tuple[int, int, Thing]] = []
    for start, end, thing in found:
        if not taken or start >= taken[-1][1]:  # sorted by start: only the last one taken can overlap
            taken.append((start, end, thing))
            if len(taken) == MAX_MENTIONS:
                break
    return [_mention(lowered, start, end, thing) for start, end, thing in taken]


def _mention(text: str, start: int, end: int, thing: Thing) -> Mention:
    before = re.findall(r"[a-z]+|\d+|[\u3400-\u9fff]", text[max(0, start - 40) : start])[-3:]
    count = 1
    colour = None
    for word in reversed(before):
        if word in COLOURS and colour is None:
            colour = COLOURS[word]
        elif word.isdigit():
            count = int(word)
            break
        elif word in COUNTS:
            count = COUNTS[word]
            break
    matched = text[start:end]
    plural = not _has_cjk(matched) and matched.endswith("s") and not any(word == matched for word in thing.words)
    plural = plural or matched == "people"
    if plural and count == 1:
        count = 0  # "cats": some, chosen when drawing
    return Mention(thing, min(count, 8), colour, start, end, plural, _relation(text[end:]))


def _relation(after: str) -> tuple[str, str] | None:
    words = "|".join(re.escape(word) for word in RELATIONS)
    match = re.match(rf"\s+(?:to the\s+)?({words})\s+(?:the\s+|a\s+|an\s+|its\s+)?([a-z]+|[\u3400-\u9fff]+)", after)
    if match is None:
        return None
    target = find_thing(match.group(2))
    return (match.group(1), target.name) if target else None


def light_for(text: str, found: list[Mention]) -> Light:
    lowered = text.lower()
    for name, words in LIGHT_WORDS:
        if contains_word(lowered, words):
            return LIGHTS[name]
    names = {mention.thing.name for mention in found}
    if names & {"moon", "crescent", "star"} and "sun" not in names:
        return LIGHTS["night"]
    return LIGHTS["day"]


# ---------------------------------------------------------------- the scene's plan


@dataclass
class Placed:
    """One thing to draw: at (cx, base) — a sky thing's centre — `height` pixels tall."""

    thing: Thing
    cx: float
    base: float
    height: float
    colour: Colour | None = None
    main: bool = False


@dataclass
class Scene:
    """Where everything goes in one picture, before anything is drawn."""

    width: int
    height: int
    scene_bottom: int
    horizon: float
    light: Light
    terrain: dict[str, bool]
    weather: dict[str, bool]
    placed: list[Placed] = field(default_factory=list)
    land: tuple[float, float, float, float] = (0, 0, 0, 0)
    """Where things on the ground may stand: x0, x1, and the range of their base line y0..y1."""
    sea: tuple[float, float, float, float] | None = None
    cliff: list[tuple[float, float]] | None = None
    island: tuple[float, float, float, float] | None = None
    beach_top: float | None = None
    placard: str | None = None

    @property
    def unit(self) -> float:
        return float(min(self.width, self.scene_bottom))


def plan_scene(prompt: str, size: tuple[int, int], rng: random.Random) -> Scene:
    """Read the prompt and decide the light, the terrain and where each thing stands."""
    width, height = size
    lowered = prompt.lower()
    found = mentions(prompt)
    bottom = height - caption_height(size)
    horizon = bottom * rng.uniform(0.55, 0.62)
    terrain = {name: contains_word(lowered, words) for name, words in TERRAIN_WORDS.items()}
    layers = {mention.thing.layer for mention in found}
    names = {mention.thing.name for mention in found}
    terrain["water"] = terrain["water"] or terrain["island"] or terrain["beach"] or bool(names & {"lighthouse"})
    terrain["water"] = terrain["water"] or "water" in layers
    if terrain["water"] and "lighthouse" in names:
        terrain["cliff"] = terrain["cliff"] or not (terrain["island"] or terrain["beach"])
    weather = {name: contains_word(lowered, words) for name, words in WEATHER_WORDS.items()}
    light = light_for(prompt, found)
    if light.name in ("dusk", "dawn") and not names & {"sun", "moon", "crescent"}:
        found.append(Mention(BY_NAME["sun"], 1, None, len(prompt), len(prompt)))  # a low sun says "sunset"
    scene = Scene(width, height, bottom, horizon, light, terrain, weather)
    _shape_terrain(scene, rng, needs_land="ground" in layers)
    _place_things(scene, found, rng)
    if not found and not any(terrain.values()) and light.name == "day" and not any(weather.values()):
        words = [word[:24] for word in re.findall(r"[^\W_]+", prompt[:400]) if word.lower() not in STOPWORDS]
        scene.placard = " ".join(words[:3]) or "?"
    return scene


def _shape_terrain(scene: Scene, rng: random.Random, *, needs_land: bool) -> None:
    w, bottom, horizon = scene.width, scene.scene_bottom, scene.horizon
    depth = bottom - horizon
    scene.land = (w * 0.06, w * 0.94, horizon + depth * 0.25, bottom - depth * 0.08)
    if not scene.terrain["water"]:
        return
    scene.sea = (0, w, horizon + depth * 0.08, bottom - depth * 0.1)
    if scene.terrain["cliff"]:
        left = rng.random() < 0.5
        top = horizon - scene.unit * rng.uniform(0.06, 0.12)
        edge = w * rng.uniform(0.4, 0.48)
        x_in, x_out = (0.0, edge) if left else (float(w), w - edge)
        outline = [(x_in, top), (x_out - (edge * 0.08 if left else -edge * 0.08), top)]
        steps = 6
        for step in range(1, steps + 1):
            frac = step / steps
            jag = rng.uniform(-0.04, 0.04) * edge
            x = x_out + (1 if left else -1) * (frac * edge * 0.18 + jag)
            outline.append((x, top + frac * (bottom - top)))
        outline.append((x_in, float(bottom)))
        scene.cliff = outline
        plateau = (x_in + edge * 0.12, x_out - edge * 0.2) if left else (x_out + edge * 0.2, x_in - edge * 0.12)
        scene.land = (min(plateau), max(plateau), top + 2, top + 2)
        scene.sea = ((edge if left else 0), (w if left else w - edge), horizon + depth * 0.1, bottom - depth * 0.1)
    elif scene.terrain["island"]:
        cx = w * rng.uniform(0.35, 0.65)
        half = w * 0.26
        top = horizon + depth * 0.32
        scene.island = (cx - half, top, cx + half, top + depth * 0.5)
        scene.land = (cx - half * 0.6, cx + half * 0.6, top + depth * 0.06, top + depth * 0.12)
    elif needs_land or scene.terrain["beach"]:
        scene.beach_top = bottom - depth * 0.42
        scene.land = (w * 0.06, w * 0.94, scene.beach_top + depth * 0.12, bottom - depth * 0.05)
        scene.sea = (0, w, horizon + depth * 0.06, scene.beach_top - depth * 0.04)


def _how_many(mention: Mention, rng: random.Random) -> int:
    if mention.thing.name == "star":
        return 0  # stars are scattered over the whole sky, see _draw_stars
    if mention.count:
        return mention.count
    return rng.randint(3, 6) if mention.thing.name == "bird" else rng.randint(2, 3)


def _place_things(scene: Scene, found: list[Mention], rng: random.Random) -> None:
    unit = scene.unit
    standing = [m for m in found if m.thing.layer in ("ground", "water")]
    main = standing[0] if standing else None
    by_layer: dict[str, list[tuple[Mention, int]]] = {"ground": [], "water": [], "far": [], "sky": []}
    for mention in found:
        by_layer[mention.thing.layer].append((mention, _how_many(mention, rng)))
    for layer in ("ground", "water"):
        region = scene.land if layer == "ground" else (scene.sea or scene.land)
        copies = [(mention, copy) for mention, count in by_layer[layer] for copy in range(count)]
        slots = _slots(len(copies), region[0], region[1], rng)
        if main is not None and main.thing.layer == layer and len(slots) > 2:
            middle = min(range(len(slots)), key=lambda i: abs(slots[i] - (region[0] + region[1]) / 2))
            slots.insert(0, slots.pop(middle))  # the first thing named stands nearest the middle
        for (mention, copy), cx in zip(copies, slots, strict=True):
            is_main = mention is main and copy == 0
            depth = rng.uniform(0.55, 0.85) if is_main else rng.uniform(0.0, 1.0)
            base = region[2] + (region[3] - region[2]) * depth
            near = (
                1.0
                if scene.cliff
                else 0.6 + 0.6 * max(0.0, base - scene.horizon) / (scene.scene_bottom - scene.horizon)
            )
            tall = unit * 0.24 * mention.thing.scale * near * (1.2 if is_main else 1.0) / max(1, len(copies)) ** 0.25
            tall = min(tall, base - scene.height * 0.04)
            scene.placed.append(Placed(mention.thing, cx, base, tall, mention.colour, is_main))
    for mention, count in by_layer["far"]:
        for copy in range(max(1, count if mention.thing.name in ("mountain", "hill") else 1)):
            tall = unit * 0.24 * mention.thing.scale * rng.uniform(0.75, 1.1) * (0.8 if copy else 1.0)
            cx = scene.width * ((copy + 0.5) / max(1, count) if count > 1 else rng.uniform(0.3, 0.7))
            scene.placed.append(Placed(mention.thing, cx, scene.horizon + 1, tall, mention.colour))
    for mention, count in by_layer["sky"]:
        for _ in range(count):
            scene.placed.append(_in_the_sky(scene, mention, rng))


def _slots(count: int, x0: float, x1: float, rng: random.Random) -> list[float]:
    if count == 0:
        return []
    cell = (x1 - x0) / count
    return [x0 + cell * (i + 0.5) + rng.uniform(-0.2, 0.2) * cell for i in range(count)]


def _in_the_sky(scene: Scene, mention: Mention, rng: random.Random) -> Placed:
    thing, unit = mention.thing, scene.unit
    tall = unit * 0.24 * thing.scale * rng.uniform(0.85, 1.15)
    cx = scene.width * rng.uniform(0.15, 0.85)
    cy = scene.horizon * rng.uniform(0.2, 0.45)
    if thing.name == "sun" and scene.light.name in ("dusk", "dawn"):
        tall *= 1.4
        cy = scene.horizon - tall * 0.15  # low, half set
        if scene.sea is not None:  # over open water, not behind a cliff
            cx = rng.uniform(scene.sea[0] + tall, max(scene.sea[0] + tall, scene.sea[1] - tall))
    if thing.name == "rainbow":
        cx, cy = scene.width * rng.uniform(0.4, 0.6), scene.horizon
        tall = scene.width * 0.42
    if thing.name == "bird":
        cy = scene.horizon * rng.uniform(0.15, 0.6)
    target = mention.relation and next(
        (placed for placed in scene.placed if placed.thing.name == mention.relation[1]), None
    )
    if target and mention.relation and mention.relation[0] in ("above", "over"):
        half_width = target.height * target.thing.aspect / 2
        cx, cy = spot_above(target.cx, target.base - target.height, half_width, tall, scene.width)
    return Placed(thing, cx, cy, tall, mention.colour)


def spot_above(cx: float, top: float, half_width: float, tall: float, width: float) -> tuple[float, float]:
    """Where a sky thing `tall` pixels high goes "above" something whose top is at `top`: straight above when
    there is room, else up beside it on the side with more sky, so that neither covers the other."""
    cy = top - tall * 0.85
    if cy >= tall * 0.6:
        return cx, cy
    side = 1 if cx < width / 2 else -1
    return cx + side * (half_width + tall * 0.75), tall * 0.65


# ---------------------------------------------------------------- drawing


SMALLEST_DRAWN = 256
"""Pictures smaller than this on a side are drawn this large and scaled down: shapes a few pixels wide degenerate."""


def compose(prompt: str, seed: int, size: tuple[int, int], index: int) -> tuple[Image.Image, dict[str, Any]]:
    """The picture for `prompt` and its layout (what was drawn where), deterministic in all four arguments."""
    factor = SMALLEST_DRAWN / min(size)
    if factor <= 1 or max(size) * factor > 4096:
        return _compose(prompt, seed, size, index)
    image, layout = _compose(prompt, seed, (round(size[0] * factor), round(size[1] * factor)), index)
    return image.resize(size, Image.Resampling.LANCZOS), scaled_layout(layout, image.size, size)


def scaled_layout(layout: dict[str, Any], source: tuple[int, int], size: tuple[int, int]) -> dict[str, Any]:
    """The layout of a picture resized from `source` to `size`; ValueError (or KeyError, TypeError) when it is not
    a layout this module wrote."""
    sx, sy = size[0] / source[0], size[1] / source[1]
    scaled = dict(layout)
    scaled["horizon"] = round(float(layout["horizon"]) * sy)
    scaled["scene_bottom"] = round(float(layout["scene_bottom"]) * sy)
    scaled["things"] = [_scaled_entry(entry, sx, sy) for entry in layout["things"]]
    for region in ("land", "sea"):
        if layout.get(region):
            x0, x1, y0, y1 = layout[region]
            scaled[region] = [round(x0 * sx), round(x1 * sx), round(y0 * sy), round(y1 * sy)]
    return scaled


def _scaled_entry(entry: list[Any], sx: float, sy: float) -> list[Any]:
    """A layout entry `[name, x0, y0, x1, y1, cx, base, height]` of a picture scaled by (sx, sy)."""
    name, x0, y0, x1, y1, cx, base, height = entry
    return [str(name), round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy), cx * sx, base * sy, height * sy]


def _compose(prompt: str, seed: int, size: tuple[int, int], index: int) -> tuple[Image.Image, dict[str, Any]]:
    rng = random.Random(hashlib.sha256(f"scene\0{prompt}\0{seed}\0{size}\0{index}".encode()).digest())
    scene = plan_scene(prompt, size, rng)
    image = Image.new("RGB", size)
    canvas = Canvas(image, scene.light, rng)
    paint_sky(canvas, 0, int(scene.horizon) + 2)
    if scene.light.name == "night" or any(p.thing.name == "star" for p in scene.placed) or _mentions_stars(prompt):
        scatter_stars(canvas, 0, scene.horizon * 0.95)
    order = {"sky": 0, "far": 1}
    for placed in sorted(
        (p for p in scene.placed if p.thing.layer in order and p.thing.name not in ("bird", "kite", "plane")),
        key=lambda p: (order[p.thing.layer], p.thing.name != "rainbow"),
    ):
        _draw(canvas, placed)
    _draw_terrain(canvas, scene)
    for placed in sorted((p for p in scene.placed if p.thing.layer in ("ground", "water")), key=lambda p: p.base):
        _draw(canvas, placed)
    if scene.placard:
        tall = scene.unit * 0.3
        box = d.draw_placard(canvas, scene.width / 2, scene.land[3], tall, None)
        write_centred(
            canvas.draw, box[0], box[1], box[2], box[1] + (box[3] - box[1]) * 0.55, scene.placard, (40, 30, 20)
        )
        canvas.record("placard", box, scene.width / 2, scene.land[3], tall)
    for placed in (p for p in scene.placed if p.thing.name in ("bird", "kite", "plane")):
        _draw(canvas, placed)
    apply_weather(canvas, scene.weather, 0, scene.scene_bottom)
    layout = {
        "prompt": prompt,
        "seed": seed,
        "light": scene.light.name,
        "horizon": round(scene.horizon),
        "scene_bottom": scene.scene_bottom,
        "land": [round(value) for value in scene.land],
        "sea": [round(value) for value in scene.sea] if scene.sea else None,
        "things": canvas.drawn,
        "edits": [],
    }
    draw_caption(image, scene.scene_bottom, [legible(prompt)], f"seed {seed} · offline stand-in")
    return image, layout


def _mentions_stars(prompt: str) -> bool:
    return contains_word(prompt.lower(), BY_NAME["star"].words)


def _draw(canvas: Canvas, placed: Placed) -> None:
    try:
        box = placed.thing.draw(canvas, placed.cx, placed.base, placed.height, placed.colour)
    except ValueError:  # too thin to draw on a sliver of a picture (Pillow refuses inverted boxes)
        return
    canvas.record(placed.thing.name, box, placed.cx, placed.base, placed.height)


def paint_sky(canvas: Canvas, top: int, bottom: int) -> None:
    """The light's sky gradient between `top` and `bottom`."""
    width = canvas.size[0]
    height = max(1, bottom - top)
    mask = Image.linear_gradient("L").resize((width, height))
    sky = Image.composite(
        Image.new("RGB", (width, height), canvas.light.sky_bottom),
        Image.new("RGB", (width, height), canvas.light.sky_top),
        mask,
    )
    canvas.image.paste(sky, (0, top))


def scatter_stars(canvas: Canvas, top: float, bottom: float, *, only_dark: bool = False) -> None:
    width = canvas.size[0]
    area = width * max(0.0, bottom - top)
    for _ in range(int(area / 9000) + 12):
        x, y = canvas.rng.uniform(0, width), canvas.rng.uniform(top, bottom)
        if only_dark and sum(canvas.image.getpixel((int(x), int(y)))[:3]) > 240:  # type: ignore[index]
            continue
        r = canvas.rng.choice((0.6, 0.8, 1.0, 1.4)) * max(1.0, canvas.size[0] / 700)
        if canvas.rng.random() < 0.08:
            d.draw_star(canvas, x, y, r * 7, None)
        else:
            canvas.draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 252, 230, 230))


def _draw_terrain(canvas: Canvas, scene: Scene) -> None:
    w, bottom, horizon = scene.width, scene.scene_bottom, scene.horizon
    draw = canvas.draw
    if scene.terrain["snow"] or scene.light.name == "winter":
        ground: Colour = (236, 240, 248)
    elif scene.terrain["desert"]:
        ground = (226, 196, 132)
    else:
        ground = (92, 158, 72)
    draw.rectangle((0, horizon, w, bottom), fill=canvas.shade(ground))
    if scene.sea is not None:
        water_top = canvas.shade((36, 96, 168))
        draw.rectangle((0, horizon, w, bottom), fill=water_top)
        for row in range(24):
            y = horizon + (bottom - horizon) * (row + canvas.rng.random()) / 24
            x = canvas.rng.uniform(0, w)
            length = w * canvas.rng.uniform(0.04, 0.12) * (1 + row / 12)
            draw.line((x, y, x + length, y), fill=(*canvas.shade((150, 196, 232)), 150), width=max(1, int(w / 512)))
        if scene.light.name in ("dusk", "dawn") or any(p.thing.name in ("sun", "moon") for p in scene.placed):
            body = next((p for p in scene.placed if p.thing.name in ("sun", "moon")), None)
            if body is not None:
                tone = (255, 170, 90) if body.thing.name == "sun" else (240, 236, 200)
                for row in range(10):
                    y = horizon + (bottom - horizon) * row / 10 + 2
                    half = body.height * (0.5 - row * 0.03)
                    draw.line((body.cx - half, y, body.cx + half, y), fill=(*tone, 110), width=max(1, int(w / 400)))
    if scene.beach_top is not None:
        sand = canvas.shade((232, 206, 150))
        wave = [
            (x * w / 16, scene.beach_top + (canvas.rng.uniform(-1, 1) * (bottom - horizon) * 0.03)) for x in range(17)
        ]
        draw.polygon([*wave, (w, bottom), (0, bottom)], fill=sand)
        draw.line(wave, fill=(*canvas.shade((250, 250, 250)), 200), width=max(2, int(w / 256)))
    if scene.island is not None:
        x0, y0, x1, y1 = scene.island
        draw.chord((x0, y0, x1, y1 + (y1 - y0)), 180, 360, fill=canvas.shade((226, 200, 140)))
        draw.chord(
            (x0 + (x1 - x0) * 0.12, y0 + (y1 - y0) * 0.1, x1 - (x1 - x0) * 0.12, y1 + (y1 - y0)),
            180,
            360,
            fill=canvas.shade((96, 160, 76)),
        )
    if scene.cliff is not None:
        draw.polygon(scene.cliff, fill=canvas.shade((116, 100, 86)))
        top = scene.cliff[0][1]
        grass = [
            scene.cliff[0],
            scene.cliff[1],
            (scene.cliff[1][0], top + scene.unit * 0.02),
            (scene.cliff[0][0], top + scene.unit * 0.02),
        ]
        draw.polygon(grass, fill=canvas.shade((84, 140, 64)))


def apply_weather(canvas: Canvas, weather: dict[str, bool], top: int, bottom: int) -> None:
    """Rain, snow, fog and lightning over the rows `top`..`bottom` (the picture, not its caption)."""
    width = canvas.size[0]
    draw, rng = canvas.draw, canvas.rng
    area = width * (bottom - top)
    if weather.get("fog"):
        haze = Image.new("RGB", (width, bottom - top), (224, 226, 230))
        mask = Image.linear_gradient("L").resize((width, bottom - top)).point(lambda v: 60 + v // 2)
        region = canvas.image.crop((0, top, width, bottom))
        canvas.image.paste(Image.composite(haze, region, mask), (0, top))
    if weather.get("lightning"):
        x, y = rng.uniform(0.2, 0.8) * width, float(top)
        bolt = [(x, y)]
        while y < top + (bottom - top) * 0.55:
            x += rng.uniform(-0.04, 0.04) * width
            y += (bottom - top) * rng.uniform(0.05, 0.1)
            bolt.append((x, y))
        draw.line(bolt, fill=(255, 255, 210, 255), width=max(2, int(width / 200)))
    if weather.get("rain"):
        length = (bottom - top) * 0.04
        for _ in range(int(area / 1800)):
            x, y = rng.uniform(0, width), rng.uniform(top, bottom - length)
            draw.line((x, y, x - length * 0.25, y + length), fill=(200, 210, 230, 110), width=max(1, int(width / 700)))
    if weather.get("snow"):
        for _ in range(int(area / 2500)):
            x, y = rng.uniform(0, width), rng.uniform(top, bottom)
            r = rng.uniform(1.0, 2.6) * max(1.0, width / 800)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 220))


# ---------------------------------------------------------------- words on the picture


def legible(text: str) -> str:
    """`text` as the built-in font can write it: words in a script it lacks (Chinese) are shown by what they name."""
    if all(ord(char) < 0x250 or char in "…·–—‘’“”" for char in text):
        return text
    latin = " ".join("".join(char if ord(char) < 0x250 else " " for char in text).split())
    names = ", ".join(dict.fromkeys(mention.thing.name for mention in mentions(text))) or "?"
    return f"{latin} [{names}]".strip()


def caption_height(size: tuple[int, int]) -> int:
    """The band along the bottom that carries the prompt; none on pictures too small to read it on."""
    width, height = size
    if min(width, height) < 96:
        return 0
    return max(28, int(height * 0.085))


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _wrapped(draw: ImageDraw.ImageDraw, text: str, face: Any, width: float, lines: int) -> list[str]:
    words = text.split()
    out: list[str] = []
    current = ""
    for position, word in enumerate(words):
        if len(out) == lines:  # full: the rest is cut
            out.append(" ".join(words[position:]))
            break
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=face) <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        out[-1] += " …"
    if out:
        out[-1] = _fitted(draw, out[-1], face, width)
    return out


def _fitted(draw: ImageDraw.ImageDraw, text: str, face: Any, width: float) -> str:
    """`text`, cut short with "…" where it would run past `width` (a binary search: one word may be 8000 letters)."""
    if draw.textlength(text, font=face) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "…", font=face) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def draw_caption(image: Image.Image, top: int, lines: list[str], note: str) -> None:
    """Write `lines` (each wrapped to fit) and a small `note` in a dark band from `top` to the bottom."""
    width, height = image.size
    band = height - top
    if band <= 0:
        return
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, top, width, height), fill=(16, 18, 26))
    rows = max(1, len(lines))
    size = int(band / (rows * 1.25 + 0.3)) if rows > 1 else int(band * 0.42)
    face = font(size)
    note_face = font(max(8, int(size * 0.55)))
    margin = band * 0.25
    note_width = draw.textlength(note, font=note_face)
    y = top + (band - rows * size * 1.2) / 2
    for number, line in enumerate(lines):
        room = width - 2 * margin - (note_width + margin if number == 0 else 0)
        text = (_wrapped(draw, line, face, room, 1) or [""])[0]
        tone = (250, 250, 250) if number == 0 else (255, 214, 100)
        draw.text((margin, y), text, font=face, fill=tone)
        y += size * 1.2
    draw.text((width - margin - note_width, top + band * 0.1), note, font=note_face, fill=(170, 176, 190))


def write_centred(
    draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float, text: str, tone: Colour
) -> None:
    size = int((y1 - y0) * 0.5)
    face = font(size)
    while draw.textlength(text, font=face) > (x1 - x0) * 0.9 and size > 8:
        size -= 2
        face = font(size)
    length = draw.textlength(text, font=face)
    draw.text(((x0 + x1 - length) / 2, (y0 + y1 - size) / 2), text, font=face, fill=tone)


# ---------------------------------------------------------------- bytes


def png_with_layout(image: Image.Image, layout: dict[str, Any]) -> bytes:
    info = PngInfo()
    info.add_text(LAYOUT_KEY, json.dumps(layout, ensure_ascii=False, separators=(",", ":")))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def scene_png(prompt: str, seed: int, size: tuple[int, int], index: int) -> bytes:
    """The scene for `prompt` as PNG bytes, its layout inside."""
    image, layout = compose(prompt, seed, size, index)
    return png_with_layout(image, layout)


def box_of(entry: list[Any]) -> Box:
    return (int(entry[1]), int(entry[2]), int(entry[3]), int(entry[4]))
