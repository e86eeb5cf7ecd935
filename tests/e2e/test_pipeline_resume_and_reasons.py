"""Issue 9, "failures that hide their cause", end to end through the CLI on the real data.

* A re-run of a finished pipeline with ``--report`` resumes (it used to die with
  ``KeyError: 'params'``) and gives the same short list and the same report.
* On a 6-month period walk-forward cannot form a 9 + 3-month window: the pipeline warns before
  the sweep, and the JSON, the ``filter`` summary and the report say why and which window
  lengths fit; ``ok`` is false and the exit code 1.
* With an empty short list the report shows the best screening candidates' equity and
  drawdown, labelled as rejected, with the filters that rejected each.

Kept as cheap as the pipeline allows (about a minute on 2 cores, hence marked slow): 4
combinations of ``overfit.yaml`` over 2024-01 → 2024-06, top 2 candidates.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("VIBE_QUANT_DEBUG", None)
ARGS = [
    "tests/e2e/overfit.yaml",
    "--symbol",
    "BTCUSDT",
    "--start",
    "2024-01-01",
    "--end",
    "2024-06-30",
    "--max-combos",
    "4",
    "--candidates",
    "top:2",
    "--top",
    "2",
    "--no-rest",
]
pytestmark = pytest.mark.slow
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _run(*args: str, dd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vibe_quant", *args, "--data-dir", str(dd.root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=900,
    )


def _report_text(path: Path) -> str:
    """The report with plotly's random element ids replaced (everything else must match)."""
    return UUID.sub("ID", path.read_text())


