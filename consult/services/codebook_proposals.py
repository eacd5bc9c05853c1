"""Proposals for new contributions: where each contribution the codebook has not coded seems to fit, and coding
them as the analyst chose (one numbered change for the whole page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AnalysisRun, Codebook, CodebookMember, CodebookReviewed, CodebookTheme, User
from . import codebook_stale
from .codebook import record_change, snapshot
from .contribution_texts import contribution_texts
from .errors import Invalid
from .text import plural

if TYPE_CHECKING:  # analysis.assign pulls in scikit-learn: imported where proposals are made, not at start-up
    from analysis.assign import Proposal


def member_ids(session: Session, codebook: Codebook) -> set[str]:
    """Every contribution coded to any theme of the codebook, or reviewed as fitting none."""
    coded = set(session.scalars(select(CodebookMember.contribution).join(CodebookTheme)
                                .where(CodebookTheme.codebook_id == codebook.id)))
    return coded | set(session.scalars(select(CodebookReviewed.contribution)
                                       .where(CodebookReviewed.codebook_id == codebook.id)))


def latest_run(session: Session, consultation_id: int) -> AnalysisRun | None:
    """The newest finished analysis of the whole consultation."""
    return session.scalar(select(AnalysisRun).where(
        AnalysisRun.consultation_id == consultation_id, AnalysisRun.state == "done", AnalysisRun.phase_id.is_(None))
        .order_by(AnalysisRun.finished_at.desc(), AnalysisRun.id.desc()).limit(1))


def pending_run(session: Session, consultation_id: int) -> AnalysisRun | None:
    """A whole-consultation analysis waiting or running, if there is one."""
    return session.scalar(select(AnalysisRun).where(
        AnalysisRun.consultation_id == consultation_id, AnalysisRun.phase_id.is_(None),
        AnalysisRun.state.in_(("queued", "running"))).order_by(AnalysisRun.id.desc()).limit(1))


def uncoded_count(session: Session, codebook: Codebook, run: AnalysisRun) -> int:
    """How many contributions of the run the codebook has not yet coded (without computing proposals)."""
    known = member_ids(session, codebook)
    return sum(1 for row in (run.result or {}).get("contributions", []) if row["id"] not in known)


def proposals(session: Session, codebook: Codebook, run: AnalysisRun) -> list[Proposal]:
    """Where each contribution of the run that the codebook has not yet coded seems to fit, surest first."""
    from analysis.assign import Proposal, propose  # scikit-learn comes with it: not at start-up

    known = member_ids(session, codebook)
    result = run.result or {}
    items = {row["id"]: row["text"] for row in result.get("contributions", []) if row["id"] not in known}
    if not items:
        return []
    # What the analysis set aside as saying nothing specific ("Thanks", "Agreement without a point of its own")
    # fits none of the themes, however many words it happens to share with one.
    aside = {c: bucket.get("label") or bucket.get("name") or "Set aside"
             for bucket in result.get("themes", {}).get("set_aside") or [] for c in bucket.get("contributions", [])}
    found = [Proposal(c, None, "none", 1.0, 0.0, None, 0.0, set_aside=aside[c]) for c in items if c in aside]
    active = [t for t in codebook.themes if t.state == "active"]
    texts = contribution_texts(session, [m.contribution for t in active for m in t.members])
    themes = {t.id: [texts[m.contribution]["text"] for m in t.members if m.contribution in texts] for t in active}
    found += propose(themes, {c: text for c, text in items.items() if c not in aside})
    order = {"fits": 0, "unsure": 1, "none": 2}
    return sorted(found, key=lambda p: (order[p.verdict], bool(p.set_aside), -p.confidence))


def none_accepted_in_bulk() -> bool:
    """Whether "none of these" proposals are chosen for the analyst (see analysis.assign: the evidence says no)."""
    from analysis.assign import NONE_ACCEPTED_IN_BULK

    return NONE_ACCEPTED_IN_BULK


def apply_proposals(session: Session, *, actor: User, codebook: Codebook, choices: dict[str, str]) -> int:
    """Code contributions as the analyst chose (theme id, "none" = fits none, "" = decide later); returns how many.

    A choice of a theme that someone merged, split away or put out of scope since the page was drawn is refused
    (``Stale``, nothing saved), with every choice given back: a merged theme's moved to where its contributions
    went, the others left to decide again.
    """
    codebook_stale.lock(session, codebook)
    known = member_ids(session, codebook)
    every = {t.id: t for t in codebook.themes}
    themes = {i: t for i, t in every.items() if t.state == "active"}
    decided = {c: v for c, v in choices.items() if v and c not in known}
    for choice in decided.values():
        if choice != "none" and (not (choice.isascii() and choice.isdigit()) or int(choice) not in every):
            raise Invalid("There is a problem", {"choices": "One of the chosen themes is not in the codebook"})
    moved = {int(v) for v in decided.values() if v != "none" and int(v) not in themes}
    if moved:
        raise codebook_stale.stale_choices(session, [every[i] for i in sorted(moved)], choices)
    if not decided:
        return 0
    before = snapshot([themes[int(v)] for v in set(decided.values()) if v != "none"])
    coded = 0
    for contribution, choice in decided.items():
        if choice == "none":
            session.add(CodebookReviewed(codebook_id=codebook.id, contribution=contribution))
        else:
            themes[int(choice)].members.append(CodebookMember(contribution=contribution, source="proposal"))
            coded += 1
    before["reviewed"] = [c for c, v in decided.items() if v == "none"]
    none = len(decided) - coded
    record_change(session, codebook, actor, "code",
                  f"Coded {plural(coded, 'new contribution')}; {none} marked as fitting none of the themes", before,
                  coded=coded, none=none)
    return len(decided)
