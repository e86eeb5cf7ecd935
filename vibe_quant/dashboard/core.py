"""What the dashboard's widgets do, without Streamlit: the same functions as the CLI.

* where things are: the data dir (``$VIBE_QUANT_DATA_DIR``, set by ``vibe-quant dashboard``)
  and the strategies folder (``$VIBE_QUANT_STRATEGIES_DIR``, default ``./strategies``);
* reads: :func:`state_ro` / :func:`archive_ro` (read-only connections for the queries of
  :mod:`vibe_quant.services.dashboard`);
* strategy files: :func:`strategy_path` refuses any name that could leave the strategies
  folder; :func:`save_strategy` validates with the DSL's validator, writes the file and stores
  the version (as ``vibe-quant backtest`` does);
* launch forms generated from the CLI's own argparse options (:func:`command_options`): the
  CLI describes them once per process (``vibe-quant dashboard --describe-commands``, read by
  :func:`forms`), a parser rebuilt from that description checks a form's argv
  (:func:`check_argv`) and :func:`launch` starts it as a background job
  (:func:`vibe_quant.services.jobs.launch`); what the rebuilt parser cannot check is reported
  by the job itself.

Everything below the dashboard is reached through :mod:`vibe_quant.services`.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import ConfigError
from vibe_quant.core.paths import DataDir
from vibe_quant.services import dashboard as svc
from vibe_quant.services.alerts import telegram_status as telegram_status  # for the pages
from vibe_quant.services.dashboard import STRATEGIES_ENV

STRATEGY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
MAX_STRATEGY_BYTES = 1_000_000


class DashboardError(ConfigError, ValueError):
    """A user error in a dashboard action (one line: what, which input, what to do)."""


def data_dir() -> DataDir:
    """The data dir of this dashboard (``$VIBE_QUANT_DATA_DIR``, else ``./data``)."""
    return DataDir.resolve(None)


def strategies_dir() -> Path:
    """The strategies folder (``$VIBE_QUANT_STRATEGIES_DIR``, else ``./strategies``)."""
    return Path(os.environ.get(STRATEGIES_ENV) or "strategies").expanduser().resolve()


def state_ro(
    dd: DataDir | None = None,
) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
    """A read-only connection to the state DB, or None when nothing is stored yet."""
    return svc.state_ro(dd or data_dir())


def archive_ro(
    dd: DataDir | None = None,
) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
    """A read-only connection to the archive DB, or None when nothing is archived yet."""
    return svc.archive_ro(dd or data_dir())


# ---------------------------------------------------------------------- strategies
def strategy_path(name: str, folder: Path | None = None) -> Path:
    """The file of strategy ``name`` inside the strategies folder (``.yaml`` appended when
    missing).

    Raises:
        DashboardError: the name is empty, contains ``..`` or a path separator, or has
            characters outside ``A-Z a-z 0-9 _ . -``.
    """
    folder = (folder or strategies_dir()).resolve()
    n = (name or "").strip()
    if not n or ".." in n or "/" in n or "\\" in n or os.sep in n or "\0" in n:
        raise DashboardError(
            f"strategy name {name!r} refused: it must be a plain file name "
            "(no '..', no path separator)"
        )
    if not STRATEGY_NAME.match(n):
        raise DashboardError(
            f"strategy name {name!r} refused: use letters, digits, '_', '.' and '-' only"
        )
    if not n.endswith((".yaml", ".yml")):
        n += ".yaml"
    p = (folder / n).resolve()
    if p.parent != folder:  # defence in depth (symlinked names and the like)
        raise DashboardError(f"strategy name {name!r} refused: it resolves outside {folder}")
    return p


def list_strategy_files(folder: Path | None = None) -> list[Path]:
    folder = folder or strategies_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


validate_text = svc.validate_strategy_text
strategy_summary = svc.strategy_summary


def save_strategy(
    name: str, text: str, dd: DataDir | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """Validate, write ``<strategies>/<name>.yaml`` (atomically) and store the version in the
    state DB. Returns ``{"path", "name", "version"}``.

    Raises:
        DashboardError: a refused name, text over 1 MB, or a strategy with errors (the first
            error with line:column).
    """
    path = strategy_path(name, folder)
    if len(text.encode()) > MAX_STRATEGY_BYTES:
        raise DashboardError(f"strategy text is over {MAX_STRATEGY_BYTES} bytes: not saved")
    errors = [d for d in validate_text(text, file=path.name) if d.severity == "error"]
    if errors:
        e = errors[0]
        raise DashboardError(
            f"not saved: {len(errors)} error(s), first at {e.line}:{e.column}: "
            f"{e.path}: {e.message}"
        )
    summary = strategy_summary(text) or {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    stored, version = svc.store_strategy_version(
        dd or data_dir(), summary.get("name") or path.stem, text
    )
    return {"path": str(path), "name": stored, "version": version}


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """``diff -u`` text of two strategy versions (empty when equal)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), old_label, new_label
        )
    )