def _arr(v) -> np.ndarray:
    """A plotly trace array: a list, or ``{"dtype", "bdata": base64}`` (plotly ≥ 6)."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).astype(float)
    return np.asarray(v, dtype=float)


def _traces(html: str) -> list[dict]:
    """Every plotly trace (name, x, y) embedded in the report."""
    out = []
    for m in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S):
        out.extend(json.loads(m.group(1)))
    return out


@pytest.fixture(scope="module")
def six_months(e2e_data_dir, mirror, tmp_path_factory):
    """The 6-month pipeline run twice with --report (second run = resume)."""
    tmp = tmp_path_factory.mktemp("six")
    runs = []
    for i in (1, 2):
        out = _run(
            "pipeline",
            *ARGS,
            "--base-url",
            mirror.url,
            "--report",
            str(tmp / f"r{i}.html"),
            "--json",
            dd=e2e_data_dir,
        )
        assert "Traceback" not in out.stderr, out.stderr[-3000:]
        runs.append((out, json.loads(out.stdout), tmp / f"r{i}.html"))
    return runs


def test_walk_forward_that_cannot_form_a_window_says_why(six_months, e2e_data_dir):
    out, doc, _ = six_months[0]
    # requested walk-forward did not happen: not ok, exit 1, and said before the sweep
    assert out.returncode == 1 and doc["ok"] is False
    err = out.stderr
    assert err.index("warning: walk-forward could not form a window") < err.index("screening sweep")
    # 2024-01-01 → 2024-06-30 is 6 whole months < 9 + 3; in 3 + out 1 with a 1-month step gives
    # windows ending Apr, May, Jun + 1 month of OOS each: 3 windows (worked out by hand)
    wfa = doc["filters"]["sweep_level"]["wfa"]
    assert wfa["value"] is None and wfa["passed"] is False
    for s in (
        "the period 2024-01-01 → 2024-06-30 spans 6 whole month(s)",
        "in-sample 9 + out-of-sample 3 = 12 months",
        "at most 6 months",
        "--wfa-in 3 --wfa-out 1 (3 window(s))",
    ):
        assert s in wfa["reason"], (s, wfa["reason"])
    assert any(p.startswith("wfa: walk-forward could not form a window") for p in doc["problems"])
    # the stored filter result carries it too
    con = sqlite3.connect(e2e_data_dir.state_db)
    det = json.loads(
        con.execute(
            "SELECT details FROM filter_results WHERE filter_run_id=? AND filter='wfa'",
            (doc["filters"]["filter_run_id"],),
        ).fetchone()[0]
    )
    assert det["not_run"] is True and det["suggested"] == {
        "in_months": 3,
        "out_months": 1,
        "windows": 3,
    }
    # the filter command's summary says it (and exits 1: a requested filter did not run)
    f = _run("filter", str(doc["sweep"]["sweep_id"]), "--candidates", "top:2", dd=e2e_data_dir)
    assert f.returncode == 1 and "Traceback" not in f.stderr
    assert "walk-forward: NOT RUN [FAIL] — walk-forward could not form a window" in f.stdout
    # and the report
    html = six_months[0][2].read_text()
    assert "Walk-forward did not run." in html and "--wfa-in 3 --wfa-out 1" in html


def test_suggested_window_lengths_do_run(six_months, e2e_data_dir):
    """The lengths the message suggests form the 3 windows it promises."""
    doc = six_months[0][1]
    f = _run(
        "filter",
        str(doc["sweep"]["sweep_id"]),
        "--candidates",
        "top:1",
        "--wfa-in",
        "3",
        "--wfa-out",
        "1",
        "--no-dsr",
        "--no-pkfold",
        "--no-pbo",
        "--json",
        dd=e2e_data_dir,
    )
    assert "Traceback" not in f.stderr
    wfa = json.loads(f.stdout)["sweep_level"]["wfa"]
    assert wfa["n_windows"] == 3 and "not_run" not in wfa
    assert [w["oos_end"][:10] for w in wfa["windows"]] == ["2024-05-01", "2024-06-01", "2024-07-01"]


def test_empty_short_list_report_shows_the_rejected_candidates(six_months, e2e_data_dir):
    from vibe_quant.core.paths import DataDir
    from vibe_quant.research.screening.rerun import SweepRunner
    from vibe_quant.store.state import StateStore

    _, doc, report = six_months[0]
    assert doc["shortlist"] == [] and len(doc["rejected"]) == 2
    con = sqlite3.connect(e2e_data_dir.state_db)
    fr = doc["filters"]["filter_run_id"]
    # the two rejected are the filter candidates = the top 2 of the sweep by screening Sharpe
    top2 = [
        r[0]
        for r in con.execute(
            "SELECT combo_idx FROM sweep_results WHERE sweep_id=? ORDER BY sharpe DESC, combo_idx "
            "LIMIT 2",
            (doc["sweep"]["sweep_id"],),
        )
    ]
    assert [r["combo_idx"] for r in doc["rejected"]] == top2
    for r in doc["rejected"]:
        failed = {
            f
            for (f,) in con.execute(
                "SELECT filter FROM filter_results WHERE filter_run_id=? AND passed=0 AND "
                "combo_idx IN (-1, ?)",
                (fr, r["combo_idx"]),
            )
        }
        assert "wfa" in failed
        assert {x.split(" ")[0] for x in r["rejected_by"]} == failed
    traces = _traces(report.read_text())
    rej = [t for t in traces if t.get("name", "").startswith("REJECTED #")]
    assert len(rej) == 4  # equity + drawdown of each
    with StateStore.open(DataDir(e2e_data_dir.root)) as store:
        runner = SweepRunner(store.sweep(doc["sweep"]["sweep_id"]), str(e2e_data_dir.root))
    for r in doc["rejected"]:
        eq_t, dd_t = [t for t in rej if t["name"].startswith(f"REJECTED #{r['combo_idx']} ")]
        assert "wfa (not run" in eq_t["name"]
        # the charted curve is the candidate's screening equity: an independent re-run of its
        # parameters over the sweep window gives the same daily equity
        rerun = runner.run(r["params"]).daily_equity
        y = _arr(eq_t["y"])
        assert len(y) == len(rerun)
        np.testing.assert_allclose(y, rerun.to_numpy(), rtol=1e-9)
        peak = np.maximum.accumulate(y)
        np.testing.assert_allclose(_arr(dd_t["y"]), (y / peak - 1) * 100, atol=1e-9)
    html = report.read_text()
    assert "Best rejected candidates (screening)" in html


def test_resume_with_report_gives_the_same_short_list_and_report(six_months, e2e_data_dir):
    (o1, d1, r1), (o2, d2, r2) = six_months
    assert o2.returncode == o1.returncode == 1  # same honest verdict
    assert d2["resumed"] is True and d2["pipeline_id"] == d1["pipeline_id"]
    assert d2["filters"] == d1["filters"] and d2["sweep"] == d1["sweep"]
    assert d2["shortlist"] == d1["shortlist"] and d2["rejected"] == d1["rejected"]
    assert d2["problems"] == d1["problems"]
    assert _report_text(r2) == _report_text(r1)
    con = sqlite3.connect(e2e_data_dir.state_db)
    # nothing ran again: one filter run for this pipeline's sweep came from the pipeline
    assert "filters" not in d2["stage_seconds"] or (
        d2["stage_seconds"]["filters"] == d1["stage_seconds"]["filters"]
    )
    assert (
        con.execute(
            "SELECT COUNT(*) FROM sweep_results WHERE sweep_id=?", (d1["sweep"]["sweep_id"],)
        ).fetchone()[0]
        == 4
    )


def test_resume_with_a_validated_short_list(six_months, e2e_data_dir, mirror, tmp_path):
    """Same sweep with PBO as the only filter at the seed threshold 0.5 (it passes on these 4
    combinations; the calibrated default 0.23 flags them), so the two candidates are
    validated: the resumed run repeats short list and report exactly."""
    docs = []
    for i in (1, 2):
        out = _run(
            "pipeline",
            *ARGS,
            "--filters",
            "pbo",
            "--filter-preset",
            "seed",
            "--base-url",
            mirror.url,
            "--report",
            str(tmp_path / f"v{i}.html"),
            "--json",
            dd=e2e_data_dir,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        docs.append(json.loads(out.stdout))
    d1, d2 = docs
    assert d1["ok"] is True and d1["problems"] == [] and d2["resumed"] is True
    assert d1["sweep"]["sweep_id"] == six_months[0][1]["sweep"]["sweep_id"]  # sweep reused
    assert len(d1["shortlist"]) == 2 and d1["rejected"] == []
    assert d2["shortlist"] == d1["shortlist"]
    assert d2["validation_run_id"] == d1["validation_run_id"]
    assert _report_text(tmp_path / "v2.html") == _report_text(tmp_path / "v1.html")
    assert "Validation runs" in (tmp_path / "v1.html").read_text()
