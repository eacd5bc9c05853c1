"""Disclosure control for counts of people: the one rule set for pages, API, exports and analysis.

The rule: a count below ``min_count`` (10) is shown as "<10"; every other count is rounded to the nearest
``rounding`` (5); a group of fewer than ``min_group`` (20) people is not broken down at all; and no hidden
cell can be worked out by subtraction from a total, a complement ("everyone else") or another table over the
same people. Thresholds can be raised, never lowered.

How the last part is guaranteed: every figure published together is one ``Release`` - cells, and linear
relations between them ("these cells add up to that one"). ``protect`` plays the attacker: it turns each
published figure into the interval it reveals (a rounded 25 means 23..27, "<10" means 0..9, a cell withheld
to protect another means 10 or more, a figure published exactly elsewhere means itself), propagates the
intervals through every relation to a fixed point, and whenever a hidden cell comes out pinned to fewer than
``protection`` possible values it withholds one more cell (the smallest shown cell in a relation with it)
and tries again.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

LESS_THAN = "<{n}"
WITHHELD = "withheld"
INF = math.inf
FORCED_REASON = "group too small to break down"
BLURRED_REASON = "withheld so another small figure cannot be worked out"
# Only this reason tells an attacker the hidden figure is 10 or more.
SECONDARY_REASON = "withheld so a smaller figure cannot be worked out"


@dataclass(frozen=True)
class Policy:
    """Disclosure thresholds; each may be raised above the default, never lowered."""

    min_count: int = 10
    rounding: int = 5
    min_group: int = 20
    # A hidden cell must keep at least this many possible values after every subtraction an attacker can do.
    protection: int = 3

    def __post_init__(self) -> None:
        """Refuse thresholds below the defaults: the rule is configurable upward only."""
        base = Policy.__dataclass_fields__
        for name in ("min_count", "rounding", "min_group", "protection"):
            if getattr(self, name) < base[name].default:
                raise ValueError(f"{name} cannot be lowered below {base[name].default}")

    @property
    def small_label(self) -> str:
        """How a small count is shown: "<10"."""
        return LESS_THAN.format(n=self.min_count)


DEFAULT = Policy()
_CACHE: dict[Any, dict[Hashable, Cell]] = {}


def round_count(value: int, base: int) -> int:
    """Round a count to the nearest multiple of base (no ties arise for odd bases; halves go up)."""
    return int(math.floor(value / base + 0.5)) * base


@dataclass
class Cell:
    """One published figure: its label as shown and the rounded value (None when hidden)."""

    value: int | None
    label: str
    hidden: bool
    reason: str | None = None


@dataclass
class Release:
    """Everything published together: counts of people and the relations between them."""

    policy: Policy = DEFAULT
    counts: dict[Hashable, int] = field(default_factory=dict)
    exact: set[Hashable] = field(default_factory=set)
    sums: list[tuple[Hashable, tuple[Hashable, ...]]] = field(default_factory=list)
    forced: set[Hashable] = field(default_factory=set)
    blurred: set[Hashable] = field(default_factory=set)

    def add(self, key: Hashable, count: int, *, exact: bool = False) -> Hashable:
        """Add a count to publish (exact=True: it is already public exactly, so it is not protected)."""
        self.counts[key] = int(count)
        if exact:
            self.exact.add(key)
        return key

    def add_sum(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """Declare that the parts add up to the total (a table's cells to its total, a group to its rest)."""
        self.sums.append((total, tuple(parts)))

    def withhold(self, keys: Iterable[Hashable]) -> None:
        """Hide these figures whatever their size (a group too small to break down)."""
        self.forced.update(keys)

    def protect(self) -> dict[Hashable, Cell]:
        """Decide every figure's label: rounded, "<10" or withheld, with no hidden cell recoverable."""
        # The answer depends only on the release's content, so a page viewed again with nothing changed
        # reuses it (the linear programmes are the slow part); any new person or answer changes the key.
        key = (self.policy, tuple(self.counts.items()), tuple(self.sums), frozenset(self.exact),
               frozenset(self.forced))
        cached = _CACHE.get(key)
        if cached is not None:
            return {k: Cell(c.value, c.label, c.hidden, c.reason) for k, c in cached.items()}
        cells = self._protect()
        if len(_CACHE) >= 64:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = cells
        return {k: Cell(c.value, c.label, c.hidden, c.reason) for k, c in cells.items()}

    def _protect(self) -> dict[Hashable, Cell]:
        """protect() without the cache."""
        policy = self.policy
        hidden = {k for k, v in self.counts.items() if k not in self.exact and v < policy.min_count}
        hidden |= self.forced - self.exact
        while True:
            # Cheap local subtraction first; then a global linear programme, which finds what combining
            # several tables can reveal and local subtraction misses.
            bounds = attack(self._shown_bounds(hidden), self.sums)
            pinned = [k for k in hidden if bounds[k][1] - bounds[k][0] + 1 < policy.protection]
            if not pinned:
                pinned = self._lp_pinned(hidden)
            if not pinned:
                break
            extra = self._next_to_hide(pinned, hidden)
            if extra is not None:
                hidden.add(extra)
                continue
            # Everything around the pinned cells is hidden already, yet "<10" labels still pin them (17
            # people in two groups, both "<10", means 8 or 9 each): say "withheld" instead of "<10".
            vague = self._next_to_blur(pinned, hidden)
            if vague is None:
                break  # what is pinned follows from exact public figures alone
            self.blurred.add(vague)
        cells = {}
        for key, value in self.counts.items():
            if key not in hidden:
                shown = value if key in self.exact else round_count(value, policy.rounding)
                cells[key] = Cell(shown, f"{shown:,}", False)
            elif key in self.forced or key in self.blurred:
                cells[key] = Cell(None, WITHHELD, True, FORCED_REASON if key in self.forced else BLURRED_REASON)
            elif value < policy.min_count:
                cells[key] = Cell(None, policy.small_label, True, f"fewer than {policy.min_count}")
            else:
                cells[key] = Cell(None, WITHHELD, True, SECONDARY_REASON)
        return cells

    def _shown_bounds(self, hidden: set[Hashable]) -> dict[Hashable, tuple[float, float]]:
        """What each figure tells an attacker, as an interval of possible true values."""
        policy = self.policy
        half = policy.rounding // 2
        bounds: dict[Hashable, tuple[float, float]] = {}
        for key, value in self.counts.items():
            if key in self.exact:
                bounds[key] = (value, value)
            elif key in hidden:
                if key in self.forced or key in self.blurred:
                    bounds[key] = (0, INF)
                elif value < policy.min_count:
                    bounds[key] = (0, policy.min_count - 1)
                else:
                    # Withheld to protect another cell: the label says it is not small.
                    bounds[key] = (policy.min_count, INF)
            else:
                shown = round_count(value, policy.rounding)
                bounds[key] = (max(policy.min_count, shown - half), shown + half)
        return bounds

    def _lp_pinned(self, hidden: set[Hashable]) -> list[Hashable]:
        """Hidden cells a linear programme over every published figure pins to too few values."""
        import numpy as np
        from scipy.optimize import linprog

        if not hidden or not self.sums:
            return []
        keys = list(self.counts)
        index = {k: i for i, k in enumerate(keys)}
        known = self._shown_bounds(hidden)
        bounds = [(known[k][0], None if known[k][1] == INF else known[k][1]) for k in keys]
        a_eq = np.zeros((len(self.sums), len(keys)))
        for row, (total, parts) in enumerate(self.sums):
            a_eq[row, index[total]] -= 1
            for p in parts:
                a_eq[row, index[p]] += 1
        b_eq = np.zeros(len(self.sums))
        columns = [index[k] for k in sorted(hidden, key=repr)]
        seen_lo = dict.fromkeys(columns, INF)
        seen_hi = dict.fromkeys(columns, -INF)

        def solve(c: Any) -> Any:
            """One linear programme over the release; every feasible answer widens what each cell can be."""
            found = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if found.status == 0:
                for i in columns:
                    seen_lo[i] = min(seen_lo[i], found.x[i])
                    seen_hi[i] = max(seen_hi[i], found.x[i])
            return found

        def wide(i: int) -> bool:
            """Feasible points already found put this cell at values far enough apart, so it is not pinned."""
            return math.floor(seen_hi[i] + 1e-7) - math.ceil(seen_lo[i] - 1e-7) + 1 >= self.policy.protection

        # Probes (every unsettled hidden cell as low, then as high, as the figures allow) show most cells
        # can take values far apart; only the rest need a programme each. The verdicts are the same as
        # solving every cell's own pair, since a feasible point's value lies between the cell's minimum
        # and maximum; this is what keeps a live page's first view fast.
        unsettled = list(columns)
        while unsettled:
            probe = np.zeros(len(keys))
            probe[unsettled] = 1
            if solve(probe).status != 0:
                break
            solve(-probe)
            left = [i for i in unsettled if not wide(i)]
            if len(left) == len(unsettled):
                break
            unsettled = left
        pinned = []
        for key, i in zip(sorted(hidden, key=repr), columns, strict=True):
            if wide(i):
                continue
            c = np.zeros(len(keys))
            c[i] = 1
            low = solve(c)
            high = solve(-c)
            if low.status != 0 or high.status == 3:
                continue  # unbounded above: nothing to fear
            if math.floor(-high.fun + 1e-7) - math.ceil(low.fun - 1e-7) + 1 < self.policy.protection:
                pinned.append(key)
        return pinned

    def _next_to_blur(self, pinned: list[Hashable], hidden: set[Hashable]) -> Hashable | None:
        """A "<10" cell in a relation with a pinned cell, to show as "withheld" (the pinned one first)."""
        small = [k for k in pinned if k not in self.blurred and k not in self.forced]
        if small:
            return min(small, key=repr)
        for total, parts in self.sums:
            members = (total, *parts)
            if any(k in members for k in pinned):
                for k in sorted(members, key=repr):
                    if k in hidden and k not in self.blurred and k not in self.forced and k not in self.exact:
                        return k
        return None

    def _next_to_hide(self, pinned: list[Hashable], hidden: set[Hashable]) -> Hashable | None:
        """The smallest shown figure in a relation with a pinned cell (ties broken by key for stability)."""
        candidates = set()
        for total, parts in self.sums:
            members = (total, *parts)
            if any(k in members for k in pinned):
                candidates.update(k for k in members if k not in hidden and k not in self.exact)
        if not candidates:
            return None
        return min(candidates, key=lambda k: (self.counts[k], repr(k)))


def attack(bounds: dict[Hashable, tuple[float, float]],
           sums: list[tuple[Hashable, tuple[Hashable, ...]]]) -> dict[Hashable, tuple[float, float]]:
    """Narrow every interval through the sum relations until nothing changes (what subtraction reveals)."""
    lo = {k: float(v[0]) for k, v in bounds.items()}
    hi = {k: float(v[1]) for k, v in bounds.items()}
    for _ in range(500):
        changed = False
        for total, parts in sums:
            sum_lo = sum(lo[p] for p in parts)
            sum_hi = sum(hi[p] for p in parts)
            if sum_lo > lo[total]:
                lo[total], changed = sum_lo, True
            if sum_hi < hi[total]:
                hi[total], changed = sum_hi, True
            for i, p in enumerate(parts):
                others = parts[:i] + parts[i + 1:]
                others_lo = sum(lo[q] for q in others)
                others_hi = sum(hi[q] for q in others)
                new_lo = lo[total] - others_hi  # -inf when another part is unbounded
                new_hi = hi[total] - others_lo
                if new_lo > lo[p] + 1e-9:
                    lo[p], changed = new_lo, True
                if new_hi < hi[p] - 1e-9:
                    hi[p], changed = new_hi, True
        if not changed:
            break
    return {k: (math.ceil(lo[k] - 1e-9), hi[k] if hi[k] == INF else math.floor(hi[k] + 1e-9)) for k in lo}


def share(numerator: Cell, denominator: Cell) -> float | None:
    """A share computed only from published (rounded) figures, so it reveals nothing the counts do not."""
    if numerator.hidden or denominator.hidden or not denominator.value:
        return None
    return numerator.value / denominator.value  # type: ignore[operator]


def one_way(counts: dict[str, int], total: int, *, policy: Policy = DEFAULT) -> dict[str, Cell] | None:
    """One table (category -> people, adding up to total): its cells and total, or None if too small."""
    if total < policy.min_group:
        return None
    release = Release(policy)
    release.add("__total__", total)
    for name, value in counts.items():
        release.add(name, value)
    release.add_sum("__total__", list(counts))
    return release.protect()
