"""Who, besides the hub's own green threads, could still wake a hub: the deadlock rules' inputs."""

from __future__ import annotations

import signal

from . import _stdlib

__all__ = ["is_main_thread", "other_threads_alive", "python_signal_handlers", "quiet_threads"]

# Threads that reach a hub only through work it holds (hold_external): tpool's
# workers. They do not count as possible wakers. A one-item list: the count.
quiet_threads = [0]


def is_main_thread(ident: int) -> bool:
    import threading

    return ident == threading.main_thread().ident


def other_threads_alive() -> bool:
    """True if another OS thread runs: it could signal a green primitive at any time.

    ``_thread._count()`` counts the threads started through ``_thread`` (the
    main thread excluded); from a non-main thread the main thread is also
    alive, so the answer there is always yes.
    """
    if _stdlib.thread_count is None:  # not CPython: assume the worst (no false alarms)
        return True
    return _stdlib.thread_count() - quiet_threads[0] > 0 or not is_main_thread(_stdlib.get_ident())


def python_signal_handlers(ident: int) -> bool:
    """True if a Python handler could wake someone (main thread only; Ctrl-C's default aside)."""
    if not is_main_thread(ident):
        return False
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        # A handler marked ``wakes_hub = False`` (green.signal's wrapped default
        # SIGINT handler) only interrupts, like the default one it stands for.
        if (
            callable(handler)
            and handler is not signal.default_int_handler
            and getattr(handler, "wakes_hub", True)
        ):
            return True
    return False
