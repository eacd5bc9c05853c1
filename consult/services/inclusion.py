"""Who is being heard: each equality dimension among registrants or active contributors against a reference.

Everything a page shows comes out of one disclosure-controlled ``Release`` per view (every dimension's table,
the over-time table and their totals together), so no figure can be worked out from another on the page.
Shares, ratios and intervals are computed from the published (rounded) counts only.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from ..models import (
    AHP_PROFESSIONS,
    PREFER_NOT,
    PROFESSION_LABELS,
    Comment,
    Consultation,
    Idea,
    OfflineEvent,
    ParticipantProfile,
    Phase,
    ReferenceShare,
    User,
    Vote,
    utcnow,
)
from . import equality
from .disclosure import Policy, Release, share
from .errors import Invalid

CENSUS = "England, Census 2021 (ONS, Census Day 21 March 2021; Open Government Licence v3.0)"
HCPC = "HCPC Register snapshot, 1 January 2025 (UK-wide), and General Osteopathic Council, 1 January 2020"
UNDER = 0.8
REGION_NOTE = ("Regions come from the first part of the postcode: each postcode area is given to the English "
               "region where most of it lies, so districts near a regional border may be counted in a "
               "neighbouring region.")
ARTS = ("art_therapist", "drama_therapist", "music_therapist")


@dataclass(frozen=True)
class Dimension:
    """One comparison: where its answers come from, its categories, and its reference."""

    key: str
    title: str
    question: str  # the equality question it reads ("" = derived)
    categories: tuple[tuple[str, str], ...]
    file: str
    reference: dict[str, str]  # our category -> the reference file's category
    plural: dict[str, str] = field(default_factory=dict)  # how a flag names a group
    source: str = CENSUS


def _labels(key: str) -> tuple[tuple[str, str], ...]:
    return equality.BY_KEY[key].options


ETHNIC_HIGH_CODES = tuple((g, g) for g, _ in equality.ETHNIC_GROUPS)
DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("age_band", "Age", "age_band", _labels("age_band"), "age.csv",
              {"under_18": "Under 18", "18_24": "18-24", "25_34": "25-34", "35_44": "35-44", "45_54": "45-54",
               "55_64": "55-64", "65_74": "65-74", "75_plus": "75 and over"},
              {"under_18": "people under 18", "75_plus": "people aged 75 and over",
               **{c: f"people aged {t.replace(' to ', ' to ')}" for c, t in _labels("age_band")[1:-1]}}),
    Dimension("sex", "Sex", "sex", _labels("sex"), "sex.csv", {"female": "Female", "male": "Male"},
              {"female": "women", "male": "men"}),
    Dimension("gender_same", "Gender identity the same as sex registered at birth", "gender_same",
              _labels("gender_same"), "gender_identity.csv",
              {"yes": "Gender identity the same as sex registered at birth",
               "no": "Gender identity different from sex registered at birth (any category)"},
              {"no": "people whose gender identity differs from their sex registered at birth"}),
    Dimension("ethnic_high", "Ethnic group (5 groups)", "ethnic_group", ETHNIC_HIGH_CODES, "ethnic_group.csv",
              {g: f"{g} (high-level group total)" for g, _ in equality.ETHNIC_GROUPS},
              {g: f"people in the {g} group" for g, _ in equality.ETHNIC_GROUPS}),
    Dimension("ethnic_group", "Ethnic group (19 categories)", "ethnic_group", _labels("ethnic_group"),
              "ethnic_group.csv",
              {"bangladeshi": "Bangladeshi", "chinese": "Chinese", "indian": "Indian", "pakistani": "Pakistani",
               "other_asian": "Other Asian", "african": "African", "caribbean": "Caribbean",
               "other_black": "Other Black", "white_asian": "White and Asian",
               "white_black_african": "White and Black African", "white_black_caribbean": "White and Black Caribbean",
               "other_mixed": "Other Mixed or Multiple ethnic groups",
               "white_british": "English, Welsh, Scottish, Northern Irish or British", "irish": "Irish",
               "gypsy_traveller": "Gypsy or Irish Traveller", "roma": "Roma", "other_white": "Other White",
               "arab": "Arab", "any_other": "Any other ethnic group"}),
    Dimension("disability", "Disability (Equality Act)", "disability", _labels("disability"), "disability.csv",
              {"limited_a_lot": "Day-to-day activities limited a lot",
               "limited_a_little": "Day-to-day activities limited a little",
               "no": "Not disabled under the Equality Act"},
              {"limited_a_lot": "disabled people whose activities are limited a lot",
               "limited_a_little": "disabled people whose activities are limited a little",
               "no": "people who are not disabled"}),
    Dimension("sexual_orientation", "Sexual orientation", "sexual_orientation", _labels("sexual_orientation"),
              "sexual_orientation.csv",
              {"straight": "Straight or Heterosexual", "gay_lesbian": "Gay or Lesbian", "bisexual": "Bisexual",
               "other": "All other sexual orientations (total)"},
              {"gay_lesbian": "gay or lesbian people", "bisexual": "bisexual people",
               "other": "people of another sexual orientation", "straight": "straight people"}),
    Dimension("religion", "Religion", "religion", _labels("religion"), "religion.csv",
              {"none": "No religion", "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu",
               "jewish": "Jewish", "muslim": "Muslim", "sikh": "Sikh", "other": "Other religion"},
              {"none": "people with no religion", **{c: f"{t} people" for c, t in _labels("religion")[1:-1]},
               "other": "people of another religion"}),
    Dimension("unpaid_carer", "Unpaid carers", "unpaid_carer", _labels("unpaid_carer"), "unpaid_care.csv",
              {"yes": "Provides unpaid care (any amount)", "no": "Provides no unpaid care"},
              {"yes": "unpaid carers", "no": "people who are not unpaid carers"}),
    Dimension("region", "Region (from postcode district)", "region",
              tuple((r, r) for r in ("North East", "North West", "Yorkshire and The Humber", "East Midlands",
                                     "West Midlands", "East of England", "London", "South East", "South West")),
              "region.csv", {r: r for r in ("North East", "North West", "Yorkshire and The Humber",
                                            "East Midlands", "West Midlands", "East of England", "London",
                                            "South East", "South West")}),
    Dimension("profession", "Allied health profession (staff and students)", "profession",
              (("arts_therapist", "Art, drama or music therapist"),
               *[(c, t) for c, t in AHP_PROFESSIONS if c not in ARTS]), "ahp_register.csv",
              {"arts_therapist": "Art therapists / drama therapists / music therapists (HCPC profession "
                                 "'Arts therapists', code AS)",
               "podiatrist": "Chiropodists / podiatrists (CH)", "dietitian": "Dietitians (DT)",
               "occupational_therapist": "Occupational therapists (OT)",
               "operating_department_practitioner": "Operating department practitioners (ODP)",
               "orthoptist": "Orthoptists (OR)", "osteopath": "Osteopaths", "paramedic": "Paramedics (PA)",
               "physiotherapist": "Physiotherapists (PH)", "prosthetist_orthotist": "Prosthetists / orthotists (PO)",
               "radiographer": "Radiographers (RA)",
               "speech_language_therapist": "Speech and language therapists (SL)"},
              source=HCPC),
)
BY_DIMENSION = {d.key: d for d in DIMENSIONS}


@cache
def census_counts(file: str) -> dict[str, int]:
    """A shipped reference file as {category: count}."""
    with (equality.REFERENCE_DIR / "census2021" / file).open(newline="", encoding="utf-8") as handle:
        return {row["category"]: int(row["count"]) for row in csv.DictReader(handle)}


def reference_shares(session: Session, consultation_id: int, dim: Dimension) -> tuple[dict[str, float], str]:
    """The reference shares for a dimension (a facilitator's upload if any, else the shipped one) and source."""
    uploaded = session.scalars(select(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id,
                                                            ReferenceShare.dimension == dim.key)).all()
    if uploaded:
        counts = {r.category: r.count for r in uploaded}
        source = f"{uploaded[0].source} (uploaded {uploaded[0].uploaded_at:%d %B %Y})"
    else:
        raw = census_counts(dim.file)
        counts = {code: raw.get(label, 0) for code, label in dim.reference.items()}
        source = dim.source
    total = sum(counts.values())
    return ({code: counts.get(code, 0) / total for code, _ in dim.categories} if total else {}), source


def _value(answers: dict[str, str | None], dim: Dimension, profile_profession: str | None) -> str | None:
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
            counts[_value(a, dim, a.get("_profile_profession")) or "__none__"] += 1
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
        value = _value(a, dim, a.get("_profile_profession"))
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


def wilson(successes: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


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
                    row["interval"] = (lo / ref, hi / ref)
                    ratios.append(row["ratio"])
            elif cell.label.startswith("<") and ref > 0:
                # All we may say is an upper bound from the published "<10".
                upper = (cell_upper(cells, dim, code)) / stated.value / ref
                row["bound"] = upper
        name = dim.plural.get(code, label)
        if row["ratio"] is not None and row["ratio"] < UNDER:
            row["flag"] = f"Under-represented: {name}, {row['ratio']:.1f}x"
        elif row["bound"] is not None and row["bound"] < UNDER:
            row["flag"] = f"Under-represented: {name}, under {max(row['bound'], 0.1):.1f}x"
        if row["flag"]:
            flags.append(row["flag"])
        rows.append(row)
    # Which professions have anyone at all: a profession is not special-category data, and "present" says
    # nothing about how many or who.
    present = [label for code, label in dim.categories if raw.get(code)] if dim.key == "profession" else None
    return {"dimension": dim, "rows": rows, "stated": stated, "source": source,
            "prefer": cells[(dim.key, PREFER_NOT)], "none": cells[(dim.key, "__none__")],
            "other": cells.get((dim.key, "other")), "flags": flags,
            "score": (min(ratios) / max(ratios)) if len(ratios) >= 2 and max(ratios) > 0 else None,
            "lowest": min(rows, key=lambda r: r["ratio"] if r["ratio"] is not None else math.inf)["label"]
            if ratios else None,
            "highest": max(rows, key=lambda r: r["ratio"] if r["ratio"] is not None else -1)["label"]
            if ratios else None,
            "present": present}


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
    if report["offline"]:
        events = report["offline"]
        sentences.append(f"{len(events)} offline session{'s' if len(events) != 1 else ''} (workshops, paper or "
                         f"phone) added {sum(e['contributions'] for e in events)} contributions.")
    return " ".join(sentences)


def _about(value: int | None) -> str:
    """A count in the strategy's style: "Over 3,200"."""
    if value is None:
        return "Fewer than 10"
    if value >= 1000:
        return f"Over {value // 100 * 100:,}"
    return f"{value:,}"


# ------------------------------------------------------------------------------------ reference upload

REFERENCE_COLUMNS = ("dimension", "category", "count")


def reference_template() -> str:
    """A CSV a facilitator fills in to replace a reference: every dimension and category, with England's counts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REFERENCE_COLUMNS)
    for dim in DIMENSIONS:
        raw = census_counts(dim.file)
        for code, _ in dim.categories:
            writer.writerow([dim.key, code, raw.get(dim.reference.get(code, ""), 0)])
    return out.getvalue()


def upload_reference(session: Session, *, consultation_id: int, text: str, source: str) -> dict[str, Any]:
    """Replace references from a CSV, checked row by row; a dimension with any bad row is left unchanged."""
    source = (source or "").strip()
    if not source:
        raise Invalid("There is a problem", {"source": "Say where the figures come from, and their date"})
    if len(source) > 300:
        raise Invalid("There is a problem", {"source": "Keep the source to 300 characters or fewer"})
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error:
        header = []
    if not set(REFERENCE_COLUMNS) <= set(header):
        raise Invalid("There is a problem", {"file": "The file needs the columns dimension, category and count. "
                                                     "Download the template to start from."})
    problems: list[tuple[int, str]] = []
    good: dict[str, dict[str, int]] = defaultdict(dict)
    bad_dims: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        dim = BY_DIMENSION.get(row.get("dimension", ""))
        if dim is None:
            problems.append((number, f"“{row.get('dimension', '')}” is not a dimension we compare"))
            continue
        category = row.get("category", "")
        if category not in dict(dim.categories):
            problems.append((number, f"“{category}” is not a category of {dim.title.lower()}"))
            bad_dims.add(dim.key)
            continue
        count = row.get("count", "").replace(",", "")
        if not count.isdigit():
            problems.append((number, f"the count “{row.get('count', '')}” is not a whole number"))
            bad_dims.add(dim.key)
            continue
        if category in good[dim.key]:
            problems.append((number, f"{category} appears twice for {dim.key}"))
            bad_dims.add(dim.key)
            continue
        good[dim.key][category] = int(count)
    replaced = []
    for key, counts in good.items():
        if key in bad_dims or not sum(counts.values()):
            continue
        session.execute(delete(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id,
                                                     ReferenceShare.dimension == key))
        session.add_all(ReferenceShare(consultation_id=consultation_id, dimension=key, category=c, count=v,
                                       source=source) for c, v in counts.items())
        replaced.append(BY_DIMENSION[key].title)
    session.flush()
    return {"replaced": replaced, "problems": problems,
            "kept": sorted(BY_DIMENSION[k].title for k in bad_dims)}


def reset_reference(session: Session, *, consultation_id: int) -> None:
    """Go back to the shipped Census 2021 and HCPC references."""
    session.execute(delete(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id))


def offline_events_total(session: Session, phase_ids: list[int]) -> int:
    """How many offline events are recorded for these phases."""
    return len(session.scalars(select(OfflineEvent.id).where(OfflineEvent.phase_id.in_(phase_ids))).all())


def profession_label(code: str) -> str:
    """A profession's name."""
    return PROFESSION_LABELS.get(code, code)
