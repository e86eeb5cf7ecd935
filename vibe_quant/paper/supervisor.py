"""The supervisor of a paper run: ``python -m vibe_quant.paper.supervisor RUN_ID --data-dir DIR``
(started detached by ``vibe-quant paper start`` / ``resume``).

It runs the trading child (:mod:`vibe_quant.paper.child`) and restarts it when it exits
non-zero or its heartbeat is older than ``stale_s`` (default 30 s; the heartbeat of a child that
has just started counts from its start), after a back-off of ``backoff_s × 2^(n−1)`` seconds
(capped at ``backoff_max_s``; n counts the restarts since the child last ran ``healthy_s``
seconds). Meanwhile it keeps the journal complete from the venue over REST
(:mod:`vibe_quant.paper.venue`): every trade (``userTrades``, so fills made while the child was
down are journalled) and every funding payment (``income``), and it sends the alerts
(:func:`vibe_quant.alerts.notifier_from_env`): fills, breaker trips, errors, restarts and a
daily PnL summary per UTC day of market time. A child that exits 0 after a stop request ends
the run (``stopped``); the kill switch (:func:`vibe_quant.paper.control.kill`) sets ``killing``
and the supervisor leaves the child to it and exits.

Settings from the environment (tests): ``VIBE_QUANT_PAPER_STALE_S``, ``…_BACKOFF_S``,
``…_BACKOFF_MAX_S``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from vibe_quant.core.paths import DataDir
from vibe_quant.store import paper_sql as Q

STALE_ENV, BACKOFF_ENV, BACKOFF_MAX_ENV = (
    "VIBE_QUANT_PAPER_STALE_S",
    "VIBE_QUANT_PAPER_BACKOFF_S",
    "VIBE_QUANT_PAPER_BACKOFF_MAX_S",
)
END_STATES = ("stopped", "killed", "failed")


def child_cmd(run_id: int, data_dir: str) -> list[str]:
    return [sys.executable, "-m", "vibe_quant.paper.child", str(run_id), "--data-dir", data_dir]


class Supervisor:
    def __init__(
        self,
        data_dir: DataDir,
        run_id: int,
        *,
        stale_s: float | None = None,
        backoff_s: float | None = None,
        backoff_max_s: float | None = None,
        healthy_s: float = 60.0,
        poll_s: float = 0.25,
        sync_s: float = 1.0,
    ):
        from vibe_quant.alerts import notifier_from_env
        from vibe_quant.paper import credentials
        from vibe_quant.paper.journal import Journal
        from vibe_quant.paper.venue import Venue
        from vibe_quant.store.state import StateStore

        self.dd, self.run_id = data_dir, int(run_id)
        self.store = StateStore.open(data_dir)
        self.conn = self.store.conn
        row = Q.run(self.conn, self.run_id)
        if row is None:
            raise LookupError(f"no paper run {run_id}")
        self.row = row
        self.creds = credentials.load(row.get("key_file"))
        self.j = Journal(
            self.conn,
            data_dir,
            self.run_id,
            strategy=row["strategy_name"],
            symbol=row["symbol"],
            secrets=self.creds.secrets,
        )
        self.venue = Venue(row["rest_url"], self.creds.key, self.creds.secret, row["symbol"])
        self.alerts = notifier_from_env(secrets=self.creds.secrets)
        env = os.environ
        self.stale_s = float(stale_s if stale_s is not None else env.get(STALE_ENV, 30))
        self.backoff_s = float(backoff_s if backoff_s is not None else env.get(BACKOFF_ENV, 1))
        self.backoff_max_s = float(
            backoff_max_s if backoff_max_s is not None else env.get(BACKOFF_MAX_ENV, 60)
        )
        self.healthy_s, self.poll_s, self.sync_s = healthy_s, poll_s, sync_s
        from vibe_quant.core.intervals import interval_ms

        self.iv_ns = interval_ms(row["interval"]) * 1_000_000
        self.ev_seq = max((e["seq"] for e in Q.events(self.conn, self.run_id)), default=-1)
        self.day: str | None = None
        self.day_start_equity: float | None = None
        self.child: subprocess.Popen | None = None

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        Q.update_run(self.conn, self.run_id, supervisor_pid=os.getpid(), error=None)
        Q.set_status(
            self.conn,
            self.run_id,
            "running",
            only_from=("starting", "failed", "stopped", "running"),
            started_at=Q.now_iso(),
        )
        signal.signal(signal.SIGTERM, self._on_term)
        fails = 0
        try:
            while True:
                st = Q.flags(self.conn, self.run_id)
                if st.get("status") in END_STATES + ("killing",):
                    break
                t0 = time.monotonic()
                reason = self._run_child()
                ran = time.monotonic() - t0
                self._sync()
                st = Q.flags(self.conn, self.run_id)
                if st.get("status") in ("killing", "killed"):
                    break
                if reason is None:  # a clean end: stop requested (or SIGTERM from outside)
                    Q.set_status(
                        self.conn, self.run_id, "stopped", stopped_at=Q.now_iso(), child_pid=None
                    )
                    self.j.event(time.time_ns(), "stop", {"by": "request"})
                    break
                fails = 1 if ran >= self.healthy_s else fails + 1
                wait = min(self.backoff_max_s, self.backoff_s * 2 ** (fails - 1))
                with Q.tx(self.conn):
                    self.conn.execute(
                        "UPDATE paper_runs SET restarts=restarts+1 WHERE id=?", (self.run_id,)
                    )
                n = Q.run(self.conn, self.run_id)["restarts"]
                self.j.event(
                    time.time_ns(), "restart", {"attempt": n, "reason": reason, "backoff_s": wait}
                )
                from vibe_quant.alerts import RestartAlert

                self.alerts.notify(
                    RestartAlert(
                        attempt=n,
                        reason=reason,
                        ts_ns=time.time_ns(),
                        backoff_s=wait,
                        run_id=str(self.run_id),
                    )
                )
                if not self._sleep(wait):
                    break
        finally:
            self.alerts.close(timeout=5)
            self.venue.close()
            Q.update_run(self.conn, self.run_id, supervisor_pid=None)
            self.store.close()
        return 0

    def _on_term(self, *_: Any) -> None:
        # `paper stop` arrives as a flag; SIGTERM to the supervisor = stop the run gracefully
        Q.update_run(self.conn, self.run_id, stop_requested=1)

    def _sleep(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            st = Q.flags(self.conn, self.run_id)
            if st.get("status") in END_STATES + ("killing",) or st.get("stop_requested"):
                if st.get("stop_requested") and st.get("status") not in END_STATES + ("killing",):
                    Q.set_status(self.conn, self.run_id, "stopped", stopped_at=Q.now_iso())
                return False
            time.sleep(min(self.poll_s, max(0.0, end - time.monotonic())))
        return True

    def _run_child(self) -> str | None:
        """Run the child once; ``None`` after a clean exit, else the restart reason."""
        log = open(self.row["log_path"], "ab")
        try:
            self.child = subprocess.Popen(
                child_cmd(self.run_id, str(self.dd.root)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        Q.update_run(self.conn, self.run_id, child_pid=self.child.pid)
        started_ns = time.time_ns()
        last_sync = 0.0
        while True:
            rc = self.child.poll()
            if rc is not None:
                break
            st = Q.flags(self.conn, self.run_id)
            if st.get("status") in ("killing", "killed"):
                return "kill switch"  # the kill switch owns the child now
            now = time.monotonic()
            if now - last_sync >= self.sync_s:
                last_sync = now
                self._sync()
            hb = Q.run(self.conn, self.run_id).get("heartbeat_ns") or 0
            age = (time.time_ns() - max(hb, started_ns)) / 1e9
            if age > self.stale_s:
                self.child.kill()
                self.child.wait()
                self.j.event(
                    time.time_ns(),
                    "error",
                    {"component": "supervisor", "message": f"heartbeat stale {age:.0f} s"},
                )
                return f"heartbeat stale {age:.0f} s"
            time.sleep(self.poll_s)
        st = Q.flags(self.conn, self.run_id)
        if rc == 0:
            return None
        msg = f"exit code {rc}"
        self.j.event(time.time_ns(), "error", {"component": "child", "message": msg})
        from vibe_quant.alerts import ErrorAlert

        if st.get("status") not in ("killing", "killed"):
            self.alerts.notify(
                ErrorAlert(
                    component="child", message=msg, ts_ns=time.time_ns(), run_id=str(self.run_id)
                )
            )
        return msg

    # ------------------------------------------------------------------ venue sync + alerts
    def _sync(self) -> None:
        try:
            sync_venue(self.conn, self.j, self.venue, self.run_id, self.iv_ns, self.alerts)
        except Exception as e:
            self.j.event(
                time.time_ns(),
                "error",
                {"component": "venue", "message": f"{type(e).__name__}: {e}"[:300]},
            )
        self._forward_events()

    def _forward_events(self) -> None:
        from vibe_quant.alerts import BreakerTripAlert, DailyPnlAlert, ErrorAlert

        for e in Q.events(self.conn, self.run_id, after_seq=self.ev_seq):
            self.ev_seq = e["seq"]
            p = e["payload"]
            if e["kind"] == "risk_trip":
                self.alerts.notify(
                    BreakerTripAlert(
                        rule=p.get("rule", ""),
                        action=p.get("action", ""),
                        value=float(p.get("value") or 0),
                        threshold=float(p.get("threshold") or 0),
                        equity=float(p.get("equity") or 0),
                        ts_ns=e["ts_ns"],
                        symbol=self.row["symbol"],
                        until_ns=p.get("until_ns"),
                        run_id=str(self.run_id),
                    )
                )
            elif e["kind"] == "error" and p.get("component") == "strategy":
                self.alerts.notify(
                    ErrorAlert(
                        component="strategy",
                        message=str(p.get("message", ""))[:500],
                        ts_ns=e["ts_ns"],
                        run_id=str(self.run_id),
                    )
                )
        # daily PnL: market-time UTC day of the last processed bar
        row = Q.run(self.conn, self.run_id)
        last = row.get("last_bar_ns")
        if not last:
            return
        day = datetime.fromtimestamp((last - 1) / 1e9, tz=UTC).date().isoformat()
        eq = Q.equity(self.conn, self.run_id)
        if self.day is None:
            self.day = day
            self.day_start_equity = eq[-1]["equity"] if eq else None
            return
        if day != self.day and eq:
            from datetime import date

            prev = [
                x
                for x in eq
                if datetime.fromtimestamp((x["ts_ns"] - 1) / 1e9, tz=UTC).date().isoformat()
                == self.day
            ]
            end_eq = prev[-1]["equity"] if prev else eq[-1]["equity"]
            start_eq = self.day_start_equity if self.day_start_equity is not None else end_eq
            fills = [
                f
                for f in Q.fills(self.conn, self.run_id)
                if datetime.fromtimestamp(f["ts_ns"] / 1e9, tz=UTC).date().isoformat() == self.day
            ]
            fund = [
                f
                for f in Q.funding(self.conn, self.run_id)
                if datetime.fromtimestamp(f["ts_ns"] / 1e9, tz=UTC).date().isoformat() == self.day
            ]
            self.alerts.notify(
                DailyPnlAlert(
                    day=date.fromisoformat(self.day),
                    start_equity=start_eq,
                    end_equity=end_eq,
                    realized_pnl=sum(f["realized_pnl"] or 0.0 for f in fills),
                    commissions=sum(f["commission"] for f in fills),
                    funding=sum(f["amount"] for f in fund),
                    trades=sum(1 for f in fills if (f["realized_pnl"] or 0.0) != 0.0),
                    run_id=str(self.run_id),
                )
            )
            self.day, self.day_start_equity = day, end_eq


def sync_venue(conn, j, venue, run_id: int, iv_ns: int, alerts=None) -> int:
    """Journal every venue trade and funding payment not yet journalled (``userTrades`` from
    the last journalled trade id, ``income`` FUNDING_FEE from the last journalled time);
    returns how many rows were new."""
    from vibe_quant.paper.venue import decode_cid

    row = Q.run(conn, run_id)
    new = 0
    floor_ms = (row.get("trade_start_ns") or 0) // 1_000_000 - iv_ns // 1_000_000
    last_id = int(row.get("last_trade_id") or 0)
    known: set[int] | None = None
    tags: dict[str, str] = {}
    while True:
        trades = venue.user_trades(from_id=last_id + 1 if last_id else 0)
        trades = [t for t in trades if int(t["id"]) > last_id and int(t["time"]) >= floor_ms]
        if not trades:
            break
        for t in trades:
            ts = int(t["time"]) * 1_000_000
            side = 1 if t["side"] == "BUY" else -1
            cid = decode_cid(str(t.get("clientOrderId") or "")) or None
            tag = None
            if known is None:
                known = {f["trade_id"] for f in Q.fills(conn, run_id)}
                tags = {r["client_order_id"]: r["tag"] for r in Q.intents(conn, run_id)}
            if int(t["id"]) not in known:
                # a fill the child has not journalled (it was down): its order and exit reason from
                # the venue's order record and the journalled intent
                cid = cid or venue.client_order_id(t["orderId"])
                tag = tags.get(cid) if cid else None
            if Q.record_fill(
                conn,
                run_id,
                trade_id=int(t["id"]),
                ts_ns=ts,
                side=side,
                qty=float(t["qty"]),
                price=float(t["price"]),
                commission=float(t["commission"]),
                source="venue",
                client_order_id=cid,
                realized_pnl=float(t.get("realizedPnl") or 0),
                tag=tag,
                bar_ns=-(-ts // iv_ns) * iv_ns,
            ):
                new += 1
                j.event(
                    -(-ts // iv_ns) * iv_ns,
                    "fill",
                    {
                        "order_id": cid,
                        "trade_id": int(t["id"]),
                        "side": side,
                        "qty": float(t["qty"]),
                        "price": float(t["price"]),
                        "commission": float(t["commission"]),
                        "tag": tag,
                        "liquidity": "MAKER" if t.get("maker") else "TAKER",
                        "source": "venue",
                    },
                )
            if alerts is not None:
                from vibe_quant.alerts import FillAlert

                if int(t["id"]) > last_id:
                    alerts.notify(
                        FillAlert(
                            symbol=venue.symbol,
                            side=t["side"],
                            qty=float(t["qty"]),
                            price=float(t["price"]),
                            commission=float(t["commission"]),
                            ts_ns=ts,
                            realized_pnl=float(t.get("realizedPnl") or 0) or None,
                            run_id=str(run_id),
                        )
                    )
            last_id = max(last_id, int(t["id"]))
        Q.update_run(conn, run_id, last_trade_id=last_id)
        if len(trades) < 1000:
            break
    last_ms = int(row.get("last_income_ms") or 0)
    rows = venue.funding_income(start_ms=max(last_ms + 1, floor_ms))
    for r in rows:
        t = int(r["time"])
        if t <= last_ms:
            continue
        if Q.record_funding(conn, run_id, t * 1_000_000, float(r["income"])):
            new += 1
            j.event(
                t * 1_000_000,
                "funding",
                {"amount": float(r["income"]), "info": r.get("info"), "source": "venue"},
            )
        last_ms = max(last_ms, t)
    Q.update_run(conn, run_id, last_income_ms=last_ms)
    return new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vibe_quant.paper.supervisor")
    ap.add_argument("run_id", type=int)
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args(argv)
    from vibe_quant.core.paths import DataDir

    try:
        sup = Supervisor(DataDir.resolve(args.data_dir), args.run_id)
    except Exception as e:
        from vibe_quant.core.paths import DataDir as _D
        from vibe_quant.store.state import StateStore

        with StateStore.open(_D.resolve(args.data_dir)) as st:
            Q.set_status(
                st.conn,
                args.run_id,
                "failed",
                error=f"{type(e).__name__}: {e}",
                supervisor_pid=None,
            )
        print(f"error: {e}", file=sys.stderr)
        return 1
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())
