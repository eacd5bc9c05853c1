"""How groups and phases differ, per theme: shares with intervals, under the site-wide disclosure rule.

Pure: counts in, publishable figures out. Phases are public, so a theme's share of each phase's contributions is
given exactly with a 95% Wilson interval. Groups (participant category, equality answers) are counts of people,
so each dimension's figures for every theme are published together as one ``analysis.disclosure.Release``:
people and contributions per group add up to the published totals, and per theme to the theme's published size
and number of people; a group of fewer than 20 people is not broken down, a theme cell resting on fewer than 10
people is withheld, counts are rounded to 5, and no hidden cell can be worked out by subtraction. Shares are
worked out from the rounded counts only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.disclosure import DEFAULT, Policy, Release
from analysis.intervals import wilson

NOT_ANSWERED = "_not_answered"
# A group "raised this more often" when its share is at least this many times the overall share (or at most its
# inverse for "less often") and the two-proportion z against everyone else is at least 1.96 (5% two-sided), all
# on rounded counts.
RATIO = 1.5
Z = 1.96


def phase_shares(theme_counts: Mapping[Any, int], phase_totals: Mapping[Any, int],
                 z: float = Z) -> list[dict[str, Any]]:
    """Per phase: the theme's contributions, the phase's, the share and its interval (95% unless `z` says otherwise;
    phases in given order)."""
    rows = []
    for phase, total in phase_totals.items():
        n = int(theme_counts.get(phase, 0))
        low, high = wilson(n, total, z)
        rows.append({"phase": phase, "n": n, "total": int(total), "share": n / total if total else None,
                     "low": low, "high": high})
    return rows


def _z(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-proportion z with a pooled standard error (0 when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se if se > 0 else 0.0


@dataclass(frozen=True)
class GroupCell:
    """One group's figures for one theme, as they may be published."""

    group: str
    people: str  # the group's contributors, as shown ("25", "<10")
    theme_people: str  # the group's people in this theme, as shown
    theme_n: str  # the group's contributions in this theme, as shown ("withheld", "<10", "15")
    share: float | None  # of the group's contributions, from rounded counts; None when withheld
    rest_share: float | None
    overall: float | None  # the theme's share of all contributions (published exactly)
    z: float | None
    reason: str | None  # why it is withheld


def dimension_release(themes: Mapping[Any, Mapping[Any, int]], person_group: Mapping[Any, str],
                      person_total: Mapping[Any, int], anonymous: int, theme_anonymous: Mapping[Any, int],
                      policy: Policy = DEFAULT) -> tuple[Release, list[str]]:
    """Every figure one dimension publishes for every theme, with the sums that tie them to published totals.

    ``themes[t][person]`` is a person's contributions in theme t; ``person_group`` maps every contributor to a
    group (``NOT_ANSWERED`` when they did not say); ``person_total`` is each person's contributions; contributions
    with no person (offline) are ``anonymous`` overall and ``theme_anonymous[t]`` per theme, counted as not answered.
    """
    groups = sorted({person_group.get(p, NOT_ANSWERED) for p in person_total} | {NOT_ANSWERED})
    groups = [g for g in groups if g != NOT_ANSWERED] + [NOT_ANSWERED]
    people = {g: 0 for g in groups}
    made = {g: 0 for g in groups}
    for person, n in person_total.items():
        group = person_group.get(person, NOT_ANSWERED)
        people[group] += 1
        made[group] += int(n)
    made[NOT_ANSWERED] += int(anonymous)
    release = Release(policy)
    release.add("people", len(person_total), exact=True)
    release.add("contributions", sum(made.values()), exact=True)
    small = [g for g in groups if people[g] < policy.min_group]
    for g in groups:
        release.add(("people", g), people[g])
        release.add(("n", g), made[g])
    release.add_sum("people", [("people", g) for g in groups])
    release.add_sum("contributions", [("n", g) for g in groups])
    for theme, members in themes.items():
        theme_people = {g: 0 for g in groups}
        theme_made = {g: 0 for g in groups}
        for person, n in members.items():
            group = person_group.get(person, NOT_ANSWERED)
            theme_people[group] += 1
            theme_made[group] += int(n)
        theme_made[NOT_ANSWERED] += int(theme_anonymous.get(theme, 0))
        # The theme's size and people are published exactly beside these figures.
        release.add(("theme_people", theme), len(members), exact=True)
        release.add(("theme_n", theme), sum(theme_made.values()), exact=True)
        for g in groups:
            release.add(("tp", theme, g), theme_people[g])
            release.add(("tn", theme, g), theme_made[g])
            if g in small:
                release.withhold([("tp", theme, g), ("tn", theme, g)])
            elif theme_people[g] < policy.min_count:
                release.withhold([("tn", theme, g)])
        release.add_sum(("theme_people", theme), [("tp", theme, g) for g in groups])
        release.add_sum(("theme_n", theme), [("tn", theme, g) for g in groups])
    return release, groups


def group_differences(themes: Mapping[Any, Mapping[Any, int]], person_group: Mapping[Any, str],
                      person_total: Mapping[Any, int], anonymous: int = 0,
                      theme_anonymous: Mapping[Any, int] | None = None,
                      policy: Policy = DEFAULT) -> dict[Any, list[GroupCell]]:
    """Per theme, each group's published figures for one dimension (see ``dimension_release``)."""
    release, groups = dimension_release(themes, person_group, person_total, anonymous, theme_anonymous or {},
                                        policy)
    cells = release.protect()
    total_n = sum(release.counts[("n", g)] for g in groups)
    out: dict[Any, list[GroupCell]] = {}
    for theme in themes:
        size = release.counts[("theme_n", theme)]
        rows = []
        for g in groups:
            tn, gn = cells[("tn", theme, g)], cells[("n", g)]
            share = rest = z = None
            reason = tn.reason if tn.hidden else None
            if release.counts[("people", g)] < policy.min_group:
                reason = f"not broken down: fewer than {policy.min_group} people"
            elif release.counts[("tp", theme, g)] < policy.min_count:
                reason = f"withheld: fewer than {policy.min_count} people"
            if not tn.hidden and not gn.hidden and gn.value:
                share = tn.value / gn.value
                rest_n, rest_t = total_n - gn.value, size - tn.value
                if rest_n > 0 and rest_t >= 0:
                    rest = rest_t / rest_n
                    z = _z(tn.value, gn.value, rest_t, rest_n)
            rows.append(GroupCell(g, cells[("people", g)].label, cells[("tp", theme, g)].label, tn.label, share,
                                  rest, size / total_n if total_n else None, z, reason))
        out[theme] = rows
    return out


def differs(cell: GroupCell) -> str | None:
    """ "more" or "less" when a group raised a theme clearly more or less often than everyone else, else None."""
    if cell.group == NOT_ANSWERED or cell.share is None or cell.overall is None or cell.z is None:
        return None
    if abs(cell.z) < Z:
        return None
    if cell.z > 0 and cell.share >= RATIO * cell.overall:
        return "more"
    if cell.z < 0 and cell.share * RATIO <= cell.overall:
        return "less"
    return None


def notable(cells: Sequence[GroupCell], limit: int = 3) -> list[tuple[GroupCell, str]]:
    """The groups that differ most clearly (largest |z| first), at most ``limit``."""
    found = [(c, d) for c in cells if (d := differs(c)) is not None]
    return sorted(found, key=lambda pair: -abs(pair[0].z or 0.0))[:limit]
