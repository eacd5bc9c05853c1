"""Who is being heard: each equality dimension among registrants or active contributors against a reference.

Everything a page shows comes out of one disclosure-controlled ``Release`` per view (every dimension's table,
the over-time table and their totals together), so no figure can be worked out from another on the page.
Shares, ratios and intervals are computed from the published (rounded) counts only.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from analysis.intervals import wilson

from ..models import (
    PREFER_NOT,
    PROFESSION_LABELS,
    Comment,
    Consultation,
    Idea,
    OfflineEvent,
    ParticipantProfile,
    Phase,
    User,
    Vote,
    utcnow,
)
from . import equality
from .disclosure import Policy, Release, share

# Re-exported: the pages, the CLI and the tests name the dimensions and reference uploads through inclusion.
from .references import (  # noqa: F401
    ARTS,
    BY_DIMENSION,
    CENSUS,
    DIMENSIONS,
    HCPC,
    REFERENCE_COLUMNS,
    Dimension,
    census_counts,
    reference_shares,
    reference_template,
    reset_reference,
    upload_reference,
)
from .text import plural

UNDER = 0.8
REGION_NOTE = ("Regions come from the first part of the postcode: each postcode area is given to the English "
               "region where most of it lies, so districts near a regional border may be counted in a "
               "neighbouring region.")


def group_value(answers: dict[str, str | None], dim: Dimension, profile_profession: str | None) -> str | None:
    """The category a person falls in for this dimension (PREFER_NOT, or None when not answered)."""
    raw = answers.get(dim.question) if answers else None
    if dim.key == "profession":
        raw = raw or profile_profession
        if raw in ARTS:
            return "arts_therapist"
        return raw if raw in dict(dim.categories) or raw == PREFER_NOT else (None if raw is None else "other")
    if dim.key == "ethnic_high" and raw not in (None, PREFER_NOT):
        return equality.ETHNIC_HIGH.get(raw)
    return raw


@dataclass
class Scope:
    """Whose figures: the consultation (or one phase), registrants or active contributors."""

    consultation: Consultation
    phase: Phase | None
    who: str  # "registrants" or "contributors"


def _window(scope: Scope) -> tuple[datetime | None, datetime]:
    """The time span the scope covers."""
    phases = [scope.phase] if scope.phase else list(scope.consultation.phases)
    opens = [p.opens_at for p in phases if p.opens_at]
    closes = [p.closes_at or utcnow() for p in phases]
    return (min(opens) if opens else None), min(max(closes, default=utcnow()), utcnow())


def people(session: Session, scope: Scope) -> dict[int, datetime]:
    """The people in scope, each with when they joined it (registered, or first took part)."""
    phase_ids = [scope.phase.id] if scope.phase else [p.id for p in scope.consultation.phases]
    start, end = _window(scope)
    if scope.who == "registrants":
        rows = session.execute(select(User.id, User.created_at).join(ParticipantProfile)
                               .where(User.role == "participant", User.created_at <= end)).all()
        return {uid: created for uid, created in rows}
    first: dict[int, datetime] = {}
    queries = [
        select(Idea.author_id, Idea.created_at).where(Idea.phase_id.in_(phase_ids), Idea.author_id.is_not(None)),
        select(Comment.author_id, Comment.created_at).where(Comment.phase_id.in_(phase_ids),
                                                            Comment.author_id.is_not(None)),
        select(Vote.voter_id, Vote.created_at).join(Idea, Vote.idea_id == Idea.id).where(Idea.phase_id.in_(phase_ids)),
        select(Vote.voter_id, Vote.created_at).join(Comment, Vote.comment_id == Comment.id)
        .where(Comment.phase_id.in_(phase_ids)),
    ]
    for uid, at in session.execute(union(*queries)).all():
        if uid is not None and (uid not in first or at < first[uid]):
            first[uid] = at
    return first


def _week_start(at: datetime) -> datetime:
    """The Monday of the week a time falls in."""
    day = at.date() - timedelta(days=at.weekday())
    return datetime(day.year, day.month, day.day)


def build_report(session: Session, scope: Scope, *, secret: str, policy: Policy,
                 over_time: str = "age_band") -> dict[str, Any]:
    """Every figure of the inclusion page for one scope, after disclosure control."""
    off = equality.switched_off(session, scope.consultation.id)
    joined = people(session, scope)
    ids = list(joined)
    answers = _answers_with_time(session, ids, joined, secret=secret)
    n = len(ids)
    release = Release(policy)
    release.add("total", n)
    release.add("answered_any", sum(1 for a in answers if any(a[k] not in (None, PREFER_NOT)
                                                              for k in equality.QUESTION_KEYS)))
    release.add("not_answered_any", n - release.counts["answered_any"])
    release.add_sum("total", ["answered_any", "not_answered_any"])
    dims = [d for d in DIMENSIONS if d.question not in off and not (d.key == "region" and "postcode_district" in off)]
    counted: dict[str, Counter[str]] = {}
    for dim in dims:
        counts: Counter[str] = Counter()
        for a in answers:
            counts[group_value(a, dim, a.get("_profile_profession")) or "__none__"] += 1
        counts["__none__"] += n - len(answers)
        keys = [*(c for c, _ in dim.categories), "other", PREFER_NOT, "__none__"] if dim.key == "profession" else \
            [*(c for c, _ in dim.categories), PREFER_NOT, "__none__"]
        for key in keys:
            release.add((dim.key, key), counts.get(key, 0))
        stated = [(dim.key, c) for c, _ in dim.categories]
        release.add((dim.key, "__stated__"), sum(counts.get(c, 0) for c, _ in dim.categories))
        release.add_sum((dim.key, "__stated__"), stated)
        unstated = [(dim.key, k) for k in keys if k not in dict(dim.categories)]
        release.add_sum("total", [(dim.key, "__stated__"), *unstated])
        counted[dim.key] = counts
    chosen = BY_DIMENSION.get(over_time) if over_time in {d.key for d in dims} else None
    trend = _over_time(release, answers, chosen, policy)
    if n < policy.min_group:
        cells = None
    else:
        cells = release.protect()
    return {
        "scope": scope, "policy": policy, "n_cells": cells,
        "total": cells["total"] if cells else None,
        "answered": cells["answered_any"] if cells else None,
        "dimensions": [_dimension_rows(session, scope, dim, cells, counted[dim.key]) for dim in dims]
        if cells else [],
        "trend": _trend_rows(trend, cells) if cells and trend else None,
        "districts": len({a["postcode_district"] for a in answers
                          if a.get("postcode_district") not in (None, PREFER_NOT)}) if cells else None,
        "regions": len({a["region"] for a in answers if a.get("region")}) if cells else None,
        "offline": offline_summary(session, scope),
        "switched_off": sorted(off),
        # Nothing is cached across views except the disclosure check of identical figures, so this is "live".
        "as_at": utcnow(),
    }


def _answers_with_time(session: Session, ids: list[int], joined: dict[int, datetime], *,
                       secret: str) -> list[dict[str, Any]]:
    """Each person's answers with their joining week and declared profession, for aggregation only."""
    profiles = dict(session.execute(select(ParticipantProfile.user_id, ParticipantProfile.profession)
                                    .where(ParticipantProfile.user_id.in_(ids))).all()) if ids else {}
    rows = []
    keys = {equality.respondent_key(uid, secret): uid for uid in ids}
    found = {r.respondent_key: r for r in equality.rows_for_keys(session, list(keys))}
    for key, uid in keys.items():
        row = found.get(key)
        values: dict[str, Any] = {q: getattr(row, q) for q in (*equality.QUESTION_KEYS, "region")} if row else \
            {q: None for q in (*equality.QUESTION_KEYS, "region")}
        values["_week"] = _week_start(joined[uid])
        values["_profile_profession"] = profiles.get(uid)
        rows.append(values)
    return rows


