"""The image viewer (MCP Apps view) in a real browser, driven as a person would use it.

Headless Chromium opens a small test host page (tests/viewer_host/) built on the official host side of the
protocol, `AppBridge` from `@modelcontextprotocol/ext-apps`, with the official TypeScript MCP client. The host
talks to this server over streamable HTTP (`--transport http`) against the stand-in provider, renders the
view in a sandboxed iframe under the spec's default CSP, and relays the view's requests. One scenario runs
once per module (tests/viewer_host/drive.mjs); each test below checks one thing a user would notice.

The npm packages are pinned and installed into `.cache/viewer-host/`, the host bundled there with esbuild.
Chromium is Debian's (`.ci/run` installs it). Without Node.js or Chromium these tests skip locally and say
why; under CI they fail instead. Screenshots and the report land in `.cache/viewer-artifacts/`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_siliconflow_image.standin import RunningStandIn
from tests.external_tools import install
from tests.helpers import API_KEY, CACHE, ROOT, running_http_server, unavailable

pytestmark = [pytest.mark.external, pytest.mark.slow]

HOST_DIR = ROOT / "tests" / "viewer_host"
NODE_DIR = CACHE / "viewer-host"
ARTIFACTS = CACHE / "viewer-artifacts"
NODE_PACKAGES = {
    "@modelcontextprotocol/ext-apps": "2.0.4",
    "@modelcontextprotocol/client": "2.4.0",
    "zod": "4.6.7",
    "esbuild": "0.28.2",
    "playwright-core": "1.65.1",
}
FIRST = {"prompt": "a lighthouse at dusk, oil painting", "batch_size": 4, "seed": 42}
EARLIER_PROMPT = "a paper kite over green hills"
NEW_PROMPT = "a lighthouse in a winter storm"
EDIT_INSTRUCTION = "make it snow"
VIDEO = {"prompt": "waves rolling under a wooden pier", "seed": 11, "wait": 0}
MARKUP = {"prompt": '<img src=x onerror="alert(1)"> a <b>bold</b> "heron"', "batch_size": 2, "seed": 9}
INFERENCE_SECONDS = 0.2
PREVIEW_BUDGET = "60000"
"""Small enough that every inline image is a preview, so the view must fetch each original through the host."""


@dataclass(frozen=True)
class ViewerTools:
    chromium: str
    bundle: Path


@pytest.fixture(scope="module")
def viewer_tools() -> ViewerTools:
    if not (shutil.which("node") and shutil.which("npm")):
        unavailable("Node.js/npm are not installed: the viewer's test host and browser driver need them")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        unavailable("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
        raise AssertionError("unreachable")
    if not all(_installed_version(name) == version for name, version in NODE_PACKAGES.items()):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        packages = [f"{name}@{version}" for name, version in NODE_PACKAGES.items()]
        install(
            ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--no-save", *packages],
            "the viewer test host's npm packages",
        )
    bundle = NODE_DIR / "host.bundle.js"
    esbuild = str(NODE_DIR / "node_modules" / ".bin" / "esbuild")
    built = subprocess.run(
        [esbuild, str(HOST_DIR / "host.js"), "--bundle", "--format=esm", "--platform=browser", f"--outfile={bundle}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")},
    )
    assert built.returncode == 0, built.stderr
    return ViewerTools(chromium, bundle)


def _installed_version(name: str) -> str | None:
    manifest = NODE_DIR / "node_modules" / name / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@dataclass(frozen=True)
class Scenario:
    steps: dict[str, Any]
    report: dict[str, Any]
    image_dir: Path
    earlier: dict[str, Any]
    provider_requests: list[dict[str, Any]]
    artifacts: Path

    def step(self, name: str) -> dict[str, Any]:
        step: dict[str, Any] = self.steps[name]
        assert step["ok"], f"step {name} failed in the browser: {step['error']}"
        return step


def run_scenario(
    name: str,
    tools: ViewerTools,
    standin: RunningStandIn,
    root: Path,
    server_env: dict[str, str],
    earlier: bool = False,
) -> Scenario:
    """Start the real server over HTTP against the stand-in, then drive scenario `name` in the browser."""
    standin.state.reset()
    standin.state.inference_delay = INFERENCE_SECONDS
    image_dir, home, artifacts = root / "images", root / "home", ARTIFACTS / name
    home.mkdir()
    env = {
        "SILICONFLOW_API_KEY": API_KEY,
        "SILICONFLOW_BASE_URL": standin.base_url,
        "SILICONFLOW_IMAGE_DIR": str(image_dir),
        "SILICONFLOW_INPUT_DIRS": str(image_dir),  # over HTTP, edit_image reads local files only from here
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        **server_env,
    }
    shutil.rmtree(artifacts, ignore_errors=True)
    try:
        with running_http_server(env) as (base, _):
            made_before = _generate_earlier_images(f"{base}/mcp") if earlier else {}
            config = {
                "scenario": name,
                "cache": str(NODE_DIR),
                "hostDir": str(HOST_DIR),
                "bundle": str(tools.bundle),
                "chromium": tools.chromium,
                "mcpUrl": f"{base}/mcp",
                "standin": standin.origin,
                "artifacts": str(artifacts),
                "firstArguments": FIRST,
                "markupArguments": MARKUP,
                "videoArguments": VIDEO,
                "earlierPrompt": EARLIER_PROMPT,
                "newPrompt": NEW_PROMPT,
                "editInstruction": EDIT_INSTRUCTION,
            }
            done = subprocess.run(
                ["node", str(HOST_DIR / "drive.mjs"), json.dumps(config)],
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
            )
            assert done.returncode == 0, done.stderr[-4000:]
        report = json.loads((artifacts / "report.json").read_text())
        return Scenario(report["steps"], report, image_dir, made_before, list(standin.state.requests), artifacts)
    finally:
        standin.state.reset()


@pytest.fixture(scope="module")
def scenario(
    viewer_tools: ViewerTools, _standin_server: RunningStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    """Everything a user can do, on a host that offers everything; inline images are previews."""
    env = {"SILICONFLOW_INLINE_MAX_BYTES": PREVIEW_BUDGET}
    return run_scenario("full", viewer_tools, _standin_server, tmp_path_factory.mktemp("viewer"), env, earlier=True)


@pytest.fixture(scope="module")
def degraded(
    viewer_tools: ViewerTools, _standin_server: RunningStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    """Text-only results without inline images, on a host with only tool calls and resource reads."""
    env = {"SILICONFLOW_STRUCTURED_OUTPUT": "false", "SILICONFLOW_INLINE_MAX_BYTES": "0"}
    return run_scenario("degraded", viewer_tools, _standin_server, tmp_path_factory.mktemp("degraded"), env)


@pytest.fixture(scope="module")
def video(
    viewer_tools: ViewerTools, _standin_server: RunningStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    """Video jobs in the view: one still working when the call returns, one from history, one that fails."""
    return run_scenario("video", viewer_tools, _standin_server, tmp_path_factory.mktemp("video"), {})


def _generate_earlier_images(url: str) -> dict[str, Any]:
    """Images made before the view opens, by a plain client: the history strip must list them."""

    async def generate() -> dict[str, Any]:
        async with Client(url) as client:
            result = await client.call_tool("generate_image", {"prompt": EARLIER_PROMPT, "batch_size": 2, "seed": 7})
            assert not result.is_error and result.structured_content is not None
            structured: dict[str, Any] = result.structured_content
            return structured

    return anyio.run(generate)


def _first_images(scenario: Scenario) -> list[dict[str, Any]]:
    structured: dict[str, Any] = scenario.step("first")["structured"]
    images: list[dict[str, Any]] = structured["images"]
    return images


def test_the_tools_name_the_view_and_the_host_renders_it(scenario: Scenario) -> None:
    tools = {tool["name"]: tool["resourceUri"] for tool in scenario.step("tools")["tools"]}
    assert tools == {
        "generate_image": "ui://siliconflow-image/viewer.html",
        "edit_image": "ui://siliconflow-image/viewer.html",
        "generate_video": "ui://siliconflow-image/viewer.html",
        "get_video": "ui://siliconflow-image/viewer.html",
        "list_models": None,
    }
    first = scenario.step("first")
    assert first["rendered"] is True
    no_domains: dict[str, list[str]] = {
        "connectDomains": [],
        "resourceDomains": [],
        "frameDomains": [],
        "baseUriDomains": [],
    }
    assert first["uiMeta"]["csp"] == no_domains


def test_while_the_provider_works_the_view_shows_what_is_being_made(scenario: Scenario) -> None:
    waiting = scenario.step("first")["waiting"]
    assert waiting == {"heading": f"“{FIRST['prompt']}”", "placeholders": FIRST["batch_size"]}


def test_every_image_of_the_batch_is_shown_at_full_quality(scenario: Scenario) -> None:
    first = scenario.step("first")
    saved = _first_images(scenario)
    shown = first["run"]["images"]
    assert len(shown) == len(saved) == 4
    assert {image["inline"] for image in saved} == {"preview"}, "the inline images should be previews here"
    for on_screen, image in zip(shown, saved, strict=True):
        assert on_screen["decoded"], on_screen
        assert on_screen["uri"] == image["uri"]
        assert (on_screen["width"], on_screen["height"]) == (image["width"], image["height"])
        assert on_screen["mime"] == image["mime_type"]
        assert on_screen["sha256"] == image["sha256"] == hashlib.sha256(Path(image["path"]).read_bytes()).hexdigest()
        assert on_screen["badge"] == ""
    reads = first["log"]["reads"]
    assert all(image["uri"] in reads for image in saved), "each original is read through the host"


def test_prompt_model_seed_size_bytes_and_timing_are_beside_each_image(scenario: Scenario) -> None:
    shown = scenario.step("first")["run"]["images"]
    for on_screen, image in zip(shown, _first_images(scenario), strict=True):
        assert on_screen["prompt"] == FIRST["prompt"]
        facts = on_screen["facts"]
        assert facts["model"] == "Kwai-Kolors/Kolors"
        assert facts["seed"] == "42"
        assert facts["size"] == f"{image['width']} × {image['height']}"
        assert f"{image['bytes']:,} B" in facts["bytes"]
        assert facts["time"] == f"{INFERENCE_SECONDS} s"
        assert facts["file"] == Path(image["path"]).name


def test_the_view_follows_the_host_theme_and_fonts(scenario: Scenario) -> None:
    light = scenario.step("first")["look"]
    dark = scenario.step("dark")["look"]
    assert light["font"].startswith('"Host Sans"') and light["hostFontLoaded"]
    assert light["theme"] == "light" and light["background"] == "rgb(255, 255, 255)"
    assert dark["background"] == "rgb(27, 28, 31)" and dark["color"] == "rgb(236, 238, 242)"
    assert dark["scheme"] == "dark"
    shots = {name: (scenario.artifacts / f"viewer-{name}.png").read_bytes() for name in ("light", "dark", "narrow")}
    assert all(shot.startswith(b"\x89PNG") for shot in shots.values())
    assert shots["light"] != shots["dark"]


def test_the_view_resizes_to_its_content_and_fits_360_px(scenario: Scenario) -> None:
    first = scenario.step("first")
    assert first["iframeHeight"] == pytest.approx(first["look"]["contentHeight"], abs=2)
    assert first["iframeHeight"] > 400
    narrow = scenario.step("narrow")
    layout = narrow["layout"]
    assert layout["scrollWidth"] <= layout["width"] <= 360
    assert layout["overflowing"] == 0
    assert layout["columns"] == 1
    assert narrow["iframeHeight"] == pytest.approx(narrow["contentHeight"], abs=2)


def test_open_full_size_uses_the_hosts_fullscreen_and_shows_the_original(scenario: Scenario) -> None:
    step = scenario.step("fullscreen")
    second = _first_images(scenario)[1]
    assert step["displayModes"] == ["fullscreen", "inline"]
    assert "fullscreen" in step["iframeClass"]
    assert (step["shown"]["width"], step["shown"]["height"]) == (second["width"], second["height"])
    assert step["shown"]["sha256"] == second["sha256"]
    assert step["shown"]["focused"] == "lightbox-close"
    assert step["after"]["focusedAction"] == "full", "closing returns focus to the button that opened it"


def test_the_view_works_from_the_keyboard(scenario: Scenario) -> None:
    step = scenario.step("keyboard")
    assert step["opened"] == "lightbox-close"
    assert FIRST["prompt"] in step["caption"]
    assert step["back"] == "Open image 1 full size"
    assert step["order"] == ["use", "more", "reprompt", "edit", "full", "download"]


def test_more_like_this_calls_generate_image_with_the_same_arguments_and_a_new_seed(scenario: Scenario) -> None:
    step = scenario.step("more")
    call = step["call"]
    assert call["name"] == "generate_image" and not call["isError"]
    arguments = dict(call["arguments"])
    seed = arguments.pop("seed")
    assert arguments == {key: value for key, value in FIRST.items() if key != "seed"} | {"model": "Kwai-Kolors/Kolors"}
    assert seed != FIRST["seed"] and 0 <= seed <= 9_999_999_999
    run = step["run"]
    assert run["tag"] == "More like this" and len(run["images"]) == 4
    assert all(image["decoded"] and image["facts"]["seed"] == str(seed) for image in run["images"])
    assert any(request.get("seed") == seed for request in scenario.provider_requests)


def test_same_seed_new_prompt_keeps_the_seed_and_changes_the_prompt(scenario: Scenario) -> None:
    step = scenario.step("reprompt")
    call = step["call"]
    assert call["name"] == "generate_image"
    expected = {**FIRST, "prompt": NEW_PROMPT, "model": "Kwai-Kolors/Kolors"}
    assert call["arguments"] == expected
    assert step["run"]["heading"] == f"“{NEW_PROMPT}”"
    assert all(image["decoded"] and image["prompt"] == NEW_PROMPT for image in step["run"]["images"])


def test_an_empty_prompt_is_not_sent(scenario: Scenario) -> None:
    assert scenario.step("empty-prompt") == {
        **scenario.step("empty-prompt"),
        "invalid": "true",
        "closed": 0,
        "calls": 0,
    }


def test_edit_calls_edit_image_on_that_images_path(scenario: Scenario) -> None:
    step = scenario.step("edit")
    second = _first_images(scenario)[1]
    assert step["call"] == {**step["call"], "name": "edit_image", "isError": False}
    assert step["call"]["arguments"] == {"image": second["path"], "prompt": EDIT_INSTRUCTION}
    run = step["run"]
    assert run["tag"] == "Edit" and run["images"] and all(image["decoded"] for image in run["images"])
    edit_request = next(request for request in scenario.provider_requests if request.get("prompt") == EDIT_INSTRUCTION)
    sent = base64.b64decode(edit_request["image"].split(",", 1)[1])
    assert hashlib.sha256(sent).hexdigest() == second["sha256"]


def test_download_goes_through_the_host_and_gives_the_original_bytes(scenario: Scenario) -> None:
    step = scenario.step("download")
    first = _first_images(scenario)[0]
    [content] = step["request"]["contents"]
    assert content["type"] == "resource_link" and content["uri"] == first["uri"]
    assert step["name"] == Path(first["path"]).name
    assert step["sha256"] == first["sha256"]


def test_use_this_one_tells_the_model_which_image_was_chosen(scenario: Scenario) -> None:
    step = scenario.step("use")
    fourth = _first_images(scenario)[3]
    message = step["message"]
    assert message["role"] == "user"
    [text] = message["content"]
    assert fourth["path"] in text["text"] and "seed 42" in text["text"] and FIRST["prompt"] in text["text"]
    chosen = step["context"]["structuredContent"]["chosen_image"]
    assert chosen["path"] == fourth["path"] and chosen["uri"] == fourth["uri"] and chosen["seed"] == 42
    assert step["card"] == {"uri": fourth["uri"], "label": "Chosen ✓"}


def test_history_lists_earlier_images_that_can_be_opened_and_refined(scenario: Scenario) -> None:
    earlier_uris = {image["uri"] for image in scenario.earlier["images"]}
    tiles = scenario.step("history")["tiles"]
    assert earlier_uris <= {tile["uri"] for tile in tiles}
    assert all(EARLIER_PROMPT in tile["caption"] for tile in tiles if tile["uri"] in earlier_uris)
    assert not {image["uri"] for image in _first_images(scenario)} & {tile["uri"] for tile in tiles}
    step = scenario.step("history-open")
    opened = step["opened"]
    assert opened["tag"] == "From history" and step["uri"] in earlier_uris
    [image] = opened["images"]
    assert image["decoded"] and image["prompt"] == EARLIER_PROMPT and image["facts"]["seed"] == "7"
    call = step["call"]
    assert call["name"] == "generate_image"
    assert call["arguments"]["prompt"] == EARLIER_PROMPT and call["arguments"]["batch_size"] == 2
    assert call["arguments"]["seed"] != 7
    assert len(step["run"]["images"]) == 2


def test_failures_show_as_readable_messages(scenario: Scenario) -> None:
    step = scenario.step("provider-error")
    assert 0 <= step["newRunTop"] < step["windowHeight"], "a new run scrolls into sight of the button clicked far below"
    failed_call = step["run"]
    assert failed_call["state"] == "error"
    assert "HTTP 400" in failed_call["error"] and "The parameter is invalid" in failed_call["error"]
    assert "Error executing tool" not in failed_call["error"]
    batch = scenario.step("failed-image")["run"]
    assert len(batch["images"]) == 3 and all(image["decoded"] for image in batch["images"])
    [failure] = batch["failures"]
    assert failure.startswith("Image 2 failed:") and "expired" in failure


def test_the_view_loads_nothing_from_the_network_and_logs_no_errors(scenario: Scenario) -> None:
    origin = scenario.report["origin"]
    outside = [url for url in scenario.report["requests"] if not url.startswith((origin, "data:", "blob:"))]
    assert outside == []
    assert scenario.report["pageErrors"] == []
    assert [line for line in scenario.report["console"] if line.startswith("error")] == []


def test_every_image_the_view_made_is_saved_with_its_sidecar(scenario: Scenario) -> None:
    runs = ["first", "more", "reprompt", "edit", "history-open", "failed-image"]
    shown = {image["uri"] for name in runs for image in scenario.step(name)["run"]["images"]}
    saved = {path.name for path in scenario.image_dir.iterdir() if path.suffix == ".png"}
    assert len(shown) == 4 + 4 + 4 + 1 + 2 + 3
    assert {uri.removeprefix("siliconflow-image://images/") for uri in shown} <= saved
    assert len(saved) == len(shown) + 2, "the two earlier images, and every image the view asked for"
    assert all((scenario.image_dir / f"{name}.json").exists() for name in saved)


def test_a_failed_call_shows_its_message_not_a_blank_frame(degraded: Scenario) -> None:
    step = degraded.step("first-error")
    assert step["run"]["state"] == "error"
    assert "HTTP 400" in step["run"]["error"] and "The parameter is invalid" in step["run"]["error"]
    assert step["visible"]["statusHidden"] and "The parameter is invalid" in step["visible"]["text"]


def test_text_only_results_without_inline_images_still_show_everything(degraded: Scenario) -> None:
    step = degraded.step("text-only")
    images = step["run"]["images"]
    assert len(images) == 2 and all(image["decoded"] for image in images)
    saved = sorted(path for path in degraded.image_dir.glob("*_seed9_*.png"))
    assert [image["sha256"] for image in images] == [hashlib.sha256(path.read_bytes()).hexdigest() for path in saved]
    for image, path in zip(images, saved, strict=True):
        assert image["facts"]["seed"] == "9" and image["facts"]["model"] == "Kwai-Kolors/Kolors"
        assert image["facts"]["size"] == "1024 × 1024" and f"{path.stat().st_size:,} B" in image["facts"]["bytes"]
        assert image["facts"]["time"] == f"{INFERENCE_SECONDS} s", "timing comes from the sidecar"
        assert image["prompt"] == MARKUP["prompt"], "the prompt is shown as text, markup and all"
    assert step["markup"] == {"injected": 0, "heading": f"“{MARKUP['prompt']}”"}


def test_actions_the_host_cannot_serve_are_disabled_and_say_why(degraded: Scenario) -> None:
    buttons = degraded.step("text-only")["buttons"]
    first = sorted(degraded.image_dir.glob("*_seed9_1.png"))[0]
    assert buttons["download"]["disabled"] and str(first) in buttons["download"]["title"]
    assert buttons["use"]["disabled"] and "cannot pass" in buttons["use"]["title"]
    assert not buttons["more"]["disabled"] and not buttons["edit"]["disabled"]
    full_size = degraded.step("in-frame-full-size")
    assert full_size["width"] == 1024 and full_size["displayModes"] == [], "no fullscreen asked of a host without it"


def test_edit_works_from_a_text_only_result(degraded: Scenario) -> None:
    step = degraded.step("edit-from-text")
    second = sorted(degraded.image_dir.glob("*_seed9_2.png"))[0]
    assert step["call"]["name"] == "edit_image"
    assert step["call"]["arguments"] == {"image": str(second), "prompt": EDIT_INSTRUCTION}
    assert step["run"]["images"] and all(image["decoded"] for image in step["run"]["images"])


def test_a_cancelled_call_and_a_view_opened_alone_say_so(degraded: Scenario) -> None:
    assert "The call was cancelled (user action); nothing was made." in degraded.step("cancelled")["status"]
    assert "MCP host" in degraded.step("standalone")["status"]
    assert degraded.report["pageErrors"] == []


def test_a_working_video_job_shows_its_status_then_the_view_plays_the_saved_video(video: Scenario) -> None:
    step = video.step("video-working")
    assert step["answer"]["structured"]["status"] == "working"
    assert step["working"]["state"] == "done" and "is still being made" in step["working"]["text"]
    job = step["answer"]["structured"]["job"]
    assert {"name": "get_video", "arguments": {"job": job, "wait": 45}}.items() <= step["calls"][0].items()
    shown = step["shown"]
    [saved] = list(video.image_dir.glob("*.mp4"))
    assert shown["uri"] == f"siliconflow-image://images/{saved.name}" and shown["uri"] in step["reads"]
    assert shown["posterMime"] == "image/jpeg" and shown["posterLength"] > 1000  # the poster first
    assert shown["src"] == "data:video/mp4;base64" and (shown["width"], shown["height"]) == (128, 72)
    assert shown["played"] > 0.2 and shown["badge"] == ""
    assert shown["prompt"] == VIDEO["prompt"] and shown["facts"]["job"] == job
    assert shown["buttons"] == ["use", "more", "download"]


def test_an_earlier_video_opens_from_the_history_strip_by_its_poster(video: Scenario) -> None:
    step = video.step("video-history")
    [saved] = list(video.image_dir.glob("*.mp4"))
    [tile] = [tile for tile in step["tiles"] if tile["caption"].startswith("▶")]
    assert tile["uri"].endswith(saved.name.replace(".mp4", ".jpg")) and VIDEO["prompt"] in tile["caption"]
    assert not any(tile["uri"].endswith(".mp4") for tile in step["tiles"])
    assert step["shown"]["uri"].endswith(saved.name) and step["shown"]["played"] > 0.2


def test_a_video_job_that_fails_shows_the_providers_reason(video: Scenario) -> None:
    run = video.step("video-failed")["run"]
    assert run["state"] == "error" and "the prompt was blocked by moderation" in run["error"]
