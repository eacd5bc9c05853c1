"""Work done in a second process, so a large consultation uses both cores of the machine.

``Background(function, *args)`` starts ``function(*args)`` in a forked process while this one goes on with
other work; ``.result()`` waits for it and ``.cancel()`` stops it. ``in_background(function, items,
*columns)`` does so only from ``MIN_ITEMS`` items. On one core, or where processes cannot be forked, the
function simply runs here at once; if the forked process fails, its work is done here (so an error is raised
here, as if there were one process).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from threadpoolctl import threadpool_limits

MIN_ITEMS = 20_000  # below this, forking (tens of milliseconds) costs more than it saves
log = logging.getLogger(__name__)


def workers() -> int:
    """Processes to use: two on a machine with two or more cores (the analysis's share), else one."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    return 2 if usable >= 2 and can_fork else 1


Result = TypeVar("Result")


class Background(Generic[Result]):
    """A function's answer being computed in a forked process (or already computed here)."""

    def __init__(self, function: Callable[..., Result], *args: Any, parallel: bool = True) -> None:
        self.function, self.args = function, args
        self.done = False
        self.value: Result | None = None
        if not parallel or workers() < 2:
            self.value, self.done = function(*args), True
            return
        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)

        def work() -> None:
            try:
                send.send(("ok", function(*args)))
            except BaseException as error:  # noqa: BLE001 - reported to the parent, which redoes the work
                send.send(("failed", repr(error)))
            finally:
                send.close()

        # One BLAS/OpenMP thread in each process while both run: two processes already fill the two cores.
        self.limits = threadpool_limits(limits=1)
        self.process = context.Process(target=work, daemon=True)
        # Objects that exist now are left out of the forked process's garbage collections: a collection
        # writes to every object it visits, which would copy the whole shared heap into the new process.
        gc.freeze()
        try:
            self.process.start()
        finally:
            gc.unfreeze()
        send.close()

    def cancel(self) -> None:
        """Stop the forked process (its answer is no longer wanted)."""
        if not self.done:
            self.process.terminate()
            self.process.join()
            self.receive.close()
            self.limits.restore_original_limits()
            self.done = True

    def result(self) -> Result:
        """The answer, waiting for the forked process if it is still working."""
        if not self.done:
            try:
                status, value = self.receive.recv()
            except EOFError:
                status, value = "failed", "the process ended without an answer"
            self.process.join()
            self.receive.close()
            self.limits.restore_original_limits()
            if status != "ok":
                log.info("Background process failed (%s); doing its work in this one", value)
                value = self.function(*self.args)
            self.value, self.done = value, True
        return self.value  # type: ignore[return-value]


def in_background(function: Callable[..., Result], items: Sequence[Any], *columns: Sequence[Any]) -> Background[Result]:
    """Start ``function(items, *columns)`` in a forked process (here, at once, when small); ``.result()`` waits."""
    return Background(function, items, *columns, parallel=len(items) >= MIN_ITEMS)
