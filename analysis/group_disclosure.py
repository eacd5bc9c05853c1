"""The public form of the group tables: the site-wide disclosure rule applied to ``group_breakdown``.

``disclosed_group_breakdown`` computes the tables with nothing withheld, then publishes them through one
``analysis.disclosure.Release`` per (scope, dimension): contributors per group add up to the scope's
contributors (published exactly elsewhere, so "everyone else" is known); contributions per (theme, group) add
up to each theme's size (published exactly by the themes) and to the group's themed contributions. A cell
with fewer than 10 people is "<10" (its contributions withheld with it); groups of fewer than 20 people get no
breakdown; counts are rounded to 5; shares, ratios and z are recomputed from the rounded counts; support,
consensus and division use only groups of 20 or more voters. Also here: theme shares reweighted to a
reference population (``reweighted_theme_shares``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.disclosure import DEFAULT, FORCED_REASON, Policy, Release
from analysis.groups import UNDECLARED, group_breakdown, two_proportion_z
from analysis.records import Dataset, Interactions


def _count(value: Any) -> int:
    """A raw count from the unsuppressed tables (None there only ever means an empty cell)."""
    return int(value or 0)


def table_release(table: Mapping[str, Any], theme_sizes: Mapping[int, int], contributors: int,
                  policy: Policy = DEFAULT) -> Release:
    """Every count one group table publishes, with the sums that tie them to each other and to totals."""
    release = Release(policy)
    groups = [g["group"] for g in table["groups"]]
    release.add("contributors", contributors, exact=True)
    small = []
    for g in table["groups"]:
        name = g["group"]
        release.add(("contributors", name), _count(g["contributors"]))
        release.add(("voters", name), _count(g["voters"]))
        if _count(g["contributors"]) < policy.min_group:
            small.append(name)
    release.add_sum("contributors", [("contributors", name) for name in groups])
    for name in groups:
        release.add(("contributions", name), 0)
    for row in table["themes"]:
        theme = row["theme"]
        release.add(("theme", theme), int(theme_sizes.get(theme, 0)), exact=True)
        for c in row["cells"]:
            name = c["group"]
            release.add(("people", theme, name), _count(c["contributors"]))
            release.add(("n", theme, name), _count(c["contributions"]))
            release.add(("voters", theme, name), _count(c["voters"]))
            release.counts[("contributions", name)] += _count(c["contributions"])
            if name in small:
                release.withhold([("people", theme, name), ("n", theme, name), ("voters", theme, name)])
            elif _count(c["contributors"]) < policy.min_count:
                # Contributions resting on fewer than 10 people are withheld with the people count.
                release.withhold([("n", theme, name)])
        release.add_sum(("theme", theme), [("n", theme, name) for name in groups])
    for name in groups:
        release.add_sum(("contributions", name), [("n", row["theme"], name) for row in table["themes"]])
    return release


def _shown(cells: Mapping[Any, Any], key: Any) -> int | None:
    """A published (rounded) count, or None when it is hidden."""
    cell = cells[key]
    return None if cell.hidden else int(cell.value)


def _why_hidden(cells: Mapping[Any, Any], theme: int, name: str, small_group: bool, policy: Policy) -> str:
    """Why a (theme, group) cell's contributions are hidden, in the words the evidence pack uses."""
    reason = cells[("n", theme, name)].reason
    # Withheld with a "<10" people count in a group large enough to break down: the cell is small, not the group.
    if reason == FORCED_REASON and not small_group and cells[("people", theme, name)].hidden:
        return f"fewer than {policy.min_count} people"
    return reason


