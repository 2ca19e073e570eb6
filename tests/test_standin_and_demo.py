"""The offline stand-in provider as a product: its command, its API, its faults, and the demo built on it."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mcp_server_siliconflow_image.imageformat import identify
from mcp_server_siliconflow_image.standin import RunningStandIn, render_image
from tests.helpers import API_KEY, server_command, unused_port, wait_until_serving
from tests.test_offline_pictures import correlation, layout, picture


@pytest.fixture
def standin_process() -> Iterator[str]:
    port = unused_port()
    process = subprocess.Popen(
        [server_command(), "stand-in", "--port", str(port), "--key", "sk-ci"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/v1"
    wait_until_serving(f"{base}/models", process)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_stand_in_command_speaks_the_providers_api(standin_process: str) -> None:
    auth = {"Authorization": "Bearer sk-ci"}
    assert httpx.get(f"{standin_process}/models").status_code == 401
    models = httpx.get(
        f"{standin_process}/models", params={"type": "image", "sub_type": "image-to-image"}, headers=auth
    )
    assert "Qwen/Qwen-Image-Edit-2509" in [model["id"] for model in models.json()["data"]]
    answer = httpx.post(
        f"{standin_process}/images/generations",
        headers=auth,
        json={"model": "Kwai-Kolors/Kolors", "prompt": "a fox", "image_size": "768x1024", "seed": 7, "batch_size": 2},
    ).json()
    assert answer["seed"] == 7 and "inference" in answer["timings"]
    urls = [item["url"] for item in answer["images"]]
    assert all("Expires=" in url and "Signature=" in url for url in urls)
    images = [httpx.get(url).content for url in urls]
    assert [identify(data).width for data in images] == [768, 768]
    assert images[0] == render_image("scene", "a fox", 7, (768, 1024), 1)[0]
    tampered = httpx.get(urls[0].replace("Signature=", "Signature=x"))
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text


@pytest.mark.slow
def test_stand_in_faults_and_config_are_controllable(standin_process: str) -> None:
    origin = standin_process.removesuffix("/v1")
    auth = {"Authorization": "Bearer sk-ci"}
    body = {"model": "Kwai-Kolors/Kolors", "prompt": "x"}
    httpx.post(f"{origin}/_standin/faults", json=[{"status": 429, "retry_after": 3}, {"status": 503}])
    limited = httpx.post(f"{standin_process}/images/generations", headers=auth, json=body)
    overloaded = httpx.post(f"{standin_process}/images/generations", headers=auth, json=body)
    fine = httpx.post(f"{standin_process}/images/generations", headers=auth, json=body)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    assert set(limited.json()) == {"code", "message", "data"}
    assert (overloaded.status_code, fine.status_code) == (503, 200)
    config = httpx.post(f"{origin}/_standin/config", json={"image_kind": "jpeg", "response_shape": "data"}).json()
    assert config["image_kind"] == "jpeg"
    answer = httpx.post(f"{standin_process}/images/generations", headers=auth, json=body).json()
    assert identify(httpx.get(answer["data"][0]["url"]).content).mime_type == "image/jpeg"
    refused = httpx.post(f"{origin}/_standin/config", json={"api_key": "steal"})
    assert refused.status_code == 400 and "not configurable: api_key" in refused.text


def test_stand_in_images_are_deterministic_and_depend_on_the_prompt() -> None:
    first = render_image("pattern", "a red kite", 42, (320, 240), 1)[0]
    assert render_image("pattern", "a red kite", 42, (320, 240), 1)[0] == first
    assert render_image("pattern", "a blue kite", 42, (320, 240), 1)[0] != first
    assert render_image("pattern", "a red kite", 43, (320, 240), 1)[0] != first
    assert identify(first).width == 320 and identify(first).height == 240


def test_photo_images_are_deflated_pngs_of_real_provider_size_and_made_once() -> None:
    photo, mime_type = render_image("photo", "a harbour", 42, (1024, 1024), 1)
    assert mime_type == "image/png" and identify(photo).width == 1024
    assert 2_000_000 < len(photo) < 3_000_000  # like a detailed 1024x1024 provider PNG; noise would be ~3.1 MB
    with Image.open(io.BytesIO(photo)) as picture:
        assert picture.mode == "RGB" and picture.getextrema() != ((0, 0), (0, 0), (0, 0))
    again = render_image("photo", "another prompt, same seed", 42, (1024, 1024), 1)[0]
    assert again is photo  # kept per (size, seed and index): a second call costs nothing


def generate_and_fetch(standin: RunningStandIn) -> tuple[float, float, bytes]:
    """Seconds to the first byte of the image and to its last, and its bytes."""
    answer = httpx.post(
        f"{standin.base_url}/images/generations",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": "Kwai-Kolors/Kolors", "prompt": "x", "seed": 3},
    ).json()
    started = time.monotonic()
    with httpx.stream("GET", answer["images"][0]["url"]) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        first_byte = time.monotonic() - started
        body = first + b"".join(chunks)
    return first_byte, time.monotonic() - started, body


def test_image_links_can_answer_like_a_far_away_cdn(standin: RunningStandIn) -> None:
    """A first-byte delay and a per-connection rate: lower bounds only, a busy machine only adds to them."""
    standin.state.image_kind = "noise"
    _, _, expected = generate_and_fetch(standin)
    config = httpx.post(
        f"{standin.origin}/_standin/config", json={"download_first_byte_delay": 0.2, "download_rate": 4e6}
    ).json()
    assert (config["download_first_byte_delay"], config["download_rate"]) == (0.2, 4e6)
    first_byte, last_byte, body = generate_and_fetch(standin)
    assert body == expected
    assert first_byte >= 0.2
    assert last_byte >= 0.2 + len(body) / 4e6 * 0.95


def test_expired_links_answer_like_the_real_cdn(standin: RunningStandIn) -> None:
    answer = httpx.post(
        f"{standin.base_url}/images/generations",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": "Kwai-Kolors/Kolors", "prompt": "x"},
    ).json()
    for stored in standin.state.images.values():
        stored.expires = time.time() - 1
    expired = httpx.get(answer["images"][0]["url"])
    assert expired.status_code == 403 and "Request has expired" in expired.text


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`demo` run once as a new user runs it: no SILICONFLOW_ variables, no key, .venv/bin not on PATH."""
    folder = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [server_command(), "demo", "--out", str(folder / "images")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder / "home")},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return DemoRun(folder / "images", done)


