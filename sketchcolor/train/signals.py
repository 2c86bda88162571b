"""Stopping a run on request: while training, SIGINT (Ctrl-C) and SIGTERM (``kill``, schedulers, torchrun) are
recorded instead of ending the process, so the loop can finish its step and save; the previous handlers come back
afterwards. Data-loader workers leave both signals to the training process."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """Context manager: inside it, SIGINT and SIGTERM set :attr:`signum` (the first one received) and do nothing
    else; on exit the previous handlers are restored.

    Later signals are ignored, so a second Ctrl-C, or torchrun forwarding the SIGINT the terminal already sent
    every process, cannot cut a save short (SIGKILL still ends the process at once). Python delivers signals to
    the main thread only: entered from another thread it installs nothing and :attr:`signum` stays None.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is not threading.main_thread():
            log.debug("training outside the main thread: SIGINT/SIGTERM keep their handlers")
            return self
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            # None: the previous handler was installed from C, which Python cannot reinstall; the default is closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()

    def _record(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag here: logging from a handler could re-enter a stream write that the signal interrupted.
        if self.signum is None:
            self.signum = signum


def signal_name(signum: int) -> str:
    """"SIGINT", "SIGTERM", ... for a signal number."""
    return signal.Signals(signum).name


def loader_worker_init(worker_id: int) -> None:
    """DataLoader ``worker_init_fn`` of training: ignore SIGINT/SIGTERM, which the training process handles (a
    terminal's Ctrl-C reaches every process of the group, and a worker that died on it would fail the batch the
    step still needs; the training process shuts its workers down itself), then seed as
    :func:`sketchcolor.data.worker_init_fn`."""
    from sketchcolor.data import worker_init_fn

    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    worker_init_fn(worker_id)
