"""The NautilusTrader Parquet data catalog, built from the raw archive alone.

Written with the Rust catalog (``nautilus_pyo3.ParquetDataCatalog``) that the Rust backtest
engine reads. Layout under ``<data-dir>/catalog``::

    data/instruments/<instrument_id>/…parquet        CryptoPerpetual (Nautilus writer)
    data/bars/<bar_type>/…parquet                    bars (Nautilus writer)
    data/funding_rate_update/<instrument_id>/…parquet  funding (our writer, see below)

**Bar timestamps.** ``ts_event = ts_init = open_time + interval`` (the bar's *close* time, UTC
epoch ns), which is Nautilus' convention: the engine delivers a bar at its close, so nothing
downstream can see a bar before it has closed.

**Intervals.** For every symbol the catalog holds each of 1m, 5m, 15m, 1h, 4h at or above the
lowest ingested interval. An interval that was itself ingested is written as archived; any
other is aggregated (complete windows only, see ``aggregate.py``) from the coarsest ingested
interval that divides it.

**Funding.** NautilusTrader 1.231's Rust catalog has no Arrow schema for ``FundingRateUpdate``
(``get_arrow_schema_map`` says "not currently implemented in Rust"), so funding is stored in the
same tree with columns ``rate`` (exact decimal string, fraction per interval), ``interval``
(minutes), ``next_funding_ns``, ``ts_event``, ``ts_init`` (uint64 ns) — the field names of
Nautilus' own serializer — and ``load_funding`` turns the rows into
``nautilus_pyo3.FundingRateUpdate``. ``ts_event`` is the *scheduled* funding time: Binance's
``calc_time`` floored to the whole minute (it carries a few ms of calculation jitter).

**Contract terms.** Each catalogued symbol's resolved spec and leverage brackets, with their
sources (:func:`resolve_terms`, SPEC.md 2.4), are written to
``contract_terms/<instrument_id>.json`` (outside ``data/``, which Nautilus owns);
:func:`load_instrument` makes them the terms in force for the backtest
(:func:`vibe_quant.venues.binance.instruments.use_terms`). A symbol whose spec or brackets no
source has is not catalogued: ``build_catalog`` lists it under ``not_catalogued`` with the
one-line reason.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from nautilus_trader.core import nautilus_pyo3 as n3

from vibe_quant.core.intervals import CATALOG_INTERVALS, MINUTE_MS, NS_PER_MS, interval_ms
from vibe_quant.core.jsonpolicy import dumps, loads
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback, emit
from vibe_quant.data.aggregate import aggregate
from vibe_quant.data.coverage import MissingDataError
from vibe_quant.store.archive import Archive
from vibe_quant.venues.binance import instruments as ins

FUNDING_DIR = "funding_rate_update"
TERMS_DIR = "contract_terms"


def _catalog(path: Path) -> n3.ParquetDataCatalog:
    path.mkdir(parents=True, exist_ok=True)
    return n3.ParquetDataCatalog(str(path))


def plan_intervals(ingested: list[str]) -> dict[str, str]:
    """Map each catalog interval to the archived interval it is built from.

    >>> plan_intervals(["5m"])
    {'5m': '5m', '15m': '5m', '1h': '5m', '4h': '5m'}
    """
    ing = sorted(ingested, key=interval_ms)
    if not ing:
        return {}
    lowest = interval_ms(ing[0])
    plan = {}
    for target in CATALOG_INTERVALS:
        t = interval_ms(target)
        if t < lowest:
            continue
        if target in ingested:
            plan[target] = target
            continue
        divisors = [s for s in ing if interval_ms(s) < t and t % interval_ms(s) == 0]
        if divisors:
            plan[target] = max(divisors, key=interval_ms)
    return plan


def resolve_terms(archive: Archive, symbol: str) -> ins.ContractTerms:
    """Contract spec and leverage brackets of ``symbol`` from their sources, in precedence order.

    Spec: the newest archived exchangeInfo listing the symbol > the packaged reference.
    Brackets: the newest archived signed leverageBracket response listing it > the newest
    archived ``--brackets`` file listing it > the packaged reference.

    Raises:
        MissingContractTermsError: no source has the spec and/or the brackets.
    """
    spec, spec_src = None, ""
    for _, payload in archive.exchange_info_payloads():
        got = ins.parse_exchange_info(payload).get(symbol)
        if got is not None:
            spec, spec_src = got, ins.SPEC_ARCHIVED
            break
    if spec is None:
        try:
            spec, spec_src = ins.reference_spec(symbol), ins.SPEC_PACKAGED
        except ins.MissingContractTermsError:
            spec = None
    brs, brs_src = None, ""
    for source, label in (("signed", ins.BRACKETS_SIGNED), ("file", ins.BRACKETS_FILE)):
        for _, _origin, payload in archive.leverage_bracket_payloads(source):
            try:
                got = ins.parse_leverage_brackets(payload).get(symbol)
            except ValueError:
                continue  # e.g. an error document archived by an older version: not brackets
            if got:
                brs, brs_src = got, label
                break
        if brs is not None:
            break
    if brs is None:
        ref = ins.reference_brackets(symbol)
        if ref is not None:
            brs, brs_src = ref, ins.BRACKETS_PACKAGED
    if spec is None or brs is None:
        raise ins.MissingContractTermsError(symbol, spec=spec is None, brackets=brs is None)
    return ins.ContractTerms(symbol, spec, spec_src, tuple(brs), brs_src)


def _terms_path(root: Path, symbol: str) -> Path:
    return root / TERMS_DIR / f"{ins.instrument_id(symbol)}.json"


def _write_terms(root: Path, terms: ins.ContractTerms) -> None:
    p = _terms_path(root, terms.symbol)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps(terms.to_dict(), indent=1))


def load_terms(data_dir: DataDir, symbol: str) -> ins.ContractTerms | None:
    """The contract terms catalogued with ``symbol``, or None (not catalogued, or a catalog
    written before terms were stored: then the packaged reference applies)."""
    p = _terms_path(data_dir.catalog, symbol)
    if not p.exists():
        return None
    return ins.ContractTerms.from_dict(loads(p.read_text()))


def build_catalog(
    data_dir: DataDir,
    *,
    symbols: list[str] | None = None,
    archive: Archive | None = None,
    progress: ProgressCallback | None = None,
) -> dict:
    """(Re)write the catalog entries of ``symbols`` (default: every archived symbol).

    ``progress`` is called with ``ProgressEvent("catalog", symbols_done, symbols, symbol)``
    after each symbol.

    Each symbol's instrument, contract terms, bars and funding are deleted and written anew,
    so the result depends only on the archive. Returns a summary ``{"symbols": {sym: {...}},
    "not_catalogued": {sym: reason}, "warnings": [...]}``; a symbol without contract spec or
    leverage brackets from any source (:func:`resolve_terms`) lands in ``not_catalogued`` and
    its previous catalog entry, if any, is left as it was.
    """
    own = archive is None
    archive = archive or Archive(data_dir.archive_db)
    summary: dict = {"symbols": {}, "not_catalogued": {}, "warnings": []}
    try:
        series = archive.kline_series()
        by_sym: dict[str, list[str]] = {}
        for s in series:
            by_sym.setdefault(s.symbol, []).append(s.interval)
        fund_syms = {r[0] for r in archive.funding_symbols()}
        targets = symbols or sorted(set(by_sym) | fund_syms)
        cat = _catalog(data_dir.catalog)
        emit(progress, "catalog", 0, len(targets))
        for n_done, sym in enumerate(targets, 1):
            try:
                terms = resolve_terms(archive, sym)
            except ins.MissingContractTermsError as e:
                summary["not_catalogued"][sym] = str(e)
                emit(progress, "catalog", n_done, len(targets), sym)
                continue
            instrument = ins.binance_perpetual(sym, spec=terms.spec, brackets=terms.brackets)
            _clear_symbol(data_dir.catalog, sym)
            cat.write_instruments([instrument])
            _write_terms(data_dir.catalog, terms)
            info: dict = {
                "instrument": ins.instrument_id(sym),
                "spec_source": terms.spec_source,
                "brackets_source": terms.brackets_source,
                "liquidation_fee": float(terms.spec.liquidation_fee),
                "bars": {},
                "funding": 0,
            }
            plan = plan_intervals(by_sym.get(sym, []))
            cache: dict[str, dict[str, np.ndarray]] = {}
            for target, src in plan.items():
                if src not in cache:
                    cache[src] = archive.klines_array(sym, src)
                cols = cache[src]
                if target != src:
                    cols = aggregate(cols, interval_ms(src), interval_ms(target))
                cols, bad = _drop_ohlc_violations(cols)
                if bad:
                    summary["warnings"].append(
                        f"{sym} {target}: {bad} bars violate OHLC rules and were not catalogued"
                        " (see data verify)"
                    )
                bars = _to_bars(
                    cols,
                    ins.bar_type(sym, target),
                    interval_ms(target),
                    instrument.price_precision,
                    instrument.size_precision,
                )
                if bars:
                    cat.write_bars(bars)
                info["bars"][target] = {"rows": len(bars), "from": src}
            frows = archive.funding_rows(sym)
            if frows:
                _write_funding(data_dir.catalog, sym, frows)
                info["funding"] = len(frows)
            summary["symbols"][sym] = info
            emit(progress, "catalog", n_done, len(targets), sym)
    finally:
        if own:
            archive.close()
    return summary


def rebuild_catalog(data_dir: DataDir, *, progress: ProgressCallback | None = None) -> dict:
    """Delete the whole catalog and build it again from the archive (see
    :func:`build_catalog` for the summary and the progress events)."""
    if data_dir.catalog.exists():
        shutil.rmtree(data_dir.catalog)
    return build_catalog(data_dir, progress=progress)


def _clear_symbol(root: Path, symbol: str) -> None:
    iid = ins.instrument_id(symbol)
    _terms_path(root, symbol).unlink(missing_ok=True)
    data = root / "data"
    for sub in ("instruments", FUNDING_DIR):
        p = data / sub / iid
        if p.exists():
            shutil.rmtree(p)
    bars = data / "bars"
    if bars.exists():
        for p in bars.iterdir():
            if p.name.startswith(iid + "-"):
                shutil.rmtree(p)


def _drop_ohlc_violations(cols: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    o, h, lo, c, v = (cols[k] for k in ("open", "high", "low", "close", "volume"))
    ok = (lo <= np.minimum(o, c)) & (h >= np.maximum(o, c)) & (v >= 0)
    bad = int((~ok).sum())
    return ({k: a[ok] for k, a in cols.items()} if bad else cols), bad


def _to_bars(
    cols: dict[str, np.ndarray], bar_type: str, step_ms: int, price_prec: int, size_prec: int
) -> list[n3.Bar]:
    bt = n3.BarType.from_str(bar_type)
    P, Q, B = n3.Price, n3.Quantity, n3.Bar
    ts = ((cols["open_time"] + step_ms) * NS_PER_MS).tolist()
    o, h, lo, c, v = (cols[k].tolist() for k in ("open", "high", "low", "close", "volume"))
    return [
        B(
            bt,
            P(o[i], price_prec),
            P(h[i], price_prec),
            P(lo[i], price_prec),
            P(c[i], price_prec),
            Q(v[i], size_prec),
            ts[i],
            ts[i],
        )
        for i in range(len(ts))
    ]


def _write_funding(root: Path, symbol: str, rows: list[tuple[int, int, float]]) -> Path:
    iid = ins.instrument_id(symbol)
    sched = [(t // MINUTE_MS) * MINUTE_MS * NS_PER_MS for t, _, _ in rows]
    nxt = sched[1:] + [None]
    table = pa.table(
        {
            "rate": pa.array([_rate_str(r) for _, _, r in rows], pa.string()),
            "interval": pa.array([h * 60 for _, h, _ in rows], pa.uint16()),
            "next_funding_ns": pa.array(nxt, pa.uint64()),
            "ts_event": pa.array(sched, pa.uint64()),
            "ts_init": pa.array(sched, pa.uint64()),
        },
        metadata={"instrument_id": iid, "data_type": "FundingRateUpdate"},
    )
    d = root / "data" / FUNDING_DIR / iid
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{sched[0]}_{sched[-1]}.parquet"
    pq.write_table(table, path)
    return path


def _rate_str(r: float) -> str:
    # repr() of a float is the shortest string that round-trips: the CSV's decimal digits.
    return format(Decimal(repr(r)), "f")


# ---- loaders (what the backtest reads) ---------------------------------------------------


def load_instrument(data_dir: DataDir, symbol: str) -> n3.CryptoPerpetual:
    """The catalogued instrument of ``symbol``; also makes its catalogued contract terms
    (brackets, liquidation fee) the ones in force
    (:func:`vibe_quant.venues.binance.instruments.use_terms`; a catalog without stored terms
    falls back to the packaged reference).

    Raises:
        MissingDataError: (a LookupError) the symbol is not catalogued."""
    cat = _catalog(data_dir.catalog)
    iid = ins.instrument_id(symbol)
    found = [i for i in cat.instruments() if str(i.id) == iid]
    if not found:
        raise MissingDataError(
            f"{iid} is not in the catalog at {data_dir.catalog}: run data ingest", symbol=symbol)
    terms = load_terms(data_dir, symbol)
    if terms is not None:
        ins.use_terms(terms)
    else:
        ins.forget_terms(symbol)
    return found[-1]


def load_bars(
    data_dir: DataDir,
    symbol: str,
    interval: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[n3.Bar]:
    """Catalogued bars with ``start_ns ≤ ts_event ≤ end_ns`` (bar close times, UTC ns; both
    bounds inclusive, ``None`` = open), ascending."""
    cat = _catalog(data_dir.catalog)
    return cat.query_bars([ins.bar_type(symbol, interval)], start=start_ns, end=end_ns)


def load_funding(
    data_dir: DataDir, symbol: str, start_ns: int | None = None, end_ns: int | None = None
) -> list[n3.FundingRateUpdate]:
    """Catalogued funding with ``start_ns ≤ ts_event ≤ end_ns`` as ``FundingRateUpdate``
    (rate: fraction per interval; interval in minutes; ts in UTC ns)."""
    d = data_dir.catalog / "data" / FUNDING_DIR / ins.instrument_id(symbol)
    if not d.exists():
        return []
    iid = n3.InstrumentId.from_str(ins.instrument_id(symbol))
    out = []
    for f in sorted(d.glob("*.parquet")):
        t = pq.read_table(f).to_pydict()
        for rate, itv, nxt, te, ti in zip(
            t["rate"], t["interval"], t["next_funding_ns"], t["ts_event"], t["ts_init"]
        ):
            if (start_ns is not None and te < start_ns) or (end_ns is not None and te > end_ns):
                continue
            out.append(n3.FundingRateUpdate(iid, Decimal(rate), te, ti, itv, nxt))
    return out


def catalog_bar_counts(data_dir: DataDir) -> dict[str, int]:
    """Rows per bar type in the catalog (from Parquet metadata; cheap)."""
    root = data_dir.catalog / "data" / "bars"
    out: dict[str, int] = {}
    if root.exists():
        for d in sorted(root.iterdir()):
            out[d.name] = sum(pq.ParquetFile(f).metadata.num_rows for f in d.glob("*.parquet"))
    return out


def catalog_funding_counts(data_dir: DataDir) -> dict[str, int]:
    root = data_dir.catalog / "data" / FUNDING_DIR
    out: dict[str, int] = {}
    if root.exists():
        for d in sorted(root.iterdir()):
            out[d.name] = sum(pq.ParquetFile(f).metadata.num_rows for f in d.glob("*.parquet"))
    return out
