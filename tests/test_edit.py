"""edit_image: every input form reaches the provider as a data URI of the exact bytes; unsafe inputs never do."""

from __future__ import annotations

import base64
import dataclasses
import os
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.helpers import allow_loopback_as_public, edit, first_text, stdio_params
from tests.images import encode

pytestmark = pytest.mark.anyio


def data_uri(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode()}"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    return folder


@pytest.mark.slow
async def test_local_png_over_stdio_reaches_the_provider_byte_for_byte(
    standin: RunningStandIn, server_env: dict[str, str], inputs: Path, image_dir: Path
) -> None:
    original = encode("PNG", (320, 200))
    (inputs / "photo.png").write_bytes(original)
    server_env["SILICONFLOW_INPUT_DIRS"] = str(inputs)
    async with Client(stdio_params(server_env)) as client:
        result = await client.call_tool("edit_image", {"image": str(inputs / "photo.png"), "prompt": "add a moon"})
    assert not result.is_error, first_text(result)
    [request] = standin.state.requests
    assert request["model"] == "Qwen/Qwen-Image-Edit-2509"
    assert request["image"] == data_uri(original, "image/png")
    assert request["num_inference_steps"] == 50 and request["cfg"] == 4.0
    image = result.structured_content["images"][0]
    assert Path(image["path"]).parent == image_dir
    assert Path(image["path"]).read_bytes() == next(iter(standin.state.images.values())).data
    assert (image["width"], image["height"]) == (320, 200)  # edits keep the input's size
    assert [block.type for block in result.content] == ["image", "resource_link", "text"]
    assert first_text(result).startswith("Edited 1 image with Qwen/Qwen-Image-Edit-2509")


@pytest.mark.parametrize("form", ["base64", "data-uri", "jpeg-base64", "url"])
async def test_every_input_form_becomes_a_data_uri(
    standin: RunningStandIn, settings: Settings, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    png, jpeg = encode("PNG"), encode("JPEG")
    standin.state.static_files["in.png"] = png
    value, expected = {
        "base64": (base64.b64encode(png).decode(), data_uri(png, "image/png")),
        "data-uri": (data_uri(png, "image/png"), data_uri(png, "image/png")),
        "jpeg-base64": (base64.b64encode(jpeg).decode(), data_uri(jpeg, "image/jpeg")),
        "url": (f"{standin.origin}/static/in.png?token=abc", data_uri(png, "image/png")),
    }[form]
    allow_loopback_as_public(monkeypatch)
    result = await edit(settings, image=value)
    assert not result.is_error, first_text(result)
    assert standin.state.requests[0]["image"] == expected


async def test_multi_image_edit_sends_all_three(standin: RunningStandIn, settings: Settings, inputs: Path) -> None:
    images = [encode("PNG", (10 + i, 10)) for i in range(3)]
    for index, data in enumerate(images):
        (inputs / f"{index}.png").write_bytes(data)
    result = await edit(
        settings, image=str(inputs / "0.png"), image2=str(inputs / "1.png"), image3=str(inputs / "2.png")
    )
    assert not result.is_error, first_text(result)
    request = standin.state.requests[0]
    assert [request["image"], request["image2"], request["image3"]] == [data_uri(d, "image/png") for d in images]


async def test_single_image_model_refuses_a_second_image(standin: RunningStandIn, settings: Settings) -> None:
    png = data_uri(encode("PNG"), "image/png")
    result = await edit(settings, model="Qwen/Qwen-Image-Edit", image=png, image2=png)
    assert result.is_error
    assert "takes 1 input image(s), 2 were given; for multi-image edits use Qwen/Qwen-Image-Edit-2509" in first_text(
        result
    )
    assert standin.state.requests == []


async def test_kolors_image_to_image_through_the_same_tool(standin: RunningStandIn, settings: Settings) -> None:
    png = encode("PNG", (64, 64))
    result = await edit(settings, model="Kwai-Kolors/Kolors", image=data_uri(png, "image/png"), guidance_scale=6)
    assert not result.is_error, first_text(result)
    assert standin.state.requests[0] == {
        "model": "Kwai-Kolors/Kolors",
        "prompt": "make it blue",
        "guidance_scale": 6,
        "num_inference_steps": 20,
        "image": data_uri(png, "image/png"),
    }


async def test_text_only_model_is_refused_for_edits(standin: RunningStandIn, settings: Settings) -> None:
    result = await edit(settings, model="Qwen/Qwen-Image", image=data_uri(encode("PNG"), "image/png"))
    assert result.is_error
    assert "does not do image-to-image (use it with generate_image); models that do: Kwai-Kolors/Kolors" in (
        first_text(result)
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("http://127.0.0.1:1/x.png", "127.0.0.1 resolves to 127.0.0.1, a loopback, private, link-local or reserved"),
        ("http://localhost/x.png", "localhost resolves to"),
        ("http://10.1.2.3/x.png", "resolves to 10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254"),
        ("http://[::1]:8080/x.png", "resolves to ::1"),
        ("http://[::ffff:127.0.0.1]/x.png", "resolves to 127.0.0.1"),
        ("http://0.0.0.0/x.png", "resolves to 0.0.0.0"),
        ("file:///etc/passwd", "file: URLs are not accepted"),
        ("ftp://example.com/x.png", "ftp: URLs are not accepted"),
        ("relative/photo.png", "is not an absolute path"),
        ("data:image/png,notbase64", "must look like data:image/png;base64"),
        ("data:image/png;base64,!!!!", "not valid base64"),
        ("iVBORw0KGgoAAAANSUhEUg", "damaged or truncated"),
    ],
)
async def test_unsafe_or_broken_inputs_are_refused(
    standin: RunningStandIn, settings: Settings, image: str, message: str
) -> None:
    result = await edit(settings, image=image)
    assert result.is_error
    assert message in first_text(result)
    assert first_text(result).startswith("image")  # names the argument
    assert standin.state.requests == []


