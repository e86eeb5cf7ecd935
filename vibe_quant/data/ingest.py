"""``vibe-quant data ingest``: bulk site → (REST fill) → raw archive → catalog.

For each symbol × month in ``[start, end]`` the monthly kline zip (per interval) and fundingRate
zip are downloaded from the bulk site, verified against their ``.CHECKSUM`` and archived, one
transaction per file. Files already archived are skipped, so re-running adds nothing and a later
``end`` fetches only new months. A month the bulk site does not have (404) is reported; when it
is the current or previous month (not yet published), it is filled from the REST API up to the
last closed bar. Downloads run in a bounded thread pool; writes happen on the calling thread.

Contract terms come first (SPEC.md 2.4): unless ``use_rest`` is off, ``GET /fapi/v1/exchangeInfo``
is fetched and archived, and with ``VIBE_QUANT_BINANCE_API_KEY``/``_SECRET`` set the signed
``GET /fapi/v1/leverageBracket`` too; a ``brackets_file`` is archived as given. A symbol whose
spec or brackets no source has is refused before anything of it is downloaded: it is listed in
``report.not_catalogued`` with the one-line reason and ``report.ok`` is False.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from vibe_quant.core.errors import ConfigError
from vibe_quant.core.intervals import (
    interval_ms,
    month_of_ms,
    month_start_ms,
    month_str,
    months,
    next_month,
    prev_month,
)
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.store.archive import Archive
from vibe_quant.venues.binance import bulk, rest
from vibe_quant.venues.binance.csvparse import CsvFormatError, parse_funding_csv, parse_klines_csv
from vibe_quant.venues.binance.http import Fetcher, FetchError

DEFAULT_SYMBOLS = ("BTCUSDT",)
DEFAULT_INTERVAL = "5m"
DEFAULT_MONTHS = 24
DEFAULT_WORKERS = 4


class IngestConfigError(ConfigError, ValueError):
    """An unusable ingest argument (a month range, a ``--brackets`` file); also a ValueError."""


@dataclass
class IngestReport:
    """What one ingest did. ``failed`` entries are ``{"url", "error"}``; ``missing`` are URLs
    the bulk site answered 404 for (and that REST did not fill); ``not_catalogued`` maps each
    requested symbol that is not in the catalog after the run to the one-line reason."""

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
    not_catalogued: dict[str, str] = field(default_factory=dict)
    contract_terms: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_catalogued

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
    progress: ProgressCallback | None = None,
    build_catalog: bool = True,
    fetcher: Fetcher | None = None,
    brackets_file: str | Path | None = None,
    api_credentials: tuple[str, str] | None = None,
) -> IngestReport:
    """Download, verify and archive; then rebuild the catalog of the touched symbols.

    Args:
        symbols: e.g. ``["BTCUSDT", "ETHUSDT"]`` (upper case).
        intervals: Binance intervals, e.g. ``["5m"]``.
        start, end: inclusive (year, month) range, UTC.
        now_ms: "now" in UTC epoch ms (tests pin it); default the wall clock.
        use_rest: False = never call the REST API (offline mirrors): unpublished recent months
            are reported as missing and contract specs come from the archive or the reference.
        brackets_file: a leverage-bracket JSON the user names (``--brackets``; Binance's
            leverageBracket response or the ccxt/freqtrade tiers shape, see
            :func:`vibe_quant.venues.binance.instruments.parse_leverage_brackets`); archived as
            given.
        api_credentials: ``(api_key, api_secret)`` for the signed leverageBracket; default the
            environment (:func:`vibe_quant.venues.binance.rest.api_credentials`).
        progress: called with ``ProgressEvent("ingest", files_done, files_to_fetch, path)``
            after each downloaded file, then with the ``"catalog"`` events of
            :func:`vibe_quant.data.catalog.build_catalog`.

    Never raises for a single bad file: it lands in ``report.failed`` and nothing of it is
    archived. Raises only for unusable arguments (:class:`IngestConfigError`, a ValueError,
    including an unreadable or malformed ``brackets_file``).
    """
    t0 = time.perf_counter()
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    for iv in intervals:
        interval_ms(iv)
    if start > end:
        raise IngestConfigError(f"--start {month_str(start)} is after --end {month_str(end)}",
                                start=month_str(start), end=month_str(end))
    base = bulk.base_url(base_url)
    rbase = rest.rest_url(rest_url)
    brackets_text = read_brackets_file(brackets_file) if brackets_file is not None else None
    creds = api_credentials if api_credentials is not None else rest.api_credentials()
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
        if brackets_text is not None:
            archive.add_leverage_brackets(
                source="file", origin=str(Path(brackets_file).resolve()), payload=brackets_text
            )
        if use_rest:
            _refresh_exchange_info(archive, rbase, report)
            if creds is not None:
                _fetch_signed_brackets(archive, rbase, creds, report)
        elif creds is not None:
            report.warnings.append(
                "API key set but --no-rest: the signed leverageBracket was not fetched"
            )
        wanted = list(symbols)
        if build_catalog:
            from vibe_quant.data.catalog import resolve_terms
            from vibe_quant.venues.binance.instruments import MissingContractTermsError

            for sym in symbols:
                try:
                    report.contract_terms[sym] = _terms_summary(resolve_terms(archive, sym))
                except MissingContractTermsError as e:
                    report.not_catalogued[sym] = str(e)
                    wanted.remove(sym)

        files: list[bulk.BulkFile] = []
        for sym in wanted:
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
        emit(progress, "ingest", 0, len(todo))
        n_done = 0
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
                    n_done += 1
                    emit(progress, "ingest", n_done, len(todo), f.path.rsplit("/", 1)[-1])
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

        for f in to_rest:
            _rest_fill(archive, fetcher, rbase, f, now_ms, report)

        if (
            build_catalog
            and wanted
            and (
                report.kline_rows_new
                or report.funding_rows_new
                or not _catalog_has(data_dir, wanted)
                or _terms_changed(archive, data_dir, wanted)
            )
        ):
            from vibe_quant.data.catalog import build_catalog as _build

            report.catalog = _build(data_dir, symbols=wanted, archive=archive, progress=progress)
            report.warnings.extend(report.catalog.get("warnings", []))
            report.not_catalogued.update(report.catalog.get("not_catalogued", {}))
        if build_catalog:
            _check_catalogued(data_dir, wanted, intervals, report)
    finally:
        archive.close()
        if own_fetcher:
            fetcher.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def read_brackets_file(path: str | Path) -> str:
    """The text of a ``--brackets`` file, checked to parse.

    Raises:
        IngestConfigError: (a ValueError, one line) unreadable, or not a leverage-bracket file.
    """
    from vibe_quant.venues.binance.instruments import parse_leverage_brackets

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise IngestConfigError(f"--brackets {p}: cannot read it ({e.strerror or e})",
                                path=str(p)) from None
    try:
        why = "" if parse_leverage_brackets(text) else "no brackets in it"
    except ValueError as e:
        why = str(e)
    if why:
        raise IngestConfigError(
            f"--brackets {p}: not a leverage-bracket file ({why}); expected Binance's "
            "GET /fapi/v1/leverageBracket JSON", path=str(p))
    return text


def _terms_summary(terms) -> dict:
    return {
        "spec_source": terms.spec_source,
        "brackets_source": terms.brackets_source,
        "liquidation_fee": float(terms.spec.liquidation_fee),
        "brackets": len(terms.brackets),
    }


def _terms_changed(archive: Archive, data_dir: DataDir, symbols: list[str]) -> bool:
    """True when a symbol's resolved terms differ from the ones its catalog entry holds."""
    from vibe_quant.data.catalog import load_terms, resolve_terms

    return any(resolve_terms(archive, s) != load_terms(data_dir, s) for s in symbols)


