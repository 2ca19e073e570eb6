"""What a stand-in provider is told and remembers: its settings, the faults queued for it, what it was asked.

Tests and the control routes (`/_standin/...`) change a running stand-in only through this state; the
HTTP API (standin/provider.py) reads it under its lock on every request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_server_siliconflow_image.standin.pictures import ImageKind

ResponseShape = Literal["images", "data", "b64_json"]


@dataclass
class Fault:
    """One injected failure. `target` is "generate", "download", "user_info", "video_submit" or "video_status"; it
    fires `times` times, then is gone.

    status: answer this HTTP status (with the provider's error JSON, or `body` if given);
    retry_after: send a Retry-After header (seconds, or an HTTP date given as a string); delay: sleep this
    long first (a slow or stuck provider); kind: "html" (serve an HTML page with 200), "truncate" (cut the
    image short), "reset" (drop the connection), "expired" (the link answers 403 as an expired signed URL
    does), "corrupt" (a PNG whose header and end are right but whose pixel data is garbage), "huge" (a
    complete PNG declaring 30000x30000 pixels: a decompression bomb's header), "trickle" (the image, one
    byte every `delay` seconds: a stalled CDN). Target "static" faults the /static files (edit inputs).
    `index` limits a download fault to the n-th image (1-based) of a batch. A "video_status" fault of kind
    "failed" makes the job fail for good, with `body` as the provider's reason (else a stock one); a video's
    link takes "download" faults like an image's, and one of its own: "garbled", a whole MP4 whose index is zeroed
    (it saves, but no frame of it decodes).
    """

    target: Literal["generate", "download", "user_info", "static", "video_submit", "video_status"] = "generate"
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
    """A generated image as the stand-in's CDN keeps it: downloadable with its signature until it expires."""

    data: bytes
    content_type: str
    expires: float
    signature: str
    index: int


@dataclass
class VideoJob:
    """A submitted video job: its status answers count down `polls_left` before it succeeds (or has failed)."""

    model: str
    prompt: str
    seed: int
    size: tuple[int, int]
    first_frame: bytes | None
    polls_left: int
    status: str = "InQueue"
    reason: str = ""
    file_id: str | None = None
    """The video's name on the CDN, once it succeeded."""


@dataclass
class StandInState:
    api_key: str | None = "sk-standin"
    image_kind: ImageKind = "scene"
    response_shape: ResponseShape = "images"
    inference_delay: float = 0.0
    content_type: str | None = None
    """Content-Type for image downloads; None means the true one. CDNs often send octet-stream."""
    download_first_byte_delay: float = 0.0
    """Seconds every image download waits before it answers: a CDN this far away (round trip, time to first byte)."""
    download_rate: float = 0.0
    """Bytes per second each image download is paced to, per connection as a real link limits each one (a batch's
    parallel downloads each get this rate); 0: as fast as loopback goes."""
    models_route: bool = True
    """False: answer 404 on /models, like gateways that do not list models."""
    extra_models: dict[str, str] = field(default_factory=dict)
    """Models the provider lists that the built-in catalog does not know: id -> sub_type."""
    withdrawn_models: set[str] = field(default_factory=set)
    """Catalog models this provider does not offer: absent from /models, 404 on generation."""
    balance: str = "88.88"
    """The account balance `GET /v1/user/info` reports."""
    static_files: dict[str, bytes] = field(default_factory=dict)
    """Extra files served at /static/<name> (input images for edit tests and demos)."""
    static_hosts: list[str] = field(default_factory=list)
    """The Host header of every /static request, as the client sent it."""
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    model_list_calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    """Most generation requests the stand-in was answering at the same time."""
    downloads: list[str] = field(default_factory=list)
    images: dict[str, StoredImage] = field(default_factory=dict)
    """What the CDN serves: generated images and videos, by their file name."""
    video_polls: int = 2
    """Status answers a video job spends queued or in progress before it succeeds (the first says InQueue)."""
    video_link_seconds: float = 600.0
    """How long a finished video's link lives: the reference's worst case, ten minutes."""
    video_jobs: dict[str, VideoJob] = field(default_factory=dict)
    epoch: int = 0
    """Counts resets: a request still being answered from before a reset (a delayed fault) records nothing after it."""
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
        fresh = StandInState(api_key=self.api_key, epoch=self.epoch + 1)
        with self.lock:
            for name in self.__dataclass_fields__:
                if name != "lock":
                    setattr(self, name, getattr(fresh, name))


CONFIGURABLE = (
    "image_kind",
    "response_shape",
    "inference_delay",
    "content_type",
    "models_route",
    "balance",
    "download_first_byte_delay",
    "download_rate",
    "video_polls",
    "video_link_seconds",
)
"""StandInState fields the control route may change at run time."""
