"""What the dashboard needs from the stages below it, as use cases (no Streamlit here).

* reads: :func:`state_ro` / :func:`archive_ro` give read-only connections (``None`` when nothing
  is stored yet) for the query functions of :mod:`vibe_quant.store.dashboard_sql`, re-exported
  here under the same names (``sweeps(conn)``, ``runs(conn)``, ``bars(conn, …)`` …);
* strategies: :func:`validate_strategy_text`, :func:`strategy_summary`,
  :func:`store_strategy_version` (the DSL's validator and the state DB, as
  ``vibe-quant strategy validate`` / ``vibe-quant backtest`` use them);
* data: :func:`catalog_bar_counts`, :func:`verify_data` (as ``vibe-quant data verify``);
* settings: :func:`store_preset` (as ``vibe-quant risk preset add``), :func:`prepare_state`;
* command forms: :func:`describe_commands` turns the CLI's argparse tree into JSON (the CLI
  prints it with ``vibe-quant dashboard --describe-commands``) and :class:`CommandForms`
  rebuilds, from that JSON, a parser that checks a form's argv (types, choices, required
  options) without importing the CLI. What it cannot check (a custom type, mutually exclusive
  options) is reported by the launched job itself.

Jobs are launched and cancelled through :mod:`vibe_quant.services.jobs`, paper runs through
:mod:`vibe_quant.services.paper`, Telegram settings through :mod:`vibe_quant.services.alerts`.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vibe_quant.core.errors import ConfigError
from vibe_quant.core.jsonpolicy import jsonable
from vibe_quant.core.paths import DataDir
from vibe_quant.risk.presets import PresetError
from vibe_quant.store.dashboard_sql import (
    StoreMissingError,
    archive_funding,
    archive_series,
    bars,
    connect_ro,
    equity,
    filter_results,
    filter_runs,
    filter_verdicts,
    job,
    jobs,
    paper_equity,
    paper_fills,
    paper_runs,
    pipeline_runs,
    preset_versions,
    presets,
    run,
    runs,
    schema_version,
    strategy_names,
    strategy_versions,
    sweep,
    sweep_result_count,
    sweep_results,
    sweeps,
    table_counts,
    trades,
    validation_results,
    validation_runs,
)

__all__ = [
    "STRATEGIES_ENV", "CommandFormError", "CommandForms", "PresetError", "StoreMissingError",
    "archive_funding", "archive_ro", "archive_series", "bars", "catalog_bar_counts",
    "connect_ro", "describe_commands", "equity", "filter_results", "filter_runs",
    "filter_verdicts", "job", "jobs", "paper_equity", "paper_fills", "paper_runs",
    "pipeline_runs", "prepare_state", "preset_versions", "presets", "run", "runs",
    "schema_version", "state_ro", "store_preset", "store_strategy_version", "strategy_names",
    "strategy_summary", "strategy_versions", "sweep", "sweep_result_count", "sweep_results",
    "sweeps", "table_counts", "trades", "validate_strategy_text", "validation_results",
    "validation_runs", "verify_data",
]

STRATEGIES_ENV = "VIBE_QUANT_STRATEGIES_DIR"
"""The strategies folder the dashboard's editor reads and writes (default ``./strategies``)."""


# ---------------------------------------------------------------------- reads
@contextlib.contextmanager
def _ro(path: Path) -> Iterator[sqlite3.Connection | None]:
    try:
        conn = connect_ro(path)
    except StoreMissingError:
        yield None
        return
    try:
        yield conn
    finally:
        conn.close()


def state_ro(dd: DataDir) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
    """A read-only connection to ``dd``'s state DB, or ``None`` when nothing is stored yet."""
    return _ro(dd.state_db)


def archive_ro(dd: DataDir) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
    """A read-only connection to ``dd``'s archive DB, or ``None`` when nothing is archived."""
    return _ro(dd.archive_db)


def prepare_state(dd: DataDir) -> None:
    """Create or migrate ``dd``'s state DB once, before any read-only reader opens it."""
    from vibe_quant.store.state import StateStore

    StateStore.open(dd).close()


# ---------------------------------------------------------------------- strategies
def _text(text: str) -> str:
    return text if "\n" in text else text + "\n"


