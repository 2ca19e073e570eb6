"""An offline stand-in for the SiliconFlow image API: the same JSON, real images, expiring links.

It is the test suite's provider and a product feature: new users see the whole path work with no key
and no network, and agent builders get deterministic, free image tools for their CI. Faults can be
injected (status codes with Retry-After, slow answers, expired or broken links) to exercise error
handling.

Images are deterministic in (prompt, seed, size, index). `image_kind` chooses what they look like:
"pattern" draws shapes derived from the prompt (needs Pillow), "noise" makes incompressible PNGs of
realistic provider size (1024x1024 RGB is ~3 MB), "jpeg" is a photo-like JPEG.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import random
import secrets
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server_siliconflow_image.provider.catalog import MODELS, find_model

ImageKind = Literal["pattern", "noise", "jpeg"]
ResponseShape = Literal["images", "data", "b64_json"]
URL_LIFETIME_SECONDS = 3600


@dataclass
class Fault:
    """One injected failure. `target` is "generate", "download" or "user_info"; it fires `times` times, then is gone.

    status: answer this HTTP status (with the provider's error JSON, or `body` if given);
    retry_after: send a Retry-After header (seconds, or an HTTP date given as a string); delay: sleep this
    long first (a slow or stuck provider); kind: "html" (serve an HTML page with 200), "truncate" (cut the
    image short), "reset" (drop the connection), "expired" (the link answers 403 as an expired signed URL
    does), "corrupt" (a PNG whose header and end are right but whose pixel data is garbage), "huge" (a
    complete PNG declaring 30000x30000 pixels: a decompression bomb's header), "trickle" (the image, one
    byte every `delay` seconds: a stalled CDN). Target "static" faults the /static files (edit inputs).
    `index` limits a download fault to the n-th image (1-based) of a batch.
    """

    target: Literal["generate", "download", "user_info", "static"] = "generate"
    status: int | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    kind: str | None = None
    body: Any = None
    times: int = 1
    index: int | None = None
    model: str | None = None
    argument: str | None = None
    """With `model`/`argument`, fires only for requests to that model / that carry that argument."""

    def matches(self, target: str, index: int | None, body: dict[str, Any] | None) -> bool:
        if self.target != target or (self.index is not None and self.index != index):
            return False
        if self.model is not None and (body is None or body.get("model") != self.model):
            return False
        return self.argument is None or (body is not None and self.argument in body)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        return cls(**{key: value for key, value in raw.items() if key in cls.__dataclass_fields__})


@dataclass
class StoredImage:
    data: bytes
    content_type: str
    expires: float
    signature: str
    index: int


@dataclass
class StandInState:
    api_key: str | None = "sk-standin"
    image_kind: ImageKind = "pattern"
    response_shape: ResponseShape = "images"
    inference_delay: float = 0.0
    content_type: str | None = None
    """Content-Type for image downloads; None means the true one. CDNs often send octet-stream."""
    models_route: bool = True
    """False: answer 404 on /models, like gateways that do not list models."""
    extra_models: dict[str, str] = field(default_factory=dict)
    """Models the provider lists that the built-in catalog does not know: id -> sub_type."""
    withdrawn_models: set[str] = field(default_factory=set)
    """Catalog models this provider does not offer: absent from /models, 404 on generation."""
    balance: str = "88.88"
    """The account balance `GET /v1/user/info` reports."""
    static_files: dict[str, bytes] = field(default_factory=dict)
    static_hosts: list[str] = field(default_factory=list)
    """The Host header of every /static request, as the client sent it."""
    """Extra files served at /static/<name> (input images for edit tests and demos)."""
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    model_list_calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    """Most generation requests the stand-in was answering at the same time."""
    downloads: list[str] = field(default_factory=list)
    images: dict[str, StoredImage] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, target: str, index: int | None = None, body: dict[str, Any] | None = None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(target, index, body):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def reset(self) -> None:
        """Back to a fresh stand-in's behaviour (the key is kept): no faults, no history, default images."""
        fresh = StandInState(api_key=self.api_key)
        with self.lock:
            for name in self.__dataclass_fields__:
                if name != "lock":
                    setattr(self, name, getattr(fresh, name))


CONFIGURABLE = ("image_kind", "response_shape", "inference_delay", "content_type", "models_route", "balance")
"""StandInState fields the control route may change at run time."""


def provider_error(status: int, message: str, code: int = 20000) -> JSONResponse:
    """The provider's documented error body: `{"code": ..., "message": ..., "data": null}`."""
    return JSONResponse({"code": code, "message": message, "data": None}, status_code=status)


def create_app(state: StandInState) -> Starlette:
    async def generations(request: Request) -> Response:
        if state.api_key is not None and request.headers.get("authorization") != f"Bearer {state.api_key}":
            return provider_error(401, "Invalid token", code=20012)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return provider_error(400, "Request body is not valid JSON", code=20015)
        with state.lock:
            state.requests.append(body)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return await answer_generation(request, body)
        finally:
            with state.lock:
                state.in_flight -= 1

    async def answer_generation(request: Request, body: Any) -> Response:
        fault = state.take_fault("generate", body=body if isinstance(body, dict) else None)
        if fault is not None:
            answer = await _apply_fault(fault)
            if answer is not None:
                return answer
        problem = _check_body(body)
        if problem:
            return provider_error(400, problem, code=20015)
        if body["model"] in state.withdrawn_models:
            return provider_error(404, f"Model does not exist: {body['model']}", code=20404)
        if state.inference_delay:
            await asyncio.sleep(state.inference_delay)
        return JSONResponse(_generation_body(state, request, body))

    async def download(request: Request) -> Response:
        image_id = request.path_params["image_id"]
        with state.lock:
            state.downloads.append(image_id)
            stored = state.images.get(image_id)
        if stored is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        fault = state.take_fault("download", stored.index)
        if fault is not None:
            if fault.kind == "html":
                return Response("<!DOCTYPE html><html><body>Gateway error</body></html>", media_type="text/html")
            if fault.kind == "truncate":
                return Response(stored.data[: len(stored.data) // 3], media_type=stored.content_type)
            if fault.kind == "expired":
                return _s3_error(403, "AccessDenied", "Request has expired")
            if fault.kind in BROKEN_IMAGES:
                return Response(BROKEN_IMAGES[fault.kind](stored.data), media_type="image/png")
            if fault.kind == "trickle":
                return _trickle(stored.data, fault.delay)
            answer = await _apply_fault(fault)
            if answer is not None:
                return answer
        if request.query_params.get("Signature") != stored.signature:
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if time.time() > stored.expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        return Response(stored.data, media_type=state.content_type or stored.content_type)

    async def static(request: Request) -> Response:
        data = state.static_files.get(request.path_params["name"])
        with state.lock:
            state.static_hosts.append(request.headers.get("host", ""))
        if data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        fault = state.take_fault("static")
        if fault is not None and fault.kind == "trickle":
            return _trickle(data, fault.delay)
        return Response(data, media_type="application/octet-stream")

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": request.query_params.get("to", "/")})

    async def models(request: Request) -> Response:
        if state.api_key is not None and request.headers.get("authorization") != f"Bearer {state.api_key}":
            return provider_error(401, "Invalid token", code=20012)
        with state.lock:
            state.model_list_calls += 1
        if not state.models_route:
            return provider_error(404, "Not Found", code=20404)
        if request.query_params.get("type", "image") != "image":
            return JSONResponse({"object": "list", "data": []})
        sub_type = request.query_params.get("sub_type")
        offered: list[tuple[str, tuple[str, ...]]] = [
            (model.id, model.capabilities) for model in MODELS if model.id not in state.withdrawn_models
        ]
        offered += [(model_id, (kind,)) for model_id, kind in state.extra_models.items()]
        data = [
            {"id": model_id, "object": "model", "created": 0, "owned_by": model_id.split("/")[0]}
            for model_id, capabilities in offered
            if sub_type is None or sub_type in capabilities
        ]
        return JSONResponse({"object": "list", "data": data})

    async def user_info(request: Request) -> Response:
        if state.api_key is not None and request.headers.get("authorization") != f"Bearer {state.api_key}":
            return provider_error(401, "Invalid token", code=20012)
        fault = state.take_fault("user_info")
        if fault is not None and (answer := await _apply_fault(fault)) is not None:
            return answer
        data = {
            "id": "",
            "name": "stand-in",
            "email": "stand-in@example.invalid",
            "isAdmin": False,
            "balance": state.balance,
            "status": "normal",
            "chargeBalance": "0.00",
            "totalBalance": state.balance,
        }
        return JSONResponse({"code": 20000, "message": "OK", "status": True, "data": data})

    async def control_faults(request: Request) -> Response:
        raw = json.loads(await request.body() or b"[]")
        faults = [Fault.from_json(item) for item in (raw if isinstance(raw, list) else [raw])]
        with state.lock:
            state.faults.extend(faults)
        return JSONResponse({"queued": len(faults)})

    async def control_config(request: Request) -> Response:
        changes = json.loads(await request.body() or b"{}")
        unknown = sorted(set(changes) - set(CONFIGURABLE))
        if unknown:
            return provider_error(400, f"not configurable: {', '.join(unknown)}; choose from {', '.join(CONFIGURABLE)}")
        with state.lock:
            for name, value in changes.items():
                setattr(state, name, value)
        return JSONResponse({name: getattr(state, name) for name in CONFIGURABLE})

    async def control_requests(_: Request) -> Response:
        with state.lock:
            return JSONResponse({"requests": state.requests, "downloads": state.downloads})

    return Starlette(
        middleware=[Middleware(TraceIdMiddleware)],
        routes=[
            Route("/v1/images/generations", generations, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/user/info", user_info, methods=["GET"]),
            Route("/files/{image_id}", download, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
            Route("/redirect", redirect, methods=["GET"]),
            Route("/_standin/faults", control_faults, methods=["POST"]),
            Route("/_standin/config", control_config, methods=["POST"]),
            Route("/_standin/requests", control_requests, methods=["GET"]),
        ],
    )


TRACE_HEADER = "x-siliconcloud-trace-id"


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


async def _apply_fault(fault: Fault) -> Response | None:
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


def _corrupt_png(data: bytes) -> bytes:
    """The same PNG with its compressed pixel data overwritten: the header and the end still look right."""
    start = data.find(b"IDAT") + 4
    return data[:start] + bytes(range(256)) * 8 + data[start + 2048 :]


def _huge_png(_: bytes) -> bytes:
    """A complete, valid-looking PNG that declares 30000x30000 pixels (2.7 GB decoded): a decompression bomb."""
    width = height = 30_000

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 64)  # the first rows only: enough to look real
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


BROKEN_IMAGES = {"corrupt": _corrupt_png, "huge": _huge_png}


def _trickle(data: bytes, seconds_per_byte: float) -> Response:
    """The bytes, one at a time with a pause between: a CDN that never quite stops, never quite delivers."""

    async def body() -> AsyncIterator[bytes]:
        for offset in range(len(data)):
            yield data[offset : offset + 1]
            await asyncio.sleep(seconds_per_byte)

    return StreamingResponse(body(), media_type="image/png")


def _dropped_connection() -> Response:
    """A response that starts, then loses its connection mid-body, as a reset or a crashed proxy does."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"images": ['
        raise ConnectionResetError("stand-in: injected connection reset")

    return StreamingResponse(body(), media_type="application/json", headers={"Content-Length": "4096"})


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(xml, status_code=status, media_type="application/xml")


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


def _input_size(image: object) -> tuple[int, int] | None:
    """Edits come back at the input image's size, as the real edit models do."""
    if not isinstance(image, str) or not image.startswith("data:"):
        return None
    import base64

    from mcp_server_siliconflow_image.imageformat import NotAnImageError, identify

    try:
        found = identify(base64.b64decode(image.partition(",")[2]))
    except (NotAnImageError, ValueError):
        return None
    return found.width, found.height


def _parse_size(size: str) -> tuple[int, int] | None:
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()) or not (0 < int(width) <= 4096 and 0 < int(height) <= 4096):
        return None
    return int(width), int(height)


def _generation_body(state: StandInState, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    seed = body.get("seed")
    if not isinstance(seed, int):
        seed = random.randrange(0, 9_999_999_999)  # the provider picks one when none is given
    size = _parse_size(body["image_size"]) if "image_size" in body else _input_size(body.get("image"))
    size = size or (1024, 1024)
    items: list[dict[str, Any]] = []
    for index in range(1, _images_per_request(body) + 1):
        data, content_type = render_image(state.image_kind, str(body["prompt"]), seed, size, index)
        if state.response_shape == "b64_json":
            import base64

            items.append({"b64_json": base64.b64encode(data).decode("ascii")})
            continue
        image_id = f"{secrets.token_hex(8)}.{content_type.split('/')[1].replace('jpeg', 'jpg')}"
        expires = time.time() + URL_LIFETIME_SECONDS
        signature = secrets.token_urlsafe(16)
        with state.lock:
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


def _images_per_request(body: dict[str, Any]) -> int:
    """As the reference says of `batch_size`: "Only applicable to Kwai-Kolors/Kolors"; others make one image."""
    known = find_model(str(body["model"]))
    if known is not None and not known.family.native_batch:
        return 1
    return int(body.get("batch_size", 1))


@functools.lru_cache(maxsize=32)
def render_image(kind: ImageKind, prompt: str, seed: int, size: tuple[int, int], index: int) -> tuple[bytes, str]:
    """Deterministic image bytes for (prompt, seed, size, index), and their MIME type.

    Cached: a real provider's CDN serves stored bytes, so repeating a request costs the stand-in nothing.
    """
    digest = hashlib.sha256(f"{prompt}\0{seed}\0{size}\0{index}".encode()).digest()
    if kind == "noise":
        return noise_png(size, int.from_bytes(digest[:8], "big")), "image/png"
    return _drawn_image(prompt, seed, size, digest, "JPEG" if kind == "jpeg" else "PNG")


def noise_png(size: tuple[int, int], seed: int) -> bytes:
    """An RGB PNG of random pixels: it does not compress, like a detailed photo from a provider."""
    width, height = size
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def _drawn_image(prompt: str, seed: int, size: tuple[int, int], digest: bytes, image_format: str) -> tuple[bytes, str]:
    import io

    from PIL import Image, ImageDraw

    width, height = size
    top, bottom = digest[0:3], digest[3:6]
    column = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", size, tuple(bottom)), Image.new("RGB", size, tuple(top)), column)
    draw = ImageDraw.Draw(image)
    rng = random.Random(digest)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(8, min(size) // 12), max(16, min(size) // 4))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        box = (x0 - radius, y0 - radius, x0 + radius, y0 + radius)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour, outline=(0, 0, 0))
    caption = f"{prompt[:60]}\nseed {seed}"
    draw.multiline_text((12, 12), caption, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue(), f"image/{image_format.lower()}"


class RunningStandIn:
    """A stand-in served by uvicorn on a background thread; `base_url` ends in /v1 like the real API."""

    def __init__(self, state: StandInState, host: str, port: int) -> None:
        import uvicorn

        self.state = state
        config = uvicorn.Config(create_app(state), host=host, port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="standin-provider", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the stand-in provider did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def origin(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"


def serve_standin(state: StandInState, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the stand-in in the foreground until interrupted (the `stand-in` command)."""
    import uvicorn

    uvicorn.run(create_app(state), host=host, port=port, log_config=None, log_level="warning")


@contextmanager
def running_standin(
    state: StandInState | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningStandIn]:
    """Serve a stand-in provider on loopback for the duration of the block."""
    standin = RunningStandIn(state or StandInState(), host, port)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
