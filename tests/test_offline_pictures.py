"""The offline stand-in's pictures show what the prompt asks for, and its edits are the input picture, changed.

What a person looking at the demo would check: the lighthouse prompt shows a lighthouse (and the sea, at dusk),
the prompt is written on the picture, "add a full moon above the lighthouse" puts a moon over that very
lighthouse in that very picture, "make it night" darkens it, and an instruction the stand-in does not know
still changes the picture visibly and says so on it.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
from PIL import Image, ImageChops, ImageStat

from mcp_server_siliconflow_image.standin import RunningStandIn, render_image
from mcp_server_siliconflow_image.standin.edits import edit_png
from mcp_server_siliconflow_image.standin.scenes import LAYOUT_KEY, caption_height
from tests.helpers import API_KEY
from tests.images import encode

SIZE = (512, 512)
LIGHTHOUSE = "a lighthouse on a cliff at dusk"


def picture(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.convert("RGB")


def layout(data: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(data)) as opened:
        found: dict[str, Any] = json.loads(opened.text[LAYOUT_KEY])  # type: ignore[attr-defined]
    return found


def boxes(data: bytes, name: str) -> list[tuple[int, int, int, int]]:
    return [(entry[1], entry[2], entry[3], entry[4]) for entry in layout(data)["things"] if entry[0] == name]


def scene_area(image: Image.Image) -> Image.Image:
    """The picture above its caption band (the band is rewritten by every edit)."""
    return image.crop((0, 0, image.width, image.height - 2 * caption_height(image.size)))


def share_changed(before: Image.Image, after: Image.Image, tolerance: int = 24) -> float:
    """The fraction of pixels that differ by more than `tolerance` in any channel."""
    difference = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v > tolerance else 0)
    return ImageStat.Stat(difference).mean[0] / 255


def correlation(first: Image.Image, second: Image.Image) -> float:
    """How alike two pictures' light and shade are (1: the same shapes), whatever their overall brightness."""
    a = list(first.convert("L").resize((64, 64)).tobytes())
    b = list(second.convert("L").resize((64, 64)).tobytes())
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    covariance = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    spread = (sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b)) ** 0.5
    return covariance / spread if spread else 0.0


def brightness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def reddish_share(image: Image.Image) -> float:
    red, green, blue = image.split()
    masks = (red.point(lambda v: 255 if v > 150 else 0), green.point(lambda v: 255 if v < 90 else 0))
    reddish = ImageChops.multiply(ImageChops.multiply(*masks), blue.point(lambda v: 255 if v < 90 else 0))
    return reddish.histogram()[255] / (image.width * image.height)


def test_a_lighthouse_prompt_shows_a_red_and_white_lighthouse_by_the_sea_at_dusk() -> None:
    data, mime_type = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)
    drawn = layout(data)
    assert mime_type == "image/png" and picture(data).size == SIZE
    assert [entry[0] for entry in drawn["things"]].count("lighthouse") == 1
    assert drawn["light"] == "dusk" and drawn["sea"] is not None
    (x0, y0, x1, y1), image = boxes(data, "lighthouse")[0], picture(data)
    assert reddish_share(image.crop((x0, y0, x1, y1))) > 0.08  # its red stripes are there to see
    sky = brightness(image.crop((0, 0, SIZE[0], 40)))
    assert sky < 140  # a dusk sky, not a noon one


def test_pictures_follow_their_words_and_are_deterministic() -> None:
    cats = render_image("scene", "two cats in the snow at night", 7, SIZE, 1)[0]
    assert len(boxes(cats, "cat")) == 2 and layout(cats)["light"] == "night"
    assert render_image("scene", "two cats in the snow at night", 7, SIZE, 1)[0] == cats
    assert render_image("scene", "two cats in the snow at night", 8, SIZE, 1)[0] != cats
    assert render_image("scene", "two cats in the snow at night", 7, SIZE, 2)[0] != cats  # a batch differs
    boat = render_image("scene", "a red boat on the lake", 7, SIZE, 1)[0]
    assert boxes(boat, "boat") and not boxes(boat, "cat")
    unknown = render_image("scene", "a quantum teapot", 7, SIZE, 1)[0]
    assert boxes(unknown, "placard")  # what it cannot draw it writes on a signpost


def test_the_prompt_is_written_along_the_bottom() -> None:
    image = picture(render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0])
    band = image.crop((0, SIZE[1] - caption_height(SIZE), SIZE[0], SIZE[1])).convert("L")
    letters = sum(band.histogram()[201:])
    assert ImageStat.Stat(band).median[0] < 40 and letters > 200  # light letters on a dark band


def test_any_size_from_a_thumbnail_to_a_wide_banner_is_drawn() -> None:
    for size in ((16, 16), (64, 48), (1664, 928), (928, 1664)):
        data = render_image("scene", "a castle under a rainbow with birds", 1, size, 1)[0]
        assert picture(data).size == size


