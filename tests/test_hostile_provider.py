"""A hostile or unlucky provider: slow and trickling CDNs, oversized and malformed answers, long Retry-After,
errors that echo the key. Each is bounded, readable, and costs nothing it need not."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from mcp_server_siliconflow_image.pipeline import execute as generation
from mcp_server_siliconflow_image.settings import Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn, render_image
from tests.helpers import API_KEY, first_text, generate, unused_port
from tests.images import encode
from tests.raw_client import RawStdioClient

pytestmark = pytest.mark.anyio


def key_fragments(text: str) -> list[str]:
    """Every prefix of the key at least six characters long that appears in `text`."""
    return [API_KEY[:end] for end in range(6, len(API_KEY) + 1) if API_KEY[:end] in text]


async def test_a_download_slower_than_the_generation_timeout_still_arrives(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.faults.append(Fault(target="download", delay=2))  # the CDN answers after 2 s
    result = await generate(dataclasses.replace(settings, timeout=1))  # SILICONFLOW_TIMEOUT=1
    assert not result.is_error, first_text(result)
    assert (
        Path(result.structured_content["images"][0]["path"]).read_bytes()
        == next(iter(standin.state.images.values())).data
    )


async def test_a_trickling_cdn_is_bounded_by_the_download_budget_not_retried_forever(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="trickle", delay=0.05, times=9))
    result = await generate(dataclasses.replace(settings, download_seconds=1.5))
    assert result.is_error
    assert "took longer than its 1.5 s budget" in first_text(result)
    assert len(standin.state.downloads) == 1  # the budget covers retries: not three more minutes of it
    assert [path.name for path in image_dir.iterdir() if path.name.startswith(".")] == []


async def test_retry_after_as_an_http_date_is_obeyed(standin: RunningStandIn, settings: Settings) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    standin.state.faults.append(Fault(status=429, retry_after=soon))
    result = await generate(settings)
    assert not result.is_error, first_text(result)
    assert len(standin.state.requests) == 2


async def test_retry_after_beyond_the_deadline_answers_at_once_saying_when(
    standin: RunningStandIn, settings: Settings
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    standin.state.faults.append(Fault(status=429, retry_after=format_datetime(later, usegmt=True), times=9))
    result = await generate(settings)  # SILICONFLOW_TIMEOUT=180: never sleep a capped 60 s and retry anyway
    assert result.is_error
    assert len(standin.state.requests) == 1
    text = first_text(result)
    assert re.search(r"asks to wait 3(59\d|600) s", text)  # seconds pass before the date is read on a busy machine
    assert f"try again after {later:%H:%M}" in text


async def test_more_images_than_asked_are_not_fetched(standin: RunningStandIn, settings: Settings) -> None:
    extra = base64.b64encode(encode("PNG", (32, 32))).decode()
    standin.state.faults.append(Fault(status=200, body={"images": [{"b64_json": extra}] * 7, "seed": 3}))
    result = await generate(settings)
    assert not result.is_error
    assert len(result.structured_content["images"]) == 1
    assert "returned 7 images for 1 asked; only the first 1 were kept" in " ".join(result.structured_content["notes"])


async def test_an_oversized_or_invalid_inline_image_is_refused_with_the_others_kept(
    standin: RunningStandIn, settings: Settings
) -> None:
    small = base64.b64encode(encode("PNG", (32, 32))).decode()
    large = base64.b64encode(render_image("noise", "x", 1, (300, 300), 1)[0]).decode()
    body = {"images": [{"b64_json": small}, {"b64_json": large}, {"b64_json": "not base64!!"}], "seed": 1}
    standin.state.faults.append(Fault(status=200, body=body))
    result = await generate(dataclasses.replace(settings, max_download_bytes=100_000), batch_size=3)
    assert not result.is_error, first_text(result)
    assert len(result.structured_content["images"]) == 1
    errors = {failure["index"]: failure["error"] for failure in result.structured_content["failed"]}
    assert "over the 100000 byte limit (SILICONFLOW_MAX_IMAGE_BYTES)" in errors[2]
    assert "not valid base64" in errors[3]


async def test_a_huge_json_answer_is_not_read_into_memory(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(Fault(status=200, body={"images": [], "padding": "x" * 3_000_000}))
    result = await generate(dataclasses.replace(settings, max_download_bytes=100_000))
    assert result.is_error
    assert "answer was larger than 1 MB" in first_text(result)


async def test_a_provider_error_echoing_the_key_past_the_cut_leaks_no_prefix(
    standin: RunningStandIn, settings: Settings
) -> None:
    standin.state.faults += [
        Fault(status=400, body={"message": "x" * 290 + f" {API_KEY} was used"}),  # the cut falls inside the key
        Fault(status=401, body={"code": 20012, "message": f"Invalid token {API_KEY[:12]}..."}),  # a prefix only
    ]
    first, second = await generate(settings), await generate(settings)
    for result in (first, second):
        assert result.is_error
        assert key_fragments(first_text(result)) == [], first_text(result)
    assert "Invalid token [redacted]..." in first_text(second)


@pytest.mark.slow
def test_no_failure_reads_error_executing_tool(standin: RunningStandIn, server_env: dict[str, str]) -> None:
    """Raw JSON-RPC, so values the SDK client would never send (NaN, full-width digits) really arrive."""
    client = RawStdioClient(server_env)
    calls: list[tuple[str, str]] = [
        ('{"prompt": "x", "batch_size": "３"}', "batch_size must be an integer from 1 to 4 (got '３')"),
        ('{"prompt": "x", "guidance_scale": NaN}', "guidance_scale must be a number from 0 to 20 (got nan)"),
        ('{"prompt": "x", "image_size": "1024x1024\\n"}', "image_size must be a string shaped like '1024x1024'"),
        ('{"prompt": "   "}', "prompt must describe the image: it is empty or only whitespace"),
        ('{"prompt": "x", "image_size": "5000x5000"}', "each side must be 64 to 4096 pixels"),
        ('{"prompt": "x", "image_size": "32x32"}', "each side must be 64 to 4096 pixels"),
    ]
    edits: list[tuple[str, str]] = [
        ('{"prompt": "x", "image": "/tmp/a\\u0000b.png"}', "image contains a NUL byte"),
        ('{"prompt": "x", "image": "http://[::1/x.png"}', "is not a valid URL"),
        ('{"prompt": "x", "image": "https://example.com:99999/x.png"}', "is not a valid URL"),
    ]
    try:
        client.handshake()
        answers = []
        for index, (arguments, _) in enumerate([*calls, *edits]):
            tool = "generate_image" if index < len(calls) else "edit_image"
            line = f'{{"jsonrpc": "2.0", "id": {100 + index}, "method": "tools/call", '
            line += f'"params": {{"name": "{tool}", "arguments": {arguments}}}}}'
            client.send_line(line)
            answers.append(client.read_until(100 + index))
    finally:
        client.close()
    for answer, (_, expected) in zip(answers, [*calls, *edits], strict=True):
        result = answer["result"]
        text = result["content"][0]["text"]
        assert result["isError"] is True and expected in text, text
        assert "Error executing tool" not in text and "validation error" not in text
    assert standin.state.requests == []


async def test_an_unexpected_failure_is_a_sentence_not_a_traceback(
    standin: RunningStandIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(f"something internal broke near {API_KEY}")

    monkeypatch.setattr(generation, "build_result", broken)
    result = await generate(settings)
    assert result.is_error
    text = first_text(result)
    assert text.startswith("generate_image failed unexpectedly inside this server (RuntimeError")
    assert "Error executing tool" not in text and key_fragments(text) == []


async def test_inline_images_off_is_said_in_the_notes(standin: RunningStandIn, settings: Settings) -> None:
    result = await generate(dataclasses.replace(settings, inline_max_bytes=0))
    assert not result.is_error
    assert [block.type for block in result.content] == ["resource_link", "text"]
    assert any(
        "Inline images are off (SILICONFLOW_INLINE_MAX_BYTES=0)" in note for note in result.structured_content["notes"]
    )


def key_runs(text: str, shortest: int = 8) -> list[str]:
    """Every run of at least `shortest` consecutive characters of the key found in `text` (prefix or not)."""
    return [
        API_KEY[start:end]
        for start in range(len(API_KEY))
        for end in range(start + shortest, len(API_KEY) + 1)
        if API_KEY[start:end] in text
    ]


def small_png_b64() -> str:
    return base64.b64encode(encode("PNG", (32, 32))).decode()


async def test_a_huge_retry_after_is_a_rate_limit_sentence_not_an_overflow(
    standin: RunningStandIn, settings: Settings
) -> None:
    """A gateway asking to wait an absurd time (`Retry-After: 99999999999999`, past any date) gets the rate-limit
    sentence naming HTTP 429 and Retry-After, once, without a retry: not an arithmetic overflow reported as an
    unexpected failure inside the server."""
    standin.state.faults.append(Fault(status=429, retry_after="99999999999999", times=9))
    result = await generate(settings)
    assert result.is_error
    text = first_text(result)
    assert "failed unexpectedly" not in text and "OverflowError" not in text, text
    assert "HTTP 429" in text and "Retry-After" in text, text
    assert len(standin.state.requests) == 1


async def test_one_malformed_image_link_costs_only_that_image(standin: RunningStandIn, settings: Settings) -> None:
    """A result link no HTTP client can parse (a control character in it) is reported as that image's failure;
    the batch's other paid image, already delivered inline, is saved and returned."""
    body = {"images": [{"b64_json": small_png_b64()}, {"url": f"http://127.0.0.1:{unused_port()}/a\x01b.png"}]}
    standin.state.faults.append(Fault(status=200, body={**body, "seed": 5}))
    result = await generate(settings, batch_size=2)
    assert not result.is_error, first_text(result)
    assert len(result.structured_content["images"]) == 1
    assert [failure["index"] for failure in result.structured_content["failed"]] == [2]
    assert Path(result.structured_content["images"][0]["path"]).is_file()


