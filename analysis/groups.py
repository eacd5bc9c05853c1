"""Who says what: themes and support broken down by declared group, with disclosure control.

Dimensions are the author's role (``Contribution.author_role``) and every key of ``Contribution.groups``
(profession, region, age band, ...). Voters' groups come from ``Dataset.meta["voters"]``, a map from voter
pseudonym to ``{dimension: value}``, completed by the groups declared on that person's own contributions;
people who declared nothing in a dimension form the group ``"undeclared"``.

For each scope (all phases, then each phase) and dimension, per theme and group:
- ``share``: the group's themed contributions that fall in the theme;
- ``ratio``: smoothed representativeness ``((n_gt+1)/(n_g+2)) / ((n_rest_t+1)/(n_rest+2))`` and ``z``, the
  two-proportion z of the group's share against everyone else's;
- ``support``: ``(A+1)/(S+2)`` over the theme's contributions, ``A`` up-votes from the group's people and
  ``S`` (item, person) pairs of the group's people shown them (people who voted, without impressions);
- per theme, ``consensus`` ``prod_g (A_g+1)/(S_g+2)`` over the declared groups with at least ``min_cell``
  people voting in the scope (high only if every group supports it) and ``division``, the variance and range
  of group support across those groups.

Disclosure control: any figure resting on fewer than ``min_cell`` distinct people is withheld (``None``) and
the cell's ``suppressed`` note says which part and why. Complementary cells and group totals are withheld
too wherever a small one could otherwise be recovered by subtraction from published totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.meta import meta_statements
from analysis.records import Dataset, Interactions, distinct, index_interactions

UNDECLARED = "undeclared"
MIN_CELL = 5
TOP_ITEMS = 10


def group_dimensions(dataset: Dataset) -> list[str]:
    """Declared dimensions: "role" first, then every other dimension seen on contributions or voters."""
    dims: set[str] = set()
    for c in dataset.contributions:
        dims.update(c.groups)
    for declared in (dataset.meta.get("voters") or {}).values():
        dims.update(declared)
    dims.discard("role")
    return ["role", *sorted(dims)]


def two_proportion_z(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """z statistic for x1/n1 against x2/n2 with a pooled standard error (0 where undefined)."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    pooled = np.divide(x1 + x2, n1 + n2, out=np.zeros(np.broadcast(x1, n1).shape), where=(n1 + n2) > 0)
    se = np.sqrt(pooled * (1 - pooled) * (np.divide(1, n1, out=np.zeros_like(pooled), where=n1 > 0)
                                          + np.divide(1, n2, out=np.zeros_like(pooled), where=n2 > 0)))
    diff = np.divide(x1, n1, out=np.zeros_like(pooled), where=n1 > 0) - np.divide(
        x2, n2, out=np.zeros_like(pooled), where=n2 > 0
    )
    return np.divide(diff, se, out=np.zeros_like(pooled), where=(se > 0) & (n1 > 0) & (n2 > 0))


def _withhold_small(people: np.ndarray, totals: np.ndarray, min_cell: int) -> tuple[np.ndarray, np.ndarray]:
    """Which (theme x group) cells and group totals to withhold.

    Primary: fewer than ``min_cell`` people. Complementary: theme sizes and the grand total are published,
    so a row (a theme, or the totals) or a column (a group's themes and its total) with exactly one
    withheld cell that holds people would give it away by subtraction; the smallest shown cell in that line
    is withheld too, repeatedly until no line gives one away. Empty cells need no complement.
    """
    grid = np.vstack([people, totals[None, :]])
    hidden = grid < min_cell
    while True:
        before = int(hidden.sum())
        for lines_hidden, lines_people in ((hidden, grid), (hidden.T, grid.T)):
            for line in range(lines_hidden.shape[0]):
                withheld, counts = lines_hidden[line], lines_people[line]
                shown = np.flatnonzero(~withheld)
                if withheld.sum() == 1 and counts[withheld].sum() > 0 and shown.size:
                    withheld[shown[np.argmin(counts[shown])]] = True
        if int(hidden.sum()) == before:
            return hidden[:-1], hidden[-1]


def _round(value: float) -> float:
    return round(float(value), 4)


class _Scope:
    """Arrays for one scope (all phases or one phase), shared by every dimension."""

    def __init__(self, item_mask: np.ndarray, theme_of_item: np.ndarray, author: np.ndarray,
                 seen: Interactions, n_themes: int) -> None:
        themed = item_mask & (theme_of_item >= 0)
        self.items = np.flatnonzero(themed)
        self.item_theme = theme_of_item[self.items]
        self.item_author = author[self.items]
        pair_in = themed[seen.seen_item]
        self.seen_item = seen.seen_item[pair_in]
        self.seen_person = seen.seen_person[pair_in]
        self.seen_theme = theme_of_item[self.seen_item]
        up = (seen.vote_value == 1) & themed[seen.vote_item]
        self.up_item = seen.vote_item[up]
        self.up_person = seen.vote_person[up]
        self.up_theme = theme_of_item[self.up_item]
        self.n_themes = n_themes
        # Distinct (theme, person) pairs once per scope; each dimension then only relabels people.
        width = max(int(max(author.max(initial=0), seen.seen_person.max(initial=0))) + 1, 1)
        wrote = distinct(self.item_theme * width + self.item_author)
        self.wrote_theme, self.wrote_person = wrote // width, wrote % width
        shown = distinct(self.seen_theme * width + self.seen_person)
        self.shown_theme, self.shown_person = shown // width, shown % width
        self.authors = distinct(self.item_author)
        self.viewers = distinct(self.seen_person)


