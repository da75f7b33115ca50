"""Ctrl-C and SIGTERM during a run: the first finishes the iteration and writes everything, a
second one aborts at once.

The handler only records the signal (printing from a signal handler can collide with the
interrupted code's own output); the line that says so is printed after the iteration, by the
training loop's callback. A second signal raises :class:`Aborted`, which ``main`` turns into one
line and the exit status 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). When the
second signal lands inside a library's writer (``torch.save``'s zip writer), that library may
replace :class:`Aborted` with its own error on the way out; leaving the context turns any such
error back into :class:`Aborted`, so the run still ends in one line with the signal's status.
"""

from __future__ import annotations

import signal
import threading

#: The signals that stop a run: Ctrl-C, and what schedulers and ``kill`` send.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """The shell's exit status of a process ended by signal ``signum``: 128 + its number."""
    return 128 + int(signum)


class Aborted(BaseException):
    """A second signal during a run: stop at once. A BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on the way swallows it.

    Args:
        signum: the signal that aborted the run.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


class StopOnSignal:
    """A :func:`neuralsde.train.fit` callback that asks training to stop after the current
    iteration on SIGINT (Ctrl-C) or SIGTERM; a second signal raises :class:`Aborted`.

    Use it as a context manager around training *and* the writing of the artifacts, so that a
    signal while the artifacts are written is handled the same way.

    Args:
        say: prints a line (or nothing when quiet).
        enabled: install the handlers (only the main thread of a single-process run does).
    """

    def __init__(self, say, enabled: bool = True):
        self.say = say
        self.enabled = enabled
        self.signum: int | None = None
        self.aborted: int | None = None  # the second signal, once one came
        self.told = False
        self.previous: dict = {}

    @property
    def signalled(self) -> bool:
        """Whether a signal asked the run to stop."""
        return self.signum is not None

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``"SIGTERM"`` (``"signal"`` before any)."""
        return signal.Signals(self.signum).name if self.signalled else "signal"

    @property
    def __name__(self) -> str:  # the loop says "stopped by <__name__>"
        return self.name

    @property
    def status(self) -> int:
        """The exit status of a run this signal stopped."""
        return exit_status(self.signum)

    def _handler(self, signum, frame):
        """The first signal asks for a stop after this iteration; a second one aborts."""
        if self.signalled:
            self.aborted = int(signum)
            raise Aborted(signum)
        self.signum = signum

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, exc_type, exc, traceback):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
        if self.aborted is not None and exc is not None and not isinstance(exc, Aborted):
            raise Aborted(self.aborted) from exc  # a library's error that replaced the abort
        return False

    def __call__(self, row, model):
        """Whether training should stop (after the iteration that gave ``row``); says why once."""
        if self.signalled and not self.told:
            self.told = True
            self.say(f"\n{self.name}: stopping after iteration {row['iteration'] + 1}, then "
                     "writing a checkpoint and the artifacts (send it again to abort)")
        return self.signalled
