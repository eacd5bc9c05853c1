"""The evidence pack's "how groups and phases differ", per theme, under the site-wide disclosure rule.

``Tally`` counts, during the pack's one pass over the contributions, each person's contributions overall and per
theme (by account id, never written out) and each phase's. Afterwards the participant categories and equality
answers of those people are read for aggregation only (answers are found through the same keyed hash the
inclusion page uses) and handed to ``analysis.theme_differences``, which applies the disclosure rule. Nothing in
the pack joins an answer or a category to a contribution.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from docx.document import Document as DocxDocument
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.disclosure import DEFAULT, Policy
from analysis.stance import Z80
from analysis.theme_differences import NOT_ANSWERED, GroupCell, group_differences, notable, phase_shares

from ..models import CATEGORY_LABELS, CATEGORY_PLURALS, PREFER_NOT, ParticipantProfile
from . import equality, inclusion
from .disclosure import describe_policy
from .exports import ExportContext

PREFER_LABEL = "Prefer not to say"
# The level of the phase shares' intervals, in words, as the analysis pages give it.
SHARE_INTERVAL = "80% interval"
# The 19 ethnic categories are too fine for a page per theme; the five high-level groups are used.
SKIPPED = ("ethnic_group",)


@dataclass
class Tally:
    """Counts gathered in the pass over the contributions.

    People are counted as the analysis page counts them, so the pack and the page agree: over contributions in
    a theme, each in the category (and profession) stamped on their latest contribution, so someone who later
    changed how they take part is counted as they were when they spoke, and each contribution with no account
    (gathered offline, or left by a deleted account) as one person of the category the facilitator recorded.
    """

    person_total: Counter[int] = field(default_factory=Counter)
    # Each person's latest stamp: (when, category, profession).
    person_stamp: dict[int, tuple[Any, str | None, str | None]] = field(default_factory=dict)
    phase_total: Counter[int] = field(default_factory=Counter)
    theme_people: dict[int, Counter[int]] = field(default_factory=dict)
    theme_phase: dict[int, Counter[int]] = field(default_factory=dict)

    def add(self, row: dict[str, Any], themes: list[int]) -> None:
        """Count one contribution (and the themes it is coded to)."""
        self.phase_total[row["_phase_id"]] += 1
        for theme in themes:
            self.theme_phase.setdefault(theme, Counter())[row["_phase_id"]] += 1
        if not themes:
            return
        person = person_key(row)
        self.person_total[person] += 1
        at, before = row.get("_at"), self.person_stamp.get(person)
        if row.get("_author_category") and (before is None or (at is not None and (before[0] is None
                                                                                   or at >= before[0]))):
            self.person_stamp[person] = (at, row["_author_category"], row.get("_author_profession"))
        for theme in themes:
            self.theme_people.setdefault(theme, Counter())[person] += 1


def person_key(row: dict[str, Any]) -> int:
    """The account id, or for a contribution with no account a negative number of its own (one person each)."""
    if row["_author_id"] is not None:
        return int(row["_author_id"])
    number = int(row["id"][1:])
    return -(2 * number + (0 if row["id"][0] == "i" else 1))


@dataclass(frozen=True)
class Dimension:
    """One way of grouping people: its title, how a group is named, and each contributor's group."""

    title: str
    labels: dict[str, str]
    plurals: dict[str, str]
    person_group: dict[int, str]


def _dimensions(session: Session, ctx: ExportContext, tally: Tally) -> list[Dimension]:
    """Participant category, then each equality question in use, with every contributor's group."""
    people = sorted(tally.person_total)
    accounts = [p for p in people if p > 0]
    profiles: dict[int, tuple[str, str | None]] = {}
    for start in range(0, len(accounts), 500):
        for row in session.execute(select(ParticipantProfile.user_id, ParticipantProfile.category,
                                          ParticipantProfile.profession)
                                   .where(ParticipantProfile.user_id.in_(accounts[start:start + 500]))):
            profiles[row.user_id] = (row.category, row.profession)
    stamps = {p: tally.person_stamp.get(p) or (None, *(profiles.get(p) or (None, None))) for p in people}
    categories = {p: stamp[1] for p, stamp in stamps.items()}
    dims = [Dimension("Participant category", dict(CATEGORY_LABELS), dict(CATEGORY_PLURALS),
                      {p: c for p, c in categories.items() if c})]
    secret = ctx.extra.get("key")
    if not secret:
        return dims
    keys = {equality.respondent_key(p, secret): p for p in accounts}
    answers = {keys[row.respondent_key]: {k: getattr(row, k) for k in (*equality.QUESTION_KEYS, "region")}
               for row in equality.rows_for_keys(session, sorted(keys))}
    off = equality.switched_off(session, ctx.consultation.id)
    for dim in inclusion.DIMENSIONS:
        if dim.key in SKIPPED or (dim.question and dim.question in off):
            continue
        groups = {}
        for person in people:
            value = inclusion.group_value(answers.get(person, {}), dim, stamps[person][2])
            if value is not None:
                groups[person] = value
        if not groups:
            continue
        labels = {**dict(dim.categories), PREFER_NOT: PREFER_LABEL, "other": "Other"}
        dims.append(Dimension(dim.title, labels, dict(dim.plural), groups))
    return dims