@pytest.mark.slow
def test_demo_runs_end_to_end_with_no_key_and_no_network(demo_run: DemoRun) -> None:
    stdout = demo_run.done.stdout
    images = sorted(demo_run.folder.glob("*.png"))
    assert len(images) == 3  # two generated, one edited
    for image in images:
        assert str(image) in stdout
        sidecar = json.loads(Path(f"{image}.json").read_text())
        assert sidecar["model"] in ("Kwai-Kolors/Kolors", "Qwen/Qwen-Image-Edit-2509")
        assert sidecar["sha256"] and sidecar["file"] == image.name
    assert "[image] image/png" in stdout and "[resource_link] siliconflow-image://images/" in stdout
    assert "edit_image(" in stdout and "list_models(" in stdout


@pytest.mark.slow
def test_the_demo_shows_its_pictures_following_the_prompt_and_the_edit_changing_the_first(demo_run: DemoRun) -> None:
    first, _, edited = sorted(demo_run.folder.glob("*.png"))  # named by time: the batch of two, then the edit
    assert "lighthouse" in [entry[0] for entry in layout(first.read_bytes())["things"]]
    assert "moon" in [entry[0] for entry in layout(edited.read_bytes())["things"]]
    assert correlation(picture(first.read_bytes()), picture(edited.read_bytes())) > 0.6  # the same picture, changed


@pytest.mark.slow
def test_the_demo_ends_with_the_absolute_command_and_a_config_entry_that_work(demo_run: DemoRun) -> None:
    stdout = demo_run.done.stdout
    entry_line = next(line for line in stdout.splitlines() if line.strip().startswith('"siliconflow-image":'))
    entry = json.loads("{" + entry_line.strip() + "}")["siliconflow-image"]
    command = [entry["command"], *entry.get("args", [])]
    assert Path(command[0]).is_absolute() and f"-- {' '.join(command)}" in stdout  # Claude Code's line too
    assert entry["env"] == {"SILICONFLOW_API_KEY": "sk-your-key"}
    started = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60, env={})
    assert started.returncode == 0 and started.stdout.startswith("mcp-server-siliconflow-image ")