def validate_strategy_text(text: str, file: str = "<editor>") -> list[Any]:
    """Every diagnostic of strategy YAML ``text`` (``vibe_quant.dsl.validate_strategy``),
    sorted by position; each has ``severity``, ``line``, ``column``, ``path``, ``message``."""
    from vibe_quant.dsl import validate_strategy

    return validate_strategy(_text(text), file=file)


def strategy_summary(text: str) -> dict[str, Any] | None:
    """``{"name", "timeframe", "params", "sweep", "grid_size"}`` of valid strategy text: its
    current parameter values and its sweep grid (key → values, number of combinations);
    ``None`` when the text does not validate."""
    from vibe_quant.dsl import StrategyError, current_values, load_strategy
    from vibe_quant.dsl.sweep import grid_size, sweep_entries

    try:
        spec = load_strategy(_text(text))
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


def store_strategy_version(dd: DataDir, name: str, text: str) -> tuple[str, int]:
    """Store ``text`` as the next version of strategy ``name`` in the state DB (unchanged text
    keeps its version). Returns ``(name, version)``."""
    from vibe_quant.store.state import StateStore

    with StateStore.open(dd) as store:
        row = store.upsert_strategy(name, text)
    return row.name, row.version


# ---------------------------------------------------------------------- data
def catalog_bar_counts(dd: DataDir) -> dict[tuple[str, str], int]:
    """Catalogued bars per ``(symbol, interval)`` for the symbols and intervals archived in
    ``dd`` (0 when none is catalogued)."""
    from vibe_quant.data.catalog import catalog_bar_counts as counts_by_bar_type
    from vibe_quant.venues.binance.instruments import bar_type

    counts = counts_by_bar_type(dd)
    with archive_ro(dd) as conn:
        series = archive_series(conn) if conn else []
    return {
        (s["symbol"], s["interval"]): counts.get(bar_type(s["symbol"], s["interval"]), 0)
        for s in series
    }


def verify_data(dd: DataDir) -> dict[str, Any]:
    """The verify report of ``dd``'s archive (``vibe-quant data verify``: gaps, duplicates,
    OHLC violations, funding gaps); ``ok`` is False on duplicates or OHLC violations."""
    from vibe_quant.data.verify import verify

    return verify(dd)


# ---------------------------------------------------------------------- settings
def store_preset(dd: DataDir, name: str, yaml_text: str) -> dict[str, Any]:
    """Parse and store a sizing/risk preset from YAML text (as ``vibe-quant risk preset add
    NAME --file F``). Returns ``{"name", "version", "created"}``.

    Raises:
        PresetError: (a ``ValueError``) an invalid preset, every problem in the message.
    """
    from vibe_quant.risk.presets import parse_preset
    from vibe_quant.store import events_sql
    from vibe_quant.store.state import StateStore

    preset = parse_preset(yaml_text.encode(), name=name.strip(), file="<editor>")
    with StateStore.open(dd) as store:
        ver, created = events_sql.add_preset(store, preset.name, preset.body(), source=yaml_text)
    return {"name": preset.name, "version": ver, "created": created}


# ---------------------------------------------------------------------- command forms
class CommandFormError(ConfigError, ValueError):
    """A form names no CLI command, or its argv does not parse (the parser's message)."""


_PLUMBING = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


def _action_name(a: argparse.Action) -> str | None:
    for cls, name in (
        (argparse.BooleanOptionalAction, "bool"),
        (argparse._StoreTrueAction, "store_true"),
        (argparse._StoreFalseAction, "store_false"),
        (argparse._StoreConstAction, "store_const"),
        (argparse._AppendAction, "append"),
        (argparse._CountAction, "count"),
        (argparse._StoreAction, "store"),
    ):
        if isinstance(a, cls):
            return name
    return None


def _describe_action(a: argparse.Action) -> dict[str, Any] | None:
    action = _action_name(a)
    if action is None:
        return None
    kind = a.type if a.type in (int, float) else None
    return {
        "dest": a.dest,
        "option_strings": list(a.option_strings),
        "action": action,
        "type": None if kind is None else kind.__name__,
        "nargs": a.nargs,
        "const": jsonable(a.const) if action == "store_const" else None,
        "default": None if a.default is None else _plain(a.default),
        "choices": None if a.choices is None else [_plain(c) for c in a.choices],
        "required": bool(a.required),
        "help": a.help,
        "metavar": a.metavar if isinstance(a.metavar, str) else None,
    }


