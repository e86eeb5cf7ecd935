"""Each dashboard page under ``streamlit.testing.v1.AppTest`` on a data dir holding a real
sweep, filter run, validation and pipeline (``dash_store``): its tables hold the stored numbers
(compared with direct SQL) and its widgets drive the CLI's functions."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.apptest_util import APP, figure, frame, open_page, sql, texts
from tests.dashboard.conftest import ROOT, cli_env

pytestmark = pytest.mark.slow  # the shared store takes about a minute to build


@pytest.fixture
def at(dash_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("VIBE_QUANT_DATA_DIR", str(dash_store.dd.root))
    monkeypatch.setenv("VIBE_QUANT_STRATEGIES_DIR", str(dash_store.strategies))
    for k in ("VIBE_QUANT_TELEGRAM_TOKEN", "VIBE_QUANT_TELEGRAM_CHAT_ID"):
        monkeypatch.delenv(k, raising=False)
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    assert not app.exception
    return app


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _wait_job(db, job_id: int, timeout: float = 300) -> tuple:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = sql(
            db,
            "SELECT state, exit_code, error, args, result_ref FROM background_jobs WHERE id=?",
            (job_id,),
        )[0]
        if row[0] not in ("pending", "running"):
            return row
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


# ---------------------------------------------------------------------- Results
def test_results_page_shows_the_stored_sweep_filters_validation_and_runs(at, dash_store):
    db, sid, fid = dash_store.dd.state_db, dash_store.sweep_id, dash_store.filter_run_id
    open_page(at, "results")
    at.selectbox(key="results_sweep").set_value(sid).run()
    at.selectbox(key="results_filter_run").set_value(fid).run()
    assert not at.exception

    # sweep metrics table = the stored columns
    table = frame(at, "combo", "sharpe", "max_drawdown", "pareto")
    stored = sql(
        db,
        "SELECT combo_idx, sharpe, total_return, max_drawdown, profit_factor, "
        "trades, is_pareto FROM sweep_results WHERE sweep_id=? ORDER BY combo_idx",
        (sid,),
    )
    assert list(table["combo"]) == [r[0] for r in stored] == list(range(6))
    for (_ci, sh, tr, md, pf, n, par), (_, row) in zip(stored, table.iterrows()):
        assert _close(sh, row["sharpe"]) and _close(tr, row["total_return"])
        assert _close(md, row["max_drawdown"]) and _close(pf, row["profit_factor"])
        assert int(row["trades"]) == n and bool(row["pareto"]) == bool(par)

    # Pareto chart: every completed combination, the front ringed
    fig = figure(at, "pareto_chart")
    assert sorted(fig["data"][0]["customdata"]) == list(range(6))
    front = [r[0] for r in stored if r[6]]
    if front:
        assert sorted(fig["data"][1]["customdata"]) == front

    # filter verdicts with their values
    cands = frame(at, "combo", "dsr value", "passed all")
    fr = sql(
        db,
        "SELECT combo_idx, filter, value, passed FROM filter_results WHERE "
        "filter_run_id=? AND combo_idx >= 0",
        (fid,),
    )
    verdicts = dict(
        sql(db, "SELECT combo_idx, passed_all FROM filter_verdicts WHERE filter_run_id=?", (fid,))
    )
    assert sorted(cands["combo"]) == sorted(verdicts)
    for ci, f, v, p in fr:
        row = cands[cands["combo"] == ci].iloc[0]
        assert _close(v, row[f"{f} value"]) and bool(row[f"{f} passed"]) == bool(p)
        assert bool(row["passed all"]) == bool(verdicts[ci])
    level = frame(at, "filter", "value", "threshold")
    stored_level = sql(
        db,
        "SELECT filter, value, passed FROM filter_results WHERE "
        "filter_run_id=? AND combo_idx=-1 ORDER BY filter",
        (fid,),
    )
    assert {"pbo", "wfa"} <= {f for f, _, _ in stored_level}
    assert [(f, bool(p)) for f, _, p in stored_level] == [
        (f, bool(p)) for f, p in sorted(zip(level["filter"], level["passed"]))
    ]
    assert all(_close(v, level[level["filter"] == f].iloc[0]["value"]) for f, v, _ in stored_level)

    # walk-forward windows and PBO logits from the stored details
    wfa = json.loads(
        sql(
            db, "SELECT details FROM filter_results WHERE filter_run_id=? AND filter='wfa'", (fid,)
        )[0][0]
    )
    win = frame(at, "window", "chosen combo", "OOS return")
    assert list(win["window"]) == [w["window"] for w in wfa["windows"]]
    assert all(
        _close(a, b) for a, b in zip(win["OOS return"], [w["oos_return"] for w in wfa["windows"]])
    )
    pbo = json.loads(
        sql(
            db, "SELECT details FROM filter_results WHERE filter_run_id=? AND filter='pbo'", (fid,)
        )[0][0]
    )
    assert figure(at, "pbo_chart")["data"][0]["y"] == pbo["logits_hist"]

    # screening vs validation consistency
    cons = frame(at, "combo", "validation Sharpe", "Sharpe Δ %")
    vr = sql(
        db,
        "SELECT combo_idx, run_id, validation_sharpe, sharpe_degradation_pct FROM "
        "validation_results WHERE validation_run_id=(SELECT MAX(id) FROM "
        "validation_runs WHERE sweep_id=?)",
        (sid,),
    )
    assert sorted(cons["combo"]) == sorted(r[0] for r in vr)
    for ci, run_id, vs, deg in vr:
        row = cons[cons["combo"] == ci].iloc[0]
        assert int(row["run"]) == run_id and _close(vs, row["validation Sharpe"])
        assert _close(deg, row["Sharpe Δ %"])

    # selecting a validated combination opens its run on the Runs tab
    combo, run_id = vr[0][0], vr[0][1]
    at.selectbox(key="results_combo").set_value(combo).run()
    assert at.selectbox(key="results_run").value == run_id
    trades = frame(at, "seq", "net_pnl", "entry_price")
    st_tr = sql(db, "SELECT seq, net_pnl FROM trades WHERE run_id=? ORDER BY seq", (run_id,))
    assert list(trades["seq"]) == [r[0] for r in st_tr]
    assert all(_close(a, b) for a, b in zip(trades["net_pnl"], [r[1] for r in st_tr]))
    eq = sql(db, "SELECT date, equity FROM equity_curves WHERE run_id=? ORDER BY date", (run_id,))
    efig = figure(at, "run_equity")
    assert efig["data"][0]["x"] == [d for d, _ in eq]
    assert all(_close(a, b) for a, b in zip(efig["data"][0]["y"], [e for _, e in eq]))
    peak, dd = -math.inf, []  # drawdown by hand: equity / running peak - 1, in percent
    for _, e in eq:
        peak = max(peak, e)
        dd.append((e / peak - 1) * 100)
    assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(efig["data"][1]["y"], dd))
    tfig = figure(at, "run_trades_chart")
    n_entries = sum(len(t["x"]) for t in tfig["data"] if t["name"].endswith("entry"))
    assert n_entries == len(st_tr)

    pipes = frame(at, "pipeline", "stage", "sweep")
    prow = sql(db, "SELECT id, stage, sweep_id FROM pipeline_runs")
    assert [(int(a), b, int(c)) for a, b, c in pipes[["pipeline", "stage", "sweep"]].values] == prow


# ---------------------------------------------------------------------- Discovery
def test_discovery_heatmap_and_sensitivity_match_the_stored_sweep(at, dash_store):
    db, sid = dash_store.dd.state_db, dash_store.sweep_id
    open_page(at, "discovery")
    at.selectbox(key="discovery_sweep").set_value(sid).run()
    at.selectbox(key="discovery_metric").set_value("sharpe").run()
    at.selectbox(key="discovery_x").set_value("ema_fast.period").run()
    at.selectbox(key="discovery_y").set_value("ema_slow.period").run()
    assert not at.exception
    rows = sql(
        db,
        "SELECT params, sharpe FROM sweep_results WHERE sweep_id=? AND status='completed'",
        (sid,),
    )
    df = pd.DataFrame([{**json.loads(p), "sharpe": s} for p, s in rows])
    piv = df.pivot_table(
        index="ema_slow.period", columns="ema_fast.period", values="sharpe", aggfunc="mean"
    )
    hm = figure(at, "discovery_heatmap")["data"][0]
    assert hm["x"] == [str(v) for v in piv.columns] and hm["y"] == [str(v) for v in piv.index]
    for i, y in enumerate(piv.index):
        for j, x in enumerate(piv.columns):
            want, got = piv.loc[y, x], hm["z"][i][j]
            assert (got is None and math.isnan(want)) or math.isclose(got, want, rel_tol=1e-12)
    sens = frame(at, "value", "n", "mean", "min", "max")  # first parameter: ema_fast.period
    g = df.groupby("ema_fast.period")["sharpe"]
    assert list(sens["value"]) == list(g.mean().index)
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(sens["mean"], g.mean()))


# ---------------------------------------------------------------------- Strategies
def test_strategy_editor_validates_saves_versions_and_refuses_paths(at, dash_store, tmp_path):
    folder = dash_store.strategies
    open_page(at, "strategies")
    files = frame(at, "file", "valid", "grid size")
    row = files[files["file"] == "ema_cross.yaml"].iloc[0]
    assert bool(row["valid"]) and int(row["grid size"]) == 6 * 17  # 5..30 step 5 × 40..200/10

    at.selectbox(key="strategy_file").set_value("ema_cross.yaml").run()
    text = (folder / "ema_cross.yaml").read_text()
    bad = text.replace("- ema_fast crosses_above ema_slow", "- ema_fat crosses_above ema_slow", 1)
    at.text_area(key="strategy_yaml:ema_cross.yaml").set_value(bad).run()
    diags = frame(at, "line", "column", "message")
    (tmp_path / "bad.yaml").write_text(bad)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "strategy",
            "validate",
            str(tmp_path / "bad.yaml"),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(dash_store.dd, folder),
    )
    want = {(d["line"], d["column"], d["message"]) for d in json.loads(cli.stdout)["diagnostics"]}
    got = {(int(a), int(b), c) for a, b, c in diags[["line", "column", "message"]].values}
    assert got == want and want
    line = next(i for i, ln in enumerate(bad.splitlines(), 1) if "ema_fat" in ln)
    assert line in {w[0] for w in want}

    # refused names: nothing is written outside the folder
    for name in ("../evil", "sub/evil", "..", "a\\b"):
        at.text_input(key="strategy_name:ema_cross.yaml").set_value(name).run()
        at.text_area(key="strategy_yaml:ema_cross.yaml").set_value(text).run()
        at.button(key="strategy_save").click().run()
        assert any("refused" in e.value for e in at.error), name
    assert not (folder.parent / "evil.yaml").exists() and not (folder / "sub").exists()

    # save twice with changes: two stored versions and a diff between them
    v1 = text.replace("period: 12}", "period: 13}")
    v2 = text.replace("period: 12}", "period: 14}")
    for body in (v1, v2):
        at.text_input(key="strategy_name:ema_cross.yaml").set_value("ema_dash").run()
        at.text_area(key="strategy_yaml:ema_cross.yaml").set_value(body).run()
        at.button(key="strategy_save").click().run()
        assert not at.error, [e.value for e in at.error]
    assert (folder / "ema_dash.yaml").read_text() == v2
    vers = sql(
        dash_store.dd.state_db,
        "SELECT version, yaml FROM strategies WHERE name='ema_cross' ORDER BY version",
    )
    assert [v for v, y in vers[-2:]] == [vers[-1][0] - 1, vers[-1][0]] and vers[-1][1] == v2
    at.selectbox(key="diff_from").set_value(f"v{vers[-2][0]}").run()
    at.selectbox(key="diff_to").set_value(f"v{vers[-1][0]}").run()
    diff = next(c.value for c in at.code if c.value.startswith("---"))
    assert "-  ema_fast: {type: ema, params: {period: 13}" in diff
    assert "+  ema_fast: {type: ema, params: {period: 14}" in diff


# ---------------------------------------------------------------------- Launch
def test_launch_form_starts_the_cli_sweep_as_a_background_job(at, dash_store):
    db = dash_store.dd.state_db
    open_page(at, "launch")
    at.radio(key="launch_command").set_value("sweep").run()
    at.selectbox(key="launch:sweep:strategy").set_value("ema_cross.yaml").run()
    at.text_input(key="launch:sweep:start").set_value("2024-02-01")
    at.text_input(key="launch:sweep:end").set_value("2024-02-14")
    at.text_input(key="launch:sweep:workers").set_value("1")
    at.text_input(key="launch:sweep:max_combos").set_value("2")
    before = {r[0] for r in sql(db, "SELECT id FROM background_jobs")}
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (job_id,) = {r[0] for r in sql(db, "SELECT id FROM background_jobs")} - before
    strat = str(dash_store.strategies / "ema_cross.yaml")
    state, code, err, args, ref = _wait_job(db, job_id)
    assert json.loads(args) == [
        "sweep",
        strat,
        "--start",
        "2024-02-01",
        "--end",
        "2024-02-14",
        "--workers",
        "1",
        "--max-combos",
        "2",
        "--data-dir",
        str(dash_store.dd.root),
    ]
    assert (state, code) == ("completed", 0), err
    sid = json.loads(ref)["sweep_id"]
    assert sql(db, "SELECT n_combos, status FROM sweeps WHERE id=?", (sid,)) == [(2, "completed")]
    assert sql(
        db, "SELECT COUNT(*) FROM sweep_results WHERE sweep_id=? AND status='completed'", (sid,)
    ) == [(2,)]
    at.run()  # the jobs panel lists it with its progress
    jobs = frame(at, "id", "state", "progress")
    row = jobs[jobs["id"] == job_id].iloc[0]
    assert row["state"] == "completed" and row["progress"].startswith("2/2")

    # a value the CLI parser refuses is reported with the parser's message; nothing starts
    n = sql(db, "SELECT COUNT(*) FROM background_jobs")[0][0]
    at.text_input(key="launch:sweep:workers").set_value("two")
    next(b for b in at.button if b.label == "Launch").click().run()
    assert any("argument --workers: invalid int value: 'two'" in e.value for e in at.error)
    assert sql(db, "SELECT COUNT(*) FROM background_jobs")[0][0] == n

    # the validate form (options of `vibe-quant validate`) on the sweep just made
    at.radio(key="launch_command").set_value("validate").run()
    at.selectbox(key="launch:validate:sweep_id").set_value(sid)
    at.number_input(key="launch:validate:window").set_value(30)
    next(b for b in at.button if b.label == "Launch").click().run()
    vjob = sql(db, "SELECT id, args FROM background_jobs ORDER BY id DESC LIMIT 1")[0]
    assert sql(db, "SELECT COUNT(*) FROM background_jobs")[0][0] == n + 1
    assert json.loads(vjob[1]) == [
        "validate",
        str(sid),
        "--window",
        "30",
        "--data-dir",
        str(dash_store.dd.root),
    ]
    assert _wait_job(db, vjob[0])[:2] == ("completed", 0)


# ---------------------------------------------------------------------- Paper trading
def test_paper_page_says_no_run_exists_and_the_kill_switch_asks_first(at, dash_store):
    open_page(at, "paper")
    info = " ".join(i.value for i in at.info)
    assert "No paper run exists" in info and "vibe-quant paper start" in info
    kill = at.button(key="paper_kill")
    assert kill.disabled
    at.checkbox(key="paper_kill_confirm").check().run()
    assert not at.button(key="paper_kill").disabled
    at.button(key="paper_kill").click().run()
    assert not at.exception
    from vibe_quant.dashboard import paper_control

    if paper_control.available():  # the real kill switch, with no active run: nothing to kill
        assert any(m.value == "kill switch: {'runs': []}" for m in at.success)
    else:
        assert any("not built" in e.value for e in at.error)
    db = dash_store.dd.state_db
    if sql(db, "SELECT COUNT(*) FROM sqlite_master WHERE name='paper_runs'") == [(1,)]:
        assert sql(db, "SELECT COUNT(*) FROM paper_runs") == [(0,)]  # nothing was started


# ---------------------------------------------------------------------- Data
def test_data_page_status_verify_and_ingest_launch(at, dash_store, mirror):
    dd = dash_store.dd
    open_page(at, "data")
    series = frame(at, "symbol", "interval", "archived bars")
    stored = sql(
        dd.archive_db,
        "SELECT symbol, interval, COUNT(*) FROM raw_klines GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert [
        (a, b, int(c)) for a, b, c in series[["symbol", "interval", "archived bars"]].values
    ] == stored
    at.button(key="data_verify").click().run()
    assert not at.exception
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "data",
            "verify",
            "--json",
            "--data-dir",
            str(dd.root),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(dd, dash_store.strategies),
    )
    doc = json.loads(cli.stdout)
    ver = frame(at, "symbol", "gaps", "missing bars", "OHLC violations")
    assert [
        (r["symbol"], len(r["gaps"]), sum(g["missing_bars"] for g in r["gaps"]))
        for r in doc["series"]
    ] == [(a, int(b), int(c)) for a, b, c in ver[["symbol", "gaps", "missing bars"]].values]
    gfig = figure(at, "gaps_chart")
    assert sum(1 for t in gfig["data"] if t["line"]["color"] == "#d73027") == sum(
        len(r["gaps"]) for r in doc["series"]
    )

    at.text_input(key="ingest:symbols").set_value("BTCUSDT")
    at.text_input(key="ingest:start").set_value("2024-01")
    at.text_input(key="ingest:end").set_value("2024-01")
    at.text_input(key="ingest:base_url").set_value(mirror.url)
    at.checkbox(key="ingest:no_rest").check()
    before = {r[0] for r in sql(dd.state_db, "SELECT id FROM background_jobs")}
    next(b for b in at.button if b.label == "Launch ingest").click().run()
    assert not at.error, [e.value for e in at.error]
    (job_id,) = {r[0] for r in sql(dd.state_db, "SELECT id FROM background_jobs")} - before
    state, code, err, args, _ = _wait_job(dd.state_db, job_id)
    assert json.loads(args)[:2] == ["data", "ingest"] and "--no-rest" in json.loads(args)
    assert (state, code) == ("completed", 0), err


# ---------------------------------------------------------------------- Settings
def test_settings_presets_versions_telegram_never_shown_and_system(at, dash_store, monkeypatch):
    db = dash_store.dd.state_db
    secret = "123456:SECRET-TOKEN-never-shown"
    monkeypatch.setenv("VIBE_QUANT_TELEGRAM_TOKEN", secret)
    open_page(at, "settings")
    body = (
        "sizing:\n  method: fixed_fractional\n  risk_pct: 0.5\n  leverage: 2\n"
        "breakers:\n  max_drawdown: 0.1\n"
    )
    for text, want_version in ((body, 1), (body, 1), (body.replace("0.1", "0.2"), 2)):
        at.text_input(key="preset_name:(new preset)").set_value("dash_preset")
        at.text_area(key="preset_yaml:(new preset)").set_value(text)
        at.button(key="preset_save").click().run()
        assert not at.error, [e.value for e in at.error]
        assert sql(db, "SELECT MAX(version) FROM risk_presets WHERE name='dash_preset'") == [
            (want_version,)
        ]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "risk",
            "preset",
            "show",
            "dash_preset",
            "--json",
            "--data-dir",
            str(dash_store.dd.root),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=cli_env(dash_store.dd, dash_store.strategies),
    )
    shown = json.loads(cli.stdout)
    assert shown["version"] == 2 and shown["breakers"]["max_drawdown"] == 0.2
    assert shown["sizing"]["risk_pct"] == 0.5
    at.text_area(key="preset_yaml:(new preset)").set_value("sizing:\n  method: nonsense\n")
    at.button(key="preset_save").click().run()
    assert any("invalid preset" in e.value for e in at.error)
    assert sql(db, "SELECT MAX(version) FROM risk_presets WHERE name='dash_preset'") == [(2,)]
    presets = frame(at, "name", "version", "sizing")
    assert int(presets[presets["name"] == "dash_preset"].iloc[0]["version"]) == 2

    tele = frame(at, "variable", "value")
    assert dict(tele.values)["VIBE_QUANT_TELEGRAM_TOKEN"] == "set"
    assert dict(tele.values)["VIBE_QUANT_TELEGRAM_CHAT_ID"] == "not set"
    assert secret not in texts(at) and "SECRET-TOKEN" not in texts(at)
    system = {
        k: v
        for d in at.dataframe
        if list(d.value.columns) == ["item", "value"]
        for k, v in d.value.values
    }
    assert system["CPU count"] == str(os.cpu_count())
    assert system["data dir"] == str(dash_store.dd.root)
