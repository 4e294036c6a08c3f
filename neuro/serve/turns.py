"""A first-come, first-served lock: whoever asked first gets it next.

The backends need not be thread-safe, so every backend call of the server (a page's forward pass, a training
stretch) runs while holding one lock. Python's `threading.Lock` is not fair: a training thread that releases
it and at once asks again usually gets it back, and a page's request could wait for the whole training run.
A ticket lock hands it over in the order it was asked for, so a request waits for one training stretch at most.
"""

from __future__ import annotations

import threading


class TurnLock:
    """A lock granted in the order it was asked for (a ticket lock); use it as a context manager."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._next_ticket = 0
        self._now_serving = 0

    def acquire(self) -> None:
        with self._changed:
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._now_serving != ticket:
                self._changed.wait()

    def release(self) -> None:
        with self._changed:
            self._now_serving += 1
            self._changed.notify_all()

    def let_others_in(self) -> None:
        """Release and ask again: everyone already waiting goes first."""
        self.release()
        self.acquire()

    def __enter__(self) -> TurnLock:
        self.acquire()
        return self

    def __exit__(self, *_exc) -> None:
        self.release()
