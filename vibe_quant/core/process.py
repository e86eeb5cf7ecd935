"""Child processes that end with their parent.

:func:`die_with_parent` is the initializer of every process pool vibe-quant starts (the
screening sweep's workers, the filter calibration's workers): a worker of a spawn-started
``ProcessPoolExecutor`` otherwise outlives a parent killed with SIGKILL (CPython issue 111873).
"""

from __future__ import annotations

import time


def die_with_parent(poll_s: float = 0.5) -> None:
    """Make this process end when the process that started it dies.

    A spawn worker of ``ProcessPoolExecutor`` outlives a parent killed with SIGKILL (CPython
    issue 111873: it waits forever on its call queue). Two guards: on Linux
    ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (the kernel kills the worker when its parent exits),
    and, on every POSIX system, a daemon thread that ends the worker with ``os._exit(1)`` as
    soon as ``os.getppid()`` changes (the worker was re-parented), checked every ``poll_s``
    seconds. A process whose starter died while it was still starting up (before this runs)
    ends at once: the starter's PID comes from ``multiprocessing.parent_process()``.
    """
    import multiprocessing
    import os
    import signal
    import sys
    import threading

    # the process that started this one: known to a multiprocessing child even when it has
    # already died (then os.getppid() is the reaper's PID, and the guards below must fire now)
    started_by = multiprocessing.parent_process()
    parent = started_by.pid if started_by is not None and started_by.pid else os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - the thread below still guards
            pass
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
