"""Market data as use cases: ingest from the venue, rebuild the catalog, verify, status, SQL.

Every use case takes the data dir (:class:`vibe_quant.core.paths.DataDir`). Errors:
:class:`DataRequestError` (a :class:`~vibe_quant.core.errors.ConfigError`, exit 2, also a
``ValueError``: a bad month, interval or brackets file), :class:`NoArchiveError` (nothing
ingested yet, exit 1), :class:`QueryError` (DuckDB refused the SQL, exit 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import ConfigError, DataError
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback

__all__ = ["CatalogRebuild", "DataRequestError", "IngestOutcome", "NoArchiveError",
           "QueryError", "QueryResult", "ingest", "query", "rebuild", "status", "verify"]


class DataRequestError(ConfigError, ValueError):
    """An ingest/rebuild argument is unusable (month, interval, brackets file)."""


class NoArchiveError(DataError):
    """The data dir has no archive yet (nothing was ingested)."""


class QueryError(DataError):
    """DuckDB refused the SQL (unknown table or column, syntax)."""


@dataclass(frozen=True)
class IngestOutcome:
    """What :func:`ingest` did.

    Attributes:
        start, end: the inclusive month range ingested, ``"YYYY-MM"``.
        report: the :class:`vibe_quant.data.ingest.IngestReport` (``to_dict()`` for JSON;
            ``ok``, ``files_archived``, ``missing``, ``rest_filled``, ``contract_terms``,
            ``warnings``, ``failed``, ``not_catalogued`` …).
    """

    start: str
    end: str
    report: Any


@dataclass(frozen=True)
class CatalogRebuild:
    """The catalog rebuilt from the archive.

    Attributes:
        summary: per symbol ``{"bars": {interval: {"rows": n}}, "funding": n}`` under
            ``"symbols"``, ``"warnings"``, ``"not_catalogued"`` ({symbol: reason}) and ``"ok"``
            (nothing left uncatalogued).
    """

    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _require_archive(dd: DataDir) -> None:
    if not dd.archive_db.exists():
        raise NoArchiveError(f"no archive at {dd.archive_db}: run `vibe-quant data ingest` first")


def ingest(
    dd: DataDir, *, symbols: list[str], intervals: list[str], start: str | None = None,
    end: str | None = None, now: str | None = None, funding: bool = True,
    base_url: str | None = None, rest_url: str | None = None, use_rest: bool = True,
    workers: int = 4, build_catalog: bool = True, brackets_file: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestOutcome:
    """Download klines (+ funding) of ``symbols`` × ``intervals`` for months ``start``..``end``
    (``"YYYY-MM"``, default the last 24 full months before ``now``) into the archive, then
    rebuild the catalog of the touched symbols (see :func:`vibe_quant.data.ingest.ingest`).

    Args:
        now: "now" as ISO UTC text (tests pin it); default the wall clock.
        workers: parallel downloads.

    Raises:
        DataRequestError: a bad month, interval or brackets file.
    """
    from vibe_quant.core.intervals import month_str, parse_month, parse_utc
    from vibe_quant.data.ingest import default_range
    from vibe_quant.data.ingest import ingest as run_ingest

    try:
        now_ms = parse_utc(now) if now else int(time.time() * 1000)
        d_start, d_end = default_range(now_ms)
        first = parse_month(start) if start else d_start
        last = parse_month(end) if end else d_end
        report = run_ingest(
            dd, symbols=symbols, intervals=intervals, start=first, end=last, funding=funding,
            base_url=base_url, rest_url=rest_url, use_rest=use_rest, workers=workers,
            now_ms=now_ms, progress=progress, build_catalog=build_catalog,
            brackets_file=brackets_file)
    except ValueError as e:
        raise DataRequestError(str(e)) from e
    return IngestOutcome(start=month_str(first), end=month_str(last), report=report)


def rebuild(dd: DataDir, *, brackets_file: str | None = None,
            progress: ProgressCallback | None = None) -> CatalogRebuild:
    """Recreate the catalog from the archive; first archive ``brackets_file`` (a leverage
    brackets JSON, as ``ingest``) when given. ``progress`` gets the catalog's events (see
    :func:`vibe_quant.data.catalog.build_catalog`).

    Raises:
        NoArchiveError: nothing archived yet. DataRequestError: unreadable brackets file.
    """
    from vibe_quant.data.catalog import rebuild_catalog

    _require_archive(dd)
    if brackets_file:
        from vibe_quant.data.ingest import read_brackets_file
        from vibe_quant.store.archive import Archive

        try:
            text = read_brackets_file(brackets_file)
        except ValueError as e:
            raise DataRequestError(str(e)) from e
        with Archive(dd.archive_db) as arch:
            arch.add_leverage_brackets(
                source="file", origin=str(Path(brackets_file).resolve()), payload=text)
    summary = dict(rebuild_catalog(dd, progress=progress))
    summary["ok"] = not summary["not_catalogued"]
    return CatalogRebuild(summary)


def verify(dd: DataDir, symbols: list[str] | None = None) -> dict[str, Any]:
    """Gaps, duplicates, OHLC violations and funding gaps per archived series (all symbols
    unless ``symbols``); ``"ok"`` is False on duplicates or OHLC violations (see
    :func:`vibe_quant.data.verify.verify`).

    Raises:
        NoArchiveError: nothing archived yet.
    """
    from vibe_quant.data.verify import verify as run_verify

    _require_archive(dd)
    return run_verify(dd, symbols)


def status(dd: DataDir) -> dict[str, Any]:
    """What is archived and catalogued, per symbol × interval and funding per symbol (see
    :func:`vibe_quant.data.verify.status`)."""
    from vibe_quant.data.verify import status as run_status

    return run_status(dd)


def query(dd: DataDir, sql: str) -> QueryResult:
    """Run DuckDB ``sql`` over the views ``bars``, ``funding``, ``raw_klines``.

    Raises:
        QueryError: DuckDB refused the SQL (its message).
    """
    import duckdb

    from vibe_quant.data.query import query as run_query

    try:
        cols, rows = run_query(dd, sql)
    except duckdb.Error as e:
        raise QueryError(str(e)) from e
    return QueryResult(tuple(cols), tuple(tuple(r) for r in rows))
