"""Work done in a second process, so a large consultation uses both cores of the machine.

``Background(function, *args)`` starts ``function(*args)`` in a helper process while this one goes on with
other work; ``.result()`` waits for it and ``.cancel()`` stops it. ``in_background(function, *args, items=n)``
does so in a fresh interpreter, and only from ``MIN_ITEMS`` items. On one core, or where processes cannot be
forked, the function simply runs here at once; if the helper fails, its work is done here (so an error is
raised here, as if there were one process).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable
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


def _work(function: Callable[..., Any], args: tuple[Any, ...], send: Any) -> None:
    """A helper process's whole job: compute, send the answer (or what went wrong) back, close."""
    try:
        with threadpool_limits(limits=1):  # two processes already fill the two cores
            answer = function(*args)
        send.send(("ok", answer))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which redoes the work
        send.send(("failed", repr(error)))
    finally:
        send.close()


class Background(Generic[Result]):
    """A function's answer being computed in a helper process (or already computed here).

    The helper is forked, sharing this process's memory, unless ``fresh``: then it is a new interpreter that
    is sent ``function`` and ``args`` (which must pickle). A forked helper that runs beside memory-hungry work
    keeps every page this process rewrites meanwhile (1 GB beside the themes of 500,000 contributions); a
    fresh one holds only its imports and its arguments. If they do not pickle, the helper is forked.
    """

    def __init__(self, function: Callable[..., Result], *args: Any, parallel: bool = True,
                 fresh: bool = False) -> None:
        self.function, self.args = function, args
        self.done = False
        self.value: Result | None = None
        if not parallel or workers() < 2:
            self.value, self.done = function(*args), True
            return
        # One BLAS/OpenMP thread here while both run, as in the helper.
        self.limits = threadpool_limits(limits=1)
        if not (fresh and self._start("spawn")):
            self._start("fork")

    def _start(self, method: str) -> bool:
        """Start the helper with this start method; False if its arguments could not be sent to it."""
        context = multiprocessing.get_context(method)
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_work, args=(self.function, self.args, send), daemon=True)
        # Objects that exist now are left out of a forked helper's garbage collections: a collection writes
        # to every object it visits, which would copy the whole shared heap into the helper.
        gc.freeze()
        try:
            self.process.start()
        except (pickle.PicklingError, AttributeError, TypeError):
            self.receive.close()
            send.close()
            return False
        finally:
            gc.unfreeze()
        send.close()
        return True

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


def in_background(function: Callable[..., Result], *args: Any, items: int) -> Background[Result]:
    """Start ``function(*args)`` in a fresh helper process from ``MIN_ITEMS`` items (else here, at once)."""
    return Background(function, *args, parallel=items >= MIN_ITEMS, fresh=True)