def _over_time(release: Release, answers: list[dict[str, Any]], dim: Dimension | None,
               policy: Policy) -> dict[str, Any] | None:
    """Add people joining per week, by group of one dimension, to the release (groups under 20 withheld)."""
    if dim is None or not answers:
        return None
    weeks = sorted({a["_week"] for a in answers})
    groups = [c for c, _ in dim.categories]
    grid: dict[tuple[str, datetime], int] = defaultdict(int)
    for a in answers:
        value = group_value(a, dim, a.get("_profile_profession"))
        if value in groups:
            grid[(value, a["_week"])] += 1
    small = []
    for g in groups:
        row = [("trend", g, w) for w in weeks]
        for w in weeks:
            release.add(("trend", g, w), grid[(g, w)])
        release.add_sum((dim.key, g), row)
        if release.counts[(dim.key, g)] < policy.min_group:
            small += row
    for w in weeks:
        release.add(("trend_week", w), sum(grid[(g, w)] for g in groups))
        release.add_sum(("trend_week", w), [("trend", g, w) for g in groups])
    release.add_sum((dim.key, "__stated__"), [("trend_week", w) for w in weeks])
    release.withhold(small)
    return {"dimension": dim, "weeks": weeks, "groups": groups}


def _trend_rows(trend: dict[str, Any], cells: dict) -> dict[str, Any]:
    """The over-time table: one row per group, one column per week, plus weekly totals."""
    dim = trend["dimension"]
    labels = dict(dim.categories)
    return {"dimension": dim, "weeks": trend["weeks"],
            "rows": [(labels[g], [cells[("trend", g, w)] for w in trend["weeks"]]) for g in trend["groups"]],
            "totals": [cells[("trend_week", w)] for w in trend["weeks"]]}


