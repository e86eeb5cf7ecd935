"""What the dashboard's widgets do, without Streamlit: the same functions as the CLI.

* where things are: the data dir (``$VIBE_QUANT_DATA_DIR``, set by ``vibe-quant dashboard``)
  and the strategies folder (``$VIBE_QUANT_STRATEGIES_DIR``, default ``./strategies``);
* reads: :func:`state_ro` / :func:`archive_ro` (read-only connections of
  :mod:`vibe_quant.store.dashboard_sql`);
* strategy files: :func:`strategy_path` refuses any name that could leave the strategies
  folder; :func:`save_strategy` validates with the DSL's validator, writes the file and stores
  the version (``StateStore.upsert_strategy``, as ``vibe-quant backtest`` does);
* launch forms generated from the CLI's own argparse options (:func:`command_options`), checked
  by the CLI parser itself (:func:`check_argv`) and started as background jobs
  (:func:`launch`, :func:`vibe_quant.jobs.launch.launch_job`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe_quant.core.paths import DataDir
from vibe_quant.store import dashboard_sql as q

STRATEGIES_ENV = "VIBE_QUANT_STRATEGIES_DIR"
STRATEGY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
MAX_STRATEGY_BYTES = 1_000_000


class DashboardError(ValueError):
    """A user error in a dashboard action (one line: what, which input, what to do)."""


def data_dir() -> DataDir:
    """The data dir of this dashboard (``$VIBE_QUANT_DATA_DIR``, else ``./data``)."""
    return DataDir.resolve(None)


def strategies_dir() -> Path:
    """The strategies folder (``$VIBE_QUANT_STRATEGIES_DIR``, else ``./strategies``)."""
    return Path(os.environ.get(STRATEGIES_ENV) or "strategies").expanduser().resolve()


@contextlib.contextmanager
def state_ro(dd: DataDir | None = None) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the state DB, or None when nothing is stored yet."""
    dd = dd or data_dir()
    try:
        conn = q.connect_ro(dd.state_db)
    except q.StoreMissingError:
        yield None
        return
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def archive_ro(dd: DataDir | None = None) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the archive DB, or None when nothing is archived yet."""
    dd = dd or data_dir()
    try:
        conn = q.connect_ro(dd.archive_db)
    except q.StoreMissingError:
        yield None
        return
    try:
        yield conn
    finally:
        conn.close()


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


def validate_text(text: str, file: str = "<editor>") -> list[Any]:
    """Every diagnostic of strategy text (``vibe_quant.dsl.validate_strategy``, the validator
    behind ``vibe-quant strategy validate``), sorted by position; each has line and column."""
    from vibe_quant.dsl import validate_strategy

    return validate_strategy(text if "\n" in text else text + "\n", file=file)


def strategy_summary(text: str) -> dict[str, Any] | None:
    """Name, timeframe, current parameter values and sweep grid (keys → values, size) of valid
    strategy text; None when it does not validate."""
    from vibe_quant.dsl import StrategyError, current_values, load_strategy
    from vibe_quant.dsl.sweep import grid_size, sweep_entries

    try:
        spec = load_strategy(text if "\n" in text else text + "\n")
    except StrategyError:
        return None
    entries = sweep_entries(spec)
    return {
        "name": spec.name,
        "timeframe": spec.timeframe,
        "params": current_values(spec),
        "sweep": entries,
        "grid_size": grid_size(entries),
    }


def save_strategy(
    name: str, text: str, dd: DataDir | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """Validate, write ``<strategies>/<name>.yaml`` (atomically) and store the version in the
    state DB. Returns ``{"path", "name", "version"}``.

    Raises:
        DashboardError: a refused name, text over 1 MB, or a strategy with errors (the first
            error with line:column).
    """
    from vibe_quant.store.state import StateStore

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
    with StateStore.open(dd or data_dir()) as store:
        row = store.upsert_strategy(summary.get("name") or path.stem, text)
    return {"path": str(path), "name": row.name, "version": row.version}


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


def subparser(command: str) -> argparse.ArgumentParser:
    """The argparse parser of ``vibe-quant <command>`` (``"data ingest"`` descends).

    Raises:
        DashboardError: no such command.
    """
    from vibe_quant.cli import build_parser

    parser: argparse.ArgumentParser = build_parser()
    for word in command.split():
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            raise DashboardError(f"`vibe-quant {command}` is not a command")
        parser = sub.choices[word]
    return parser


def command_options(command: str) -> list[Option]:
    """The options of a CLI command, in the parser's order, without the plumbing ones
    (--help, --data-dir, --json, --background) and without hidden ones."""
    out = []
    for a in subparser(command)._actions:
        if a.dest in SKIP_DESTS or a.help == argparse.SUPPRESS:
            continue
        if isinstance(a, argparse._SubParsersAction):
            continue
        flag = next((s for s in a.option_strings if s.startswith("--")), None)
        if not a.option_strings:
            kind = "positional"
        elif isinstance(a, argparse.BooleanOptionalAction):
            kind = "bool"
        elif isinstance(a, argparse._StoreTrueAction):
            kind = "flag"
        elif a.choices is not None:
            kind = "choice"
        elif a.type is int:
            kind = "int"
        elif a.type is float:
            kind = "float"
        else:
            kind = "text"
        out.append(
            Option(
                a.dest,
                flag,
                kind,
                a.default,
                tuple(a.choices) if a.choices is not None else None,
                (a.help or "").replace("%%", "%"),
                bool(a.required),
            )
        )
    return out


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
    """Parse ``argv`` with the CLI's own parser (types, choices, required options).

    Raises:
        DashboardError: the parser's one-line message.
    """
    from vibe_quant.cli import build_parser

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as e:
            if e.code not in (0, None):
                lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
                raise DashboardError(lines[-1] if lines else "invalid arguments") from None


def launch(argv: list[str], dd: DataDir | None = None) -> dict[str, Any]:
    """Check ``argv`` with the CLI parser and start it as a background job
    (:func:`vibe_quant.jobs.launch.launch_job`). Returns the job row (without its token).

    Raises:
        DashboardError: invalid arguments, or a command that cannot run as a background job.
    """
    from vibe_quant.jobs import JOB_COMMANDS
    from vibe_quant.jobs.launch import job_command, launch_job

    check_argv(argv)
    try:
        job_command(argv)
    except ValueError as e:
        raise DashboardError(f"{e} (this form's command is not in {list(JOB_COMMANDS)})") from None
    job = launch_job(dd or data_dir(), argv)
    return {k: v for k, v in job.items() if k != "token"}


def cancel(job_id: int, dd: DataDir | None = None) -> dict[str, Any]:
    """Cancel a job (as ``vibe-quant jobs cancel ID``)."""
    from vibe_quant.jobs.control import cancel_job
    from vibe_quant.store.state import StateStore

    with StateStore.open(dd or data_dir()) as store:
        try:
            job = cancel_job(store, int(job_id))
        except (LookupError, ValueError) as e:
            raise DashboardError(str(e)) from None
    return {k: v for k, v in job.items() if k != "token"}


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
    from vibe_quant.risk.presets import PresetError, parse_preset
    from vibe_quant.store import events_sql
    from vibe_quant.store.state import StateStore

    try:
        preset = parse_preset(yaml_text.encode(), name=name.strip(), file="<editor>")
    except PresetError as e:
        raise DashboardError(f"invalid preset: {e}") from None
    with StateStore.open(dd or data_dir()) as store:
        ver, created = events_sql.add_preset(store, preset.name, preset.body(), source=yaml_text)
    return {"name": preset.name, "version": ver, "created": created}


def telegram_status(env: dict[str, str] | None = None) -> dict[str, str]:
    """Telegram settings as the dashboard shows them: the token and the chat id only as
    ``"set"``/``"not set"`` (never their values), the Bot API base URL."""
    from vibe_quant.alerts.config import BASE_URL_ENV, CHAT_ID_ENV, DEFAULT_BASE_URL, TOKEN_ENV

    env = dict(os.environ) if env is None else env
    return {
        TOKEN_ENV: "set" if env.get(TOKEN_ENV, "").strip() else "not set",
        CHAT_ID_ENV: "set" if env.get(CHAT_ID_ENV, "").strip() else "not set",
        BASE_URL_ENV: env.get(BASE_URL_ENV, "").strip() or f"{DEFAULT_BASE_URL} (default)",
    }


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
