"""Ctrl-C and SIGTERM as a request to stop cleanly: finish the mini-batch, keep what is done, then exit.

The command line installs `stop_on_signals` around long work (training, a benchmark). The first SIGINT or
SIGTERM only sets a flag, which the work polls between two calls of the backend (`neuro.training.sgd`'s
`should_stop`), so no step is left half-done and the finished epochs are kept; a second one raises
`StopAtOnce` (a KeyboardInterrupt) wherever the program is. Signal handlers can only be installed in the main
thread; elsewhere (a web server training in a thread) `stop_on_signals` installs nothing and the flag is only
set by `request()`. The exit status of a stopped command is 128 + the signal's number: 130 for SIGINT, 143
for SIGTERM, as a shell reports a process killed by that signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopAtOnce(KeyboardInterrupt):
    """A second Ctrl-C (or SIGTERM) while a stop was already requested: stop now, wherever the program is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


class StopRequest:
    """Whether a stop was asked for, and by which signal. Calling it answers the first (a `should_stop`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.exiting = False

    def __call__(self) -> bool:
        return self.signum is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask for a stop, as the signal `signum` does."""
        if self.signum is None:
            self.signum = signum

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum or signal.SIGINT).name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def exit(self) -> None:
        """Exit with `exit_status`, ignoring the signals that arrive from now on: the process is on its way out, and a
        Ctrl-C in its last milliseconds would only print a traceback from the interpreter's shutdown."""
        self.exiting = True
        raise SystemExit(self.exit_status)


def _say(text: str) -> None:
    """Write a line to stderr from a signal handler: straight to the file descriptor, since the handler may run
    while Python is half-way through writing to sys.stderr's buffer (which would then refuse a second writer)."""
    with contextlib.suppress(OSError):
        os.write(2, f"\n{text}\n".encode())


@contextlib.contextmanager
def stop_on_signals(what: str = "after this mini-batch (or after the test of the epoch, when it is running)",
                    compiles: bool = False) -> Iterator[StopRequest]:
    """Within the block, SIGINT and SIGTERM request a stop (`what` says when it comes: the line printed names it);
    a second signal raises `StopAtOnce`. The previous handlers are restored after the block. `compiles`: the
    work's first calls compile machine code, which cannot be interrupted (the line says so)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, _frame) -> None:
        if request():
            raise StopAtOnce(signum)
        request.request(signum)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        compiling = " (a first call that is compiling cannot be interrupted: it finishes first)" if compiles else ""
        again = "press Ctrl-C again" if signum == signal.SIGINT else f"send {name} again"
        _say(f"{name}: stopping {what}{compiling}; {again} to stop at once.")

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield request
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_IGN if request.exiting else old)


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `StopAtOnce` at once, wherever the program is: for work whose
    part in progress is worth nothing when cut short (a measurement), the caller keeping the parts done. The
    previous handlers are restored after the block; outside the main thread nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame) -> None:
        raise StopAtOnce(signum)

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def shutdown_on_signals(server) -> Iterator[None]:
    """Around a server's `serve_forever`: SIGINT and SIGTERM ask `server` to shut down, and once it has, the block
    raises `StopAtOnce` for the signal. The handler raises nothing itself, so a signal that lands in code which
    swallows exceptions (a weakref callback, a finaliser) is not lost, as a KeyboardInterrupt raised there would be.
    The previous handlers are restored after the block; outside the main thread nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame) -> None:
        if not received:
            received.append(signum)
            # (shutdown waits for serve_forever to return, so it cannot be called from serve_forever's own thread)
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    if received:
        raise StopAtOnce(received[0])