def _breakdown(scope: _Scope, code: np.ndarray, names: list[str], min_cell: int, top: int) -> dict[str, Any]:
    """Tables for one (scope, dimension): groups, theme cells, consensus and division."""
    g_count, t_count = len(names), scope.n_themes
    declared = np.array([name != UNDECLARED for name in names])
    contributions = np.bincount(code[scope.item_author], minlength=g_count)
    contributors = np.bincount(code[scope.authors], minlength=g_count)
    viewers = np.bincount(code[scope.viewers], minlength=g_count)

    def table(theme: np.ndarray, person: np.ndarray) -> np.ndarray:
        counts = np.bincount(theme * g_count + code[person], minlength=t_count * g_count)
        return counts.reshape(t_count, g_count)

    n_gt = table(scope.item_theme, scope.item_author)
    people_gt = table(scope.wrote_theme, scope.wrote_person)
    a_gt = table(scope.up_theme, scope.up_person)
    s_gt = table(scope.seen_theme, scope.seen_person)
    voters_gt = table(scope.shown_theme, scope.shown_person)

    rest_n = contributions.sum() - contributions
    rest_nt = n_gt.sum(axis=1, keepdims=True) - n_gt
    share = np.divide(n_gt, contributions, out=np.zeros(n_gt.shape), where=contributions > 0)
    ratio = ((n_gt + 1) / (contributions + 2)) / ((rest_nt + 1) / (rest_n + 2))
    z = two_proportion_z(n_gt, np.broadcast_to(contributions, n_gt.shape), rest_nt,
                         np.broadcast_to(rest_n, n_gt.shape))
    support = (a_gt + 1) / (s_gt + 2)
    rest_people = contributors.sum() - contributors
    wrote_hidden, total_hidden = _withhold_small(people_gt, contributors, min_cell)
    # A share (or ratio, or z) beside a shown count gives away the group's total, so it goes with it; the
    # ratio and z also compare with everyone else, so they go when "everyone else" is a handful.
    share_hidden = wrote_hidden | total_hidden[None, :]
    compare_hidden = share_hidden | (rest_people < min_cell)[None, :]
    voted_hidden, voters_hidden = _withhold_small(voters_gt, viewers, min_cell)

    eligible = declared & (viewers >= min_cell)
    groups = [
        {
            "group": name,
            "contributors": None if total_hidden[g] else int(contributors[g]),
            "contributions": None if total_hidden[g] else int(contributions[g]),
            "voters": None if voters_hidden[g] else int(viewers[g]),
            "in_consensus": bool(eligible[g]),
            "suppressed": _note(total_hidden[g], False, False, voters_hidden[g], min_cell),
        }
        for g, name in enumerate(names)
    ]
    themes = []
    for t in range(t_count):
        cells = []
        for g, name in enumerate(names):
            counts_ok, share_ok = not wrote_hidden[t, g], not share_hidden[t, g]
            compare_ok, voted_ok = not compare_hidden[t, g], not voted_hidden[t, g]
            cells.append({
                "group": name,
                "contributors": int(people_gt[t, g]) if counts_ok else None,
                "contributions": int(n_gt[t, g]) if counts_ok else None,
                "share": _round(share[t, g]) if share_ok else None,
                "ratio": _round(ratio[t, g]) if compare_ok else None,
                "z": _round(z[t, g]) if compare_ok else None,
                "voters": int(voters_gt[t, g]) if voted_ok else None,
                "support": _round(support[t, g]) if voted_ok else None,
                "suppressed": _note(not counts_ok, not share_ok, not compare_ok, not voted_ok, min_cell),
            })
        agreeing = eligible & ~voted_hidden[t]
        themes.append({
            "theme": t,
            "cells": cells,
            "consensus": _round(np.prod(support[t, eligible])) if eligible.sum() >= 2 else None,
            "division": _division(support[t, agreeing]),
        })
    return {
        "groups": groups,
        "themes": themes,
        **_item_consensus(scope, code, g_count, eligible, min_cell, top),
    }


def _note(counts: bool, share: bool, compared: bool, voted: bool, min_cell: int) -> str | None:
    """Why figures in a cell are withheld, in words an analyst can pass on."""
    parts = []
    if counts:
        parts.append(f"contributions withheld: under {min_cell} contributors, or protecting a small cell")
    elif share:
        parts.append("share, ratio and z withheld: the group's total is withheld to protect a small group")
    elif compared:
        parts.append(f"ratio and z withheld: under {min_cell} contributors outside this group")
    if voted:
        parts.append(f"support withheld: under {min_cell} people voting, or protecting a small cell")
    return "; ".join(parts) or None