# ---------------------------------------------------------------------- CLI-generated forms
SKIP_DESTS = {"help", "data_dir", "json", "background", "func", "version"}


@dataclass(frozen=True)
class Option:
    """One option of a CLI command, as the form shows it.

    ``kind``: ``flag`` (store_true), ``bool`` (--x/--no-x), ``choice``, ``int``, ``float``,
    ``text``, ``positional``.
    """

    dest: str
    flag: str | None
    kind: str
    default: Any
    choices: tuple | None
    help: str
    required: bool


@functools.lru_cache(maxsize=1)
def forms() -> svc.CommandForms:
    """The CLI's commands and options, described once per process by the CLI itself
    (``python -m vibe_quant dashboard --describe-commands``) and rebuilt as parsers.

    Raises:
        DashboardError: the CLI could not describe its commands (its error output).
    """
    proc = subprocess.run(
        [sys.executable, "-m", "vibe_quant", "dashboard", "--describe-commands"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise DashboardError(
            "the CLI could not describe its commands: "
            + (lines[-1] if lines else f"exit {proc.returncode}")
        )
    return svc.CommandForms(json.loads(proc.stdout))


def subparser(command: str) -> argparse.ArgumentParser:
    """A parser of ``vibe-quant <command>`` (``"data ingest"`` descends), rebuilt from the
    CLI's description of its options.

    Raises:
        DashboardError: no such command.
    """
    try:
        return forms().parser(command)
    except svc.CommandFormError as e:
        raise DashboardError(str(e)) from None


def _kind(d: dict[str, Any]) -> str:
    if not d["option_strings"]:
        return "positional"
    if d["action"] == "bool":
        return "bool"
    if d["action"] == "store_true":
        return "flag"
    if d["choices"] is not None:
        return "choice"
    return {"int": "int", "float": "float"}.get(d["type"] or "", "text")


def command_options(command: str) -> list[Option]:
    """The options of a CLI command, in the parser's order, without the plumbing ones
    (--help, --data-dir, --json, --background) and without hidden ones.

    Raises:
        DashboardError: no such command.
    """
    try:
        described = forms().options(command)
    except svc.CommandFormError as e:
        raise DashboardError(str(e)) from None
    return [
        Option(
            d["dest"],
            next((s for s in d["option_strings"] if s.startswith("--")), None),
            _kind(d),
            d["default"],
            tuple(d["choices"]) if d["choices"] is not None else None,
            (d["help"] or "").replace("%%", "%"),
            bool(d["required"]),
        )
        for d in described
        if d["dest"] not in SKIP_DESTS and d["help"] != argparse.SUPPRESS
    ]


def build_argv(
    command: str, values: dict[str, Any], *, data_dir_root: str | None = None
) -> list[str]:
    """``vibe-quant`` argv of a filled form: positionals in order, then every option whose
    value differs from its default (``None``/``""`` = not given). Repeatable options
    (``append``) take a list."""
    opts = command_options(command)
    argv = command.split()
    for o in opts:
        if o.kind == "positional":
            argv.append(str(values[o.dest]))
    for o in opts:
        if o.kind == "positional" or o.dest not in values:
            continue
        v = values[o.dest]
        if o.kind == "flag":
            if v:
                argv.append(o.flag)  # type: ignore[arg-type]
        elif o.kind == "bool":
            if bool(v) != bool(o.default):
                argv.append(o.flag if v else "--no-" + o.flag[2:])  # type: ignore[operator, index]
        elif isinstance(v, list):
            for item in v:
                argv += [o.flag, str(item)]  # type: ignore[list-item]
        elif v is None or v == "" or (o.default is not None and _same(v, o.default)):
            continue
        else:
            argv += [o.flag, _fmt(v)]  # type: ignore[list-item]
    if data_dir_root is not None:
        argv += ["--data-dir", data_dir_root]
    return argv


def _same(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def check_argv(argv: list[str]) -> None:
    """Parse ``argv`` with a parser rebuilt from the CLI's description of its options (types,
    choices, required options).

    Raises:
        DashboardError: the parser's one-line message.
    """
    try:
        forms().check(argv)
    except svc.CommandFormError as e:
        raise DashboardError(str(e)) from None


def launch(argv: list[str], dd: DataDir | None = None) -> dict[str, Any]:
    """Check ``argv`` (:func:`check_argv`) and start it as a background job
    (:func:`vibe_quant.services.jobs.launch`). Returns the job row (without its token).

    Raises:
        DashboardError: invalid arguments, or a command that cannot run as a background job.
    """
    from vibe_quant.services import jobs

    check_argv(argv)
    try:
        jobs.job_command(argv)
    except jobs.NotAJobCommandError as e:
        raise DashboardError(
            f"{e} (this form's command is not in {list(jobs.JOB_COMMANDS)})"
        ) from None
    return jobs.launch(dd or data_dir(), argv).to_dict()


def cancel(job_id: int, dd: DataDir | None = None) -> dict[str, Any]:
    """Cancel a job (as ``vibe-quant jobs cancel ID``); returns its row (without its token).

    Raises:
        DashboardError: no such job, or it already finished.
    """
    from vibe_quant.services import jobs

    try:
        return jobs.cancel(dd or data_dir(), int(job_id)).to_dict()
    except (jobs.JobNotFoundError, jobs.JobStateError) as e:
        raise DashboardError(str(e)) from None


def job_log_tail(path: str, max_bytes: int = 20_000) -> str:
    """The last ``max_bytes`` of a job's log (empty when the file does not exist yet)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------------- settings
def save_preset(name: str, yaml_text: str, dd: DataDir | None = None) -> dict[str, Any]:
    """Store a sizing/risk preset from YAML text — the same parse and store as
    ``vibe-quant risk preset add NAME --file F``. Returns ``{"name", "version", "created"}``.

    Raises:
        DashboardError: an invalid preset (every problem in the message).
    """
    try:
        return svc.store_preset(dd or data_dir(), name, yaml_text)
    except svc.PresetError as e:
        raise DashboardError(f"invalid preset: {e}") from None


def dir_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (0 when absent)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def system_info(dd: DataDir | None = None) -> dict[str, Any]:
    """Versions, data dir, disk use per data-dir part (bytes), free disk, CPU count."""
    import platform
    import shutil
    from importlib import metadata

    dd = dd or data_dir()

    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    du = shutil.disk_usage(dd.root if dd.root.exists() else Path.cwd())
    return {
        "versions": {
            "vibe-quant": ver("vibe-quant"),
            "python": platform.python_version(),
            "nautilus_trader": ver("nautilus_trader"),
            "streamlit": ver("streamlit"),
            "plotly": ver("plotly"),
            "sqlite": sqlite3.sqlite_version,
        },
        "data_dir": str(dd.root),
        "strategies_dir": str(strategies_dir()),
        "disk_use_bytes": {
            "archive": dir_size(dd.archive_db.parent),
            "catalog": dir_size(dd.catalog),
            "state": dir_size(dd.state_db.parent),
            "logs": dir_size(dd.logs),
        },
        "disk_free_bytes": du.free,
        "cpu_count": os.cpu_count(),
    }