def _check_catalogued(
    data_dir: DataDir, symbols: list[str], intervals: list[str], report: IngestReport
) -> None:
    """A requested symbol counts as catalogued when the catalog holds bars of it for every
    requested interval."""
    from vibe_quant.data.catalog import catalog_bar_counts
    from vibe_quant.venues.binance.instruments import bar_type

    counts = catalog_bar_counts(data_dir)
    for sym in symbols:
        if sym in report.not_catalogued:
            continue
        empty = [iv for iv in intervals if not counts.get(bar_type(sym, iv))]
        if empty:
            report.not_catalogued[sym] = (
                f"{sym} not catalogued: no {', '.join(empty)} bars archived for "
                f"{report.start}..{report.end} (see the missing files; check the symbol and "
                "the months)"
            )


def _fetch_signed_brackets(
    archive: Archive, rbase: str, creds: tuple[str, str], report: IngestReport
) -> None:
    """Fetch and archive the signed leverageBracket; a failure goes to ``report.failed``."""
    from vibe_quant.venues.binance.http import RetryPolicy

    quick = Fetcher(timeout_s=10.0, policy=RetryPolicy(attempts=2))
    try:
        payload, url = rest.fetch_leverage_brackets(quick, rbase, creds[0], creds[1])
    except FetchError as e:
        report.failed.append(
            {"url": f"{rbase}/fapi/v1/leverageBracket", "error": f"signed leverageBracket: {e}"}
        )
        return
    finally:
        quick.close()
    from vibe_quant.venues.binance.instruments import parse_leverage_brackets

    try:
        parse_leverage_brackets(payload)
    except ValueError as e:
        report.failed.append({"url": url, "error": f"signed leverageBracket: unreadable ({e})"})
        return
    archive.add_leverage_brackets(source="signed", origin=url, payload=payload)


def _refresh_exchange_info(archive: Archive, rbase: str, report: IngestReport) -> None:
    """Archive a live exchangeInfo payload when the REST API answers (one quick try)."""
    from vibe_quant.venues.binance.http import RetryPolicy

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
    from vibe_quant.venues.binance.instruments import instrument_id

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
