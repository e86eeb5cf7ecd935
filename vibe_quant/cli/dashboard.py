"""``vibe-quant dashboard [--port 8501] [--host 127.0.0.1] [--strategies DIR] [--data-dir DIR]``.

Runs ``python -m streamlit run vibe_quant/dashboard/app.py`` as a child process (data dir and
strategies folder passed in its environment) and ends it when this command ends (Ctrl-C,
SIGTERM, SIGHUP). Binds 127.0.0.1 unless ``--host`` says otherwise; any other address prints a
warning, because whoever reaches the port can start jobs and press the kill switch.

``vibe-quant dashboard --describe-commands`` (hidden) prints every command's options as one JSON
document (:func:`vibe_quant.services.dashboard.describe_commands`): the dashboard builds its
launch forms from it without importing the CLI.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from vibe_quant.cli.common import CliError, add_common, data_dir, emit_json, eprint

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="the Streamlit dashboard (binds 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; anything else is reachable by "
        "others, who can then start jobs and press the kill switch)",
    )
    p.add_argument(
        "--strategies",
        default=None,
        metavar="DIR",
        help="strategies folder the editor reads and writes (default ./strategies, "
        "env VIBE_QUANT_STRATEGIES_DIR)",
    )
    p.add_argument("--describe-commands", action="store_true", help=argparse.SUPPRESS)
    add_common(p, json_flag=False)
    p.set_defaults(func=_dashboard)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def streamlit_argv(host: str, port: int) -> list[str]:
    """The child's command line."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
    ]


def _dashboard(args: argparse.Namespace) -> int:
    from vibe_quant.core.paths import DATA_DIR_ENV
    from vibe_quant.services.dashboard import STRATEGIES_ENV, describe_commands, prepare_state

    if args.describe_commands:
        from vibe_quant.cli import build_parser

        emit_json(describe_commands(build_parser()))
        return 0
    if not 1 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a TCP port (1-65535)", 2)
    dd = data_dir(args)
    prepare_state(dd)  # create / migrate the schema once, before any read-only reader
    strategies = Path(args.strategies or os.environ.get(STRATEGIES_ENV) or "strategies")
    strategies = strategies.expanduser().resolve()
    if not is_loopback(args.host):
        eprint(
            f"WARNING: binding {args.host}: anyone who can reach port {args.port} can "
            "start jobs, edit strategies and press the paper-trading kill switch (there is "
            "no login). Use the default 127.0.0.1 and an SSH tunnel instead."
        )
    env = {
        **os.environ,
        DATA_DIR_ENV: str(dd.root),
        STRATEGIES_ENV: str(strategies),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    eprint(
        f"dashboard on http://{args.host}:{args.port} (data dir {dd.root}, strategies "
        f"{strategies}); Ctrl-C stops it"
    )
    # Same process group as this command: a terminal's Ctrl-C reaches both.
    proc = subprocess.Popen(streamlit_argv(args.host, args.port), env=env)

    def _stop(signum, frame):  # SIGTERM/SIGHUP end the child too
        raise KeyboardInterrupt

    old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
