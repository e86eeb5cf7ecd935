"""Background jobs on the real engine and real data: detached sweeps, cancel, SIGKILL, resume.

Processes are inspected through /proc directly (not through vibe_quant.jobs.procs), so the
checks are independent of the code under test. Every test leaves no process behind (the
``jobs_dd`` fixture SIGKILLs anything still carrying one of its jobs' tokens and fails if it
had to).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vibe_quant.core.paths import DataDir
from vibe_quant.store import jobs_sql
from vibe_quant.store.state import StateStore

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = "strategies/ema_cross.yaml"
# ema_cross.yaml's sweep grid: ema_fast.period 5..30 step 5, ema_slow.period 40..200 step 10
FAST = set(range(5, 31, 5))
SLOW = set(range(40, 201, 10))


# ------------------------------------------------------------------ /proc helpers
def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a process from /proc/<pid>/stat, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[2])  # state, ppid, pgrp → [0], [1], [2]


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    out = []
    for pid in _pids():
        st = _stat(pid)
        if st is not None and st[1] == pgid and st[0] != "Z":
            out.append(pid)
    return out


def _with_token(token: str) -> list[int]:
    """Live processes whose environment holds VIBE_QUANT_JOB_TOKEN=<token>."""
    needle = f"VIBE_QUANT_JOB_TOKEN={token}".encode()
    out = []
    for pid in _pids():
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in env and _alive(pid):
            out.append(pid)
    return out


# ------------------------------------------------------------------ fixtures / helpers
@pytest.fixture
def jobs_dd(real_data_dir, tmp_path):
    """A data dir sharing the real catalog (read only, via a symlink) with its own state DB.
    On teardown, any process still carrying a job token of this dir is SIGKILLed and the
    test fails."""
    dd = DataDir(tmp_path / "dd")
    dd.root.mkdir()
    os.symlink(real_data_dir.catalog, dd.root / "catalog")
    dd.ensure()
    yield dd
    with StateStore.open(dd) as store:
        tokens = [j["token"] for j in jobs_sql.list_jobs(store)]
    left = [pid for t in tokens for pid in _with_token(t)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE_QUANT_JOB")}
    env.update({"VIBE_QUANT_JOB_HEARTBEAT_S": "0.5", **extra})
    return env


def _cli(
    dd: DataDir, *argv: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vibe_quant", *argv, "--data-dir", str(dd.root)],
        cwd=ROOT,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _sweep_args(start: str, end: str, workers: int, combos: int = 6) -> list[str]:
    return [
        "sweep",
        STRATEGY,
        "--symbol",
        "BTCUSDT",
        "--start",
        start,
        "--end",
        end,
        "--max-combos",
        str(combos),
        "--workers",
        str(workers),
    ]


def _job(dd: DataDir, job_id: int) -> dict:
    with StateStore.open(dd) as store:
        return jobs_sql.get_job(store, job_id)  # type: ignore[return-value]


def _wait(pred, timeout: float, what: str, step: float = 0.1):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _stored(dd: DataDir) -> dict[int, tuple]:
    """{combo_idx: (params JSON, finished_at)} of every stored sweep result (all sweeps)."""
    with StateStore.open(dd) as store:
        rows = store.conn.execute(
            "SELECT combo_idx, params, finished_at FROM sweep_results"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _check_exact_combos(dd: DataDir, expected: int = 6) -> None:
    """One sweep whose results are exactly its combinations: one row per combo index
    0..n_combos-1 (no duplicates, no holes), each with its own stored parameters, all
    distinct and from the strategy's grid."""
    with StateStore.open(dd) as store:
        sweeps = store.conn.execute("SELECT id, n_combos, combos, status FROM sweeps").fetchall()
        assert len(sweeps) == 1
        sid, n, combos, status = sweeps[0]
        combos = json.loads(combos)
        rows = store.conn.execute(
            "SELECT combo_idx, params, status FROM sweep_results "
            "WHERE sweep_id=? ORDER BY combo_idx",
            (sid,),
        ).fetchall()
    assert (n, status) == (expected, "completed")
    assert [r[0] for r in rows] == list(range(expected))
    assert [json.loads(r[1]) for r in rows] == combos
    assert all(r[2] == "completed" for r in rows)
    pairs = {(c["ema_fast.period"], c["ema_slow.period"]) for c in combos}
    assert len(pairs) == expected and all(f in FAST and s in SLOW for f, s in pairs)


