"""Start, inspect, stop, kill and resume paper runs (the CLI ``vibe-quant paper …`` and the
dashboard call these; every function takes the :class:`~vibe_quant.core.paths.DataDir`).

* :func:`start` — store the run (strategy YAML, params, leverage, venue URLs, key-file path),
  check the credentials and the venue (one signed REST call), then launch the supervisor
  detached (its own session; it outlives the command). Returns the run row.
* :func:`stop` — graceful: the child's timer sees the flag, the strategy stops and the node
  shuts down; resting orders and the position stay at the venue unless ``flatten``.
* :func:`kill` — the kill switch: flag → the live child runs ``market_exit`` (cancel all, close
  at market) and shuts down; a child that does not finish within ``grace_s`` (hung, e.g.
  SIGSTOP) is SIGKILLed, a dead one is skipped; then the venue is flattened over signed REST
  (:func:`vibe_quant.paper.venue.flatten`) and checked flat. Status ``killed``; a
  ``KillSwitchAlert`` is sent.
* :func:`resume` — a new supervisor for a stopped / killed / failed run (same journal; the node
  reconciles with the venue).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from vibe_quant.core import errors as core_errors
from vibe_quant.core.paths import DataDir
from vibe_quant.store import paper_sql as Q
from vibe_quant.store.state import StateStore

KILL_GRACE_S = 2.0
HUNG_NS = 1_500_000_000  # the child's heartbeat timer beats every 0.5 s


class PaperError(core_errors.PaperError, RuntimeError):
    """A paper-run request that cannot be done (one line: what and what to run)."""


def _conn(dd: DataDir) -> StateStore:
    return StateStore.open(dd)


def _row(store: StateStore, run_id: int) -> dict[str, Any]:
    r = Q.run(store.conn, run_id)
    if r is None:
        raise PaperError(f"no paper run {run_id}: see `vibe-quant paper list`")
    return r


def _proc_is(pid: int | None, module: str, run_id: int) -> bool:
    """True when ``pid`` is alive (not a zombie) and is ``module`` for ``run_id`` (PIDs are
    reused: the command line is checked)."""
    if not pid:
        return False
    import psutil

    try:
        p = psutil.Process(int(pid))
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        cmd = p.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return module in cmd and str(run_id) in cmd


def _stopped(pid: int | None) -> bool:
    import psutil

    try:
        return bool(pid) and psutil.Process(int(pid)).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


def supervisor_alive(row: dict[str, Any]) -> bool:
    return _proc_is(row.get("supervisor_pid"), "vibe_quant.paper.supervisor", row["id"])


def child_alive(row: dict[str, Any]) -> bool:
    return _proc_is(row.get("child_pid"), "vibe_quant.paper.child", row["id"])


def _launch(dd: DataDir, run_id: int, log_path: str) -> int:
    log = open(log_path, "ab")
    try:
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vibe_quant.paper.supervisor",
                str(run_id),
                "--data-dir",
                str(dd.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()
    return p.pid


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["ema_fast.period=5", …]`` → ``{"ema_fast.period": 5, …}`` (numbers parsed)."""
    out: dict[str, Any] = {}
    for it in items or []:
        if "=" not in it:
            raise PaperError(f"--param {it!r} is not KEY=VALUE (e.g. --param ema_fast.period=5)")
        k, v = it.split("=", 1)
        try:
            val: Any = int(v)
        except ValueError:
            try:
                val = float(v)
            except ValueError:
                val = v
        out[k.strip()] = val
    return out


def from_validation(dd: DataDir, run_id: int) -> tuple[str, dict[str, Any], str]:
    """``(strategy YAML, params, symbol)`` of stored backtest run ``run_id`` (a validation run
    of the pipeline / ``vibe-quant validate``)."""
    from vibe_quant.store.paper_sql import validation_run_source

    with _conn(dd) as st:
        r = validation_run_source(st.conn, run_id)
    if r is None or r[3] is None:
        raise PaperError(
            f"--from-validation {run_id}: no stored backtest run with that id "
            "(see `vibe-quant validate …` output for run ids)"
        )
    if r[2] != "validation":
        raise PaperError(
            f"--from-validation {run_id}: run {run_id} is a {r[2]} run, not a validation run"
        )
    return r[3], json.loads(r[0]), json.loads(r[1])[0]


