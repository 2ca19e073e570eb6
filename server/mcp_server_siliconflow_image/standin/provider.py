"""An offline stand-in for the SiliconFlow image and video APIs: the same JSON, real images and videos, expiring links.

It is the test suite's provider and a product feature: new users see the whole path work with no key
and no network, and agent builders get deterministic, free image tools for their CI. Faults can be
injected (status codes with Retry-After, slow answers, expired or broken links) to exercise error
handling.

This module is the HTTP API and how it answers faults; the images come from standin/pictures.py (an edit's
from standin/edits.py, which changes the input picture), the
settings and history from standin/state.py, and standin/serving.py runs it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify
from mcp_server_siliconflow_image.provider.catalog import MODELS, VIDEO_SIZES, find_model
from mcp_server_siliconflow_image.standin.edits import edit_png
from mcp_server_siliconflow_image.standin.pictures import BROKEN_IMAGES, ImageKind, render_image
from mcp_server_siliconflow_image.standin.state import CONFIGURABLE, Fault, StandInState, StoredImage, VideoJob
from mcp_server_siliconflow_image.standin.videos import garbled_mp4, render_video

URL_LIFETIME_SECONDS = 3600
TRACE_HEADER = "x-siliconcloud-trace-id"

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(state: StandInState) -> Starlette:
    """The stand-in's ASGI app, answering from (and recording into) `state`."""
    return StandInApi(state).app()


