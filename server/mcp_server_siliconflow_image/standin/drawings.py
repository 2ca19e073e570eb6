"""The things an offline picture can show, each drawn with a few Pillow primitives.

Every drawing stands on a base point (`cx`, `base`: the middle of its bottom edge; a sky thing's centre for
bodies such as the sun) at a given `height` in pixels, takes an optional colour (from an adjective in the
prompt, "a red boat") and returns the box it covers, so an edit can later find it ("above the lighthouse",
"remove the cat"). Colours go through `Canvas.shade`, which tints them for the scene's light (night, dusk,
a storm); lights (lit windows, the lighthouse lamp, the moon) keep their own colour and glow.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]
Layer = str
"""Where a thing belongs: "sky" (bodies and fliers), "far" (behind the horizon), "ground", "water"."""


@dataclass(frozen=True)
class Light:
    """How the scene's light tints ordinary colours: a multiplier per channel plus an added tint."""

    name: str
    sky_top: Colour
    sky_bottom: Colour
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    tint: Colour = (0, 0, 0)

    @property
    def dark(self) -> bool:
        return self.name in ("night", "dusk")


LIGHTS: dict[str, Light] = {
    "day": Light("day", (64, 126, 214), (178, 214, 244)),
    "dawn": Light("dawn", (112, 140, 214), (255, 206, 160), (0.95, 0.9, 0.88), (18, 8, 0)),
    "dusk": Light("dusk", (52, 36, 104), (252, 146, 78), (0.72, 0.58, 0.58), (40, 12, 8)),
    "night": Light("night", (4, 8, 30), (26, 40, 92), (0.3, 0.34, 0.45), (2, 6, 26)),
    "storm": Light("storm", (62, 66, 78), (138, 142, 150), (0.62, 0.64, 0.68), (14, 14, 18)),
    "winter": Light("winter", (160, 184, 214), (232, 236, 244), (0.92, 0.94, 0.98), (20, 20, 24)),
}


