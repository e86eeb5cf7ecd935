"""``vibe-quant data ingest``: bulk site → (REST fill) → raw archive → catalog.

For each symbol × month in ``[start, end]`` the monthly kline zip (per interval) and fundingRate
zip are downloaded from the bulk site, verified against their ``.CHECKSUM`` and archived, one
transaction per file. Files already archived are skipped, so re-running adds nothing and a later
``end`` fetches only new months. A month the bulk site does not have (404) is reported; when it
is the current or previous month (not yet published), it is filled from the REST API up to the
last closed bar. Downloads run in a bounded thread pool; writes happen on the calling thread.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from tqdm import tqdm

from vibe_quant.data import bulk, rest
from vibe_quant.data.csvparse import CsvFormatError, parse_funding_csv, parse_klines_csv
from vibe_quant.data.http import Fetcher, FetchError
from vibe_quant.data.intervals import (
    interval_ms,
    month_of_ms,
    month_start_ms,
    month_str,
    months,
    next_month,
    prev_month,
)
from vibe_quant.paths import DataDir
from vibe_quant.store.archive import Archive

DEFAULT_SYMBOLS = ("BTCUSDT",)
DEFAULT_INTERVAL = "5m"
DEFAULT_MONTHS = 24
DEFAULT_WORKERS = 4


@dataclass
class IngestReport:
    """What one ingest did. ``failed`` entries are ``{"url", "error"}``; ``missing`` are URLs
    the bulk site answered 404 for (and that REST did not fill)."""

    symbols: list[str]
    intervals: list[str]
    start: str
    end: str
    files_archived: int = 0
    files_skipped: int = 0
    kline_rows_new: int = 0
    funding_rows_new: int = 0
    missing: list[str] = field(default_factory=list)
    rest_filled: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    catalog: dict | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()}
        d["ok"] = self.ok
        return d


def default_range(now_ms: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The last ``DEFAULT_MONTHS`` full months before the month of ``now_ms``."""
    end = prev_month(month_of_ms(now_ms))
    start = end
    for _ in range(DEFAULT_MONTHS - 1):
        start = prev_month(start)
    return start, end