def differences(session: Session, ctx: ExportContext, tally: Tally, theme_ids: list[int]) -> dict[int, Any]:
    """Per theme: its share of each phase, and each dimension's group figures after disclosure control."""
    policy: Policy = ctx.extra.get("policy") or DEFAULT
    themes = {t: dict(tally.theme_people.get(t, Counter())) for t in theme_ids}
    phases = {pid: tally.phase_total[pid] for pid in sorted(ctx.phases, key=lambda p: ctx.phases[p].position)
              if tally.phase_total[pid]}
    # At the analysis pages' level (80%, as the engine's phase shares), so the pack and the pages agree.
    out: dict[int, Any] = {t: {"phases": phase_shares(tally.theme_phase.get(t, Counter()), phases, Z80), "dims": []}
                           for t in theme_ids}
    for dim in _dimensions(session, ctx, tally):
        per_theme = group_differences(themes, dim.person_group, dict(tally.person_total), 0, {}, policy)
        for t in theme_ids:
            out[t]["dims"].append((dim, per_theme[t]))
    return out


def _pct(value: float | None) -> str:
    """A share as a whole percentage."""
    return "–" if value is None else f"{100 * value:.0f}%"


def group_name(dim: Dimension, cell: GroupCell, plural: bool = False) -> str:
    """ "People aged 75 and over" (plural, for sentences) or "75 and over" (for tables)."""
    if cell.group == NOT_ANSWERED:
        return "did not say" if plural else "Not answered"
    if plural and cell.group in dim.plurals:
        return dim.plurals[cell.group]
    label = dim.labels.get(cell.group, cell.group.replace("_", " "))
    return f"people whose answer was “{label}”" if plural else label


def sentences(dims: list[tuple[Dimension, list[GroupCell]]], overall: float | None) -> list[str]:
    """Plain statements of the clearest group differences ("... raised this more often: 14% ... against 8%")."""
    found = [(dim, cell, way) for dim, cells in dims for cell, way in notable(cells)]
    found.sort(key=lambda f: -abs(f[1].z or 0.0))
    lines = []
    for dim, cell, way in found[:4]:
        name = group_name(dim, cell, plural=True)
        lines.append(f"{name[0].upper()}{name[1:]} ({dim.title.lower()}) raised this {way} often: "
                     f"{_pct(cell.share)} of their contributions against {_pct(overall)} overall.")
    return lines


def write_section(doc: DocxDocument, ctx: ExportContext, found: dict[str, Any], size: int) -> None:
    """The "How groups and phases differ" part of one theme: sentences, a phase table and a group table."""
    doc.add_heading("How groups and phases differ", level=2)
    total = sum(row["total"] for row in found["phases"])
    overall = size / total if total else None
    phases = [r for r in found["phases"] if r["share"] is not None]
    if len(phases) > 1:
        top = max(phases, key=lambda r: r["share"])
        low = min(phases, key=lambda r: r["share"])
        if top["low"] > low["high"]:
            doc.add_paragraph(f"It came up most in {ctx.phase_name(top['phase'])}: {_pct(top['share'])} of that "
                              f"phase's contributions ({SHARE_INTERVAL} {_pct(top['low'])} to {_pct(top['high'])}), "
                              f"against {_pct(low['share'])} in {ctx.phase_name(low['phase'])}.")
        else:
            doc.add_paragraph(f"Its share was much the same in every phase (the {SHARE_INTERVAL}s overlap).")
    lines = sentences(found["dims"], overall)
    for line in lines:
        doc.add_paragraph(line, style="List Bullet")
    if not lines:
        doc.add_paragraph("No group raised this clearly more or less often than everyone else (differences of "
                          "this size could be chance).")
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    head = table.rows[0].cells
    head[0].text, head[1].text = "Phase", "Contributions in this theme"
    head[2].text = f"Share of the phase ({SHARE_INTERVAL})"
    for row in phases:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = ctx.phase_name(row["phase"]), f"{row['n']:,} of {row['total']:,}"
        cells[2].text = f"{_pct(row['share'])} ({_pct(row['low'])} to {_pct(row['high'])})"
    doc.add_paragraph()
    shown = [(dim, cells) for dim, cells in found["dims"] if dim.title == "Participant category"]
    named = {(d.title, c.group) for d, c, _ in
             [(dim, cell, way) for dim, cells in found["dims"] for cell, way in notable(cells)]}
    groups = doc.add_table(rows=1, cols=5)
    groups.style = "Table Grid"
    head = groups.rows[0].cells
    for i, text in enumerate(("Group", "People", "People in this theme", "Contributions in this theme",
                              "Share of the group's contributions")):
        head[i].text = text
    for dim, cells in found["dims"]:
        for cell in cells:
            if (dim, cells) not in shown and (dim.title, cell.group) not in named:
                continue
            row = groups.add_row().cells
            row[0].text = f"{dim.title}: {group_name(dim, cell)}"
            row[1].text, row[2].text, row[3].text = cell.people, cell.theme_people, cell.theme_n
            row[4].text = _pct(cell.share) if cell.share is not None else (cell.reason or "withheld")
    row = groups.add_row().cells
    row[0].text, row[4].text = "Everyone", _pct(overall)
    doc.add_paragraph(describe_policy(ctx.extra.get("policy") or DEFAULT) + " The group table shows participant "
                      "categories and any other group that differs clearly. As on the analysis pages, it counts "
                      "contributions in a theme, each person in the category and profession they posted under (their "
                      "latest contribution's), each contribution gathered offline as one person in the group the "
                      "facilitator recorded, and equality groups from people's answers as they are now.")
