"""The research pipeline as a use case: data → screening sweep → overfitting filters →
validation → short list and report (:mod:`vibe_quant.pipeline.run`), and optionally the
promotion of the best validated survivor to paper trading (SPEC.md §17).

Re-running the same request resumes (each stage stores its results). The summary's ``ok`` is
true only when everything requested happened; ``problems`` says what did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import ConfigError, VibeQuantError
from vibe_quant.core.paths import DataDir
from vibe_quant.core.progress import ProgressCallback
from vibe_quant.pipeline.run import FILTERS

__all__ = ["FILTERS", "PaperPromotion", "PipelineOptionError", "PipelineOutcome",
           "run_pipeline"]

class PipelineOptionError(ConfigError, ValueError):
    """A pipeline option is invalid (unknown filter, walk-forward lengths below one month)."""


@dataclass(frozen=True)
class PaperPromotion:
    """Start a paper run of the short list's best validation Sharpe.

    Attributes:
        exchange: ``"testnet"`` or a REST base URL; key_file: API key file (mode 0600), or
            None for the default.
    """

    exchange: str = "testnet"
    key_file: str | None = None


@dataclass(frozen=True)
class PipelineOutcome:
    """The pipeline's summary document (what ``--json`` prints): ``pipeline_id``,
    ``strategy``, ``symbol``, ``start``, ``end``, ``sweep``, ``filters``, ``shortlist``,
    ``rejected``, ``report``, ``stage_seconds``, ``problems``, ``warnings``, ``ok``, and
    ``paper`` when a promotion was asked for."""

    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


def run_pipeline(
    dd: DataDir, strategy: str, *, symbol: str, start: str, end: str,
    workers: int | None = None, top: int = 5, filters: tuple[str, ...] = FILTERS,
    filter_preset: str = "default", max_combos: int | None = None, sample: str = "grid",
    seed: int = 0, latency: str = "retail", fee_tier: int = 0, candidates: str = "pareto",
    wfa_in_months: int = 9, wfa_out_months: int = 3, base_url: str | None = None,
    rest_url: str | None = None, use_rest: bool = True, report: str | None = None,
    paper: PaperPromotion | None = None, progress: ProgressCallback | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> PipelineOutcome:
    """Run (or resume) the pipeline of strategy file ``strategy`` on ``symbol`` from ``start``
    to ``end`` (UTC dates; the end day included).

    Args:
        filters: subset of :data:`FILTERS` (empty = none); filter_preset: ``default`` or
            ``seed`` thresholds; candidates: ``pareto``, ``passed``, ``all`` or ``top:N``.
        top: validate at most ``top`` survivors with ``latency`` preset and VIP ``fee_tier``.
        wfa_in_months, wfa_out_months: walk-forward window lengths (≥ 1).
        base_url, rest_url, use_rest: where the data stage downloads from.
        report: write the HTML report here. paper: promote the best survivor.
        log: receives one line per stage event (for the transport to show).

    Raises:
        PipelineOptionError: unknown filter, walk-forward length below 1 (exit 2).
        OSError: unreadable strategy file. StrategyError: invalid strategy.
        MissingDataError: no bars for the period after the data stage.
        SweepStartupError: the sweep's workers could not start.
    """
    from vibe_quant.pipeline.run import PipelineConfig
    from vibe_quant.pipeline.run import run_pipeline as run

    text = Path(strategy).read_text()
    bad = [f for f in filters if f not in FILTERS]
    if bad:
        raise PipelineOptionError(f"unknown filter(s) {bad}; choose from {', '.join(FILTERS)}")
    if wfa_in_months < 1 or wfa_out_months < 1:
        raise PipelineOptionError("--wfa-in and --wfa-out must be at least 1 month")
    cfg = PipelineConfig(yaml_text=text, symbol=symbol.upper(), start=start, end=end,
                         workers=workers, top=top, filters=tuple(filters),
                         max_combos=max_combos, sample=sample, seed=seed, latency=latency,
                         fee_tier=fee_tier, candidates=candidates, base_url=base_url,
                         rest_url=rest_url, use_rest=use_rest, report=report,
                         wfa_in_months=wfa_in_months, wfa_out_months=wfa_out_months,
                         filter_preset=filter_preset)
    doc = run(dd, cfg, progress=progress, log=log)
    if paper is not None:
        _promote(dd, doc, paper)
    return PipelineOutcome(doc)


def _promote(dd: DataDir, doc: dict[str, Any], paper: PaperPromotion) -> None:
    """Start a paper run of the short list's best validation Sharpe (its stored validation
    run gives strategy, params and symbol); a problem in ``doc`` when nothing was started."""
    from vibe_quant.paper import control

    cands = [s for s in doc["shortlist"] if s.get("run_id") is not None]
    if not cands:
        doc["paper"] = None
        doc["problems"].append("--paper: nothing promoted to paper trading (empty short list)")
        doc["ok"] = False
        return
    best = max(cands, key=lambda s: s.get("validation_sharpe") or float("-inf"))
    try:
        row = control.start(dd, None, doc["symbol"], validation_run=int(best["run_id"]),
                            exchange=paper.exchange, key_file=paper.key_file)
    except (VibeQuantError, ValueError, RuntimeError, OSError) as e:
        doc["paper"] = None
        doc["problems"].append(f"--paper: paper run not started: {e}")
        doc["ok"] = False
        return
    doc["paper"] = {"id": row["id"], "combo_idx": best["combo_idx"], "params": best["params"],
                    "validation_run_id": best["run_id"], "exchange": row["exchange"]}