def _dimension_rows(session: Session, scope: Scope, dim: Dimension, cells: dict,
                    raw: Counter[str]) -> dict[str, Any]:
    """One dimension's table: share among those who answered, reference share, ratio with interval, flag."""
    reference, source = reference_shares(session, scope.consultation.id, dim)
    stated = cells[(dim.key, "__stated__")]
    rows, ratios, flags = [], [], []
    for code, label in dim.categories:
        cell = cells[(dim.key, code)]
        ref = reference.get(code, 0.0)
        row: dict[str, Any] = {"code": code, "label": label, "cell": cell, "reference": ref, "share": None,
                               "ratio": None, "interval": None, "flag": None, "bound": None}
        if stated.value:
            if not cell.hidden:
                row["share"] = share(cell, stated)
                if ref > 0:
                    lo, hi = wilson(cell.value, stated.value)
                    row["ratio"] = row["share"] / ref
                    row["ratio_text"] = ratio_text(row["ratio"])
                    row["interval"] = (lo / ref, hi / ref)
                    ratios.append(row["ratio"])
            elif cell.label.startswith("<") and ref > 0:
                # All we may say is an upper bound from the published "<10".
                upper = (cell_upper(cells, dim, code)) / stated.value / ref
                row["bound"] = upper
                row["bound_text"] = bound_text(upper)
        name = dim.plural.get(code, label)
        row["flag"] = flag_text(name, row["ratio"], row["bound"])
        if row["flag"]:
            flags.append(row["flag"])
        rows.append(row)
    # Which professions have anyone at all: a profession is not special-category data, and "present" says
    # nothing about how many or who.
    present = [label for code, label in dim.categories if raw.get(code)] if dim.key == "profession" else None
    return {"dimension": dim, "rows": rows, "stated": stated, "source": source,
            "prefer": cells[(dim.key, PREFER_NOT)], "none": cells[(dim.key, "__none__")],
            # Only the profession table has a row beyond its categories (staff outside the allied health
            # professions); elsewhere "other" is one of the categories and already has its row.
            "other": cells.get((dim.key, "other")) if dim.key == "profession" else None, "flags": flags,
            "score": (min(ratios) / max(ratios)) if len(ratios) >= 2 and max(ratios) > 0 else None,
            "lowest": min(rows, key=lambda r: r["ratio"] if r["ratio"] is not None else math.inf)["label"]
            if ratios else None,
            "highest": max(rows, key=lambda r: r["ratio"] if r["ratio"] is not None else -1)["label"]
            if ratios else None,
            "present": present}


def flag_text(name: str, ratio: float | None, bound: float | None) -> str | None:
    """ "Under-represented: men, 0.7x" for a group under UNDER times its reference share, else None."""
    if ratio is not None and ratio < UNDER:
        return f"Under-represented: {name}, {ratio_text(ratio)}"
    if bound is not None and bound < UNDER:
        # Only an upper bound is known (the count was "<10"): rounded up, so "under" stays true.
        return f"Under-represented: {name}, {bound_text(bound)}"
    return None


