"""The Binance bulk-download site (data.binance.vision layout): URLs, checksums, unzip.

Paths::

    data/futures/um/monthly/klines/<SYMBOL>/<INTERVAL>/<SYMBOL>-<INTERVAL>-<YYYY>-<MM>.zip
    data/futures/um/monthly/fundingRate/<SYMBOL>/<SYMBOL>-fundingRate-<YYYY>-<MM>.zip

each with a sibling ``<name>.zip.CHECKSUM`` holding ``"<sha256>  <name>.zip"``.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass

from vibe_quant.venues.binance.http import Fetcher, FetchError

DEFAULT_BASE_URL = "https://data.binance.vision"
BASE_URL_ENV = "VIBE_QUANT_BINANCE_VISION_URL"
CHECKSUM_ATTEMPTS = 3


class ChecksumError(FetchError):
    """A zip whose sha256 does not match its ``.CHECKSUM`` file (after re-downloads)."""


def base_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True)
class BulkFile:
    kind: str  # "klines" | "funding"
    symbol: str
    interval: str | None
    period: str  # YYYY-MM
    path: str  # relative to the base URL

    def url(self, base: str) -> str:
        return f"{base}/{self.path}"


def klines_file(symbol: str, interval: str, period: str) -> BulkFile:
    name = f"{symbol}-{interval}-{period}.zip"
    return BulkFile(
        "klines",
        symbol,
        interval,
        period,
        f"data/futures/um/monthly/klines/{symbol}/{interval}/{name}",
    )


def funding_file(symbol: str, period: str) -> BulkFile:
    name = f"{symbol}-fundingRate-{period}.zip"
    return BulkFile(
        "funding", symbol, None, period, f"data/futures/um/monthly/fundingRate/{symbol}/{name}"
    )


@dataclass(frozen=True)
class Downloaded:
    file: BulkFile
    url: str
    sha256: str
    csv_text: str


def fetch_verified(fetcher: Fetcher, f: BulkFile, base: str) -> Downloaded | None:
    """Download a zip and its ``.CHECKSUM``, verify sha256, return the CSV text.

    Returns ``None`` when the zip is not on the site (404). A checksum mismatch is retried by
    re-downloading up to ``CHECKSUM_ATTEMPTS`` times, then raises ``ChecksumError``.
    """
    url = f.url(base)
    expected_raw = fetcher.get(url + ".CHECKSUM")
    if expected_raw is None:
        if fetcher.get(url) is None:
            return None
        raise FetchError(f"{url}: the zip exists but its .CHECKSUM file is missing")
    expected = expected_raw.decode("ascii", "replace").split()[0].strip().lower()
    got = ""
    for _ in range(CHECKSUM_ATTEMPTS):
        body = fetcher.get(url)
        if body is None:
            return None
        got = hashlib.sha256(body).hexdigest()
        if got == expected:
            return Downloaded(f, url, got, _unzip_single_csv(body, url))
    raise ChecksumError(
        f"{url}: checksum mismatch after {CHECKSUM_ATTEMPTS} downloads — expected sha256 "
        f"{expected}, got {got}; nothing of this file was archived"
    )


def _unzip_single_csv(body: bytes, url: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise FetchError(f"{url}: expected one CSV in the zip, found {names}")
            return z.read(names[0]).decode("utf-8")
    except zipfile.BadZipFile as e:
        raise FetchError(f"{url}: not a valid zip ({e})") from None