# ------------------------------------------------------------------ tests
@pytest.mark.slow
def test_background_sweep_survives_the_terminal_that_started_it(jobs_dd):
    # The "terminal": a shell in its own session that launches the job, then hangs around.
    cmd = " ".join(
        [
            f"'{sys.executable}'",
            "-m",
            "vibe_quant",
            *_sweep_args("2024-01-01", "2024-01-31", 2),
            "--data-dir",
            f"'{jobs_dd.root}'",
            "--background",
            "--json",
            "; exec sleep 600",
        ]
    )
    shell = subprocess.Popen(
        ["bash", "-c", cmd],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        doc = json.loads(shell.stdout.readline())  # type: ignore[union-attr]
        assert doc["ok"] and doc["command"] == "sweep"
        job_id = doc["job_id"]
        job = _wait(
            lambda: (j := _job(jobs_dd, job_id))["state"] == "running" and j, 60, "the job to start"
        )
        shell_pgid = os.getpgid(shell.pid)
        # Hang up the terminal (SIGHUP to its whole process group), then kill the shell.
        os.killpg(shell.pid, signal.SIGHUP)
        shell.wait(10)
        assert shell.returncode == -signal.SIGHUP
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
    assert _alive(job["pid"])
    beat = job["heartbeat_at"]
    done = _wait(
        lambda: (j := _job(jobs_dd, job_id))["state"] not in ("pending", "running") and j,
        240,
        "the job to finish",
        step=0.5,
    )
    assert done["state"] == "completed" and done["exit_code"] == 0, done
    assert done["pgid"] == done["pid"] != shell_pgid  # its own process group and session
    assert done["heartbeat_at"] > beat  # it kept beating after the terminal was gone
    assert (done["progress_done"], done["progress_total"], done["progress_unit"]) == (6, 6, "combo")
    _check_exact_combos(jobs_dd)
    with StateStore.open(jobs_dd) as store:
        (sid,) = store.conn.execute("SELECT id FROM sweeps").fetchone()
    assert done["result_ref"] == {"sweep_id": sid}
    logs = _cli(jobs_dd, "jobs", "logs", str(job_id))
    assert logs.returncode == 0 and f"job {job_id}: vibe-quant sweep" in logs.stdout
    listed = json.loads(_cli(jobs_dd, "jobs", "list", "--json").stdout)
    assert [(j["id"], j["state"]) for j in listed["jobs"]] == [(job_id, "completed")]
    assert "token" not in listed["jobs"][0]


@pytest.mark.slow
def test_cancel_ends_the_whole_group_and_the_sweep_resumes_to_exactly_its_combos(jobs_dd):
    # 24 combinations on one worker (≈ 1–3 s each): a cancel right after the first stored result
    # always lands mid-way, however slow the machine is
    n = 24
    args = _sweep_args("2024-01-01", "2024-12-31", 1, combos=n)
    out = _cli(jobs_dd, *args, "--background")
    assert out.returncode == 0, out.stderr
    job_id = int(out.stdout.strip())
    _wait(lambda: _stored(jobs_dd), 120, "the first stored combination", step=0.05)
    job = _job(jobs_dd, job_id)
    members = _group(job["pgid"])
    assert job["pid"] in members and len(members) >= 2  # the main process and its worker(s)
    cancel = _cli(jobs_dd, "jobs", "cancel", str(job_id), "--json")
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout)["job"]["state"] == "cancelled"
    assert _group(job["pgid"]) == [] and _with_token(job["token"]) == []
    assert not any(_alive(p) for p in members)
    before = _stored(jobs_dd)
    assert 1 <= len(before) < n, before  # cancelled mid-way: some work stored, some left
    again = _cli(jobs_dd, "jobs", "cancel", str(job_id))
    assert again.returncode == 1 and "already cancelled" in again.stderr

    # The same command again resumes the stored sweep and runs only what is missing.
    res = _cli(jobs_dd, *args, "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert (rep["resumed"], rep["combos"], rep["completed"], rep["ran_now"]) == (
        True,
        n,
        n,
        n - len(before),
    )
    after = _stored(jobs_dd)
    assert {i: after[i] for i in before} == before  # stored results were not re-run
    _check_exact_combos(jobs_dd, n)