def start(
    dd: DataDir,
    strategy: str | None,
    symbol: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    leverage: float | None = None,
    balance: float | None = None,
    exchange: str = "testnet",
    ws_url: str | None = None,
    key_file: str | None = None,
    validation_run: int | None = None,
    risk_preset: str | None = None,
    strategy_text: str | None = None,
) -> dict[str, Any]:
    """Create and launch a paper run; returns its row (``id``, ``status`` …).

    Raises:
        PaperError / CredentialError / StrategyError / ValueError: bad input, no key, venue
        unreachable — nothing is started then.
    """
    from vibe_quant.paper import credentials
    from vibe_quant.paper.node import venue_urls
    from vibe_quant.paper.venue import Venue
    from vibe_quant.strategy.compiler import compile_strategy

    p = dict(params or {})
    if validation_run is not None:
        text, vparams, vsym = from_validation(dd, validation_run)
        p = {**vparams, **p}
        symbol = symbol or vsym
    elif strategy_text is not None:
        text = strategy_text
    else:
        if not strategy:
            raise PaperError("give STRATEGY.yaml or --from-validation RUN_ID")
        text = Path(strategy).read_text()
    if not symbol:
        raise PaperError("--symbol is required (e.g. --symbol BTCUSDT)")
    symbol = symbol.upper()
    risk = None
    if risk_preset:
        from vibe_quant.risk.presets import apply_preset, apply_sizing_to_yaml

        with _conn(dd) as st:
            ap = apply_preset(st, risk_preset)
        text = apply_sizing_to_yaml(text, ap.sizing) if ap.sizing else text
        risk = ap.breakers.model_dump() if ap.breakers is not None else None
    compiled = compile_strategy(text)
    compiled.resolve(p)  # bad keys / values: StrategyError before anything starts
    lev = float(leverage if leverage is not None else compiled.leverage(p))
    if lev < 1:
        raise PaperError(f"--leverage must be ≥ 1, got {lev:g}")
    rest, ws = venue_urls(exchange, ws_url)
    creds = credentials.load(key_file)
    try:
        with Venue(rest, creds.key, creds.secret, symbol) as v:
            v.wallet_balance()
            listed = v.symbols()
    except Exception as e:
        from vibe_quant.alerts.redact import redact

        raise PaperError(
            f"venue {rest} refused or unreachable: {redact(str(e), creds.secrets)[:200]}"
        ) from None
    # the child subscribes the informative symbols' klines too (and warms them up)
    missing = [s for s in (symbol, *compiled.informative_symbols) if s not in listed]
    if missing:
        raise PaperError(
            f"venue {rest} does not list {', '.join(missing)}, which strategy "
            f"{compiled.name!r} trades or reads"
        )
    logs = Path(dd.logs) / "paper"
    logs.mkdir(parents=True, exist_ok=True)
    with _conn(dd) as st:
        rid = Q.create_run(
            st.conn,
            strategy_name=compiled.name,
            strategy_yaml=text,
            symbol=symbol,
            interval=compiled.interval,
            params=p,
            leverage=lev,
            starting_balance=balance,
            risk=risk,
            exchange=exchange,
            rest_url=rest,
            ws_url=ws,
            key_file=str(Path(key_file).resolve()) if key_file else None,
            from_validation=validation_run,
            trader_id="",
            strategy_id="VQ-001",
            log_path="",
        )
        log_path = str(logs / f"run-{rid}.log")
        Q.update_run(st.conn, rid, log_path=log_path, trader_id=f"VQPAPER-{rid:03d}")
        pid = _launch(dd, rid, log_path)
        Q.update_run(st.conn, rid, supervisor_pid=pid)
        return _public(Q.run(st.conn, rid))


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "strategy_yaml"}


def runs(dd: DataDir) -> list[dict[str, Any]]:
    with _conn(dd) as st:
        return Q.runs(st.conn)


def status(dd: DataDir, run_id: int) -> dict[str, Any]:
    """Run row + liveness: position, open orders, balance, unrealised PnL, last bar, last
    heartbeat (age s), breaker state, process states, journal counts."""
    with _conn(dd) as st:
        row = _public(_row(st, run_id))
        n_fills = len(Q.fills(st.conn, run_id))
        n_fund = len(Q.funding(st.conn, run_id))
    hb = row.get("heartbeat_ns")
    row["heartbeat_age_s"] = round((time.time_ns() - hb) / 1e9, 1) if hb else None
    row["supervisor_alive"] = supervisor_alive(row)
    row["child_alive"] = child_alive(row)
    row["fills"] = n_fills
    row["funding_payments"] = n_fund
    return row


def logs(dd: DataDir, run_id: int, tail: int = 100, events: bool = False) -> list[str]:
    """Last ``tail`` lines of the run's process log (or of its event log)."""
    from vibe_quant.paper.journal import events_path

    with _conn(dd) as st:
        row = _row(st, run_id)
    p = events_path(dd, run_id) if events else Path(row["log_path"])
    if not p.exists():
        return []
    return p.read_text(errors="replace").splitlines()[-tail:]


def stop(dd: DataDir, run_id: int, flatten: bool = False, wait_s: float = 15.0) -> dict[str, Any]:
    """Graceful stop (see module docstring); waits up to ``wait_s`` for the processes."""
    with _conn(dd) as st:
        row = _row(st, run_id)
        if row["status"] in Q.ACTIVE_STATES[:2]:
            Q.update_run(st.conn, run_id, stop_requested=1, flatten_on_stop=int(flatten))
            Q.set_status(st.conn, run_id, "stopping", only_from=("starting", "running"))
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            row = Q.run(st.conn, run_id)
            if not supervisor_alive(row) and not child_alive(row):
                break
            time.sleep(0.2)
        row = Q.run(st.conn, run_id)
        if row["status"] == "stopping" and not supervisor_alive(row) and not child_alive(row):
            Q.set_status(st.conn, run_id, "stopped", stopped_at=Q.now_iso())
        return _public(Q.run(st.conn, run_id))


