"""The trading child of a paper run: ``python -m vibe_quant.paper.child RUN_ID --data-dir DIR``.

Reads the run from the state database, compiles its strategy, wraps the class in
:class:`vibe_quant.paper.strategy.PaperMixin`, builds the ``LiveNode``
(:mod:`vibe_quant.paper.node`) and runs ``node.run()`` on the main thread until the strategy
calls ``shutdown_system`` (stop, kill) or the process gets SIGINT/SIGTERM. Exit 0 on a normal
end, 1 when the node could not start (credentials, venue unreachable: the message is one
line on stderr, secrets removed), the supervisor restarts it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

NEVER_NS = 2**62  # ctx.last_bar_ns: the end-of-data close never fires live
MAX_HISTORY_BARS = 1000  # within one GET /fapi/v1/klines page (Binance: up to 1500)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vibe_quant.paper.child")
    ap.add_argument("run_id", type=int)
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args(argv)

    from vibe_quant.core.paths import DataDir
    from vibe_quant.paper import credentials
    from vibe_quant.store.state import StateStore

    dd = DataDir.resolve(args.data_dir)
    store = StateStore.open(dd)
    secrets: tuple[str, ...] = ()
    try:
        from vibe_quant.paper.journal import Journal
        from vibe_quant.store import paper_sql as Q

        row = Q.run(store.conn, args.run_id)
        if row is None:
            print(f"error: no paper run {args.run_id}", file=sys.stderr)
            return 2
        creds = credentials.load(row.get("key_file"))
        secrets = creds.secrets
        j = Journal(
            store.conn,
            dd,
            args.run_id,
            strategy=row["strategy_name"],
            symbol=row["symbol"],
            secrets=secrets,
        )
        node = _build(row, creds, j, dd)
        j.set(child_pid=os.getpid())
        node.run()
        return 0
    except Exception as e:
        from vibe_quant.alerts.redact import redact

        print(f"error: {redact(f'{type(e).__name__}: {e}', secrets)}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _build(row: dict, creds, j, dd):
    from nautilus_trader.core import nautilus_pyo3 as n3

    from vibe_quant.core.intervals import interval_ms, nautilus_bar_spec
    from vibe_quant.paper.node import build_node, instrument_id
    from vibe_quant.paper.strategy import paper_class, restored_state
    from vibe_quant.paper.venue import Venue
    from vibe_quant.strategy.base import RunContext
    from vibe_quant.strategy.compiler import compile_strategy

    symbol = row["symbol"]
    params = row["params"] or {}
    compiled = compile_strategy(row["strategy_yaml"])
    compiled.strategy_class = paper_class(compiled.strategy_class)
    iv_ns = interval_ms(row["interval"]) * 1_000_000
    restored = restored_state(row)
    with Venue(row["rest_url"], creds.key, creds.secret, symbol) as v:
        now_ms = v.server_time_ms()
        if row.get("starting_balance") is None:
            j.set(starting_balance=v.wallet_balance())
            row = j.run()  # the stored row now carries the starting balance
    # fresh run: trading starts after the latest bar closed at start; restart: after the last
    # bar the journal says was processed
    trade_start = int(restored["last_bar_ns"] or (now_ms * 1_000_000 // iv_ns) * iv_ns)
    if not row.get("trade_start_ns"):
        j.set(trade_start_ns=trade_start)
    risk = None
    if row.get("risk"):
        from vibe_quant.risk.breakers import BreakerConfig

        risk = BreakerConfig(**row["risk"])
    iid = n3.InstrumentId.from_str(instrument_id(symbol))
    ctx = RunContext(
        symbol=symbol,
        instrument_id=iid,
        bar_type=n3.BarType.from_str(f"{iid}-{nautilus_bar_spec(row['interval'])}-EXTERNAL"),
        trade_start_ns=trade_start,
        last_bar_ns=NEVER_NS,
        leverage=float(row["leverage"]),
        starting_balance=float(row["starting_balance"]),
        # tick/step/precision are read from the venue's instrument in on_start
        price_increment=0.1,
        size_increment=0.001,
        price_precision=2,
        size_precision=3,
        min_qty=0.001,
        liquidation_guard=True,
        risk=risk,
        bar_interval_ns=iv_ns,
    )
    strat = compiled(ctx, params)
    warm = compiled.warmup_for(params)
    history = warm + 2
    if restored["last_bar_ns"] and row.get("trade_start_ns"):
        # a restart feeds every bar since the run's own warm-up began (at most 1000, one
        # klines page), so path-dependent indicators (SAR, Supertrend, EMA seeds) are
        # rebuilt from the same first bar as the uninterrupted run
        latest = now_ms * 1_000_000 // iv_ns * iv_ns
        history = max(history, (latest - int(row["trade_start_ns"])) // iv_ns + warm + 2)
    strat.paper_setup(j, iv_ns, warm, restored, history_bars=min(history, MAX_HISTORY_BARS))
    node = build_node(
        run_id=row["id"],
        exchange=row["exchange"],
        rest=row["rest_url"],
        ws=row["ws_url"],
        api_key=creds.key,
        api_secret=creds.secret,
        symbol=symbol,
        leverage=int(round(float(row["leverage"]))),
        log_level=os.environ.get("VIBE_QUANT_PAPER_LOG_LEVEL", "INFO"),
    )
    node.add_strategy(strat)
    j.event(time.time_ns(), "child_start", {"pid": os.getpid(), "trade_start_ns": trade_start})
    return node


if __name__ == "__main__":
    sys.exit(main())