@dataclass
class Canvas:
    """The picture being drawn, its light, and a random source fixed by (prompt, seed, size, index)."""

    image: Image.Image
    light: Light
    rng: random.Random
    drawn: list[list[Any]] = field(default_factory=list)
    """What was drawn where, in drawing order: `[name, x0, y0, x1, y1, cx, base, height]` (the box it covers and
    how it was drawn): the scene's layout, kept in the PNG for later edits."""

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.image, "RGBA")  # RGBA fills blend onto the RGB picture

    def record(self, name: str, box: Box, cx: float, base: float, height: float) -> None:
        self.drawn.append([name, *box, round(cx, 1), round(base, 1), round(height, 1)])

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def shade(self, colour: Colour) -> Colour:
        gain, tint = self.light.gain, self.light.tint
        return (
            min(255, int(colour[0] * gain[0] + tint[0])),
            min(255, int(colour[1] * gain[1] + tint[1])),
            min(255, int(colour[2] * gain[2] + tint[2])),
        )

    def glow(self, centre: tuple[float, float], radius: float, colour: Colour, strength: int = 60) -> None:
        """A soft halo: translucent discs growing outwards (a lamp, the moon, the sun)."""
        for step in range(6, 0, -1):
            r = radius * (1 + step * 0.35)
            alpha = max(4, strength // (step + 1))
            self.draw.ellipse(_around(centre, r), fill=(*colour, alpha))

    def sky_colour(self, y: float) -> Colour:
        """The sky's gradient colour at height `y`, for drawing "holes" (a crescent's dark side)."""
        return self.image.getpixel((0, max(0, min(int(y), self.size[1] - 1))))  # type: ignore[return-value]


Drawing = Callable[[Canvas, float, float, float, Colour | None], Box]


@dataclass(frozen=True)
class Thing:
    """A drawable thing: its name, the words that ask for it, where it belongs, and how wide it is for its height."""

    name: str
    words: tuple[str, ...]
    layer: Layer
    draw: Drawing
    aspect: float = 1.0
    """Width / height, for spacing things along the ground."""
    scale: float = 1.0
    """Its usual height relative to a house."""


def _around(centre: tuple[float, float], radius: float) -> tuple[float, float, float, float]:
    x, y = centre
    return (x - radius, y - radius, x + radius, y + radius)


def _box(*points: tuple[float, float]) -> Box:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (int(min(xs)), int(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))


def _outline(canvas: Canvas) -> tuple[int, int, int, int]:
    return (*canvas.shade((30, 26, 30)), 255)


# ---------------------------------------------------------------- the sky


def draw_sun(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    r = height / 2
    core = colour or ((255, 150, 60) if canvas.light.name in ("dusk", "dawn") else (255, 224, 92))
    canvas.glow((cx, cy), r, core, 90)
    if canvas.light.name not in ("dusk", "dawn"):
        for ray in range(12):
            angle = ray * math.pi / 6
            inner, outer = r * 1.25, r * 1.7
            canvas.draw.line(
                [
                    (cx + inner * math.cos(angle), cy + inner * math.sin(angle)),
                    (cx + outer * math.cos(angle), cy + outer * math.sin(angle)),
                ],
                fill=(*core, 230),
                width=max(1, int(r / 7)),
            )
    canvas.draw.ellipse(_around((cx, cy), r), fill=core)
    return _box((cx - r * 1.7, cy - r * 1.7), (cx + r * 1.7, cy + r * 1.7))


def draw_moon(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    r = height / 2
    face = colour or (246, 240, 206)
    canvas.glow((cx, cy), r, (220, 226, 255), 70)
    canvas.draw.ellipse(_around((cx, cy), r), fill=face)
    for dx, dy, size in ((-0.35, -0.2, 0.22), (0.25, 0.3, 0.16), (0.3, -0.35, 0.1), (-0.1, 0.45, 0.09)):
        canvas.draw.ellipse(_around((cx + dx * r, cy + dy * r), size * r), fill=(214, 206, 178))
    return _box((cx - r, cy - r), (cx + r, cy + r))


def draw_crescent(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    r = height / 2
    canvas.glow((cx, cy), r, (220, 226, 255), 50)
    canvas.draw.ellipse(_around((cx, cy), r), fill=colour or (246, 240, 206))
    canvas.draw.ellipse(_around((cx + r * 0.45, cy - r * 0.2), r * 0.9), fill=canvas.sky_colour(cy))
    return _box((cx - r, cy - r), (cx + r, cy + r))


def draw_star(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    r = height / 2
    tone = colour or (255, 250, 220)
    arms = [(cx, cy - r), (cx + r * 0.22, cy - r * 0.22), (cx + r, cy), (cx + r * 0.22, cy + r * 0.22)]
    arms += [(cx, cy + r), (cx - r * 0.22, cy + r * 0.22), (cx - r, cy), (cx - r * 0.22, cy - r * 0.22)]
    canvas.draw.polygon(arms, fill=tone)
    return _box((cx - r, cy - r), (cx + r, cy + r))


def draw_cloud(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    h = height
    grey = canvas.light.name == "storm"
    tone = colour or ((118, 122, 132) if grey else canvas.shade((250, 250, 252)))
    puffs = ((-0.9, 0.15, 0.42), (-0.4, -0.15, 0.55), (0.2, -0.25, 0.62), (0.75, 0.05, 0.45), (0.0, 0.18, 0.5))
    for dx, dy, size in puffs:
        canvas.draw.ellipse(_around((cx + dx * h, cy + dy * h), size * h), fill=(*tone, 235))
    return _box((cx - 1.35 * h, cy - 0.9 * h), (cx + 1.25 * h, cy + 0.7 * h))


def draw_bird(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    w = height * 1.6
    tone = colour or ((30, 30, 40) if not canvas.light.dark else (10, 10, 16))
    width = max(1, int(height / 6))
    canvas.draw.arc((cx - w / 2, cy - height / 2, cx, cy + height / 2), 200, 330, fill=tone, width=width)
    canvas.draw.arc((cx, cy - height / 2, cx + w / 2, cy + height / 2), 210, 340, fill=tone, width=width)
    return _box((cx - w / 2, cy - height / 2), (cx + w / 2, cy + height / 4))


def draw_rainbow(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    bands = [(228, 40, 40), (245, 140, 30), (245, 220, 40), (60, 180, 70), (40, 110, 220), (120, 60, 190)]
    r = height
    width = max(2, int(r / 14))
    for band, tone in enumerate(bands):
        radius = r - band * width
        canvas.draw.arc(_around((cx, cy), radius), 180, 360, fill=(*tone, 150), width=width)
    return _box((cx - r, cy - r), (cx + r, cy))


def draw_balloon(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    h = height
    tone = canvas.shade(colour or (224, 64, 58))
    stripe = canvas.shade((250, 210, 70))
    envelope = (cx - 0.36 * h, cy - 0.5 * h, cx + 0.36 * h, cy + 0.22 * h)
    canvas.draw.ellipse(envelope, fill=tone)
    canvas.draw.ellipse((cx - 0.14 * h, cy - 0.5 * h, cx + 0.14 * h, cy + 0.22 * h), fill=stripe)
    basket_top = cy + 0.36 * h
    for side in (-1, 1):
        canvas.draw.line((cx + side * 0.2 * h, cy + 0.15 * h, cx + side * 0.07 * h, basket_top), fill=_outline(canvas))
    canvas.draw.rectangle((cx - 0.08 * h, basket_top, cx + 0.08 * h, cy + 0.5 * h), fill=canvas.shade((130, 86, 46)))
    return _box((cx - 0.36 * h, cy - 0.5 * h), (cx + 0.36 * h, cy + 0.5 * h))


def draw_kite(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    h = height
    tone = canvas.shade(colour or (226, 52, 70))
    diamond = [(cx, cy - 0.5 * h), (cx + 0.3 * h, cy - 0.1 * h), (cx, cy + 0.3 * h), (cx - 0.3 * h, cy - 0.1 * h)]
    canvas.draw.polygon(diamond, fill=tone, outline=_outline(canvas))
    canvas.draw.line((cx, cy - 0.5 * h, cx, cy + 0.3 * h), fill=_outline(canvas), width=max(1, int(h / 60)))
    canvas.draw.line((cx - 0.3 * h, cy - 0.1 * h, cx + 0.3 * h, cy - 0.1 * h), fill=_outline(canvas))
    tail = [(cx + math.sin(step / 2) * 0.08 * h, cy + 0.3 * h + step * 0.07 * h) for step in range(9)]
    canvas.draw.line(tail, fill=_outline(canvas), width=max(1, int(h / 80)))
    for x, y in tail[2::3]:
        canvas.draw.polygon(
            [
                (x - 0.05 * h, y - 0.03 * h),
                (x + 0.05 * h, y + 0.03 * h),
                (x + 0.05 * h, y - 0.03 * h),
                (x - 0.05 * h, y + 0.03 * h),
            ],
            fill=canvas.shade((250, 220, 60)),
        )
    return _box((cx - 0.3 * h, cy - 0.5 * h), (cx + 0.3 * h, cy + 0.9 * h))


def draw_plane(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    h = height
    body = canvas.shade(colour or (236, 238, 244))
    canvas.draw.polygon(
        [(cx - 0.1 * h, cy), (cx + 0.25 * h, cy - 0.5 * h), (cx + 0.35 * h, cy - 0.5 * h), (cx + 0.15 * h, cy)],
        fill=canvas.shade((190, 196, 210)),
    )
    canvas.draw.ellipse((cx - 0.9 * h, cy - 0.12 * h, cx + 0.9 * h, cy + 0.12 * h), fill=body, outline=_outline(canvas))
    canvas.draw.polygon(
        [(cx - 0.8 * h, cy - 0.05 * h), (cx - 0.95 * h, cy - 0.42 * h), (cx - 0.7 * h, cy - 0.05 * h)],
        fill=canvas.shade((210, 60, 60)),
    )
    canvas.draw.polygon(
        [
            (cx - 0.05 * h, cy + 0.04 * h),
            (cx + 0.3 * h, cy + 0.45 * h),
            (cx + 0.4 * h, cy + 0.45 * h),
            (cx + 0.2 * h, cy + 0.04 * h),
        ],
        fill=canvas.shade((170, 176, 190)),
    )
    return _box((cx - 0.95 * h, cy - 0.5 * h), (cx + 0.9 * h, cy + 0.45 * h))


def draw_rocket(canvas: Canvas, cx: float, cy: float, height: float, colour: Colour | None) -> Box:
    h = height
    top, bottom = cy - 0.5 * h, cy + 0.3 * h
    flame = [(cx - 0.1 * h, bottom), (cx, cy + 0.5 * h), (cx + 0.1 * h, bottom)]
    canvas.draw.polygon(flame, fill=(255, 170, 40))
    canvas.draw.polygon([(cx - 0.05 * h, bottom), (cx, cy + 0.42 * h), (cx + 0.05 * h, bottom)], fill=(255, 240, 120))
    for side in (-1, 1):
        canvas.draw.polygon(
            [
                (cx + side * 0.11 * h, bottom - 0.25 * h),
                (cx + side * 0.25 * h, bottom + 0.02 * h),
                (cx + side * 0.11 * h, bottom),
            ],
            fill=canvas.shade(colour or (210, 50, 50)),
        )
    canvas.draw.rounded_rectangle(
        (cx - 0.12 * h, top + 0.18 * h, cx + 0.12 * h, bottom),
        radius=0.04 * h,
        fill=canvas.shade((236, 236, 240)),
        outline=_outline(canvas),
    )
    canvas.draw.polygon(
        [(cx - 0.12 * h, top + 0.19 * h), (cx, top), (cx + 0.12 * h, top + 0.19 * h)],
        fill=canvas.shade(colour or (210, 50, 50)),
    )
    canvas.draw.ellipse(_around((cx, top + 0.34 * h), 0.06 * h), fill=(120, 190, 240), outline=_outline(canvas))
    return _box((cx - 0.25 * h, top), (cx + 0.25 * h, cy + 0.5 * h))


# ---------------------------------------------------------------- behind the horizon


def draw_mountain(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    rock = canvas.shade(colour or (96, 104, 128))
    peak = (cx, base - h)
    canvas.draw.polygon([(cx - 0.9 * h, base), peak, (cx + 0.9 * h, base)], fill=rock)
    canvas.draw.polygon([(cx, base - h), (cx + 0.9 * h, base), (cx + 0.25 * h, base)], fill=canvas.shade((80, 86, 108)))
    snow = canvas.shade((246, 248, 252))
    canvas.draw.polygon(
        [
            (cx - 0.25 * h, base - 0.72 * h),
            peak,
            (cx + 0.25 * h, base - 0.72 * h),
            (cx + 0.1 * h, base - 0.78 * h),
            (cx - 0.05 * h, base - 0.7 * h),
        ],
        fill=snow,
    )
    return _box((cx - 0.9 * h, base - h), (cx + 0.9 * h, base))


def draw_hill(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.ellipse((cx - 1.6 * h, base - h, cx + 1.6 * h, base + h), fill=canvas.shade(colour or (104, 170, 84)))
    return _box((cx - 1.6 * h, base - h), (cx + 1.6 * h, base))


def draw_volcano(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.polygon(
        [(cx - 1.0 * h, base), (cx - 0.18 * h, base - h), (cx + 0.18 * h, base - h), (cx + 1.0 * h, base)],
        fill=canvas.shade(colour or (92, 70, 62)),
    )
    canvas.glow((cx, base - h), 0.15 * h, (255, 120, 40), 120)
    canvas.draw.polygon(
        [
            (cx - 0.18 * h, base - h),
            (cx - 0.05 * h, base - 0.6 * h),
            (cx + 0.05 * h, base - 0.75 * h),
            (cx + 0.18 * h, base - h),
        ],
        fill=(255, 110, 30),
    )
    for puff in range(4):
        canvas.draw.ellipse(
            _around((cx + puff * 0.12 * h, base - h - (0.2 + puff * 0.22) * h), (0.14 + puff * 0.05) * h),
            fill=(*canvas.shade((120, 116, 118)), 200),
        )
    return _box((cx - h, base - 2.1 * h), (cx + h, base))


def draw_city(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    left = cx - 2.4 * h
    x = left
    lit = canvas.light.dark
    while x < cx + 2.4 * h:
        width = h * canvas.rng.uniform(0.25, 0.45)
        top = base - h * canvas.rng.uniform(0.35, 1.0)
        canvas.draw.rectangle((x, top, x + width, base), fill=canvas.shade(colour or (88, 96, 116)))
        step = max(3.0, h * 0.07)
        row = top + step
        while row < base - step:
            column = x + step * 0.6
            while column < x + width - step * 0.6:
                on = lit and canvas.rng.random() < 0.55
                tone = (255, 220, 120) if on else canvas.shade((150, 170, 196))
                canvas.draw.rectangle((column, row, column + step * 0.45, row + step * 0.5), fill=tone)
                column += step
            row += step
        x += width + h * 0.02
    return _box((left, base - h), (x, base))


def draw_forest(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    x = cx - 2.6 * h
    while x < cx + 2.6 * h:
        tall = h * canvas.rng.uniform(0.55, 1.0)
        tone = canvas.shade(colour or (34, 96, 58))
        canvas.draw.polygon([(x - 0.22 * tall, base), (x, base - tall), (x + 0.22 * tall, base)], fill=tone)
        x += h * canvas.rng.uniform(0.15, 0.3)
    return _box((cx - 2.8 * h, base - h), (x, base))


# ---------------------------------------------------------------- on the ground


def draw_lighthouse(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    bottom_w, top_w = 0.2 * h, 0.13 * h
    tower_top = base - 0.72 * h
    red = canvas.shade(colour or (206, 44, 44))
    white = canvas.shade((244, 242, 236))
    bands = 5
    for band in range(bands):
        y0 = base - (band + 1) * (base - tower_top) / bands
        y1 = base - band * (base - tower_top) / bands
        w0 = bottom_w + (top_w - bottom_w) * (band + 1) / bands
        w1 = bottom_w + (top_w - bottom_w) * band / bands
        canvas.draw.polygon(
            [(cx - w1, y1), (cx - w0, y0), (cx + w0, y0), (cx + w1, y1)], fill=red if band % 2 == 0 else white
        )
    canvas.draw.rectangle((cx - 0.05 * h, base - 0.16 * h, cx + 0.05 * h, base), fill=canvas.shade((70, 50, 40)))
    gallery = (cx - top_w * 1.45, tower_top - 0.035 * h, cx + top_w * 1.45, tower_top)
    canvas.draw.rectangle(gallery, fill=canvas.shade((44, 44, 52)))
    lamp_top = tower_top - 0.15 * h
    lamp = (cx - top_w * 0.85, lamp_top, cx + top_w * 0.85, tower_top - 0.035 * h)
    lamp_centre = (cx, (lamp[1] + lamp[3]) / 2)
    lit = canvas.light.dark or canvas.light.name == "storm"
    if lit:
        if canvas.light.name != "dusk":
            lamp_beam(canvas, lamp_centre, -1 if cx > canvas.size[0] / 2 else 1, h)
        canvas.glow(lamp_centre, 0.12 * h, (255, 236, 150), 110)
    canvas.draw.rectangle(
        lamp, fill=(255, 226, 110), outline=(*canvas.shade((44, 44, 52)), 255), width=max(1, int(h / 90))
    )
    roof = [(cx - top_w * 1.1, lamp_top), (cx, lamp_top - 0.13 * h), (cx + top_w * 1.1, lamp_top)]
    canvas.draw.polygon(roof, fill=red)
    halo = 0.12 * h * 3.1 if lit else 0.0  # the lamp's glow belongs to the lighthouse (removing it removes both)
    return _box(
        (cx - max(top_w * 1.45, halo), min(lamp_top - 0.13 * h, lamp_centre[1] - halo)),
        (cx + max(bottom_w, halo), base),
    )


def lamp_beam(canvas: Canvas, lamp: tuple[float, float], side: int, height: float) -> None:
    """A lighthouse's beam: a pale wedge from the lamp out over the sea on `side` (-1 left, 1 right)."""
    reach = canvas.size[0] * 0.6
    x, y = lamp
    canvas.draw.polygon(
        [lamp, (x + side * reach, y - 0.22 * height), (x + side * reach, y + 0.18 * height)], fill=(255, 240, 170, 70)
    )


def _window(canvas: Canvas, box: tuple[float, float, float, float]) -> None:
    lit = canvas.light.dark
    canvas.draw.rectangle(
        box,
        fill=(255, 214, 110) if lit else canvas.shade((170, 210, 240)),
        outline=_outline(canvas),
        width=max(1, int((box[2] - box[0]) / 10)),
    )


def draw_house(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    wall = canvas.shade(colour or (236, 214, 170))
    roof = canvas.shade((168, 58, 48))
    top = base - 0.58 * h
    canvas.draw.rectangle((cx + 0.22 * h, base - h * 0.95, cx + 0.34 * h, top), fill=canvas.shade((120, 70, 60)))
    canvas.draw.rectangle((cx - 0.5 * h, top, cx + 0.5 * h, base), fill=wall, outline=_outline(canvas))
    canvas.draw.polygon([(cx - 0.62 * h, top), (cx, base - h), (cx + 0.62 * h, top)], fill=roof)
    canvas.draw.rectangle((cx - 0.1 * h, base - 0.34 * h, cx + 0.1 * h, base), fill=canvas.shade((110, 70, 44)))
    _window(canvas, (cx - 0.4 * h, top + 0.12 * h, cx - 0.2 * h, top + 0.3 * h))
    _window(canvas, (cx + 0.2 * h, top + 0.12 * h, cx + 0.4 * h, top + 0.3 * h))
    return _box((cx - 0.62 * h, base - h), (cx + 0.62 * h, base))


def draw_castle(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    stone = canvas.shade(colour or (170, 166, 160))
    dark = canvas.shade((120, 116, 112))

    def battlements(x0: float, x1: float, y: float) -> None:
        step = (x1 - x0) / 5
        for merlon in range(0, 5, 2):
            canvas.draw.rectangle((x0 + merlon * step, y - 0.06 * h, x0 + (merlon + 1) * step, y), fill=stone)

    canvas.draw.rectangle((cx - 0.55 * h, base - 0.55 * h, cx + 0.55 * h, base), fill=stone)
    battlements(cx - 0.55 * h, cx + 0.55 * h, base - 0.55 * h)
    for side in (-1, 1):
        x0, x1 = cx + side * 0.55 * h - 0.14 * h, cx + side * 0.55 * h + 0.14 * h
        canvas.draw.rectangle((x0, base - 0.85 * h, x1, base), fill=dark)
        canvas.draw.polygon(
            [(x0 - 0.03 * h, base - 0.85 * h), ((x0 + x1) / 2, base - 1.0 * h), (x1 + 0.03 * h, base - 0.85 * h)],
            fill=canvas.shade((70, 80, 150)),
        )
        _window(canvas, ((x0 + x1) / 2 - 0.03 * h, base - 0.7 * h, (x0 + x1) / 2 + 0.03 * h, base - 0.6 * h))
    canvas.draw.line((cx, base - 0.55 * h, cx, base - 0.8 * h), fill=_outline(canvas), width=max(1, int(h / 80)))
    canvas.draw.polygon(
        [(cx, base - 0.8 * h), (cx + 0.14 * h, base - 0.76 * h), (cx, base - 0.72 * h)],
        fill=canvas.shade((210, 40, 50)),
    )
    canvas.draw.chord(
        (cx - 0.13 * h, base - 0.34 * h, cx + 0.13 * h, base - 0.1 * h), 180, 360, fill=canvas.shade((70, 50, 40))
    )
    canvas.draw.rectangle((cx - 0.13 * h, base - 0.22 * h, cx + 0.13 * h, base), fill=canvas.shade((70, 50, 40)))
    return _box((cx - 0.72 * h, base - h), (cx + 0.72 * h, base))


def draw_tower(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.rectangle(
        (cx - 0.12 * h, base - 0.8 * h, cx + 0.12 * h, base),
        fill=canvas.shade(colour or (176, 160, 140)),
        outline=_outline(canvas),
    )
    canvas.draw.polygon(
        [(cx - 0.17 * h, base - 0.8 * h), (cx, base - h), (cx + 0.17 * h, base - 0.8 * h)],
        fill=canvas.shade((90, 70, 120)),
    )
    _window(canvas, (cx - 0.04 * h, base - 0.66 * h, cx + 0.04 * h, base - 0.54 * h))
    return _box((cx - 0.17 * h, base - h), (cx + 0.17 * h, base))


def draw_tree(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.rectangle((cx - 0.06 * h, base - 0.45 * h, cx + 0.06 * h, base), fill=canvas.shade((110, 74, 44)))
    leaves = canvas.shade(colour or (58, 142, 62))
    for dx, dy, r in ((0, -0.72, 0.28), (-0.2, -0.55, 0.22), (0.2, -0.55, 0.22), (0, -0.5, 0.22)):
        canvas.draw.ellipse(_around((cx + dx * h, base + dy * h), r * h), fill=leaves)
    return _box((cx - 0.42 * h, base - h), (cx + 0.42 * h, base))


def draw_pine(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.rectangle((cx - 0.05 * h, base - 0.2 * h, cx + 0.05 * h, base), fill=canvas.shade((100, 66, 40)))
    leaves = canvas.shade(colour or (30, 110, 60))
    for tier in range(3):
        bottom = base - 0.15 * h - tier * 0.25 * h
        half = (0.34 - tier * 0.08) * h
        canvas.draw.polygon([(cx - half, bottom), (cx, bottom - 0.42 * h), (cx + half, bottom)], fill=leaves)
    return _box((cx - 0.34 * h, base - h), (cx + 0.34 * h, base))


def draw_palm(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    trunk = [(cx + math.sin(step / 9 * 1.4) * 0.12 * h, base - step / 9 * 0.82 * h) for step in range(10)]
    canvas.draw.line(trunk, fill=canvas.shade((140, 100, 60)), width=max(2, int(h / 16)))
    top = trunk[-1]
    leaves = canvas.shade(colour or (52, 150, 70))
    for angle in (-160, -120, -70, -30, 10, 200):
        rad = math.radians(angle)
        tip = (top[0] + math.cos(rad) * 0.42 * h, top[1] + math.sin(rad) * 0.3 * h + 0.12 * h)
        mid = (top[0] + math.cos(rad) * 0.22 * h, top[1] + math.sin(rad) * 0.2 * h - 0.04 * h)
        canvas.draw.polygon([top, mid, tip, (mid[0], mid[1] + 0.06 * h)], fill=leaves)
    for dx in (-0.03, 0.03):
        canvas.draw.ellipse(_around((top[0] + dx * h, top[1] + 0.04 * h), 0.035 * h), fill=canvas.shade((110, 70, 30)))
    return _box((top[0] - 0.42 * h, base - h), (top[0] + 0.42 * h, base))


def draw_flowers(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    palette = [(230, 60, 90), (250, 200, 40), (180, 90, 220), (250, 250, 250), (250, 130, 40)]
    for stem in range(5):
        x = cx + (stem - 2) * 0.22 * h
        top = base - h * (0.6 + 0.4 * ((stem * 7) % 5) / 4)
        canvas.draw.line((x, base, x, top), fill=canvas.shade((50, 130, 50)), width=max(1, int(h / 20)))
        petal = canvas.shade(colour or palette[stem % len(palette)])
        for k in range(5):
            angle = k * 2 * math.pi / 5
            canvas.draw.ellipse(
                _around((x + math.cos(angle) * 0.09 * h, top + math.sin(angle) * 0.09 * h), 0.07 * h), fill=petal
            )
        canvas.draw.ellipse(_around((x, top), 0.05 * h), fill=canvas.shade((250, 220, 60)))
    return _box((cx - 0.62 * h, base - h - 0.16 * h), (cx + 0.62 * h, base))


def _eyes(canvas: Canvas, centre: tuple[float, float], spread: float, r: float, tone: Colour) -> None:
    for side in (-1, 1):
        canvas.draw.ellipse(_around((centre[0] + side * spread, centre[1]), r), fill=tone)


def draw_cat(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    fur = canvas.shade(colour or (232, 142, 58))
    canvas.draw.line(
        [(cx + 0.25 * h, base - 0.05 * h), (cx + 0.5 * h, base - 0.2 * h), (cx + 0.48 * h, base - 0.5 * h)],
        fill=fur,
        width=max(2, int(h / 12)),
        joint="curve",
    )
    canvas.draw.ellipse((cx - 0.3 * h, base - 0.62 * h, cx + 0.3 * h, base), fill=fur)
    head = (cx, base - 0.7 * h)
    for side in (-1, 1):
        canvas.draw.polygon(
            [
                (head[0] + side * 0.22 * h, head[1] - 0.02 * h),
                (head[0] + side * 0.2 * h, head[1] - 0.32 * h),
                (head[0] + side * 0.04 * h, head[1] - 0.14 * h),
            ],
            fill=fur,
        )
    canvas.draw.ellipse(_around(head, 0.22 * h), fill=fur)
    _eyes(canvas, (head[0], head[1] - 0.02 * h), 0.09 * h, 0.04 * h, (120, 200, 80))
    canvas.draw.polygon(
        [
            (head[0] - 0.03 * h, head[1] + 0.06 * h),
            (head[0] + 0.03 * h, head[1] + 0.06 * h),
            (head[0], head[1] + 0.1 * h),
        ],
        fill=(230, 110, 130),
    )
    for side in (-1, 1):
        for tilt in (-0.03, 0.03):
            canvas.draw.line(
                (head[0] + side * 0.06 * h, head[1] + 0.09 * h, head[0] + side * 0.3 * h, head[1] + (0.06 + tilt) * h),
                fill=(*_outline(canvas)[:3], 200),
                width=max(1, int(h / 120)),
            )
    return _box((cx - 0.3 * h, base - h), (cx + 0.55 * h, base))


def draw_dog(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    fur = canvas.shade(colour or (176, 120, 70))
    dark = canvas.shade((110, 70, 40))
    for dx in (-0.35, -0.2, 0.2, 0.35):
        canvas.draw.rectangle((cx + dx * h - 0.05 * h, base - 0.35 * h, cx + dx * h + 0.05 * h, base), fill=fur)
    canvas.draw.rounded_rectangle(
        (cx - 0.45 * h, base - 0.62 * h, cx + 0.42 * h, base - 0.28 * h), radius=0.15 * h, fill=fur
    )
    canvas.draw.line(
        [(cx - 0.42 * h, base - 0.5 * h), (cx - 0.62 * h, base - 0.75 * h)], fill=fur, width=max(2, int(h / 14))
    )
    head = (cx + 0.45 * h, base - 0.72 * h)
    canvas.draw.ellipse(_around(head, 0.2 * h), fill=fur)
    canvas.draw.ellipse((head[0] + 0.05 * h, head[1] - 0.02 * h, head[0] + 0.32 * h, head[1] + 0.14 * h), fill=fur)
    canvas.draw.ellipse(_around((head[0] + 0.31 * h, head[1] + 0.03 * h), 0.04 * h), fill=(30, 24, 24))
    canvas.draw.ellipse((head[0] - 0.2 * h, head[1] - 0.12 * h, head[0] - 0.06 * h, head[1] + 0.2 * h), fill=dark)
    canvas.draw.ellipse(_around((head[0] + 0.06 * h, head[1] - 0.06 * h), 0.03 * h), fill=(30, 24, 24))
    return _box((cx - 0.62 * h, base - h), (cx + 0.78 * h, base))


def draw_fox(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    fur = canvas.shade(colour or (226, 112, 36))
    white = canvas.shade((248, 244, 236))
    canvas.draw.ellipse((cx - 0.85 * h, base - 0.55 * h, cx - 0.2 * h, base - 0.2 * h), fill=fur)
    canvas.draw.ellipse((cx - 0.9 * h, base - 0.5 * h, cx - 0.68 * h, base - 0.3 * h), fill=white)
    for dx in (-0.2, 0.2):
        canvas.draw.rectangle((cx + dx * h - 0.04 * h, base - 0.3 * h, cx + dx * h + 0.04 * h, base), fill=(50, 34, 30))
    canvas.draw.ellipse((cx - 0.35 * h, base - 0.6 * h, cx + 0.35 * h, base - 0.25 * h), fill=fur)
    head = (cx + 0.38 * h, base - 0.68 * h)
    for dx in (-0.12, 0.12):
        canvas.draw.polygon(
            [
                (head[0] + dx * h - 0.07 * h, head[1] - 0.08 * h),
                (head[0] + dx * h, head[1] - 0.34 * h),
                (head[0] + dx * h + 0.07 * h, head[1] - 0.08 * h),
            ],
            fill=fur,
        )
    canvas.draw.polygon(
        [
            (head[0] - 0.2 * h, head[1] - 0.12 * h),
            (head[0] + 0.2 * h, head[1] - 0.12 * h),
            (head[0], head[1] + 0.22 * h),
        ],
        fill=fur,
    )
    canvas.draw.polygon(
        [
            (head[0] - 0.1 * h, head[1] + 0.04 * h),
            (head[0] + 0.1 * h, head[1] + 0.04 * h),
            (head[0], head[1] + 0.22 * h),
        ],
        fill=white,
    )
    _eyes(canvas, (head[0], head[1] - 0.02 * h), 0.08 * h, 0.025 * h, (30, 24, 24))
    return _box((cx - 0.9 * h, base - h), (cx + 0.6 * h, base))


def draw_rabbit(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    fur = canvas.shade(colour or (226, 222, 214))
    canvas.draw.ellipse((cx - 0.3 * h, base - 0.45 * h, cx + 0.25 * h, base), fill=fur)
    canvas.draw.ellipse(_around((cx - 0.3 * h, base - 0.2 * h), 0.07 * h), fill=canvas.shade((250, 250, 250)))
    head = (cx + 0.2 * h, base - 0.5 * h)
    for dx in (-0.05, 0.06):
        canvas.draw.ellipse(
            (head[0] + dx * h - 0.05 * h, head[1] - 0.5 * h, head[0] + dx * h + 0.05 * h, head[1] - 0.05 * h), fill=fur
        )
    canvas.draw.ellipse(_around(head, 0.14 * h), fill=fur)
    canvas.draw.ellipse(_around((head[0] + 0.05 * h, head[1] - 0.02 * h), 0.025 * h), fill=(40, 30, 30))
    return _box((cx - 0.37 * h, base - h), (cx + 0.34 * h, base))


def draw_person(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    skin = canvas.shade((232, 190, 150))
    shirt = canvas.shade(colour or (60, 110, 200))
    trousers = canvas.shade((50, 56, 80))
    width = max(2, int(h / 14))
    for side in (-1, 1):
        canvas.draw.line((cx, base - 0.45 * h, cx + side * 0.12 * h, base), fill=trousers, width=width)
        canvas.draw.line((cx, base - 0.75 * h, cx + side * 0.2 * h, base - 0.5 * h), fill=shirt, width=width)
    canvas.draw.rounded_rectangle(
        (cx - 0.1 * h, base - 0.8 * h, cx + 0.1 * h, base - 0.42 * h), radius=0.05 * h, fill=shirt
    )
    canvas.draw.ellipse(_around((cx, base - 0.89 * h), 0.11 * h), fill=skin)
    return _box((cx - 0.2 * h, base - h), (cx + 0.2 * h, base))


def draw_car(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    paint = canvas.shade(colour or (210, 40, 46))
    canvas.draw.polygon(
        [
            (cx - 0.45 * h, base - 0.55 * h),
            (cx - 0.3 * h, base - 0.85 * h),
            (cx + 0.35 * h, base - 0.85 * h),
            (cx + 0.55 * h, base - 0.55 * h),
        ],
        fill=paint,
    )
    for x0, x1 in ((-0.3, 0.0), (0.05, 0.36)):
        canvas.draw.polygon(
            [
                (cx + x0 * h, base - 0.58 * h),
                (cx + (x0 + 0.06) * h, base - 0.8 * h),
                (cx + (x1 - 0.04) * h, base - 0.8 * h),
                (cx + x1 * h, base - 0.58 * h),
            ],
            fill=canvas.shade((170, 210, 240)),
        )
    canvas.draw.rounded_rectangle((cx - h, base - 0.6 * h, cx + h, base - 0.2 * h), radius=0.12 * h, fill=paint)
    for dx in (-0.58, 0.58):
        canvas.draw.ellipse(_around((cx + dx * h, base - 0.2 * h), 0.2 * h), fill=(30, 30, 34))
        canvas.draw.ellipse(_around((cx + dx * h, base - 0.2 * h), 0.09 * h), fill=(190, 190, 196))
    lamp = (255, 236, 150) if canvas.light.dark else canvas.shade((250, 240, 200))
    canvas.draw.ellipse(_around((cx + 0.93 * h, base - 0.45 * h), 0.06 * h), fill=lamp)
    return _box((cx - h, base - 0.85 * h), (cx + h, base))


def draw_windmill(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.polygon(
        [
            (cx - 0.18 * h, base),
            (cx - 0.1 * h, base - 0.62 * h),
            (cx + 0.1 * h, base - 0.62 * h),
            (cx + 0.18 * h, base),
        ],
        fill=canvas.shade(colour or (214, 200, 176)),
        outline=_outline(canvas),
    )
    canvas.draw.polygon(
        [(cx - 0.13 * h, base - 0.62 * h), (cx, base - 0.74 * h), (cx + 0.13 * h, base - 0.62 * h)],
        fill=canvas.shade((150, 60, 50)),
    )
    hub = (cx, base - 0.66 * h)
    sail = canvas.shade((248, 246, 240))
    turn = canvas.rng.uniform(0, math.pi / 2)
    for blade in range(4):
        angle = turn + blade * math.pi / 2
        along = (math.cos(angle), math.sin(angle))
        across = (-along[1], along[0])
        near, far, half = 0.06 * h, 0.4 * h, 0.06 * h
        corners = [
            (hub[0] + along[0] * d + across[0] * s, hub[1] + along[1] * d + across[1] * s)
            for d, s in ((near, 0), (far, 0), (far, half * 2), (near, half * 2))
        ]
        canvas.draw.polygon(corners, fill=sail, outline=_outline(canvas))
    canvas.draw.ellipse(_around(hub, 0.04 * h), fill=_outline(canvas))
    return _box((cx - 0.46 * h, base - 1.06 * h), (cx + 0.46 * h, base))


def draw_tent(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.polygon(
        [(cx - 0.6 * h, base), (cx, base - h * 0.8), (cx + 0.6 * h, base)], fill=canvas.shade(colour or (236, 120, 40))
    )
    canvas.draw.polygon(
        [(cx - 0.18 * h, base), (cx, base - 0.45 * h), (cx + 0.18 * h, base)],
        fill=(255, 210, 120) if canvas.light.dark else canvas.shade((120, 60, 30)),
    )
    return _box((cx - 0.6 * h, base - 0.8 * h), (cx + 0.6 * h, base))


def draw_snowman(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    snow = canvas.shade((250, 250, 252))
    for y, r in ((base - 0.2 * h, 0.2 * h), (base - 0.52 * h, 0.15 * h), (base - 0.76 * h, 0.11 * h)):
        canvas.draw.ellipse(_around((cx, y), r), fill=snow, outline=(*canvas.shade((190, 200, 214)), 255))
    canvas.draw.rectangle((cx - 0.09 * h, base - 0.98 * h, cx + 0.09 * h, base - 0.85 * h), fill=(30, 30, 34))
    canvas.draw.rectangle((cx - 0.13 * h, base - 0.86 * h, cx + 0.13 * h, base - 0.84 * h), fill=(30, 30, 34))
    _eyes(canvas, (cx, base - 0.79 * h), 0.04 * h, 0.015 * h, (20, 20, 20))
    canvas.draw.polygon(
        [(cx, base - 0.76 * h), (cx + 0.14 * h, base - 0.74 * h), (cx, base - 0.72 * h)], fill=colour or (246, 130, 30)
    )
    return _box((cx - 0.2 * h, base - h), (cx + 0.2 * h, base))


def draw_robot(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    metal = canvas.shade(colour or (160, 174, 190))
    edge = _outline(canvas)
    for side in (-1, 1):
        canvas.draw.rectangle(
            (cx + side * 0.1 * h - 0.05 * h, base - 0.3 * h, cx + side * 0.1 * h + 0.05 * h, base),
            fill=metal,
            outline=edge,
        )
        canvas.draw.rectangle(
            (cx + side * 0.27 * h - 0.04 * h, base - 0.62 * h, cx + side * 0.27 * h + 0.04 * h, base - 0.35 * h),
            fill=metal,
            outline=edge,
        )
    canvas.draw.rectangle((cx - 0.22 * h, base - 0.65 * h, cx + 0.22 * h, base - 0.28 * h), fill=metal, outline=edge)
    canvas.draw.rectangle((cx - 0.15 * h, base - 0.9 * h, cx + 0.15 * h, base - 0.68 * h), fill=metal, outline=edge)
    _eyes(canvas, (cx, base - 0.8 * h), 0.07 * h, 0.035 * h, (90, 230, 255))
    canvas.draw.line((cx, base - 0.9 * h, cx, base - 0.98 * h), fill=edge, width=max(1, int(h / 60)))
    canvas.draw.ellipse(_around((cx, base - 0.98 * h), 0.025 * h), fill=(240, 60, 60))
    canvas.draw.rectangle(
        (cx - 0.1 * h, base - 0.55 * h, cx + 0.1 * h, base - 0.42 * h), fill=canvas.shade((80, 90, 110))
    )
    return _box((cx - 0.31 * h, base - h), (cx + 0.31 * h, base))


# ---------------------------------------------------------------- on the water


def draw_boat(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    hull = canvas.shade(colour or (150, 70, 40))
    canvas.draw.polygon(
        [
            (cx - 0.55 * h, base - 0.22 * h),
            (cx + 0.55 * h, base - 0.22 * h),
            (cx + 0.38 * h, base),
            (cx - 0.38 * h, base),
        ],
        fill=hull,
    )
    canvas.draw.line((cx, base - 0.22 * h, cx, base - h), fill=_outline(canvas), width=max(1, int(h / 40)))
    sail = canvas.shade((248, 246, 236))
    canvas.draw.polygon(
        [(cx + 0.03 * h, base - 0.95 * h), (cx + 0.45 * h, base - 0.3 * h), (cx + 0.03 * h, base - 0.3 * h)], fill=sail
    )
    canvas.draw.polygon(
        [(cx - 0.03 * h, base - 0.8 * h), (cx - 0.33 * h, base - 0.3 * h), (cx - 0.03 * h, base - 0.3 * h)],
        fill=canvas.shade((230, 226, 214)),
    )
    return _box((cx - 0.55 * h, base - h), (cx + 0.55 * h, base))


def draw_ship(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    canvas.draw.polygon(
        [(cx - h, base - 0.3 * h), (cx + h, base - 0.3 * h), (cx + 0.8 * h, base), (cx - 0.85 * h, base)],
        fill=canvas.shade(colour or (40, 50, 70)),
    )
    canvas.draw.rectangle((cx - h, base - 0.34 * h, cx + h, base - 0.28 * h), fill=canvas.shade((200, 40, 40)))
    canvas.draw.rectangle(
        (cx - 0.5 * h, base - 0.58 * h, cx + 0.3 * h, base - 0.34 * h), fill=canvas.shade((240, 240, 240))
    )
    for k in range(4):
        _window(canvas, (cx + (-0.42 + k * 0.18) * h, base - 0.52 * h, cx + (-0.32 + k * 0.18) * h, base - 0.44 * h))
    canvas.draw.rectangle(
        (cx + 0.02 * h, base - 0.85 * h, cx + 0.2 * h, base - 0.58 * h), fill=canvas.shade((210, 60, 40))
    )
    return _box((cx - h, base - 0.85 * h), (cx + h, base))


def draw_fish(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    scales = canvas.shade(colour or (250, 150, 40))
    y = base - 0.5 * h
    canvas.draw.polygon([(cx + 0.35 * h, y), (cx + 0.7 * h, y - 0.3 * h), (cx + 0.7 * h, y + 0.3 * h)], fill=scales)
    canvas.draw.ellipse((cx - 0.55 * h, y - 0.3 * h, cx + 0.45 * h, y + 0.3 * h), fill=scales)
    canvas.draw.ellipse(_around((cx - 0.3 * h, y - 0.06 * h), 0.06 * h), fill=(20, 20, 30))
    return _box((cx - 0.55 * h, y - 0.3 * h), (cx + 0.7 * h, y + 0.3 * h))


def draw_duck(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None) -> Box:
    h = height
    body = canvas.shade(colour or (250, 250, 246))
    canvas.draw.chord((cx - 0.5 * h, base - 0.7 * h, cx + 0.5 * h, base + 0.3 * h), 180, 360, fill=body)
    canvas.draw.line(
        [(cx + 0.3 * h, base - 0.3 * h), (cx + 0.34 * h, base - 0.72 * h)], fill=body, width=max(2, int(h / 8))
    )
    canvas.draw.ellipse(_around((cx + 0.34 * h, base - 0.78 * h), 0.13 * h), fill=body)
    canvas.draw.polygon(
        [(cx + 0.44 * h, base - 0.82 * h), (cx + 0.64 * h, base - 0.76 * h), (cx + 0.44 * h, base - 0.72 * h)],
        fill=(246, 150, 30),
    )
    canvas.draw.ellipse(_around((cx + 0.37 * h, base - 0.81 * h), 0.025 * h), fill=(20, 20, 20))
    return _box((cx - 0.5 * h, base - h * 0.92), (cx + 0.64 * h, base))


def draw_placard(canvas: Canvas, cx: float, base: float, height: float, colour: Colour | None, text: str = "") -> Box:
    """A signpost: what stands in for a thing the stand-in cannot draw (its name is written on it)."""
    h = height
    canvas.draw.rectangle((cx - 0.04 * h, base - 0.6 * h, cx + 0.04 * h, base), fill=canvas.shade((110, 76, 46)))
    board = (cx - 0.9 * h, base - h, cx + 0.9 * h, base - 0.55 * h)
    canvas.draw.rounded_rectangle(
        board,
        radius=0.06 * h,
        fill=canvas.shade(colour or (236, 214, 160)),
        outline=_outline(canvas),
        width=max(1, int(h / 40)),
    )
    return _box((board[0], board[1]), (board[2], base))
