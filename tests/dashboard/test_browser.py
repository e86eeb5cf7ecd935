"""The running dashboard in a real browser (Debian chromium driven by Playwright): every page
by its URL, a small sweep launched from the Launch page and seen finished on the Results page,
no browser console error, a screenshot of each page."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.dashboard.apptest_util import sql
from tests.dashboard.conftest import cli_env
from tests.dashboard.server_util import (
    PAGES,
    browser_missing,
    browser_page,
    dashboard,
    unexplained_errors,
    wait_rendered,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or ""),
]

SHOTS_ENV = "VIBE_QUANT_DASHBOARD_SHOTS"


def test_every_page_renders_and_a_sweep_launched_in_the_browser_finishes(dash_store, tmp_path):
    shots = tmp_path / "screenshots"
    if os.environ.get(SHOTS_ENV):
        shots = tmp_path.__class__(os.environ[SHOTS_ENV])
    shots.mkdir(parents=True, exist_ok=True)
    db = dash_store.dd.state_db
    env = cli_env(dash_store.dd, dash_store.strategies)
    env["VIBE_QUANT_TELEGRAM_TOKEN"] = "424242:browser-secret-token"
    with (
        dashboard(dash_store.dd.root, dash_store.strategies, env) as (base, _proc),
        browser_page() as (page, errors, bad),
    ):
        # deep links first, on a fresh server (the pages/ folder trap would show here)
        for url, title in PAGES:
            page.goto(f"{base}/{url}")
            wait_rendered(page, title)
            assert page.get_by_test_id("stSidebar").get_by_text("data dir:").count() == 1
            page.screenshot(path=str(shots / f"{url or 'strategies'}.png"))
            assert "browser-secret-token" not in page.content()
            assert page.get_by_text("Page not found").count() == 0, url

        # launch a 2-combination sweep from the Launch page
        page.goto(f"{base}/launch")
        wait_rendered(page, "Launch")
        before = {r[0] for r in sql(db, "SELECT id FROM background_jobs")}
        form = page.get_by_test_id("stForm")
        form.get_by_label("--start *", exact=True).fill("2024-03-01")
        form.get_by_label("--end *", exact=True).fill("2024-03-10")
        form.get_by_label("--workers", exact=True).fill("1")
        form.get_by_label("--max-combos", exact=True).fill("2")
        form.get_by_role("button", name="Launch").click()
        page.get_by_text(re.compile(r"job \d+ started")).wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "launch_started.png"))
        (job_id,) = {r[0] for r in sql(db, "SELECT id FROM background_jobs")} - before
        args = json.loads(sql(db, "SELECT args FROM background_jobs WHERE id=?", (job_id,))[0][0])
        assert args[:2] == ["sweep", str(dash_store.strategies / "ema_cross.yaml")]
        assert args[args.index("--max-combos") + 1] == "2"

        # the Results page shows it finished (reloaded as a user would)
        deadline = time.monotonic() + 300
        while True:
            ref = sql(db, "SELECT result_ref FROM background_jobs WHERE id=?", (job_id,))[0][0]
            if ref:
                sid = json.loads(ref)["sweep_id"]
                page.goto(f"{base}/results?sweep={sid}")
                wait_rendered(page, "Results")
                if page.get_by_text(f"Sweep #{sid}: completed, 2/2 combinations").count():
                    break
            assert time.monotonic() < deadline, "the launched sweep did not finish in 300 s"
            time.sleep(3)
        page.get_by_text("2 result(s)").wait_for(timeout=10_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "results_after_sweep.png"))
        state = sql(db, "SELECT state, exit_code FROM background_jobs WHERE id=?", (job_id,))
        assert state == [("completed", 0)]
    assert not unexplained_errors(errors, bad), (errors, bad)
    assert {p.stem for p in shots.glob("*.png")} >= {u or "strategies" for u, _ in PAGES}


def test_dashboard_warns_when_bound_beyond_loopback(dash_store):
    env = cli_env(dash_store.dd, dash_store.strategies)
    with dashboard(dash_store.dd.root, dash_store.strategies, env, host="0.0.0.0") as (_, proc):
        pass
    err = proc.stderr.read()
    assert "WARNING: binding 0.0.0.0" in err and "kill switch" in err
