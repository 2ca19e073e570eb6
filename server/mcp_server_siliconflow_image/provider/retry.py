"""When and how long to wait before trying the provider again.

A generation request is paid for once the provider has processed it, so it is sent again only when the
answer says it was not processed: a rate limit (429) or overload (503, refused before generating). A bad
request, a refused key or an unknown model (400/401/403/404) would fail again; a gateway error or timeout
(500/502/504) may come after the image was made and charged, so none of those is retried either (see
`ProviderClient._attempt` for connection failures: only those before the request was sent are retried).
Waits grow exponentially with jitter, so a crowd of agents does not retry in lockstep, and a provider's
`Retry-After` is honoured.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 503})
"""Answers to a generation request that say it was not processed (nothing was generated, nothing charged)."""
DOWNLOAD_RETRYABLE_STATUSES = frozenset({404, 408, 425, 429, 500, 502, 503, 504})
"""A fresh provider link can 404 for a moment while the object store catches up."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 20.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): 1, 2, 4, ... with ±50% jitter."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(delay * random.uniform(0.5, 1.5))

    def wait_before(self, attempt: int, retry_after: float | None) -> float:
        """The provider's own Retry-After wins, uncapped: retrying sooner than asked only earns another 429."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return self.backoff(attempt)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return 0.0 if math.isnan(seconds) else max(0.0, seconds)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
