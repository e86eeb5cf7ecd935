"""``vibe-quant filter calibrate``: false-positive rate and power of the overfitting filters.

Simulates sweeps with a known true Sharpe for the best combination and prints, per filter and
threshold preset, the pass rate per true Sharpe and correlation ρ (``SR 0`` = false-positive
rate, the others = power). See :mod:`vibe_quant.services.calibration` and SPEC.md §6.

The command is reached as ``vibe-quant filter calibrate …`` (``cli/__init__.py`` routes
``filter calibrate`` to the ``filter-calibrate`` sub-command registered here, so
``vibe-quant filter SWEEP_ID`` keeps its positional argument).
"""

from __future__ import annotations

import argparse
import os

from vibe_quant.cli.common import emit_json

COMMAND = "filter-calibrate"


def register(sub: argparse._SubParsersAction) -> None:
    from vibe_quant.services import calibration as cal  # light: no SciPy at start-up

    p = sub.add_parser(
        COMMAND,
        prog="vibe-quant filter calibrate",
        help="(= `filter calibrate`) false-positive rate and power of the filters, simulated",
        description="Simulate sweeps with a known true Sharpe and report each filter's pass "
        "rate: false-positive rate (true Sharpe 0) and power.",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=cal.DEFAULT_STRATEGIES,
        help=f"N, combinations per simulated sweep (default {cal.DEFAULT_STRATEGIES})",
    )
    p.add_argument(
        "--days",
        type=int,
        default=cal.DEFAULT_DAYS,
        help=f"T, daily returns per combination (default {cal.DEFAULT_DAYS})",
    )
    p.add_argument(
        "--rho",
        type=float,
        action="append",
        default=None,
        help="an extra pairwise correlation to simulate besides 0, 0.3, 0.6, 0.9 "
        "(e.g. the rho measured on a real sweep); repeatable",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=cal.DEFAULT_SEED,
        help=f"random seed (default {cal.DEFAULT_SEED})",
    )
    p.add_argument(
        "--sims",
        type=int,
        default=cal.DEFAULT_SIMS,
        help=f"simulated sweeps per (rho, true Sharpe) (default {cal.DEFAULT_SIMS})",
    )
    p.add_argument(
        "--filters",
        default=",".join(cal.FILTERS),
        help=f"comma-separated subset of {','.join(cal.FILTERS)} (default all)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes (default min(2, CPUs)); results do not depend on it",
    )
    p.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    p.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from vibe_quant.services.calibration import calibrate

    filters = tuple(f.strip() for f in args.filters.split(",") if f.strip())
    res = calibrate(n_strategies=args.trials, n_days=args.days, extra_rhos=args.rho or (),
                    n_sims=args.sims, seed=args.seed, filters=filters, workers=args.workers)
    doc = res.to_dict()
    if args.json:
        emit_json(doc)
        return 0
    print(format_table(doc))
    return 0


def format_table(doc: dict) -> str:
    """Human-readable pass-rate table of a ``CalibrationResult.to_dict()`` document."""
    s = doc["settings"]
    sharpes = [str(x) for x in s["true_sharpes"]]
    lines = [
        f"N = {s['n_strategies']} combinations, T = {s['n_days']} days, {s['n_sims']} simulated "
        f"sweeps per cell, seed {s['seed']}; returns: {s['distribution']}",
        "pass rate in % (true Sharpe 0 = false-positive rate; others = power)",
        f"{'filter':8} {'preset':12} {'rho':>5} " + " ".join(f"SR {x:>4}" for x in sharpes),
    ]
    for row in doc["table"]:
        rates = " ".join(f"{100 * row['pass_rate'][x]:7.1f}" for x in sharpes)
        lines.append(f"{row['filter']:8} {row['preset']:12} {row['rho']:5.2f} {rates}")
    lines.append(f"recommended (FPR <= {100 * s['alpha']:.0f} % at every rho simulated):")
    for f, rec in doc["recommended"].items():
        if rec["thresholds"] is None:
            lines.append(f"  {f}: {rec['note']}")
            continue
        th = ", ".join(f"{k} = {v}" for k, v in rec["thresholds"].items())
        lines.append(f"  {f}: {th} (worst FPR {100 * rec['max_fpr']:.1f} %)")
    lines.append(f"took {doc['elapsed_s']:.0f} s")
    return "\n".join(lines)
