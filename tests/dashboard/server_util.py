"""Start ``vibe-quant dashboard`` on a free loopback port and drive it with Playwright over
Debian's chromium (``/usr/bin/chromium``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# The default page (Strategies) is served at "/": st.navigation ignores its url_path.
PAGES = [
    ("", "Strategies"),
    ("launch", "Launch"),
    ("results", "Results"),
    ("discovery", "Discovery"),
    ("paper", "Paper trading"),
    ("data", "Data"),
    ("settings", "Settings"),
]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return (
            f"{CHROMIUM} is absent: install Debian's browser with `apt-get install -y "
            "--no-install-recommends chromium chromium-driver` (scripts/install.sh does "
            "when run as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(
    data_root: Path, strategies: Path, env: dict[str, str] | None = None, host: str = "127.0.0.1"
):
    """``vibe-quant dashboard`` running; yields ``(base_url, process)``. Ends it with SIGTERM
    (the command then ends its streamlit child) and checks that nothing is left."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vibe_quant",
            "dashboard",
            "--port",
            str(port),
            "--host",
            host,
            "--data-dir",
            str(data_root),
            "--strategies",
            str(strategies),
        ],
        cwd=ROOT,
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"dashboard did not start: {proc.stderr.read()[-2000:]}")
            time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:  # the streamlit child shares the command's process group
            os.killpg(proc.pid, 0)
            left = True
        except ProcessLookupError:
            left = False
        if left:
            os.killpg(proc.pid, signal.SIGKILL)
        assert not left, "the dashboard's streamlit child outlived `vibe-quant dashboard`"


@contextmanager
def browser_page(width: int = 1400, height: int = 2200):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            bad: list[tuple] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: bad.append(("failed", r.url)))
            page.on(
                "response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 else None
            )
            yield page, errors, bad
        finally:
            browser.close()


DEEP_LINK_PROBE = re.compile(r"^http://127\.0\.0\.1:\d+/[a-z]+/_stcore/(health|host-config)$")


def unexplained_errors(errors: list[str], bad: list[tuple]) -> list:
    """Console errors and failed loads, minus Streamlit's own probe on a deep link: the
    frontend first asks ``/<page>/_stcore/health`` and ``…/host-config`` (404) before the
    server root. Every other 4xx/5xx response, failed request (e.g. an external host) or
    console error is returned."""
    probes = [b for b in bad if b[0] == 404 and DEEP_LINK_PROBE.match(b[1])]
    other = [b for b in bad if b not in probes]
    load = [
        e
        for e in errors
        if e.startswith("Failed to load resource: the server responded with a status of 404")
    ]
    rest = [e for e in errors if e not in load]
    if len(load) > len(probes):
        rest += load
    return rest + other


def wait_rendered(page, title: str, timeout_ms: float = 60_000) -> None:
    """Wait for the page's footer (its last element, drawn after all its data), then for every
    Plotly chart's SVG."""
    page.get_by_text(f"{title}: read and drawn in").wait_for(timeout=timeout_ms)
    charts = page.locator("[data-testid='stPlotlyChart']")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_timeout(300)  # tables draw on a canvas right after their data arrives


def has_chromium_tools() -> bool:
    return shutil.which("chromium") is not None
