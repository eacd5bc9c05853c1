"""Theme shares reweighted to the reference population: what a sample shaped like England would have said.

Each contribution of a finished analysis counts in its main theme and in its author's group for one equality
dimension (age band by default). The counts are published through one disclosure ``Release`` (groups under
20 people get no breakdown, counts under 10 are "<10", others are rounded to 5, and no hidden figure can be
worked out from the others); the reweighted shares are then worked out by ``reweighted_theme_shares`` from
the published figures only. Where a figure is hidden, the share is given as the range every value the label
allows would give, so the page reveals nothing the counts do not. Answers are read in aggregate only:
nothing here returns a contribution beside an answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.disclosure import INF, SECONDARY_REASON, Cell, attack
from analysis.group_disclosure import reweighted_theme_shares

from ..models import PREFER_NOT, AnalysisRun, Comment, Idea, ParticipantProfile
from . import equality, inclusion
from .disclosure import Policy, Release

DEFAULT_DIMENSION = "age_band"
# Professions are compared with the AHP workforce, not the population, so they are not a reweighting target.
CHOICES = tuple(d for d in inclusion.DIMENSIONS if d.key != "profession")
UNSTATED = "__unstated__"  # prefer not to say, not answered, or gathered offline (no author)
UNTHEMED = "__none__"
EXPLANATION = ("Reweighted shares show what a sample shaped like England's population would have said: each "
               "group's contributions count in proportion to the group's share of the reference population "
               "rather than its share of the people who took part.")


def dimensions(session: Session, consultation_id: int) -> list[inclusion.Dimension]:
    """The dimensions an analyst can reweight by (questions a facilitator switched off are left out)."""
    off = equality.switched_off(session, consultation_id)
    return [d for d in CHOICES if d.question not in off and not (d.key == "region" and "postcode_district" in off)]


def _authors(session: Session, ids: list[str]) -> dict[str, int | None]:
    """Each contribution's author account (None for one gathered offline), read in chunks."""
    found: dict[str, int | None] = {}
    for prefix, model in (("i", Idea), ("c", Comment)):
        numbers = [int(i[1:]) for i in ids if i.startswith(prefix) and i[1:].isdigit()]
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            for key, author in session.execute(select(model.id, model.author_id).where(model.id.in_(chunk))):
                found[f"{prefix}{key}"] = author
    return found


def _groups(session: Session, people: list[int], dim: inclusion.Dimension, secret: str) -> dict[int, str]:
    """Each author's group for the dimension (UNSTATED when they preferred not to say or did not answer)."""
    professions = {}
    for start in range(0, len(people), 500):
        professions.update(session.execute(select(ParticipantProfile.user_id, ParticipantProfile.profession)
                                           .where(ParticipantProfile.user_id.in_(people[start:start + 500]))).all())
    keys = {equality.respondent_key(uid, secret): uid for uid in people}
    answers = {keys[r.respondent_key]: r for r in equality.rows_for_keys(session, list(keys))}
    codes = dict(dim.categories)
    out = {}
    for uid in people:
        row = answers.get(uid)
        values = {q: getattr(row, q) for q in (*equality.QUESTION_KEYS, "region")} if row else {}
        value = inclusion.group_value(values, dim, professions.get(uid))
        out[uid] = value if value in codes and value != PREFER_NOT else UNSTATED
    return out


def _known(cells: Mapping[Any, Cell], release: Release) -> dict[Any, tuple[float, float]]:
    """What the published figures tell anyone about each count, narrowed through every sum (``attack``).

    Publishing a hidden count's range worked out this way reveals nothing: anyone can work it out.
    """
    policy, half = release.policy, release.policy.rounding // 2
    bounds: dict[Any, tuple[float, float]] = {}
    for key, cell in cells.items():
        if key in release.exact:
            bounds[key] = (cell.value, cell.value)  # type: ignore[assignment]
        elif not cell.hidden:
            bounds[key] = (max(policy.min_count, cell.value - half), cell.value + half)  # type: ignore[operator]
        elif cell.label.startswith("<"):
            bounds[key] = (0, policy.min_count - 1)
        elif cell.reason == SECONDARY_REASON:
            bounds[key] = (policy.min_count, INF)
        else:
            bounds[key] = (0, INF)
    return attack(bounds, release.sums)


def _range(cell: Cell, known: tuple[float, float], ceiling: int) -> tuple[int, int]:
    """The value to use for a figure: as published when shown; the range anyone can work out when hidden."""
    if not cell.hidden:
        return int(cell.value), int(cell.value)  # type: ignore[arg-type]
    low, high = known
    return int(min(max(low, 0), ceiling)), int(min(high, ceiling))