async def test_a_batch_of_inline_images_each_under_the_limit_is_not_refused_as_too_large(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """The size limit on the provider's answer grows with the batch: four base64 images, each under
    SILICONFLOW_MAX_IMAGE_BYTES, make an answer larger than one image's limit, and all four are saved."""
    images = [render_image("noise", "x", seed, (520, 520), 1)[0] for seed in range(4)]
    assert all(len(data) < 1_000_000 for data in images)
    body = {"images": [{"b64_json": base64.b64encode(data).decode()} for data in images], "seed": 9}
    standin.state.faults.append(Fault(status=200, body=body))
    result = await generate(dataclasses.replace(settings, max_download_bytes=1_000_000), batch_size=4)
    assert not result.is_error, first_text(result)
    saved = sorted(Path(image["path"]).read_bytes() for image in result.structured_content["images"])
    assert saved == sorted(images)


async def test_an_odd_timings_field_does_not_throw_away_the_paid_images(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    """Decorative fields of the answer are read leniently: a gateway formatting its timings
    (`"timings": {"inference": "1.2s"}`) still gets its generated image saved, with the seed."""
    body = {"images": [{"b64_json": small_png_b64()}], "seed": 7, "timings": {"inference": "1.2s"}}
    standin.state.faults.append(Fault(status=200, body=body))
    result = await generate(settings)
    assert not result.is_error, first_text(result)
    assert len(result.structured_content["images"]) == 1
    assert result.structured_content["seed"] == 7


async def test_a_key_echoed_across_two_lines_leaks_no_part_of_it(standin: RunningStandIn, settings: Settings) -> None:
    """An error that echoes the key wrapped onto a second line (so its end stands alone, not after its prefix)
    shows no run of eight or more of the key's characters."""
    message = f"Invalid token {API_KEY[:14]}\n{API_KEY[14:]} (wrapped)"
    standin.state.faults.append(Fault(status=401, body={"code": 20012, "message": message}))
    result = await generate(settings)
    assert result.is_error
    assert key_runs(first_text(result)) == [], first_text(result)
