"""Shared CLI plumbing: ``--data-dir``, ``--json``, one-JSON-document output, progress bars,
``--start``/``--end`` parsing, and the mapping of user errors to one clear line
(:func:`user_error`, used by ``vibe_quant.cli.main``)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vibe_quant.core.errors import ConfigError, VibeQuantError
from vibe_quant.core.jsonpolicy import dumps
from vibe_quant.core.paths import DATA_DIR_ENV, DataDir
from vibe_quant.core.progress import ProgressCallback, ProgressEvent, tqdm_progress


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


def emit_json(doc: Any) -> None:
    """Print exactly one JSON document on stdout (the JSON policy of
    :mod:`vibe_quant.core.jsonpolicy`: NaN → null, ±inf → ``"inf"``/``"-inf"``)."""
    sys.stdout.write(dumps(doc) + "\n")
    sys.stdout.flush()


def eprint(*a: Any) -> None:
    """Human-readable messages go to stderr, so ``--json`` stdout stays one document."""
    print(*a, file=sys.stderr)


@contextmanager
def progress_bars(args: argparse.Namespace) -> Iterator[ProgressCallback | None]:
    """The progress callback of a command: tqdm bars on stderr unless ``--json``; inside a
    background job each event also feeds the job's heartbeat. ``None`` when neither applies."""
    from vibe_quant.services.jobs import reporting

    drawn = False
    try:
        with tqdm_progress(enabled=not getattr(args, "json", False)) as bars:
            if bars is None:
                yield reporting(None)
                return

            def draw(ev: ProgressEvent) -> None:
                nonlocal drawn
                drawn = True
                bars(ev)

            yield reporting(draw)
    finally:
        if drawn:  # closing a lower bar leaves the cursor mid-line: the next line starts clean
            sys.stderr.write("\r")
            sys.stderr.flush()


# ---- user errors -------------------------------------------------------------------------

DEBUG_ENV = "VIBE_QUANT_DEBUG"
"""Set to 1 to get the full traceback of a user error as well (for bug reports)."""

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CliError(VibeQuantError):
    """A user error found by a command: printed as ``error: <message>``, exit ``exit_code``.

    The message is one line: what is wrong, which input, and what to run instead.
    ``CliError(message, 2)`` (a bad option or value) is a :class:`CliUsageError`, which is also
    a :class:`~vibe_quant.core.errors.ConfigError` and a ``ValueError``.
    """

    def __new__(cls, message: str = "", exit_code: int = 1, **context: Any) -> CliError:
        if cls is CliError and exit_code == 2:
            cls = CliUsageError
        return super().__new__(cls, message)

    def __init__(self, message: str = "", exit_code: int = 1, **context: Any) -> None:
        super().__init__(message, **context)
        self.exit_code = exit_code  # type: ignore[misc]


class CliUsageError(CliError, ConfigError, ValueError):
    """A bad option or option value (exit 2)."""

    def __init__(self, message: str = "", exit_code: int = 2, **context: Any) -> None:
        super().__init__(message, exit_code, **context)


def _raised_in_project(exc: BaseException) -> bool:
    """True when the innermost Python frame of the traceback is vibe-quant code (a deliberate
    ``raise`` or a check on user input), not a library's."""
    tb = traceback.extract_tb(exc.__traceback__)
    return bool(tb) and os.path.abspath(tb[-1].filename).startswith(_PACKAGE_DIR + os.sep)


def user_error(exc: BaseException) -> tuple[str, int] | None:
    """``(one-line message, exit code)`` when ``exc`` is a user-facing error, else ``None``.

    User-facing: every :class:`~vibe_quant.core.errors.VibeQuantError` (its ``exit_code``: 2
    for a bad option, value or strategy definition — one line per diagnostic —, 1 otherwise,
    see :mod:`vibe_quant.core.errors`); a file that cannot be read or written (``OSError``,
    exit 1); and, for code not yet on the error tree, a ``LookupError`` subclass or a
    ``ValueError``/``RuntimeError`` raised by vibe-quant itself (exit 1). Everything else — a
    bare ``KeyError``/``IndexError``/``TypeError``/``AttributeError``, or any error raised
    inside a library — is an internal bug and keeps its traceback (``None``).
    """
    if isinstance(exc, LookupError) and type(exc) not in (KeyError, IndexError):
        msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        return msg, exc.exit_code if isinstance(exc, VibeQuantError) else 1
    if isinstance(exc, VibeQuantError):
        return str(exc), exc.exit_code
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}", 1
    if isinstance(exc, (ValueError, RuntimeError)) and _raised_in_project(exc):
        return str(exc), 1
    return None


def parse_time(flag: str, value: str, *, end: bool = False) -> int:
    """UTC epoch ns of a ``--start``/``--end`` value (a date-only ``--end`` includes that day).

    Raises:
        CliError: (exit 2) the value is not an ISO date or datetime.
    """
    from vibe_quant.services.backtests import to_ns

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