def _plain(v: Any) -> Any:
    try:
        return jsonable(v)
    except TypeError:
        return str(v)


def describe_commands(parser: argparse.ArgumentParser) -> dict[str, list[dict[str, Any]]]:
    """Every command of a CLI parser tree and its options, as JSON-able data:
    ``{"data ingest": [{"dest", "option_strings", "action", "type", "nargs", "const",
    "default", "choices", "required", "help", "metavar"}, …], …}`` in the parser's order.
    ``action`` is ``store``, ``store_true``, ``store_false``, ``store_const``, ``append``,
    ``count`` or ``bool`` (``--x/--no-x``); ``type`` is ``"int"``, ``"float"`` or ``None``."""
    out: dict[str, list[dict[str, Any]]] = {}

    def walk(p: argparse.ArgumentParser, words: list[str]) -> None:
        sub = next((a for a in p._actions if isinstance(a, argparse._SubParsersAction)), None)
        if words:
            out[" ".join(words)] = [
                d for d in (_describe_action(a) for a in p._actions) if d is not None
            ]
        if sub is not None:
            for name, child in sub.choices.items():
                if child is not p:
                    walk(child, [*words, name])

    walk(parser, [])
    return out


class CommandForms:
    """Parsers rebuilt from :func:`describe_commands` data, to check and inspect argv.

    Args:
        described: ``{"command words": [option description, …]}``.
        prog: the program name in usage and error messages.
    """

    def __init__(self, described: dict[str, list[dict[str, Any]]], prog: str = "vibe-quant"):
        self.described = described
        self.root = argparse.ArgumentParser(prog=prog, add_help=False)
        self._parsers: dict[str, argparse.ArgumentParser] = {}
        subs: dict[str, argparse._SubParsersAction] = {}
        for command in sorted(described, key=lambda c: len(c.split())):
            words = command.split()
            parent_key = " ".join(words[:-1])
            parent = self._parsers[parent_key] if parent_key else self.root
            if parent_key not in subs:
                subs[parent_key] = parent.add_subparsers(dest=f"_cmd{len(words)}")
            p = subs[parent_key].add_parser(words[-1], prog=f"{prog} {command}")
            for d in described[command]:
                _add(p, d)
            self._parsers[command] = p

    def parser(self, command: str) -> argparse.ArgumentParser:
        """The rebuilt parser of ``command`` (``"data ingest"``).

        Raises:
            CommandFormError: no such command.
        """
        p = self._parsers.get(" ".join(command.split()))
        if p is None:
            raise CommandFormError(f"`vibe-quant {command}` is not a command")
        return p

    def options(self, command: str) -> list[dict[str, Any]]:
        """The option descriptions of ``command`` (see :func:`describe_commands`).

        Raises:
            CommandFormError: no such command.
        """
        self.parser(command)
        return list(self.described[" ".join(command.split())])

    def check(self, argv: list[str]) -> None:
        """Parse ``argv`` (command words first) with the rebuilt parsers.

        Raises:
            CommandFormError: the parser's one-line message (e.g. ``argument --workers:
                invalid int value: 'x'``).
        """
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                self.root.parse_args(argv)
            except SystemExit as e:
                if e.code not in (0, None):
                    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
                    raise CommandFormError(
                        lines[-1] if lines else "invalid arguments"
                    ) from None


def _add(p: argparse.ArgumentParser, d: dict[str, Any]) -> None:
    kw: dict[str, Any] = {"help": d["help"], "default": d["default"]}
    action = d["action"]
    if action == "bool":
        kw["action"] = argparse.BooleanOptionalAction
    elif action in ("store_true", "store_false", "count"):
        kw["action"] = action
    elif action == "store_const":
        kw.update(action="store_const", const=d["const"])
    else:
        kw["action"] = action
        kw["type"] = {"int": int, "float": float}.get(d["type"] or "")
        if d["nargs"] is not None:
            kw["nargs"] = d["nargs"]
        if d["choices"] is not None:
            kw["choices"] = d["choices"]
        if d["metavar"]:
            kw["metavar"] = d["metavar"]
    if d["option_strings"]:
        kw["dest"] = d["dest"]
        kw["required"] = d["required"]
        p.add_argument(*d["option_strings"], **kw)
    else:
        p.add_argument(d["dest"], **kw)
