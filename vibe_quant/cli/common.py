"""Shared CLI plumbing: ``--data-dir``, ``--json``, one-JSON-document output, and the mapping
of user errors to one clear line (:func:`user_error`, used by ``vibe_quant.cli.main``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vibe_quant.core.paths import DATA_DIR_ENV, DataDir


def add_common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """Add ``--data-dir`` (and ``--json`` when the command prints results) to a subparser."""
    p.add_argument(
        "--data-dir",
        default=None,
        help=f"runtime data directory (default ./data, env {DATA_DIR_ENV})",
    )
    if json_flag:
        p.add_argument(
            "--json", action="store_true", help="print exactly one JSON document on stdout"
        )


def data_dir(args: argparse.Namespace) -> DataDir:
    """The resolved, created data directory of a parsed command line."""
    return DataDir.resolve(getattr(args, "data_dir", None)).ensure()


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def emit_json(doc: Any) -> None:
    """Print exactly one JSON document on stdout (NaN/inf become null)."""
    text = json.dumps(_sanitize(doc), default=_default, allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _sanitize(o: Any) -> Any:
    if isinstance(o, float) and (o != o or o in (float("inf"), float("-inf"))):
        return None
    if isinstance(o, dict):
        return {str(k): _sanitize(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v) for v in o]
    return o


def eprint(*a: Any) -> None:
    """Human-readable messages go to stderr, so ``--json`` stdout stays one document."""
    print(*a, file=sys.stderr)


# ---- user errors -------------------------------------------------------------------------

DEBUG_ENV = "VIBE_QUANT_DEBUG"
"""Set to 1 to get the full traceback of a user error as well (for bug reports)."""

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CliError(Exception):
    """A user error found by a command: printed as ``error: <message>``, exit ``exit_code``.

    The message is one line: what is wrong, which input, and what to run instead.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _raised_in_project(exc: BaseException) -> bool:
    """True when the innermost Python frame of the traceback is vibe-quant code (a deliberate
    ``raise`` or a check on user input), not a library's."""
    tb = traceback.extract_tb(exc.__traceback__)
    return bool(tb) and os.path.abspath(tb[-1].filename).startswith(_PACKAGE_DIR + os.sep)


def user_error(exc: BaseException) -> tuple[str, int] | None:
    """``(one-line message, exit code)`` when ``exc`` is a user-facing error, else ``None``.

    User-facing: :class:`CliError`; an invalid strategy (``StrategyError``, exit 2, one line
    per diagnostic); a file that cannot be read or written (``OSError``); missing data or an
    unknown id (``LookupError`` subclasses raised by vibe-quant, e.g. ``MissingDataError``,
    ``UnknownSymbolError``); a ``ValueError`` or ``RuntimeError`` raised by vibe-quant itself
    (bad input, a failed stage, a sweep whose workers could not start). Everything else — a
    bare ``KeyError``/``IndexError``/``TypeError``/``AttributeError``, or any error raised
    inside a library — is an internal bug and keeps its traceback (``None``).
    """
    from vibe_quant.dsl.errors import StrategyError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, StrategyError):
        return str(exc), 2
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}", 1
    if isinstance(exc, LookupError) and type(exc) not in (KeyError, IndexError):
        msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        return msg, 1
    if isinstance(exc, (ValueError, RuntimeError)) and _raised_in_project(exc):
        return str(exc), 1
    return None


def parse_time(flag: str, value: str, *, end: bool = False) -> int:
    """UTC epoch ns of a ``--start``/``--end`` value (a date-only ``--end`` includes that day).

    Raises:
        CliError: (exit 2) the value is not an ISO date or datetime.
    """
    from vibe_quant.backtest.run import to_ns

    try:
        return to_ns(value, end=end)
    except (ValueError, TypeError) as e:
        raise CliError(f"{flag} {value!r} is not a UTC date or datetime (e.g. 2024-01-01 or "
                       f"2024-01-01T12:00): {e}", 2) from e


def parse_window(start: str, end: str) -> tuple[int, int]:
    """``(start_ns, end_ns)`` of ``--start``/``--end``; the end must be after the start.

    Raises:
        CliError: (exit 2) unparseable values or ``end <= start``.
    """
    s, e = parse_time("--start", start), parse_time("--end", end, end=True)
    if e <= s:
        raise CliError(f"--end {end} must be after --start {start}", 2)
    return s, e