def ingest(
    data_dir: DataDir,
    *,
    symbols: list[str],
    intervals: list[str],
    start: tuple[int, int],
    end: tuple[int, int],
    funding: bool = True,
    base_url: str | None = None,
    rest_url: str | None = None,
    use_rest: bool = True,
    workers: int = DEFAULT_WORKERS,
    now_ms: int | None = None,
    progress: bool = True,
    build_catalog: bool = True,
    fetcher: Fetcher | None = None,
) -> IngestReport:
    """Download, verify and archive; then rebuild the catalog of the touched symbols.

    Args:
        symbols: e.g. ``["BTCUSDT", "ETHUSDT"]`` (upper case).
        intervals: Binance intervals, e.g. ``["5m"]``.
        start, end: inclusive (year, month) range, UTC.
        now_ms: "now" in UTC epoch ms (tests pin it); default the wall clock.
        use_rest: False = never call the REST API (offline mirrors): unpublished recent months
            are reported as missing and contract specs come from the archive or the reference.

    Never raises for a single bad file: it lands in ``report.failed`` and nothing of it is
    archived. Raises only for unusable arguments.
    """
    t0 = time.perf_counter()
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    for iv in intervals:
        interval_ms(iv)
    if start > end:
        raise ValueError(f"--start {month_str(start)} is after --end {month_str(end)}")
    base = bulk.base_url(base_url)
    rbase = rest.rest_url(rest_url)
    now_month = month_of_ms(now_ms)
    span = [m for m in months(start, end) if m <= now_month]
    report = IngestReport(
        symbols=list(symbols), intervals=list(intervals), start=month_str(start), end=month_str(end)
    )
    if len(span) < len(months(start, end)):
        report.warnings.append(f"months after {month_str(now_month)} are in the future: skipped")

    data_dir.ensure()
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher()
    archive = Archive(data_dir.archive_db)
    try:
        files: list[bulk.BulkFile] = []
        for sym in symbols:
            for m in span:
                for iv in intervals:
                    files.append(bulk.klines_file(sym, iv, month_str(m)))
                if funding:
                    files.append(bulk.funding_file(sym, month_str(m)))
        todo = []
        for f in files:
            if archive.has_bulk_file(f.path):
                report.files_skipped += 1
            else:
                todo.append(f)

        recent = {now_month, prev_month(now_month)}
        to_rest: list[bulk.BulkFile] = []
        bar = tqdm(total=len(todo), desc="ingest", unit="file", disable=not progress, leave=False)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: dict[Future, bulk.BulkFile] = {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < 2 * max(1, workers):
                    f = queue.pop(0)
                    pending[pool.submit(bulk.fetch_verified, fetcher, f, base)] = f
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    f = pending.pop(fut)
                    bar.update(1)
                    try:
                        got = fut.result()
                        if got is None:
                            ym = tuple(int(x) for x in f.period.split("-"))
                            if ym in recent and use_rest:
                                to_rest.append(f)
                            else:
                                report.missing.append(f.url(base))
                            continue
                        _archive_bulk(archive, got, report)
                    except (FetchError, CsvFormatError) as e:
                        report.failed.append({"url": f.url(base), "error": str(e)})
        bar.close()

        for f in to_rest:
            _rest_fill(archive, fetcher, rbase, f, now_ms, report)

        if use_rest:
            _refresh_exchange_info(archive, rbase, report)

        if build_catalog and (
            report.kline_rows_new or report.funding_rows_new or not _catalog_has(data_dir, symbols)
        ):
            from vibe_quant.data.catalog import build_catalog as _build

            report.catalog = _build(
                data_dir, symbols=list(symbols), archive=archive, progress=progress
            )
            report.warnings.extend(report.catalog.get("warnings", []))
    finally:
        archive.close()
        if own_fetcher:
            fetcher.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _refresh_exchange_info(archive: Archive, rbase: str, report: IngestReport) -> None:
    """Archive a live exchangeInfo payload when the REST API answers (one quick try)."""
    from vibe_quant.data.http import RetryPolicy

    quick = Fetcher(timeout_s=5.0, policy=RetryPolicy(attempts=1))
    try:
        got = rest.fetch_exchange_info(quick, rbase)
    finally:
        quick.close()
    if got is None:
        report.warnings.append(
            f"{rbase}/fapi/v1/exchangeInfo unreachable: contract specs from the newest archived "
            "payload or the packaged reference"
        )
        return
    payload, url, sha = got
    archive.add_exchange_info(url=url, sha256=sha, payload=payload)


def _catalog_has(data_dir: DataDir, symbols: list[str]) -> bool:
    from vibe_quant.data.instruments import instrument_id

    root = data_dir.catalog / "data" / "bars"
    if not root.exists():
        return False
    names = [p.name for p in root.iterdir()]
    return all(any(n.startswith(instrument_id(s) + "-") for n in names) for s in symbols)


def _archive_bulk(archive: Archive, got: bulk.Downloaded, report: IngestReport) -> None:
    f = got.file
    name = got.url.rsplit("/", 1)[-1]
    if f.kind == "klines":
        parsed = parse_klines_csv(got.csv_text, name)
        report.kline_rows_new += archive.add_klines_file(
            symbol=f.symbol,
            interval=f.interval or "",
            period=f.period,
            url=got.url,
            sha256=got.sha256,
            source="bulk",
            rows=parsed.rows,
            n_columns=parsed.n_columns,
            path=f.path,
        )
    else:
        rows = parse_funding_csv(got.csv_text, name)
        report.funding_rows_new += archive.add_funding_file(
            symbol=f.symbol,
            period=f.period,
            url=got.url,
            sha256=got.sha256,
            source="bulk",
            rows=rows,
            path=f.path,
        )
    report.files_archived += 1


def _rest_fill(
    archive: Archive,
    fetcher: Fetcher,
    rbase: str,
    f: bulk.BulkFile,
    now_ms: int,
    report: IngestReport,
) -> None:
    ym = tuple(int(x) for x in f.period.split("-"))
    m_start = month_start_ms(ym)
    m_end = min(month_start_ms(next_month(ym)), now_ms)
    try:
        if f.kind == "klines":
            step = interval_ms(f.interval or "")
            last = archive.last_open_time(f.symbol, f.interval or "")
            begin = max(m_start, last + step) if last is not None else m_start
            if begin >= m_end:
                return
            rows, url, sha = rest.fetch_klines(
                fetcher, rbase, f.symbol, f.interval or "", begin, m_end, now_ms
            )
            new = archive.add_klines_file(
                symbol=f.symbol,
                interval=f.interval or "",
                period=f.period,
                url=url,
                sha256=sha,
                source="rest",
                rows=rows,
                n_columns=12,
            )
            report.kline_rows_new += new
        else:
            last = archive.last_funding_time(f.symbol)
            begin = max(m_start, last + 1) if last is not None else m_start
            if begin >= m_end:
                return
            rows, url, sha = rest.fetch_funding(fetcher, rbase, f.symbol, begin, m_end)
            new = archive.add_funding_file(
                symbol=f.symbol, period=f.period, url=url, sha256=sha, source="rest", rows=rows
            )
            report.funding_rows_new += new
        report.rest_filled.append(
            {
                "kind": f.kind,
                "symbol": f.symbol,
                "interval": f.interval,
                "period": f.period,
                "rows": len(rows),
                "rows_new": new,
            }
        )
    except FetchError as e:
        report.failed.append(
            {
                "url": f"{rbase} ({f.kind} {f.symbol} {f.period})",
                "error": f"bulk file missing and REST fill failed: {e}",
            }
        )