def disclose_table(table: dict[str, Any], theme_sizes: Mapping[int, int], contributors: int,
                   policy: Policy = DEFAULT) -> dict[str, Any]:
    """One group table as it may be published."""
    release = table_release(table, theme_sizes, contributors, policy)
    cells = release.protect()
    names = [g["group"] for g in table["groups"]]
    small = {g["group"] for g in table["groups"] if _count(g["contributors"]) < policy.min_group}
    group_voters = {name: _shown(cells, ("voters", name)) for name in names}
    eligible = [n for n in names if n != UNDECLARED and (group_voters[n] or 0) >= policy.min_group]
    groups = []
    for g in table["groups"]:
        name = g["group"]
        groups.append({**g, "contributors": _shown(cells, ("contributors", name)),
                       "contributions": _shown(cells, ("contributions", name)), "voters": group_voters[name],
                       "in_consensus": name in eligible,
                       "shown_as": {"contributors": cells[("contributors", name)].label,
                                    "voters": cells[("voters", name)].label},
                       "suppressed": None if _count(g["contributors"]) >= policy.min_group else
                       f"no breakdown: fewer than {policy.min_group} people in this group"})
    themes = []
    for row in table["themes"]:
        theme = row["theme"]
        size = int(theme_sizes.get(theme, 0))
        out_cells, supports = [], []
        for c in row["cells"]:
            name = c["group"]
            n = _shown(cells, ("n", theme, name))
            group_n = _shown(cells, ("contributions", name))
            people = _shown(cells, ("people", theme, name))
            voters = _shown(cells, ("voters", theme, name))
            share = ratio = z = None
            if n is not None and group_n:
                share = round(n / group_n, 4)
                total_n = sum(_shown(cells, ("contributions", other)) or 0 for other in names)
                rest_n, rest_t = total_n - group_n, size - n
                if rest_n > 0 and rest_t >= 0:
                    ratio = round(((n + 1) / (group_n + 2)) / ((rest_t + 1) / (rest_n + 2)), 4)
                    z = round(float(two_proportion_z(np.array([n]), np.array([group_n]), np.array([rest_t]),
                                                     np.array([rest_n]))[0]), 4)
            support = c["support"] if name in eligible and voters is not None else None
            if support is not None:
                supports.append(support)
            out_cells.append({"group": name, "contributors": people, "contributions": n, "share": share,
                              "ratio": ratio, "z": z, "voters": voters, "support": support,
                              "shown_as": {"contributors": cells[("people", theme, name)].label,
                                           "contributions": cells[("n", theme, name)].label},
                              "suppressed": None if n is not None else _why_hidden(cells, theme, name, name in small,
                                                                                    policy)})
        consensus = round(float(np.prod(supports)), 4) if len(supports) >= 2 else None
        division = ({"variance": round(float(np.var(supports)), 4), "range": round(float(np.ptp(supports)), 4)}
                    if len(supports) >= 2 else None)
        themes.append({"theme": theme, "cells": out_cells, "consensus": consensus, "division": division})
    divisive = []
    for item in table.get("divisive_items", []):
        by_group = {g: s for g, s in item.get("support_by_group", {}).items() if g in eligible}
        if len(by_group) >= 2:
            divisive.append({**item, "support_by_group": by_group,
                             "range": round(max(by_group.values()) - min(by_group.values()), 4)})
    return {**table, "groups": groups, "themes": themes, "divisive_items": divisive,
            "consensus_items": table.get("consensus_items", []) if len(eligible) >= 2 else []}


def disclosed_group_breakdown(dataset: Dataset, primary: Mapping[str, int], themes: Sequence[int], *,
                              seen: Interactions | None = None, policy: Policy = DEFAULT) -> dict[str, Any]:
    """``group_breakdown`` with the site-wide disclosure rule applied (what pages and exports may show)."""
    raw = group_breakdown(dataset, primary, themes, seen=seen, min_cell=1)
    phase_of = {c.id: c.phase for c in dataset.contributions}
    author_of = {c.id: c.author for c in dataset.contributions}
    wanted = set(themes)
    # Theme sizes and themed authors per scope (all phases, or one), worked out once per scope rather than once
    # per (scope, dimension) table.
    per_scope: dict[str | None, tuple[dict[int, int], int]] = {}
    tables = []
    for table in raw["tables"]:
        scope = table["phase"]
        if scope not in per_scope:
            ids = [i for i in primary if i in phase_of and (scope is None or phase_of[i] == scope)]
            sizes = Counter(primary[i] for i in ids)
            per_scope[scope] = (dict(sizes), len({author_of[i] for i in ids if primary[i] in wanted}))
        sizes, themed_authors = per_scope[scope]
        tables.append(disclose_table(table, sizes, themed_authors, policy))
    return {**raw, "min_cell": policy.min_count, "min_group": policy.min_group, "rounding": policy.rounding,
            "tables": tables}


def reweighted_theme_shares(counts: Mapping[str, Mapping[int, int]], group_sizes: Mapping[str, int],
                            reference: Mapping[str, float], *, policy: Policy = DEFAULT) -> dict[str, Any]:
    """Each theme's share raw and reweighted so every group counts as its share of the reference population.

    ``counts[group][theme]`` is contributions (or people) per theme and group, ``group_sizes[group]`` the
    group's total, ``reference[group]`` the group's share of the reference population. Groups under
    ``min_group`` people cannot be reweighted reliably; they are left out and named, and the reference shares
    of the groups kept are renormalised to add up to 1.
    """
    kept = [g for g, n in group_sizes.items() if n >= policy.min_group and reference.get(g, 0) > 0]
    left_out = sorted(g for g in group_sizes if g not in kept)
    themes = sorted({t for by_theme in counts.values() for t in by_theme})
    total = sum(group_sizes.values())
    weight_sum = sum(reference[g] for g in kept)
    rows = []
    for t in themes:
        raw = sum(counts.get(g, {}).get(t, 0) for g in group_sizes) / total if total else None
        weighted = (sum(reference[g] / weight_sum * counts.get(g, {}).get(t, 0) / group_sizes[g] for g in kept)
                    if kept and weight_sum else None)
        rows.append({"theme": t, "raw_share": None if raw is None else round(raw, 4),
                     "reweighted_share": None if weighted is None else round(weighted, 4)})
    return {"themes": rows, "groups_used": sorted(kept), "groups_left_out": left_out}
