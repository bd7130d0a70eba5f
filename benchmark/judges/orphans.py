"""Worker processes that end when their parent dies.

A judge's ``spawn`` worker processes (``benchmark.judges.base.WorkerPoolMixin``) block reading their task queue; when
the parent is killed without a chance to stop them (SIGKILL of a torchrun rank, the OOM killer) nothing ever
closes that queue, and they stay alive as orphans holding memory. ``guarded_init`` runs first in every worker:
it starts a daemon thread that checks every ``POLL_S`` seconds whether the parent is still the process that
started the worker (``os.getppid()``: an orphan is re-parented to init or a subreaper) and ends the worker with
``os._exit`` when it is not. Polling works on every POSIX system; ``prctl(PR_SET_PDEATHSIG)`` was not used
because Linux sends that signal when the parent *thread* that started the worker exits, and the pool starts
workers from whichever thread submits work. (On Windows ``os.getppid`` also works, Python ≥ 3.2.)
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

POLL_S = 0.5
"""Seconds between two checks of the parent: an orphaned worker ends within about this long."""


def _watch(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)  # the parent is gone: no one will read our results; leave without cleanup
        time.sleep(POLL_S)


def guarded_init(parent_pid: int, initializer: Callable | None, initargs: tuple = ()) -> None:
    """Worker initializer: start the parent watch (module docstring), then run the judge's own ``initializer``.

    Args:
        parent_pid: ``os.getpid()`` of the process that made the pool.
        initializer: the judge's worker setup (or None), called as ``initializer(*initargs)``.
        initargs: its arguments.
    """
    if os.getppid() != parent_pid:  # the parent died before this worker got here
        os._exit(0)
    threading.Thread(target=_watch, args=(parent_pid,), name="v2f-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)
