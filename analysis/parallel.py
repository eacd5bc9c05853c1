"""Work done in a second process, so a large consultation uses both cores of the machine.

``split_map(function, items, *columns)`` computes ``function`` on the first half of the items here and on the
second half in a forked process, and joins the results: the same list as ``function(items, *columns)`` for
any function whose answer for an item depends on that item alone. ``in_background(function, items,
*columns)`` starts ``function(items, *columns)`` in a forked process while this one goes on with other work;
``.result()`` waits for it. Below ``MIN_ITEMS`` items, on one core, or where processes cannot be forked, both
simply call ``function`` here; if the forked process fails, its work is done here.
"""

from __future__ import annotations

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


def split_map(function: Callable[..., Sequence[Any]], items: Sequence[Any], *columns: Sequence[Any]) -> list[Any]:
    """``list(function(items, *columns))``, the second half computed in a forked process when worth it."""
    if len(items) < MIN_ITEMS or workers() < 2:
        return list(function(items, *columns))
    half = len(items) // 2
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def second_half() -> None:
        try:
            send.send(("ok", list(function(items[half:], *(c[half:] for c in columns)))))
        except BaseException as error:  # noqa: BLE001 - reported to the parent, which redoes the work
            send.send(("failed", repr(error)))
        finally:
            send.close()

    # One BLAS/OpenMP thread in each process: two processes already fill the two cores.
    with threadpool_limits(limits=1):
        helper = context.Process(target=second_half, daemon=True)
        helper.start()
        send.close()
        first = list(function(items[:half], *(c[:half] for c in columns)))
        try:
            status, second = receive.recv()
        except EOFError:
            status, second = "failed", "the process ended without an answer"
        helper.join()
        receive.close()
        if status != "ok":
            log.warning("Second process failed (%s); finishing the work in this one", second)
            second = list(function(items[half:], *(c[half:] for c in columns)))
    return first + second


Result = TypeVar("Result")


class Background(Generic[Result]):
    """A function's answer being computed in a forked process (or already computed here)."""

    def __init__(self, function: Callable[..., Result], *args: Any) -> None:
        self.function, self.args = function, args
        self.done = False
        self.value: Result | None = None
        if len(args[0]) < MIN_ITEMS or workers() < 2:
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
        self.process.start()
        send.close()

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
                log.warning("Background process failed (%s); doing its work in this one", value)
                value = self.function(*self.args)
            self.value, self.done = value, True
        return self.value  # type: ignore[return-value]


def in_background(function: Callable[..., Result], items: Sequence[Any], *columns: Sequence[Any]) -> Background[Result]:
    """Start ``function(items, *columns)`` in a forked process (here, at once, when small); ``.result()`` waits."""
    return Background(function, items, *columns)