def test_adding_a_full_moon_above_the_lighthouse_draws_it_there_on_the_same_picture() -> None:
    source = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0]
    edited = edit_png((source,), "add a full moon above the lighthouse", 3, SIZE, 1)
    assert edited is not None
    before, after = picture(source), picture(edited)
    moon = boxes(edited, "moon")
    assert len(moon) == 1 and len(boxes(edited, "lighthouse")) == 1  # the moon is added, the lighthouse kept
    (mx0, my0, mx1, my1), (lx0, ly0, lx1, _) = moon[0], boxes(edited, "lighthouse")[0]
    assert my1 < ly0 + (my1 - my0) and abs((mx0 + mx1) / 2 - (lx0 + lx1) / 2) < 2 * (mx1 - mx0)  # over it
    assert brightness(after.crop(moon[0])) > brightness(before.crop(moon[0])) + 40  # a pale moon in a dusk sky
    assert share_changed(scene_area(before), scene_area(after)) < 0.2  # the rest is the input, untouched
    assert layout(edited)["edits"] == ["add a full moon above the lighthouse"]


def test_making_it_night_darkens_the_input_and_keeps_its_shapes() -> None:
    source = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0]
    edited = edit_png((source,), "make it night", 3, SIZE, 1)
    assert edited is not None
    before, after = scene_area(picture(source)), scene_area(picture(edited))
    assert brightness(after) < 0.7 * brightness(before)
    assert correlation(before, after) > 0.6


def test_an_instruction_it_does_not_know_still_visibly_changes_the_input_and_says_so() -> None:
    source = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0]
    edited = edit_png((source,), "give it more pizzazz", 3, SIZE, 1)
    assert edited is not None
    before, after = scene_area(picture(source)), scene_area(picture(edited))
    assert share_changed(before, after, tolerance=8) > 0.2 and correlation(before, after) > 0.8
    label = picture(edited).crop((0, SIZE[1] - caption_height(SIZE), SIZE[0], SIZE[1]))
    original = picture(source).crop((0, SIZE[1] - caption_height(SIZE), SIZE[0], SIZE[1]))
    assert share_changed(original, label) > 0.02  # the label now carries the instruction


def test_removing_and_replacing_things_in_the_picture() -> None:
    source = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0]
    removed = edit_png((source,), "remove the lighthouse", 3, SIZE, 1)
    assert removed is not None and not boxes(removed, "lighthouse")
    region = boxes(source, "lighthouse")[0]
    assert reddish_share(picture(removed).crop(region)) < 0.01  # its red stripes are gone
    replaced = edit_png((source,), "turn the lighthouse into a windmill", 3, SIZE, 1)
    assert replaced is not None and boxes(replaced, "windmill") and not boxes(replaced, "lighthouse")


def test_a_photo_without_a_layout_is_edited_too_at_its_own_size() -> None:
    photo = encode("JPEG", (320, 200))
    edited = edit_png((photo,), "add a cat", 3, (320, 200), 1)
    assert edited is not None and picture(edited).size == (320, 200)
    (x0, y0, x1, y1) = boxes(edited, "cat")[0]
    assert y1 > 100  # on the ground, in the lower half
    assert share_changed(picture(photo).crop((x0, y0, x1, y1)), picture(edited).crop((x0, y0, x1, y1))) > 0.3
    assert edit_png((b"not an image",), "add a cat", 3, (64, 64), 1) is None  # the stand-in draws a new one then


def test_an_edit_through_the_standin_api_comes_back_as_its_input_changed(standin: RunningStandIn) -> None:
    source = render_image("scene", LIGHTHOUSE, 42, SIZE, 1)[0]
    second = encode("PNG", (64, 64))
    body = {
        "model": "Qwen/Qwen-Image-Edit-2509",
        "prompt": "make it black and white",
        "image": "data:image/png;base64," + base64.b64encode(source).decode(),
        "image2": "data:image/png;base64," + base64.b64encode(second).decode(),
        "seed": 5,
    }
    answer = httpx.post(
        f"{standin.base_url}/images/generations", headers={"Authorization": f"Bearer {API_KEY}"}, json=body
    ).json()
    edited = httpx.get(answer["images"][0]["url"]).content
    before, after = picture(source), picture(edited)
    assert after.size == before.size
    lower = scene_area(after).crop((0, SIZE[1] // 3, SIZE[0], SIZE[1] // 2))  # below the inset of image2
    assert ImageStat.Stat(lower.convert("HSV").split()[1]).mean[0] < 5  # grey
    assert correlation(scene_area(before), scene_area(after)) > 0.8
    assert boxes(edited, "image 2")  # the second input is set into the picture


def test_a_prompt_as_long_as_allowed_listing_hundreds_of_things_is_still_one_picture() -> None:
    """8000 characters naming a thing every few letters (or one 8000-letter word) make a picture of the first
    things named and a caption cut short: the stand-in's work does not grow with the prompt's length."""
    crowded = " ".join(["a lighthouse, three cats and a moon"] * 250)[:8000]
    data = render_image("scene", crowded, 1, SIZE, 1)[0]
    assert 3 <= len(layout(data)["things"]) <= 3 * 12
    one_word = render_image("scene", "a" * 8000, 1, SIZE, 1)[0]
    assert len(layout(one_word)["things"]) == 1  # the signpost, with the start of the word on it
    edited = edit_png((data,), "remove the " * 360, 1, SIZE, 1)
    assert edited is not None and len(layout(edited)["edits"]) == 1
