"""HTTP fetching with the retry rules Binance asks clients to follow.

* timeouts, connection errors and 5xx: retried with exponential backoff (0.5 s, 1 s, 2 s … capped);
* 429 (rate limit) and 418 (IP ban): wait ``Retry-After`` seconds (header), then retry;
* 404: returned to the caller as ``None`` (a month not yet published is not an error);
* other 4xx: raised at once as ``FetchError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from vibe_quant.core.config import FrozenConfig
from vibe_quant.core.errors import DataError

DEFAULT_TIMEOUT_S = 30.0


class FetchError(DataError, RuntimeError):
    """A download that failed for good (after retries); the message names the URL and cause.

    Also a ``RuntimeError`` (its base before the error tree)."""


class RetryPolicy(FrozenConfig):
    """How :class:`Fetcher` retries.

    Attributes:
        attempts: requests in all (first try included), ≥ 1.
        backoff_s: first backoff after a timeout / connection error / 5xx (seconds); doubles
            per attempt.
        backoff_cap_s: largest backoff (seconds).
        retry_after_cap_s: largest wait honoured from a 429/418 ``Retry-After`` (seconds).
    """

    attempts: int = 5
    backoff_s: float = 0.5
    backoff_cap_s: float = 8.0
    retry_after_cap_s: float = 120.0


class Fetcher:
    """A thread-safe HTTP getter (one ``httpx.Client`` shared by worker threads)."""

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        policy: RetryPolicy | None = None,
        sleep=time.sleep,
    ):
        self.client = httpx.Client(
            timeout=timeout_s, follow_redirects=True, headers={"User-Agent": "vibe-quant"}
        )
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.retries = 0  # total retries performed (for reporting)

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        url: str,
        params: dict | str | Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes | None:
        """GET ``url``; the body on 200, ``None`` on 404. Raises FetchError otherwise.

        ``params`` may be a callable returning the query (dict or an encoded string): it is
        called for every attempt, so a signed request gets a fresh ``timestamp`` and signature
        on a retry. Error messages name ``url`` without the query (no signature in logs).
        """
        pol = self.policy
        last = ""
        for attempt in range(pol.attempts):
            if attempt:
                self.retries += 1
            try:
                q = params() if callable(params) else params
                r = self.client.get(url, params=q, headers=headers)
            except httpx.TransportError as e:  # timeouts, refused connections, resets
                last = f"{type(e).__name__}: {e}"
                self._sleep(min(pol.backoff_s * 2**attempt, pol.backoff_cap_s))
                continue
            if r.status_code == 200:
                return r.content
            if r.status_code == 404:
                return None
            if r.status_code in (429, 418):
                wait = _retry_after(r.headers.get("Retry-After"), pol.backoff_s * 2**attempt)
                last = f"HTTP {r.status_code} (Retry-After {wait:g}s)"
                self._sleep(min(wait, pol.retry_after_cap_s))
                continue
            if r.status_code >= 500:
                last = f"HTTP {r.status_code}"
                self._sleep(min(pol.backoff_s * 2**attempt, pol.backoff_cap_s))
                continue
            raise FetchError(f"{url}: HTTP {r.status_code}: {r.text[:200]}")
        raise FetchError(f"{url}: gave up after {pol.attempts} attempts ({last})")


def _retry_after(value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default