async def test_redirect_to_a_private_address_is_refused(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin.state.static_files["in.png"] = encode("PNG")
    allow_loopback_as_public(monkeypatch)
    target = f"http://127.0.0.2:{standin.origin.rsplit(':', 1)[1]}/static/in.png"
    result = await edit(settings, image=f"{standin.origin}/redirect?to={target}")
    assert result.is_error
    assert "127.0.0.2 resolves to 127.0.0.2" in first_text(result)
    assert standin.state.requests == []


async def test_path_outside_the_allowed_folders_is_refused(
    standin: RunningStandIn, settings: Settings, tmp_path: Path, inputs: Path
) -> None:
    outside = tmp_path / "private.png"
    outside.write_bytes(encode("PNG"))
    result = await edit(settings, image=str(outside))
    assert result.is_error
    assert f"is outside the folders this server may read ({inputs})" in first_text(result)
    dotdot = await edit(settings, image=str(inputs / ".." / "private.png"))
    assert "is outside the folders" in first_text(dotdot)


async def test_symlink_escaping_the_allowed_folder_is_refused(
    standin: RunningStandIn, settings: Settings, tmp_path: Path, inputs: Path
) -> None:
    (tmp_path / "secret.png").write_bytes(encode("PNG"))
    os.symlink(tmp_path / "secret.png", inputs / "innocent.png")
    result = await edit(settings, image=str(inputs / "innocent.png"))
    assert result.is_error and "is outside the folders" in first_text(result)
    assert standin.state.requests == []


async def test_non_image_file_is_refused(standin: RunningStandIn, settings: Settings, inputs: Path) -> None:
    (inputs / "notes.png").write_bytes(b"<html>not really a png</html>")
    result = await edit(settings, image=str(inputs / "notes.png"))
    assert result.is_error
    assert first_text(result) == "image is not a PNG, JPEG or WebP image; give a PNG, JPEG or WebP image."
    # nothing of the file's content is told: over HTTP that would leak the host's files byte by byte


async def test_oversized_file_is_refused(standin: RunningStandIn, settings: Settings, inputs: Path) -> None:
    big = inputs / "huge.png"
    big.write_bytes(encode("PNG") + b"\0" * (10 * 1024 * 1024))
    result = await edit(settings, image=str(big))
    assert result.is_error
    assert "larger than the 10 MB input limit" in first_text(result)


async def test_missing_file_is_named(standin: RunningStandIn, settings: Settings, inputs: Path) -> None:
    result = await edit(settings, image=str(inputs / "nope.png"))
    assert f"image: no file at {inputs / 'nope.png'}" in first_text(result)


async def test_http_transport_reads_no_local_files_by_default(
    standin: RunningStandIn, settings: Settings, inputs: Path
) -> None:
    (inputs / "photo.png").write_bytes(encode("PNG"))
    settings = dataclasses.replace(settings, transport="http", input_dirs=None)
    result = await edit(settings, image=str(inputs / "photo.png"))
    assert result.is_error
    assert "reads no local files (SILICONFLOW_INPUT_DIRS is empty" in first_text(result)


async def test_second_input_errors_name_image2(standin: RunningStandIn, settings: Settings) -> None:
    png = data_uri(encode("PNG"), "image/png")
    result = await edit(settings, image=png, image2="file:///etc/shadow")
    assert first_text(result).startswith("image2: file: URLs are not accepted")


async def test_oversized_base64_is_refused_before_decoding(standin: RunningStandIn, settings: Settings) -> None:
    huge = "data:image/png;base64," + base64.b64encode(encode("PNG") + b"\0" * (10 * 1024 * 1024)).decode()
    result = await edit(settings, image=huge)
    assert result.is_error
    assert "image: the base64 data is over the 10 MB input limit" in first_text(result)
    assert standin.state.requests == []