def ratio_text(ratio: float) -> str:
    """A ratio to its reference share, "0.7x"; just under the line it gets a second decimal ("0.78x", not a
    "0.8x" flagged as under 0.8x)."""
    return f"{ratio:.{2 if ratio < UNDER <= round(ratio, 1) else 1}f}x"


def bound_text(bound: float) -> str:
    """What an upper bound on a ratio allows, rounded up so it stays true: 0.74 is "under 0.8x"."""
    return f"under {max(math.ceil(round(bound * 10, 6)) / 10, 0.1):.1f}x"


def cell_upper(cells: dict, dim: Dimension, code: str) -> int:
    """The largest value a "<10" cell may hold."""
    label = cells[(dim.key, code)].label
    return int(label.lstrip("<")) - 1


def offline_summary(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Offline events in scope: channel, name, date, people reached (as entered) and contributions."""
    from .workshops import event_rows

    phase_ids = [scope.phase.id] if scope.phase else [p.id for p in scope.consultation.phases]
    return event_rows(session, phase_ids)


def summary_paragraph(report: dict[str, Any]) -> str:
    """A paragraph in the style of the strategy's own reporting, from published figures only."""
    total, who = report["total"], report["scope"].who
    if total is None:
        return ""
    noun = "registrants" if who == "registrants" else "active contributors"
    parts = [f"{_about(total.value)} {noun}"]
    if report["districts"]:
        parts[0] += f" in {_about(report['districts'])} postcode districts"
    sentences = [parts[0] + (f" across {report['regions']} of England's 9 regions." if report["regions"] else ".")]
    dims = {d["dimension"].key: d for d in report["dimensions"]}
    facts = []
    # (dimension, categories, count the complement instead, words): complements of a large published cell
    # keep the sentence possible when the small categories are shown as "<10".
    for key, codes, invert, words in (
            ("disability", ("no",), True, "identified as disabled"),
            ("ethnic_group", ("white_british",), True, "were not White British"),
            ("sexual_orientation", ("straight",), True, "were not heterosexual"),
            ("unpaid_carer", ("yes",), False, "were unpaid carers"),
            ("age_band", ("65_74", "75_plus"), False, "were aged 65 or over")):
        d = dims.get(key)
        if not d or not d["stated"].value:
            continue
        shown = [r["cell"] for r in d["rows"] if r["code"] in codes]
        if any(c.hidden for c in shown):
            continue
        fraction = sum(c.value for c in shown) / d["stated"].value
        facts.append(f"{round(100 * (1 - fraction if invert else fraction))}% of those who answered {words}")
    if facts:
        sentences.append("; ".join(facts) + ".")
    prof = dims.get("profession")
    if prof and prof["present"] is not None:
        sentences.append(f"{len(prof['present'])} of the {len(prof['rows'])} allied health professions "
                         "(counting art, drama and music therapists as one) are represented.")
    flags = [f for d in report["dimensions"] for f in d["flags"]]
    if flags:
        sentences.append("Compared with the reference population: " + "; ".join(
            f.replace("Under-represented: ", "") for f in flags[:6]) + " were under-represented.")
    events = [e for e in report["offline"] if e["id"] is not None]
    singles = sum(e["contributions"] for e in report["offline"] if e["id"] is None)
    if events:
        added = plural(sum(e["contributions"] for e in events), "contribution")
        sentences.append(f"{plural(len(events), 'offline session')} (workshops, paper or phone) added {added}"
                         + (f", and facilitators entered {singles:,} more one at a time." if singles else "."))
    elif singles:
        sentences.append(f"Facilitators entered {plural(singles, 'contribution')} gathered at workshops, on paper "
                         "or by phone.")
    return " ".join(sentences)


def _about(value: int | None) -> str:
    """A count in the strategy's style: "Over 3,200"."""
    if value is None:
        return "Fewer than 10"
    if value >= 1000:
        return f"Over {value // 100 * 100:,}"
    return f"{value:,}"


def offline_events_total(session: Session, phase_ids: list[int]) -> int:
    """How many offline events are recorded for these phases."""
    return len(session.scalars(select(OfflineEvent.id).where(OfflineEvent.phase_id.in_(phase_ids))).all())


def profession_label(code: str) -> str:
    """A profession's name."""
    return PROFESSION_LABELS.get(code, code)