def _division(values: np.ndarray) -> dict[str, float] | None:
    if values.size < 2:
        return None
    return {"variance": _round(np.var(values)), "range": _round(np.ptp(values))}


def _item_consensus(scope: _Scope, code: np.ndarray, g_count: int, eligible: np.ndarray, min_cell: int,
                    top: int) -> dict[str, Any]:
    """Items every eligible group supports, and items where eligible groups differ most."""
    if eligible.sum() < 2 or scope.seen_item.size == 0:
        return {"consensus_items": [], "divisive_items": []}
    items = distinct(scope.seen_item)
    local = np.searchsorted(items, scope.seen_item)
    up_local = np.searchsorted(items, scope.up_item)
    size = items.size * g_count
    shown = np.bincount(local * g_count + code[scope.seen_person], minlength=size)
    shown = shown.reshape(items.size, g_count)
    up = np.bincount(up_local * g_count + code[scope.up_person], minlength=size).reshape(items.size, g_count)
    support = (up + 1) / (shown + 2)
    columns = np.flatnonzero(eligible)
    consensus = np.prod(support[:, columns], axis=1)
    enough = shown[:, columns] >= min_cell
    measured = np.where(enough, support[:, columns], np.nan)
    compared = enough.sum(axis=1) >= 2
    spread = np.full(items.size, -1.0)
    spread[compared] = np.nanmax(measured[compared], axis=1) - np.nanmin(measured[compared], axis=1)
    best = np.argsort(-consensus, kind="stable")[:top]
    split = [i for i in np.argsort(-spread, kind="stable")[:top] if spread[i] >= 0]
    return {
        "consensus_items": [{"item": int(items[i]), "consensus": _round(consensus[i])} for i in best],
        "divisive_items": [
            {"item": int(items[i]), "range": _round(spread[i]),
             "support_by_group": {int(g): _round(support[i, g]) for g in columns if shown[i, g] >= min_cell}}
            for i in split
        ],
    }


def group_breakdown(
    dataset: Dataset,
    primary: Mapping[str, int],
    themes: Sequence[int],
    *,
    seen: Interactions | None = None,
    min_cell: int = MIN_CELL,
    top: int = TOP_ITEMS,
) -> dict[str, Any]:
    """Per scope and dimension: theme shares, representativeness, group support, consensus and division."""
    seen = seen if seen is not None else index_interactions(dataset)
    contributions = dataset.contributions
    ids = [c.id for c in contributions]
    theme_position = {theme: i for i, theme in enumerate(themes)}
    theme_of_item = np.array([theme_position.get(primary.get(i, -1), -1) for i in ids], dtype=np.int64)
    people = {name: i for i, name in enumerate(seen.people)}
    author = np.array([people.setdefault(c.author, len(people)) for c in contributions], dtype=np.int64)
    declared = dataset.voter_groups()
    phases = sorted({c.phase for c in contributions})
    phase_of_item = np.array([c.phase for c in contributions], dtype=object)
    # Meta statements ("I am over 55") describe voters, not opinions: no theme share, consensus or division.
    meta, _ = meta_statements(dataset)
    opinion = np.array([i not in meta for i in ids], dtype=bool)
    masks: list[tuple[str | None, np.ndarray]] = [(None, opinion)]
    if len(phases) > 1:
        masks += [(p, (phase_of_item == p) & opinion) for p in phases]
    scopes = [(p, _Scope(mask, theme_of_item, author, seen, len(themes))) for p, mask in masks]
    person_names = list(people)
    tables = []
    for dim in group_dimensions(dataset):
        values = [declared.get(name, {}).get(dim, UNDECLARED) or UNDECLARED for name in person_names]
        present = set(values)
        names = sorted(present - {UNDECLARED}) + ([UNDECLARED] if UNDECLARED in present else [])
        lookup = {name: i for i, name in enumerate(names)}
        code = np.array([lookup[v] for v in values], dtype=np.int64)
        for phase, scope in scopes:
            table = _breakdown(scope, code, names, min_cell, top)
            for row in table["themes"]:
                row["theme"] = int(themes[row["theme"]])
            for key in ("consensus_items", "divisive_items"):
                for row in table[key]:
                    row["item"] = ids[row["item"]]
                    if "support_by_group" in row:
                        row["support_by_group"] = {names[g]: s for g, s in row["support_by_group"].items()}
            tables.append({"phase": phase, "dimension": dim, **table})
    return {"min_cell": min_cell, "dimensions": group_dimensions(dataset), "tables": tables}


def flatten_cells(breakdown: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (phase, dimension, theme, group) for CSV output."""
    rows = []
    for table in breakdown["tables"]:
        for theme in table["themes"]:
            for cell in theme["cells"]:
                rows.append({"phase": table["phase"] or "all", "dimension": table["dimension"],
                             "theme": theme["theme"], "theme_consensus": theme["consensus"], **cell})
    return rows