class StandInApi:
    """The provider's routes (`/v1/...`), its CDN (`/files`, `/static`) and the control routes (`/_standin/...`)."""

    def __init__(self, state: StandInState) -> None:
        self.state = state

    def app(self) -> Starlette:
        with_key = self._with_key
        return Starlette(
            middleware=[Middleware(TraceIdMiddleware)],
            routes=[
                Route("/v1/images/generations", with_key(self.generations), methods=["POST"]),
                Route("/v1/models", with_key(self.models), methods=["GET"]),
                Route("/v1/user/info", with_key(self.user_info), methods=["GET"]),
                Route("/v1/video/submit", with_key(self.video_submit), methods=["POST"]),
                Route("/v1/video/status", with_key(self.video_status), methods=["POST"]),
                Route("/files/{image_id}", self.download, methods=["GET"]),
                Route("/static/{name}", self.static, methods=["GET"]),
                Route("/redirect", self.redirect, methods=["GET"]),
                Route("/_standin/faults", self.control_faults, methods=["POST"]),
                Route("/_standin/config", self.control_config, methods=["POST"]),
                Route("/_standin/requests", self.control_requests, methods=["GET"]),
            ],
        )

    def _with_key(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint` behind the provider's bearer check: a missing or wrong key gets its 401 before anything else."""

        async def checked(request: Request) -> Response:
            key = self.state.api_key
            if key is not None and request.headers.get("authorization") != f"Bearer {key}":
                return provider_error(401, "Invalid token", code=20012)
            return await endpoint(request)

        return checked

    async def generations(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return provider_error(400, "Request body is not valid JSON", code=20015)
        state = self.state
        with state.lock:
            state.requests.append(body)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            epoch = state.epoch
        try:
            return await self._answer_generation(request, body, epoch)
        finally:
            with state.lock:
                if state.epoch == epoch:
                    state.in_flight -= 1

    async def _answer_generation(self, request: Request, body: Any, epoch: int) -> Response:
        fault = self.state.take_fault("generate", body=body if isinstance(body, dict) else None)
        if fault is not None:
            answer = await _apply_fault(fault)
            if answer is not None:
                return answer
        problem = _check_body(body)
        if problem:
            return provider_error(400, problem, code=20015)
        if body["model"] in self.state.withdrawn_models:
            return provider_error(404, f"Model does not exist: {body['model']}", code=20404)
        if self.state.inference_delay:
            await asyncio.sleep(self.state.inference_delay)
        return JSONResponse(self._generation_body(request, body, epoch))

    def _generation_body(self, request: Request, body: dict[str, Any], epoch: int) -> dict[str, Any]:
        state = self.state
        seed = body.get("seed")
        if not isinstance(seed, int):
            seed = random.randrange(0, 9_999_999_999)  # the provider picks one when none is given
        inputs = _input_images(body)
        size = _parse_size(body["image_size"]) if "image_size" in body else _input_size(inputs)
        size = size or (1024, 1024)
        items: list[dict[str, Any]] = []
        for index in range(1, _images_per_request(body) + 1):
            data, content_type = _picture(state.image_kind, str(body["prompt"]), seed, size, index, inputs)
            if state.response_shape == "b64_json":
                items.append({"b64_json": base64.b64encode(data).decode("ascii")})
                continue
            image_id = f"{secrets.token_hex(8)}.{content_type.split('/')[1].replace('jpeg', 'jpg')}"
            expires = time.time() + URL_LIFETIME_SECONDS
            signature = secrets.token_urlsafe(16)
            with state.lock:
                if state.epoch == epoch:  # not a late answer to a request from before a reset
                    state.images[image_id] = StoredImage(data, content_type, expires, signature, index)
            base = str(request.base_url).rstrip("/")
            items.append({"url": f"{base}/files/{image_id}?Expires={int(expires)}&Signature={signature}&X-Id=a%2Fb"})
        key = "images" if state.response_shape == "images" else "data"
        return {
            "created": int(time.time()),
            key: items,
            "timings": {"inference": state.inference_delay},
            "seed": seed,
        }

    async def models(self, request: Request) -> Response:
        state = self.state
        with state.lock:
            state.model_list_calls += 1
        if not state.models_route:
            return provider_error(404, "Not Found", code=20404)
        kind = request.query_params.get("type")
        sub_type = request.query_params.get("sub_type")
        offered: list[tuple[str, tuple[str, ...]]] = [
            (model.id, model.capabilities) for model in MODELS if model.id not in state.withdrawn_models
        ]
        offered += [(model_id, (capability,)) for model_id, capability in state.extra_models.items()]
        data = [
            {"id": model_id, "object": "model", "created": 0, "owned_by": model_id.split("/")[0]}
            for model_id, capabilities in offered
            if (kind is None or kind == _kind_of(capabilities)) and (sub_type is None or sub_type in capabilities)
        ]
        return JSONResponse({"object": "list", "data": data})

    async def user_info(self, _: Request) -> Response:
        fault = self.state.take_fault("user_info")
        if fault is not None and (answer := await _apply_fault(fault)) is not None:
            return answer
        balance = self.state.balance
        data = {
            "id": "",
            "name": "stand-in",
            "email": "stand-in@example.invalid",
            "isAdmin": False,
            "balance": balance,
            "status": "normal",
            "chargeBalance": "0.00",
            "totalBalance": balance,
        }
        return JSONResponse({"code": 20000, "message": "OK", "status": True, "data": data})

    async def video_submit(self, request: Request) -> Response:
        """`POST /v1/video/submit`: checks the job as the reference describes it, answers its `requestId`."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return provider_error(400, "Request body is not valid JSON", code=20015)
        with self.state.lock:
            self.state.requests.append(body)
        fault = self.state.take_fault("video_submit", body=body if isinstance(body, dict) else None)
        if fault is not None and (answer := await _apply_fault(fault)) is not None:
            return answer
        problem = _check_video_body(body, self.state)
        if problem:
            return provider_error(400, problem, code=20015)
        seed = body.get("seed")
        job = VideoJob(
            model=body["model"],
            prompt=body["prompt"],
            seed=seed if isinstance(seed, int) else random.randrange(0, 9_999_999_999),
            size=_parse_size(body["image_size"]) or (1280, 720),
            first_frame=_data_uri_bytes(body.get("image")),
            polls_left=max(0, int(self.state.video_polls)),
        )
        request_id = str(uuid.uuid4())
        with self.state.lock:
            self.state.video_jobs[request_id] = job
        return JSONResponse({"requestId": request_id})

    async def video_status(self, request: Request) -> Response:
        """`POST /v1/video/status`: InQueue, then InProgress, for `video_polls` answers; then Succeed with a link."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return provider_error(400, "Request body is not valid JSON", code=20015)
        request_id = body.get("requestId") if isinstance(body, dict) else None
        with self.state.lock:
            job = self.state.video_jobs.get(request_id) if isinstance(request_id, str) else None
        if job is None:
            return provider_error(400, f"requestId {str(request_id)[:80]!r} not found", code=20015)
        fault = self.state.take_fault("video_status")
        if fault is not None and fault.kind == "failed":
            job.status, job.reason = "Failed", str(fault.body or "stand-in: injected failure (content moderation)")
        elif fault is not None and (answer := await _apply_fault(fault)) is not None:
            return answer
        if job.status == "Failed":
            return JSONResponse({"status": "Failed", "reason": job.reason, "results": None})
        if job.polls_left > 0:
            job.status = "InQueue" if job.polls_left == self.state.video_polls and job.polls_left > 1 else "InProgress"
            job.polls_left -= 1
            position = 1 if job.status == "InQueue" else 0
            return JSONResponse({"status": job.status, "position": position, "reason": "", "results": None})
        if job.file_id is None:
            data = await asyncio.to_thread(render_video, job.prompt, job.seed, job.size, job.first_frame)
            job.file_id = f"{secrets.token_hex(8)}.mp4"
            expires = time.time() + self.state.video_link_seconds
            with self.state.lock:
                self.state.images[job.file_id] = StoredImage(data, "video/mp4", expires, secrets.token_urlsafe(16), 1)
            job.status = "Succeed"
        stored = self.state.images[job.file_id]
        base = str(request.base_url).rstrip("/")
        url = f"{base}/files/{job.file_id}?Expires={int(stored.expires)}&Signature={stored.signature}"
        results = {"videos": [{"url": url}], "timings": {"inference": 1.0}, "seed": job.seed}
        return JSONResponse({"status": "Succeed", "position": 0, "reason": "", "results": results})

    async def download(self, request: Request) -> Response:
        """A generated image from the stand-in's CDN: only with its link's signature, only before it expires."""
        image_id = request.path_params["image_id"]
        with self.state.lock:
            self.state.downloads.append(image_id)
            stored = self.state.images.get(image_id)
        if stored is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        fault = self.state.take_fault("download", stored.index)
        if fault is not None and (answer := await _download_fault_answer(fault, stored)) is not None:
            return answer
        if request.query_params.get("Signature") != stored.signature:
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if time.time() > stored.expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        media_type = self.state.content_type or stored.content_type
        if self.state.download_first_byte_delay:
            await asyncio.sleep(self.state.download_first_byte_delay)
        if self.state.download_rate > 0:
            return _paced(stored.data, self.state.download_rate, media_type)
        return Response(stored.data, media_type=media_type)

    async def static(self, request: Request) -> Response:
        data = self.state.static_files.get(request.path_params["name"])
        with self.state.lock:
            self.state.static_hosts.append(request.headers.get("host", ""))
        if data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        fault = self.state.take_fault("static")
        if fault is not None and fault.kind == "trickle":
            return _trickle(data, fault.delay)
        return Response(data, media_type="application/octet-stream")

    async def redirect(self, request: Request) -> Response:
        return Response(status_code=302, headers={"Location": request.query_params.get("to", "/")})

    async def control_faults(self, request: Request) -> Response:
        raw = json.loads(await request.body() or b"[]")
        faults = [Fault.from_json(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self.state.lock:
            self.state.faults.extend(faults)
        return JSONResponse({"queued": len(faults)})

    async def control_config(self, request: Request) -> Response:
        changes = json.loads(await request.body() or b"{}")
        unknown = sorted(set(changes) - set(CONFIGURABLE))
        if unknown:
            return provider_error(400, f"not configurable: {', '.join(unknown)}; choose from {', '.join(CONFIGURABLE)}")
        with self.state.lock:
            for name, value in changes.items():
                setattr(self.state, name, value)
        return JSONResponse({name: getattr(self.state, name) for name in CONFIGURABLE})

    async def control_requests(self, _: Request) -> Response:
        with self.state.lock:
            return JSONResponse({"requests": self.state.requests, "downloads": self.state.downloads})


class TraceIdMiddleware:
    """Every answer carries a fresh trace id, as every real provider answer does (its support asks for it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = f"ti_{secrets.token_hex(10)}"

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (TRACE_HEADER.encode(), trace_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_trace)


def provider_error(status: int, message: str, code: int = 20000) -> JSONResponse:
    """The provider's documented error body: `{"code": ..., "message": ..., "data": null}`."""
    return JSONResponse({"code": code, "message": message, "data": None}, status_code=status)


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(xml, status_code=status, media_type="application/xml")


async def _apply_fault(fault: Fault) -> Response | None:
    """Wait the fault's delay, then its answer (a status, a dropped connection); None: answer normally."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.kind == "reset":
        return _dropped_connection()
    if fault.status is None:
        return None
    retry_after = fault.retry_after
    headers = (
        None
        if retry_after is None
        else {"Retry-After": retry_after if isinstance(retry_after, str) else f"{retry_after:g}"}
    )
    if fault.body is not None:
        return JSONResponse(fault.body, status_code=fault.status, headers=headers)
    response = provider_error(fault.status, f"stand-in: injected HTTP {fault.status}", code=50000 + fault.status)
    if headers:
        response.headers.update(headers)
    return response


async def _download_fault_answer(fault: Fault, stored: StoredImage) -> Response | None:
    """What a faulty CDN serves instead of `stored`; None: serve it normally after all."""
    if fault.kind == "html":
        return Response("<!DOCTYPE html><html><body>Gateway error</body></html>", media_type="text/html")
    if fault.kind == "truncate":
        return Response(stored.data[: len(stored.data) // 3], media_type=stored.content_type)
    if fault.kind == "expired":
        return _s3_error(403, "AccessDenied", "Request has expired")
    if fault.kind == "garbled":
        return Response(garbled_mp4(stored.data), media_type=stored.content_type)
    if fault.kind in BROKEN_IMAGES:
        return Response(BROKEN_IMAGES[fault.kind](stored.data), media_type="image/png")
    if fault.kind == "trickle":
        return _trickle(stored.data, fault.delay)
    return await _apply_fault(fault)


def _trickle(data: bytes, seconds_per_byte: float) -> Response:
    """The bytes, one at a time with a pause between: a CDN that never quite stops, never quite delivers."""

    async def body() -> AsyncIterator[bytes]:
        for offset in range(len(data)):
            yield data[offset : offset + 1]
            await asyncio.sleep(seconds_per_byte)

    return StreamingResponse(body(), media_type="image/png")


PACED_CHUNK_BYTES = 64 * 1024


def _paced(data: bytes, bytes_per_second: float, media_type: str) -> Response:
    """The bytes at a link's pace: each chunk leaves once the link would have carried it (on an absolute
    schedule, so a late wake-up is made up for rather than added up)."""

    async def body() -> AsyncIterator[bytes]:
        started = time.monotonic()
        for offset in range(0, len(data), PACED_CHUNK_BYTES):
            chunk = data[offset : offset + PACED_CHUNK_BYTES]
            wait = started + (offset + len(chunk)) / bytes_per_second - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            yield chunk

    return StreamingResponse(body(), media_type=media_type, headers={"Content-Length": str(len(data))})


def _dropped_connection() -> Response:
    """A response that starts, then loses its connection mid-body, as a reset or a crashed proxy does."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"images": ['
        raise ConnectionResetError("stand-in: injected connection reset")

    return StreamingResponse(body(), media_type="application/json", headers={"Content-Length": "4096"})


def _check_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model is required"
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return "prompt is required"
    for name in ("image", "image2", "image3"):
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and value.startswith(("data:image/", "http"))):
            return f"{name} must be a URL or a data:image/...;base64 URI"
    size = body.get("image_size", "1024x1024")
    if not isinstance(size, str) or _parse_size(size) is None:
        return f"image_size {size!r} is not WIDTHxHEIGHT"
    batch = body.get("batch_size", 1)
    if not isinstance(batch, int) or not 1 <= batch <= 4:
        return "batch_size must be between 1 and 4"
    return None


def _picture(
    kind: ImageKind, prompt: str, seed: int, size: tuple[int, int], index: int, inputs: tuple[bytes, ...]
) -> tuple[bytes, str]:
    """What the stand-in makes: an edit is its input picture changed (for the "scene" kind), else a new picture."""
    if inputs and kind == "scene" and (edited := edit_png(inputs, prompt, seed, size, index)) is not None:
        return edited, "image/png"
    return render_image(kind, prompt, seed, size, index)


def _input_images(body: dict[str, Any]) -> tuple[bytes, ...]:
    """The edit's input images sent inline (`image`, then `image2`, `image3`), decoded; none for a generation."""
    images: list[bytes] = []
    for name in ("image", "image2", "image3"):
        value = body.get(name)
        if not isinstance(value, str) or not value.startswith("data:"):
            if name == "image":
                return ()
            continue
        try:
            images.append(base64.b64decode(value.partition(",")[2]))
        except ValueError:
            if name == "image":
                return ()
    return tuple(images)


def _kind_of(capabilities: tuple[str, ...]) -> str:
    """The `type` the provider lists a model under: video or image."""
    return "video" if any(capability.endswith("-to-video") for capability in capabilities) else "image"


def _check_video_body(body: Any, state: StandInState) -> str | None:
    """What the provider would refuse in a video job, in its words; None when it would take it."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    model = body.get("model")
    known = find_model(model) if isinstance(model, str) else None
    capabilities = known.capabilities if known is not None else (state.extra_models.get(str(model)),)
    if _kind_of(tuple(str(capability) for capability in capabilities)) != "video" or model in state.withdrawn_models:
        return "Model does not exist. Please check it carefully."
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        return "prompt is required"
    if body.get("image_size") not in VIDEO_SIZES:
        return f"image_size must be one of {', '.join(VIDEO_SIZES)}"
    image = body.get("image")
    if image is not None and not (isinstance(image, str) and image.startswith(("data:image/", "http"))):
        return "image must be a URL or a data:image/...;base64 URI"
    if "image-to-video" in capabilities and not image:
        return f"image is required for {model}"
    return None


def _data_uri_bytes(image: object) -> bytes | None:
    """The bytes of a `data:` URI image (the first frame of an image-to-video job), or None."""
    if not isinstance(image, str) or not image.startswith("data:"):
        return None
    try:
        return base64.b64decode(image.partition(",")[2])
    except ValueError:
        return None


def _input_size(inputs: tuple[bytes, ...]) -> tuple[int, int] | None:
    """Edits come back at the input image's size, as the real edit models do."""
    if not inputs:
        return None
    try:
        found = identify(inputs[0])
    except NotAnImageError:
        return None
    return _parse_size(f"{found.width}x{found.height}")  # a header declaring 30000x30000 is not drawn that large


def _parse_size(size: str) -> tuple[int, int] | None:
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()) or not (0 < int(width) <= 4096 and 0 < int(height) <= 4096):
        return None
    return int(width), int(height)


def _images_per_request(body: dict[str, Any]) -> int:
    """As the reference says of `batch_size`: "Only applicable to Kwai-Kolors/Kolors"; others make one image."""
    known = find_model(str(body["model"]))
    if known is not None and not known.family.native_batch:
        return 1
    return int(body.get("batch_size", 1))