def theme_shares(session: Session, run: AnalysisRun, *, dimension: str, secret: str,
                 policy: Policy) -> dict[str, Any]:
    """Each theme's raw share and its share reweighted to the reference population, under disclosure control."""
    dim = inclusion.BY_DIMENSION[dimension]
    result = run.result or {}
    labels = {t["id"]: t["label"] for t in result.get("themes", {}).get("themes", [])}
    themes = list(labels)
    rows = result.get("contributions", [])
    authors = _authors(session, [r["id"] for r in rows])
    group_of = _groups(session, sorted({a for a in authors.values() if a is not None}), dim, secret)
    names = [c for c, _ in dim.categories] + [UNSTATED]
    n: dict[tuple[str, Any], int] = defaultdict(int)
    people: dict[str, set[Any]] = defaultdict(set)
    cell_people: dict[tuple[str, Any], set[Any]] = defaultdict(set)
    for row in rows:
        author = authors.get(row["id"])
        group = group_of.get(author, UNSTATED) if author is not None else UNSTATED
        theme = row.get("theme") if row.get("theme") in labels else UNTHEMED
        who = author if author is not None else row["id"]  # each offline item stands for its own people
        n[(group, theme)] += 1
        people[group].add(who)
        cell_people[(group, theme)].add(who)

    # Empty groups and an empty "not themed" column are left out: an exact zero total would pin its cells
    # and make the disclosure check withhold their neighbours for nothing.
    present = [g for g in names if people[g]]
    columns = [*themes, *([UNTHEMED] if any(n[(g, UNTHEMED)] for g in names) else [])]
    release = Release(policy)
    release.add("contributions", len(rows), exact=True)  # the run page gives this exactly
    release.add("people", len({p for s in people.values() for p in s}), exact=True)
    small = []
    for g in present:
        release.add(("people", g), len(people[g]))
        release.add(("size", g), sum(n[(g, t)] for t in columns))
        parts = []
        for t in columns:
            parts.append(release.add(("n", g, t), n[(g, t)]))
            if len(cell_people[(g, t)]) < policy.min_count:
                small.append(("n", g, t))  # contributions resting on fewer than 10 people
        release.add_sum(("size", g), parts)
        if len(people[g]) < policy.min_group:
            small += [("size", g), *parts]
    release.add_sum("people", [("people", g) for g in present])
    release.add_sum("contributions", [("size", g) for g in present])
    for t in columns:
        release.add(("theme", t), sum(n[(g, t)] for g in names), exact=True)
        release.add_sum(("theme", t), [("n", g, t) for g in present])
    release.withhold(small)
    cells = release.protect()
    known = _known(cells, release)

    reference, source = inclusion.reference_shares(session, run.consultation_id, dim)
    shown_groups = [g for g in present if g != UNSTATED]
    sizes: dict[str, int] = {}
    low: dict[str, dict[Any, int]] = {}
    high: dict[str, dict[Any, int]] = {}
    for g in shown_groups:
        size = cells[("size", g)]
        if size.hidden or len(people[g]) < policy.min_group:
            continue
        sizes[g] = int(size.value)  # type: ignore[arg-type]
        # A group's count for one theme can be no more than the group's (rounded) size.
        spans = {t: _range(cells[("n", g, t)], known[("n", g, t)], sizes[g]) for t in themes}
        low[g] = {t: s[0] for t, s in spans.items()}
        high[g] = {t: s[1] for t, s in spans.items()}
    pure = {"low": reweighted_theme_shares(low, sizes, reference, policy=policy),
            "high": reweighted_theme_shares(high, sizes, reference, policy=policy)}
    total = cells["contributions"].value or 0
    out_rows = []
    by_theme = {k: {r["theme"]: r["reweighted_share"] for r in v["themes"]} for k, v in pure.items()}
    for t in themes:
        lo, hi = by_theme["low"].get(t), by_theme["high"].get(t)
        out_rows.append({"theme": t, "label": labels[t],
                         "raw_share": round(cells[("theme", t)].value / total, 4) if total else None,
                         "reweighted": None if lo is None else (lo, hi), "exact": lo is not None and lo == hi})
    groups = [{"code": g, "label": label,
               "people": cells[("people", g)].label if g in present else policy.small_label,
               "reference": reference.get(g, 0.0),
               "used": g in pure["low"]["groups_used"],
               "why": None if g in pure["low"]["groups_used"] else
               (f"no breakdown: fewer than {policy.min_group} people"
                + ("" if not people[g] or cells[("people", g)].hidden else " before rounding")
                if len(people[g]) < policy.min_group
                else "not in the reference population" if not reference.get(g) else "withheld")}
              for g, label in dim.categories]
    return {"dimension": dim, "source": source, "themes": out_rows, "groups": groups,
            "unstated": cells[("people", UNSTATED)].label if UNSTATED in present else policy.small_label,
            "explanation": EXPLANATION,
            "usable": bool(pure["low"]["groups_used"])}


def figures(report: Mapping[str, Any]) -> list[tuple[str, float | None, float | None, float | None]]:
    """(theme label, raw share, reweighted low, reweighted high) rows, for the workbook."""
    return [(r["label"], r["raw_share"], *(r["reweighted"] or (None, None))) for r in report["themes"]]
