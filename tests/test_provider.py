"""The provider client against the stand-in: both response shapes, inline base64, honest errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_types import ImageContent

from mcp_server_siliconflow_image.settings import Secret, Settings
from mcp_server_siliconflow_image.standin import Fault, RunningStandIn
from tests.helpers import API_KEY, first_text, generate, unused_port

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("shape", ["images", "data", "b64_json"])
async def test_every_response_shape_gives_the_same_saved_bytes(
    standin: RunningStandIn, settings: Settings, shape: str
) -> None:
    standin.state.response_shape = shape  # type: ignore[assignment]
    result = await generate(settings, prompt="a boat", seed=9)
    assert not result.is_error, result.content
    from mcp_server_siliconflow_image.standin import render_image

    expected, _ = render_image("scene", "a boat", 9, (1024, 1024), 1)
    assert Path(result.structured_content["images"][0]["path"]).read_bytes() == expected


async def test_a_jpeg_served_as_octet_stream_is_saved_as_jpeg(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.image_kind = "jpeg"
    standin.state.content_type = "application/octet-stream"
    result = await generate(settings)
    image = result.structured_content["images"][0]
    assert image["mime_type"] == "image/jpeg" and image["path"].endswith(".jpg")
    assert [b.mime_type for b in result.content if isinstance(b, ImageContent)] == ["image/jpeg"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            400,
            "HTTP 400 (provider code 50400): stand-in: injected HTTP 400. The provider rejected the arguments",
        ),
        (404, "run list_models"),
        (429, "Rate limited"),
        (503, "overloaded"),
        (504, "timed out"),
    ],
)
async def test_provider_errors_say_what_happened_and_what_to_do(
    standin: RunningStandIn, settings: Settings, image_dir: Path, status: int, expected: str
) -> None:
    standin.state.faults.append(Fault(status=status, times=10))
    result = await generate(settings)
    assert result.is_error
    assert expected in first_text(result)
    assert not image_dir.exists() or list(image_dir.iterdir()) == []


async def test_gateway_error_shape_is_understood(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(
        Fault(status=400, body={"error": {"code": "invalid_size", "message": "size 10x10 unsupported"}})
    )
    result = await generate(settings)
    assert "(provider code invalid_size): size 10x10 unsupported" in first_text(result)


async def test_an_error_that_echoes_the_key_is_redacted(standin: RunningStandIn, settings: Settings) -> None:
    standin.state.faults.append(Fault(status=401, body={"code": 20012, "message": f"bad token {API_KEY}"}))
    result = await generate(settings)
    assert API_KEY not in first_text(result)
    assert "bad token [redacted]" in first_text(result)


async def test_unreachable_provider_is_explained(tmp_path: Path) -> None:
    settings = Settings(
        api_key=Secret(API_KEY),
        base_url=f"http://127.0.0.1:{unused_port()}/v1",
        image_dir=tmp_path,
        retry_base_delay=0.01,
    )
    result = await generate(settings, prompt="x")
    assert result.is_error
    assert "Nothing answers at" in first_text(result) and "SILICONFLOW_BASE_URL" in first_text(result)


async def test_one_broken_link_does_not_cost_the_other_images(
    standin: RunningStandIn, settings: Settings, image_dir: Path
) -> None:
    standin.state.faults.append(Fault(target="download", kind="html", index=2))
    result = await generate(settings, batch_size=3)
    assert not result.is_error
    structured = result.structured_content
    assert len(structured["images"]) == 2
    assert structured["failed"][0]["index"] == 2
    assert "did not return an image" in structured["failed"][0]["error"]
    assert len(list(image_dir.glob("*.png"))) == 2


async def test_user_info_reports_the_accounts_balance(standin: RunningStandIn, tmp_path: Path) -> None:
    import httpx2

    from mcp_server_siliconflow_image.provider.client import ProviderClient, ProviderError

    standin.state.balance = "12.34"
    settings = Settings(api_key=Secret(API_KEY), base_url=standin.base_url, image_dir=tmp_path)
    async with httpx2.AsyncClient() as http:
        account = await ProviderClient(settings, http).user_info()
        assert (account.total_balance, account.status) == ("12.34", "normal")
        wrong = Settings(api_key=Secret("sk-wrong"), base_url=standin.base_url, image_dir=tmp_path)
        with pytest.raises(ProviderError, match="HTTP 401"):
            await ProviderClient(wrong, http).user_info()


async def test_every_standin_answer_carries_a_trace_id(standin: RunningStandIn) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        answers = [await http.get(f"{standin.base_url}/models"), await http.get(f"{standin.base_url}/user/info")]
    trace_ids = [answer.headers["x-siliconcloud-trace-id"] for answer in answers]
    assert all(trace_id.startswith("ti_") for trace_id in trace_ids) and len(set(trace_ids)) == 2
