"""Disclosure control: over generated populations and tables, no published figure gives away a hidden one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analysis.disclosure import SECONDARY_REASON, Policy, Release, one_way, round_count

POLICY = Policy()


def _knowledge(cell, policy: Policy) -> tuple[float, float]:
    """What a published cell tells an attacker who knows the rules (as an interval)."""
    if not cell.hidden:
        return max(0, cell.value - policy.rounding // 2), cell.value + policy.rounding // 2
    if cell.label == policy.small_label:
        return 0, policy.min_count - 1
    if cell.reason == SECONDARY_REASON:
        return policy.min_count, math.inf
    return 0, math.inf


def lp_attack(release: Release, cells: dict, *, baseline: bool = False) -> dict:
    """An independent attacker: linear programming over every published figure and relation at once.

    baseline=True gives what exact public figures alone reveal (every other figure unknown).
    """
    keys = list(release.counts)
    index = {k: i for i, k in enumerate(keys)}
    bounds = []
    for k in keys:
        if k in release.exact:
            bounds.append((release.counts[k], release.counts[k]))
            continue
        lo, hi = (0, math.inf) if baseline else _knowledge(cells[k], release.policy)
        bounds.append((lo, None if hi == math.inf else hi))
    rows = []
    for total, parts in release.sums:
        row = np.zeros(len(keys))
        row[index[total]] = -1
        for p in parts:
            row[index[p]] += 1
        rows.append(row)
    a_eq = np.array(rows) if rows else None
    b_eq = np.zeros(len(rows)) if rows else None
    found = {}
    for k in keys:
        if not cells[k].hidden:
            continue
        c = np.zeros(len(keys))
        c[index[k]] = 1
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0, "the true values must be feasible"
        lo = math.ceil(low.fun - 1e-7)
        hi = math.inf if high.status == 3 else math.floor(-high.fun + 1e-7)
        found[k] = (lo, hi)
    return found


@st.composite
def populations(draw):
    """People with a skewed group, a second dimension and a week joined, and a few extra facts."""
    n = draw(st.integers(0, 260))
    groups = draw(st.integers(2, 6))
    weights = draw(st.lists(st.floats(0.01, 1.0), min_size=groups, max_size=groups))
    weeks = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = np.array(weights) / sum(weights)
    group = rng.choice(groups, size=n, p=p)
    week = rng.integers(0, weeks, size=n)
    other = rng.choice(3, size=n, p=[0.8, 0.15, 0.05])
    exact_total = draw(st.booleans())
    return group, week, other, groups, weeks, exact_total


def build(group, week, other, groups: int, weeks: int, exact_total: bool, policy: Policy) -> Release:
    """The tables an inclusion page publishes together: totals, one-way tables, complements, group x week."""
    release = Release(policy)
    n = len(group)
    release.add("total", n, exact=exact_total)
    names = [f"g{g}" for g in range(groups)]
    for g, name in enumerate(names):
        release.add(name, int((group == g).sum()))
        release.add(("rest", name), int((group != g).sum()))  # "everyone else"
        release.add_sum("total", [name, ("rest", name)])
    release.add_sum("total", names)
    others = [f"o{o}" for o in range(3)]
    for o, name in enumerate(others):
        release.add(name, int((other == o).sum()))
    release.add_sum("total", others)
    for w in range(weeks):
        release.add(("week", w), int((week == w).sum()))
    release.add_sum("total", [("week", w) for w in range(weeks)])
    small = []
    for g, name in enumerate(names):
        row = []
        for w in range(weeks):
            key = (name, w)
            release.add(key, int(((group == g) & (week == w)).sum()))
            row.append(key)
        release.add_sum(name, row)
        if (group == g).sum() < policy.min_group:
            small += row
    for w in range(weeks):
        release.add_sum(("week", w), [(name, w) for name in names])
    release.withhold(small)
    return release


def _check(release: Release) -> int:
    """Protect a release, attack it, and return how many hidden cells were attacked (all must hold)."""
    cells = release.protect()
    for key, cell in cells.items():
        if not cell.hidden and key not in release.exact:
            assert cell.value % POLICY.rounding == 0 and cell.value >= POLICY.min_count
    attacked = lp_attack(release, cells)
    already = lp_attack(release, cells, baseline=True)
    for key, (lo, hi) in attacked.items():
        # A cell the exact public figures alone pin (an empty population) reveals nothing new.
        needed = min(POLICY.protection, already[key][1] - already[key][0] + 1)
        assert hi - lo + 1 >= needed, f"{key} pinned to {lo}..{hi}"
    return len(attacked)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_disclosure_no_hidden_cell_recoverable_by_any_subtraction(population) -> None:
    _check(build(*population, POLICY))


def test_disclosure_seeded_sweep_for_the_promise_line(promise) -> None:
    """A fixed sweep of skewed populations (the figure printed at the end of the run)."""
    rng = np.random.default_rng(2021)
    tables = hidden = 0
    for _ in range(40):
        n, groups, weeks = int(rng.integers(5, 250)), int(rng.integers(2, 7)), int(rng.integers(1, 5))
        p = rng.dirichlet(np.full(groups, 0.6))
        population = (rng.choice(groups, size=n, p=p), rng.integers(0, weeks, size=n),
                      rng.choice(3, size=n, p=[0.8, 0.15, 0.05]), groups, weeks, bool(rng.integers(0, 2)))
        hidden += _check(build(*population, POLICY))
        tables += 1
    promise(f"disclosure: {tables} generated populations, {hidden} hidden cells attacked by linear "
            "programming, 0 recoverable")


def test_disclosure_groups_under_20_have_no_breakdown() -> None:
    assert one_way({"a": 12, "b": 7}, 19) is None
    cells = one_way({"a": 12, "b": 8}, 20)
    assert cells["a"].label == "10" and cells["b"].label == "<10"


@pytest.mark.parametrize(("value", "shown"), [(10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (1234, 1235)])
def test_disclosure_rounds_to_nearest_five(value: int, shown: int) -> None:
    assert round_count(value, 5) == shown


@pytest.mark.parametrize("change", [{"min_count": 5}, {"rounding": 1}, {"min_group": 10}, {"protection": 1}])
def test_disclosure_thresholds_can_only_be_raised(change: dict) -> None:
    with pytest.raises(ValueError):
        Policy(**change)
    raised = Policy(min_count=20, rounding=10, min_group=50)
    assert one_way({"a": 15, "b": 40}, 55, policy=raised)["a"].label == "<20"


def test_disclosure_single_small_cell_beside_an_exact_total_gets_a_partner() -> None:
    release = Release(POLICY)
    release.add("total", 22, exact=True)
    release.add("a", 12)
    release.add("b", 10)
    release.add("c", 0)
    release.add_sum("total", ["a", "b", "c"])
    cells = release.protect()
    attacked = lp_attack(release, cells)
    assert all(hi - lo + 1 >= POLICY.protection for lo, hi in attacked.values())


def _pinned_one_by_one(release: Release, hidden: set) -> list:
    """The verdict without the probes: every hidden cell's own minimum and maximum by linear programming."""
    keys = list(release.counts)
    index = {k: i for i, k in enumerate(keys)}
    known = release._shown_bounds(hidden)
    bounds = [(known[k][0], None if known[k][1] == math.inf else known[k][1]) for k in keys]
    a_eq = np.zeros((len(release.sums), len(keys)))
    for row, (total, parts) in enumerate(release.sums):
        a_eq[row, index[total]] -= 1
        for p in parts:
            a_eq[row, index[p]] += 1
    pinned = []
    for key in sorted(hidden, key=repr):
        c = np.zeros(len(keys))
        c[index[key]] = 1
        low = linprog(c, A_eq=a_eq, b_eq=np.zeros(len(release.sums)), bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=np.zeros(len(release.sums)), bounds=bounds, method="highs")
        if low.status != 0 or high.status == 3:
            continue
        if math.floor(-high.fun + 1e-7) - math.ceil(low.fun - 1e-7) + 1 < release.policy.protection:
            pinned.append(key)
    return pinned


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations(), st.data())
def test_disclosure_probe_shortcut_finds_exactly_the_cells_one_by_one_finds(population, data) -> None:
    # The probes that keep the inclusion page fast must not change a single verdict.
    release = build(*population, POLICY)
    candidates = sorted(release.counts, key=repr)
    hidden = {k for k in candidates if release.counts[k] < POLICY.min_count} | set(release.forced)
    hidden |= set(data.draw(st.lists(st.sampled_from(candidates), max_size=4))) if candidates else set()
    hidden -= release.exact
    assert sorted(release._lp_pinned(hidden), key=repr) == _pinned_one_by_one(release, hidden)