def kill(dd: DataDir, run_id: int | None = None, grace_s: float = KILL_GRACE_S) -> dict[str, Any]:
    """Kill switch for ``run_id`` (None = every active run); see the module docstring.
    Returns ``{"runs": [{id, flat, orders_cancelled, closed_qty, price, child, seconds}]}``
    (a single run's dict when ``run_id`` is given)."""
    if run_id is None:
        with _conn(dd) as st:
            ids = [r["id"] for r in Q.runs(st.conn) if r["status"] in Q.ACTIVE_STATES]
        return {"runs": [kill(dd, i, grace_s) for i in ids]}
    t0 = time.monotonic()
    from vibe_quant.alerts import KillSwitchAlert, notifier_from_env
    from vibe_quant.paper import credentials
    from vibe_quant.paper.journal import Journal
    from vibe_quant.paper.venue import Venue, flatten

    with _conn(dd) as st:
        row = _row(st, run_id)
        creds = credentials.load(row.get("key_file"))
        Q.update_run(st.conn, run_id, kill_requested=1)
        Q.set_status(st.conn, run_id, "killing")
        j = Journal(
            st.conn,
            dd,
            run_id,
            strategy=row["strategy_name"],
            symbol=row["symbol"],
            secrets=creds.secrets,
        )
        child = "dead"
        if child_alive(row):
            child = "alive"
            seq0 = max((e["seq"] for e in Q.events(st.conn, run_id)), default=-1)
            end = time.monotonic() + grace_s
            done = False
            while time.monotonic() < end and child_alive(row) and not done:
                # the child journals a "kill" event once its market_exit left the venue flat
                done = any(
                    e["payload"].get("flat")
                    for e in Q.events(st.conn, run_id, kind="kill", after_seq=seq0)
                )
                hb = (Q.run(st.conn, run_id) or {}).get("heartbeat_ns") or 0
                if _stopped(row.get("child_pid")) or time.time_ns() - hb > HUNG_NS:
                    break  # SIGSTOPped, or its loop has not beaten for HUNG_NS: hung
                time.sleep(0.05)
            if child_alive(row) and not done:
                child = "hung"
                os.kill(int(row["child_pid"]), signal.SIGKILL)
                for _ in range(40):
                    if not child_alive(row):
                        break
                    time.sleep(0.025)
        with Venue(row["rest_url"], creds.key, creds.secret, row["symbol"]) as v:
            rep = flatten(v)
            try:
                from vibe_quant.core.intervals import interval_ms
                from vibe_quant.paper.supervisor import sync_venue

                sync_venue(st.conn, j, v, run_id, interval_ms(row["interval"]) * 1_000_000)
            except Exception:
                pass
        secs = time.monotonic() - t0
        out = {
            "id": run_id,
            "flat": rep.flat,
            "orders_cancelled": rep.orders_cancelled,
            "closed_qty": rep.closed_qty,
            "price": rep.price,
            "child": child,
            "position_after": rep.position_after,
            "seconds": round(secs, 3),
        }
        j.event(time.time_ns(), "kill", out)
        Q.set_status(
            st.conn,
            run_id,
            "killed",
            stopped_at=Q.now_iso(),
            child_pid=None,
            position=rep.position_after,
            open_orders=[],
            error=None if rep.flat else "kill switch: venue not flat after 3 attempts",
        )
        alerts = notifier_from_env(secrets=creds.secrets)
        try:
            alerts.notify(
                KillSwitchAlert(
                    reason="paper kill",
                    orders_cancelled=rep.orders_cancelled,
                    flattened_qty=rep.closed_qty,
                    ts_ns=time.time_ns(),
                    symbol=row["symbol"],
                    flatten_price=rep.price,
                    run_id=str(run_id),
                )
            )
            alerts.flush(timeout=3)
        finally:
            alerts.close(timeout=3)
        j.event(time.time_ns(), "alert", {"type": "kill_switch"})
    return out


def resume(dd: DataDir, run_id: int) -> dict[str, Any]:
    """Relaunch the supervisor of a stopped / killed / failed run (same journal)."""
    from vibe_quant.paper import credentials

    with _conn(dd) as st:
        row = _row(st, run_id)
        if supervisor_alive(row):
            raise PaperError(
                f"paper run {run_id} is running (supervisor pid "
                f"{row['supervisor_pid']}): nothing to resume"
            )
        credentials.load(row.get("key_file"))
        Q.update_run(
            st.conn, run_id, stop_requested=0, kill_requested=0, flatten_on_stop=0, error=None
        )
        Q.set_status(st.conn, run_id, "starting")
        pid = _launch(dd, run_id, row["log_path"])
        Q.update_run(st.conn, run_id, supervisor_pid=pid)
        return _public(Q.run(st.conn, run_id))
