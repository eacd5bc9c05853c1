"""Saturation: reading contributions in the order they appeared, when did new themes stop turning up?

A theme counts as found once ``MIN_MEMBERS`` of its contributions have been read (one stray contribution is
not yet a theme). Saturation is reached when no new theme was found in the last ``TAIL`` share of
contributions. The statement is written for a strategy team: whether and when saturation was reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis.events import microseconds
from analysis.records import Contribution

MIN_MEMBERS = 3
TAIL = 0.2
CURVE_POINTS = 200


def _curve_points(found: np.ndarray, limit: int) -> list[list[int]]:
    """(contributions read, themes found) at evenly spaced reads plus every read where a theme was found."""
    n = found.size
    steps = np.unique(np.linspace(1, n, num=min(limit, n)).round().astype(np.int64))
    changes = np.flatnonzero(np.diff(np.concatenate([[0], found]))) + 1
    reads = np.union1d(steps, changes)
    return [[int(r), int(found[r - 1])] for r in reads]


def saturation_curve(
    contributions: Sequence[Contribution],
    primary: Mapping[str, int],
    *,
    min_members: int = MIN_MEMBERS,
    tail: float = TAIL,
    points: int = CURVE_POINTS,
) -> dict[str, Any]:
    """Themes found against contributions read in time order, and a plain statement about saturation."""
    n = len(contributions)
    # Time order, ties by id (a stable sort by id, then by time).
    ids = np.array([c.id for c in contributions], dtype=object)
    moments = np.array([microseconds(c.visible_from) for c in contributions], dtype=np.int64)
    by_id = np.argsort(ids, kind="stable")
    order = by_id[np.argsort(moments[by_id], kind="stable")]
    theme = np.fromiter((-1 if (t := primary.get(c.id)) is None else t for c in contributions), dtype=np.int64,
                        count=n)[order]
    # Where each theme's min_members-th contribution is read: the moment it counts as found.
    themed = np.flatnonzero(theme >= 0)
    grouped = themed[np.argsort(theme[themed], kind="stable")]
    starts = np.flatnonzero(np.concatenate([[True], theme[grouped][1:] != theme[grouped][:-1]])) if grouped.size \
        else np.zeros(0, dtype=np.int64)
    ends = np.append(starts[1:], grouped.size)
    enough = ends - starts >= min_members
    found_at = grouped[starts[enough] + min_members - 1] + 1  # 1-based read positions
    found_after = np.cumsum(np.bincount(found_at - 1, minlength=n)[:n]) if n else np.zeros(0, dtype=np.int64)
    discovered = int(found_at.size)
    last_new = int(found_at.max()) if found_at.size else 0
    result: dict[str, Any] = {
        "min_members": min_members,
        "tail": tail,
        "read": n,
        "themes_found": discovered,
        "last_new_theme_at": last_new or None,
        "saturated": False,
        "curve": _curve_points(found_after, points) if n else [],
    }
    if discovered == 0:
        result["statement"] = (
            f"No theme has {min_members} or more contributions yet, so saturation cannot be judged."
        )
        return result
    saturated = last_new <= n * (1 - tail)
    share = last_new / n
    if saturated:
        statement = (
            f"Saturation reached: the last new theme appeared after {last_new:,} of {n:,} contributions "
            f"({share:.0%}); the {n - last_new:,} after it ({1 - share:.0%}) brought no new theme."
        )
    else:
        statement = (
            f"Not saturated: a new theme appeared after {last_new:,} of {n:,} contributions ({share:.0%}), "
            f"within the last {tail:.0%}; more contributions may still bring new themes."
        )
    result.update({"saturated": saturated, "statement": statement})
    return result