@pytest.mark.slow
def test_sigkilled_job_is_marked_failed_within_the_stale_limit_and_its_workers_end(jobs_dd):
    out = _cli(jobs_dd, *_sweep_args("2024-01-01", "2024-12-31", 2), "--background")
    assert out.returncode == 0, out.stderr
    job_id = int(out.stdout.strip())
    job = _wait(
        lambda: (j := _job(jobs_dd, job_id))["pgid"] and len(_group(j["pgid"])) >= 4 and j,
        120,
        "the sweep's worker processes",
        step=0.05,
    )
    workers = [p for p in _group(job["pgid"]) if p != job["pid"]]
    assert len(workers) >= 3  # two spawn workers + multiprocessing's resource tracker
    os.kill(job["pid"], signal.SIGKILL)
    killed_at = time.time()
    time.sleep(0.3)

    # The cleanup (callable, and run by `jobs list/show`) marks it failed at once: the PID is
    # gone, without waiting for the 3 s stale limit of the heartbeat.
    from vibe_quant.jobs.control import reap_stale

    with StateStore.open(jobs_dd) as store:
        reaped = _wait(lambda: reap_stale(store, stale_after_s=3), 3, "the cleanup")
    assert [j["id"] for j in reaped] == [job_id]
    assert jobs_sql.parse_ts(reaped[0]["finished_at"]) - killed_at <= 3.0
    assert not any(_alive(p) for p in workers)
    assert _group(job["pgid"]) == [] and _with_token(job["token"]) == []
    shown = _cli(
        jobs_dd, "jobs", "show", str(job_id), "--json", env=_env(VIBE_QUANT_JOB_STALE_S="3")
    )
    job = json.loads(shown.stdout)["job"]
    assert job["state"] == "failed" and job["exit_code"] is None, job
    assert job["error"].startswith(f"stale: its process {job['pid']} is gone"), job


def _fake_job(
    dd: DataDir,
    proc: subprocess.Popen,
    token: str,
    *,
    start_offset: float = 0.0,
    heartbeat_age: float = 0.0,
) -> int:
    """A running job row whose main process is ``proc`` (recorded start time shifted by
    ``start_offset`` s, heartbeat ``heartbeat_age`` s old)."""
    start = Path(f"/proc/{proc.pid}/stat").read_text()
    ticks = int(start[start.rindex(")") + 2 :].split()[19])  # field 22: start, clock ticks
    btime = next(
        int(ln.split()[1])
        for ln in Path("/proc/stat").read_text().splitlines()
        if ln.startswith("btime")
    )
    start_s = btime + ticks / os.sysconf("SC_CLK_TCK")
    with StateStore.open(dd) as store:
        jid = jobs_sql.insert_job(
            store, command="sweep", argv=["sweep", "x.yaml"], token=token, log_dir=str(dd.logs)
        )
        jobs_sql.set_process(
            store, jid, pid=proc.pid, pgid=proc.pid, proc_start=start_s + start_offset, started=True
        )
        old = (
            datetime.fromtimestamp(time.time() - heartbeat_age, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        store.conn.execute("UPDATE background_jobs SET heartbeat_at=? WHERE id=?", (old, jid))
    return jid


def test_a_reused_pid_is_not_trusted_and_its_process_is_left_alone(tmp_path):
    """The row's PID belongs to a live process that started 100 s after the recorded job
    process: the job is gone (failed), and the unrelated process is not signalled."""
    from vibe_quant.jobs.control import reap_stale

    dd = DataDir(tmp_path).ensure()
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        jid = _fake_job(dd, other, "a" * 32, start_offset=-100.0)
        with StateStore.open(dd) as store:
            reaped = reap_stale(store, stale_after_s=3)
        assert [j["id"] for j in reaped] == [jid]
        assert reaped[0]["state"] == "failed" and "is gone" in reaped[0]["error"]
        assert other.poll() is None  # still running
    finally:
        other.kill()
        other.wait()


def test_a_job_without_heartbeat_is_failed_and_its_processes_end(tmp_path):
    """A hung job (process alive, start time matching, heartbeat 5 s old, limit 3 s) is
    marked failed with the reason and its processes — found by token — are ended, while a
    job beating 1 s ago is left alone."""
    from vibe_quant.jobs.control import reap_stale

    dd = DataDir(tmp_path).ensure()
    env = {**os.environ, "VIBE_QUANT_JOB_TOKEN": "b" * 32}
    hung = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    fresh = subprocess.Popen(
        ["sleep", "60"],
        env={**os.environ, "VIBE_QUANT_JOB_TOKEN": "c" * 32},
        start_new_session=True,
    )
    try:
        os.kill(hung.pid, signal.SIGSTOP)  # hung for good: only SIGKILL (or CONT) moves it
        j_hung = _fake_job(dd, hung, "b" * 32, heartbeat_age=5)
        j_fresh = _fake_job(dd, fresh, "c" * 32, heartbeat_age=1)
        with StateStore.open(dd) as store:
            reaped = reap_stale(store, stale_after_s=3, grace_s=1)
            fresh_row = jobs_sql.get_job(store, j_fresh)
        assert [j["id"] for j in reaped] == [j_hung]
        m = re.fullmatch(
            r"stale: no heartbeat for ([\d.]+) s \(stale limit 3 s\)", reaped[0]["error"]
        )
        assert m and 5.0 <= float(m.group(1)) < 6.0, reaped[0]["error"]
        assert hung.wait(5) == -signal.SIGTERM  # SIGCONT let the stopped process take it
        assert fresh_row["state"] == "running" and fresh.poll() is None  # type: ignore[index]
    finally:
        for p in (hung, fresh):
            p.kill()
            p.wait()
