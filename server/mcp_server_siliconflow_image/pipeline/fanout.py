"""Asking the provider for a batch: one request where the model batches natively, else one per image.

SiliconFlow's `batch_size` is "only applicable to Kwai-Kolors/Kolors"; every other model makes one image a
request. So a batch of N for those models is N requests in parallel, each with its own seed (the given
seed, seed+1, ...; distinct random seeds when none is given), so that each image can be reproduced on its
own. The requests share the call's deadline (SILICONFLOW_TIMEOUT) and the provider client's retry and
backoff, so a rate limit (image models may allow as few as 2 images a minute) slows the batch down rather
than failing it, and the result says so. What arrived is kept when some requests fail.

Each answer is also handed to the caller's `answered` list the moment it arrives: a call cancelled halfway
through a batch has paid for those images, and keeps them (pipeline/execute.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import anyio

from mcp_server_siliconflow_image.pipeline.request import ProviderRequest
from mcp_server_siliconflow_image.provider.client import (
    ImagesAnswer,
    OnRetry,
    ProviderClient,
    ProviderError,
    ProviderImage,
)
from mcp_server_siliconflow_image.surface.arguments import MAX_SEED

RATE_LIMIT_MARK = "HTTP 429"
"""How the provider client's retry reports name a rate limit ("retrying after HTTP 429 in 2 s")."""


@dataclass(frozen=True)
class MadeImage:
    """One image the provider made, with what made it: its seed and the request's trace id."""

    index: int
    """1-based position in the call's batch."""
    output: ProviderImage
    seed: int | None
    trace_id: str | None


@dataclass(frozen=True)
class FailedRequest:
    """A request of a fanned-out batch that brought no image."""

    index: int
    seed: int
    error: ProviderError


@dataclass
class Batch:
    images: list[MadeImage]
    failed: list[FailedRequest] = field(default_factory=list)
    inference_seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int | None:
        """The first image's seed: what the result's top-level `seed` reports."""
        return self.images[0].seed if self.images else None

    @property
    def trace_id(self) -> str | None:
        return self.images[0].trace_id if self.images else None


class RateLimitWatch:
    """Passes retry reports on, counting the ones caused by a rate limit."""

    def __init__(self, on_retry: OnRetry) -> None:
        self._on_retry = on_retry
        self.count = 0

    async def report(self, message: str) -> None:
        if RATE_LIMIT_MARK in message:
            self.count += 1
        await self._on_retry(message)

    def note(self) -> str | None:
        if not self.count:
            return None
        return (
            f"The provider rate-limited this call (HTTP 429) {self.count} time(s); the requests were retried "
            "with backoff within SILICONFLOW_TIMEOUT, which slowed it down. If it happens often, lower "
            "batch_size or make fewer calls at once."
        )


def fan_out_seeds(seed: int | None, copies: int) -> list[int]:
    """Distinct seeds for `copies` requests: seed, seed+1, ... (wrapping at the maximum), else random ones."""
    if seed is not None:
        return [(seed + offset) % (MAX_SEED + 1) for offset in range(copies)]
    return random.SystemRandom().sample(range(MAX_SEED + 1), copies)


async def request_batch(
    provider: ProviderClient,
    request: ProviderRequest,
    on_retry: OnRetry,
    seconds: float,
    answered: list[MadeImage] | None = None,
) -> Batch:
    """Every image of the call from the provider, within `seconds` (raises ProviderError when none was made).

    `answered` receives each image as soon as its request is answered, before the batch is complete.
    """
    deadline = time.monotonic() + seconds
    watch = RateLimitWatch(on_retry)
    answered = answered if answered is not None else []
    if request.copies == 1:
        generation = await provider.create_images(request.payload, watch.report, deadline=deadline)
        batch = Batch(
            _images_of(generation, 1, generation.seed),
            inference_seconds=generation.inference_seconds,
            notes=list(generation.notes),
        )
        answered += batch.images
    else:
        batch = await _fan_out(provider, request, watch, deadline, answered)
    if note := watch.note():
        batch.notes.append(note)
    return batch


async def _fan_out(
    provider: ProviderClient,
    request: ProviderRequest,
    watch: RateLimitWatch,
    deadline: float,
    answered: list[MadeImage],
) -> Batch:
    seeds = fan_out_seeds(request.payload.get("seed"), request.copies)
    outcomes: list[ImagesAnswer | ProviderError | None] = [None] * request.copies

    async def one(slot: int) -> None:
        try:
            payload = {**request.payload, "seed": seeds[slot]}
            answer = await provider.create_images(payload, watch.report, deadline=deadline)
        except ProviderError as error:
            outcomes[slot] = error
            return
        outcomes[slot] = answer
        answered.extend(_images_of(answer, slot + 1, answer.seed if answer.seed is not None else seeds[slot]))
        made = sum(isinstance(outcome, ImagesAnswer) for outcome in outcomes)
        await watch.report(f"the provider made {made} of {request.copies} images")

    async with anyio.create_task_group() as group:
        for slot in range(request.copies):
            group.start_soon(one, slot)

    batch = Batch(images=[])
    index = 1
    for slot, outcome in enumerate(outcomes):
        if isinstance(outcome, ImagesAnswer):
            made = _images_of(outcome, index, outcome.seed if outcome.seed is not None else seeds[slot])
            batch.images += made
            index += len(made)
            batch.notes += [note for note in outcome.notes if note not in batch.notes]
            inference = outcome.inference_seconds
            if inference is not None:
                batch.inference_seconds = max(batch.inference_seconds or 0.0, inference)
        elif isinstance(outcome, ProviderError):
            batch.failed.append(FailedRequest(index, seeds[slot], outcome))
            index += 1
    if not batch.images:
        first = batch.failed[0].error
        every_one_failed = ProviderError(
            f"All {request.copies} requests of this batch failed; the first: {first}", status=first.status
        )
        every_one_failed.trace_id = first.trace_id  # already quoted in the first's message
        raise every_one_failed from first
    if batch.failed:
        batch.notes.append(
            f"{len(batch.failed)} of {request.copies} requests failed; the images that arrived were kept "
            "(see failed for which, and why)."
        )
    return batch


def _images_of(generation: ImagesAnswer, first_index: int, seed: int | None) -> list[MadeImage]:
    return [
        MadeImage(first_index + offset, output, seed, generation.trace_id)
        for offset, output in enumerate(generation.outputs)
    ]
