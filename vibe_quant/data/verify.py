"""``vibe-quant data verify``: is the archived data usable, and where are its holes?

Per kline series (symbol × interval, from the archive):

* ``bars``, ``first``/``last`` (bar open times, ISO-8601 UTC);
* ``gaps``: runs of missing bars between consecutive archived bars — ``start`` is the open time
  of the first missing bar, ``end`` the open time of the next bar present, ``missing_bars`` =
  (next − previous) / interval − 1;
* ``duplicates``: bars whose open time is not on the interval grid (two such bars can claim the
  same slot; exact repeats are impossible, the archive key is unique) plus catalog rows beyond
  the archive's for the same bar type;
* ``ohlc_violations``: bars breaking low ≤ min(open, close), max(open, close) ≤ high,
  volume ≥ 0.

Funding (per symbol): ``records``, ``first``/``last``, and ``gaps`` where consecutive funding
times are more than 1.5 funding intervals apart (``missing`` = intervals skipped).

Usable (exit 0) when there are no duplicates and no OHLC violations; gaps are warnings.
"""

from __future__ import annotations

import numpy as np

from vibe_quant.core.intervals import HOUR_MS, interval_ms, iso_utc
from vibe_quant.core.paths import DataDir
from vibe_quant.data.catalog import catalog_bar_counts
from vibe_quant.store.archive import Archive
from vibe_quant.venues.binance.instruments import bar_type, parse_bar_type


def _gaps(times: np.ndarray, step: int) -> list[dict]:
    if len(times) < 2:
        return []
    d = np.diff(times)
    idx = np.flatnonzero(d > step)
    return [
        {
            "start": iso_utc(int(times[i] + step)),
            "end": iso_utc(int(times[i + 1])),
            "missing_bars": int(d[i] // step - 1),
        }
        for i in idx
    ]


def verify(data_dir: DataDir, symbols: list[str] | None = None) -> dict:
    """The verify report (see module doc); ``ok`` is False on duplicates or OHLC violations."""
    archive = Archive(data_dir.archive_db)
    counts = catalog_bar_counts(data_dir)
    try:
        series_out = []
        for s in archive.kline_series():
            if symbols and s.symbol not in symbols:
                continue
            cols = archive.klines_array(s.symbol, s.interval)
            step = interval_ms(s.interval)
            t = cols["open_time"]
            off_grid = int((t % step != 0).sum())
            o, h, lo, c, v = (cols[k] for k in ("open", "high", "low", "close", "volume"))
            bad = (lo > np.minimum(o, c)) | (h < np.maximum(o, c)) | (v < 0)
            cat_rows = counts.get(bar_type(s.symbol, s.interval))
            extra = max(0, cat_rows - len(t)) if cat_rows is not None else 0
            series_out.append(
                {
                    "symbol": s.symbol,
                    "interval": s.interval,
                    "bars": len(t),
                    "first": iso_utc(int(t[0])),
                    "last": iso_utc(int(t[-1])),
                    "gaps": _gaps(t, step),
                    "duplicates": off_grid + extra,
                    "ohlc_violations": int(bad.sum()),
                    "catalog_bars": cat_rows,
                }
            )
        funding_out = []
        for sym, n, first, last in archive.funding_symbols():
            if symbols and sym not in symbols:
                continue
            rows = archive.funding_rows(sym)
            times = np.array([r[0] for r in rows], dtype=np.int64)
            hours = np.array([r[1] for r in rows], dtype=np.int64)
            gaps = []
            if len(times) > 1:
                d = np.diff(times)
                expected = hours[:-1] * HOUR_MS
                for i in np.flatnonzero(d > 1.5 * expected):
                    gaps.append(
                        {
                            "start": iso_utc(int(times[i])),
                            "end": iso_utc(int(times[i + 1])),
                            "missing": int(round(d[i] / expected[i])) - 1,
                        }
                    )
            funding_out.append(
                {
                    "symbol": sym,
                    "records": int(n),
                    "first": iso_utc(first),
                    "last": iso_utc(last),
                    "gaps": gaps,
                }
            )
    finally:
        archive.close()
    ok = all(s["duplicates"] == 0 and s["ohlc_violations"] == 0 for s in series_out)
    return {"ok": ok, "series": series_out, "funding": funding_out}


def status(data_dir: DataDir) -> dict:
    """What is archived and catalogued, per symbol × interval, and funding per symbol."""
    from vibe_quant.data.catalog import catalog_funding_counts
    from vibe_quant.venues.binance.instruments import instrument_id

    counts = catalog_bar_counts(data_dir)
    fcounts = catalog_funding_counts(data_dir)
    out = {"data_dir": str(data_dir.root), "series": [], "funding": []}
    if not data_dir.archive_db.exists():
        return out
    archive = Archive(data_dir.archive_db)
    try:
        seen = set()
        for s in archive.kline_series():
            bt = bar_type(s.symbol, s.interval)
            seen.add(bt)
            out["series"].append(
                {
                    "symbol": s.symbol,
                    "interval": s.interval,
                    "archived_bars": s.rows,
                    "first": iso_utc(s.first_open_ms),
                    "last": iso_utc(s.last_open_ms),
                    "catalog_bars": counts.get(bt, 0),
                }
            )
        for bt, n in counts.items():
            if bt not in seen:
                sym, iv = parse_bar_type(bt)
                out["series"].append(
                    {
                        "symbol": sym,
                        "interval": iv,
                        "archived_bars": 0,
                        "catalog_bars": n,
                        "aggregated": True,
                    }
                )
        for sym, n, first, last in archive.funding_symbols():
            out["funding"].append(
                {
                    "symbol": sym,
                    "archived_records": n,
                    "first": iso_utc(first),
                    "last": iso_utc(last),
                    "catalog_records": fcounts.get(instrument_id(sym), 0),
                }
            )
    finally:
        archive.close()
    out["series"].sort(key=lambda r: (r["symbol"], interval_ms(r["interval"])))
    return out
