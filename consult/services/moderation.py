"""Moderation rules: automatic holds, reports, the queue and its decisions, author edits and withdrawals.

Every change of a contribution's state goes through ``set_state`` so the published comment count of each
idea stays right, and every staff decision leaves an audit row (the text itself never goes into the audit).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.orm import Session

from ..models import (
    COMMENT_BODY_MAX,
    IDEA_BODY_MAX,
    TITLE_MAX,
    Comment,
    ContributionRevision,
    Idea,
    ModerationCase,
    NetworkSighting,
    Phase,
    Report,
    User,
    utcnow,
)
from . import audit, contributions, screening
from .errors import Conflict, Invalid, NotFound
from .queries import Page, paginate
from .text import require_text, require_title

REPORT_LABELS = {
    "personal": "It names someone or gives personal details",
    "abusive": "It is abusive, offensive or hateful",
    "spam": "It is spam or advertising",
    "off_topic": "It is not about this consultation",
    "safeguarding": "Someone may be at risk of harm",
    "other": "Something else",
}
REASON_LABELS = {
    **{k: v for k, v in REPORT_LABELS.items()},
    "email": "Email address", "phone": "Phone number", "nhs_number": "NHS number", "postcode": "Full postcode",
    "named_person": "Names a person", "abuse": "Abusive language", "self_harm": "Possible self-harm",
    "abuse_disclosure": "Possible abuse disclosure", "patient_safety": "Possible patient safety incident",
    "premoderation": "Pre-moderated phase",
}
SAFEGUARDING_REASONS = ("safeguarding", "self_harm", "abuse_disclosure", "patient_safety")
ACTIONS = ("publish", "hide", "restore", "dismiss")
# A decision as the queue and the case page say it was taken.
DECISION_WORDS = {"publish": "published", "hide": "hidden", "restore": "restored",
                  "dismiss": "reports closed, left as it was"}
REASON_MAX = 200
REDACTED_NOTE = "Edited by a moderator to remove personal details."


def kind_of(item: Idea | Comment) -> str:
    """ "idea" or "comment"."""
    return "idea" if isinstance(item, Idea) else "comment"


def _target(item: Idea | Comment) -> dict[str, int]:
    """The idea_id / comment_id columns that point at this contribution."""
    return {"idea_id": item.id} if isinstance(item, Idea) else {"comment_id": item.id}


def phase_of(session: Session, item: Idea | Comment) -> Phase:
    """The phase a contribution belongs to."""
    phase = session.get(Phase, item.phase_id)
    assert phase is not None
    return phase


def set_state(session: Session, item: Idea | Comment, state: str, *, reason: str | None = None,
              now: datetime | None = None) -> None:
    """Change a contribution's moderation state, keeping the idea's published comment count right."""
    now = now or utcnow()
    before = item.moderation_state
    item.moderation_state = state
    item.moderation_reason = reason
    if state == "published" and item.visible_from is None:
        item.visible_from = now  # exposure starts when others can first see it
    if isinstance(item, Comment) and (before == "published") != (state == "published"):
        delta = 1 if state == "published" else -1
        session.execute(update(Idea).where(Idea.id == item.idea_id)
                        .values(comment_count=Idea.comment_count + delta))


def _case(session: Session, item: Idea | Comment) -> ModerationCase | None:
    """The moderation case of a contribution, if it has one."""
    column = ModerationCase.idea_id if isinstance(item, Idea) else ModerationCase.comment_id
    return session.scalar(select(ModerationCase).where(column == item.id))


def open_case(session: Session, item: Idea | Comment, reasons: tuple[str, ...] | list[str], *,
              reports: int = 0, now: datetime | None = None) -> ModerationCase:
    """Open (or reopen) the contribution's case with these reasons; safeguarding reasons restrict it."""
    now = now or utcnow()
    case = _case(session, item)
    if case is None:
        phase = phase_of(session, item)
        case = ModerationCase(consultation_id=phase.consultation_id, phase_id=phase.id, reason=reasons[0],
                              reasons=[], report_count=0, restricted=False, created_at=now, **_target(item))
        session.add(case)
    case.reasons = sorted(set(case.reasons or []) | set(reasons))
    case.report_count = (case.report_count or 0) + reports
    case.restricted = case.restricted or any(r in SAFEGUARDING_REASONS for r in reasons)
    if case.status != "open":
        case.status, case.decision, case.decided_by_id = "open", None, None
        case.reason = reasons[0]
    case.updated_at = now
    session.flush()
    return case


# --------------------------------------------------------------------------------------- screening


def hold_message(reasons: list[str] | tuple[str, ...]) -> str:
    """Why a contribution is waiting, in plain words for its author."""
    found = screening.Screening(holds=tuple(r for r in reasons if r in screening.HOLD_MESSAGES),
                                safeguarding=tuple(r for r in reasons if r in screening.SAFEGUARDING_MESSAGES))
    if found.held:
        return f"Not published yet because {found.explanation()}."
    return "Not published yet: a moderator checks every post in this phase before it is shown."


def apply_screening(session: Session, item: Idea | Comment, *, phase: Phase, now: datetime | None = None,
                    new: bool = True) -> screening.Screening:
    """Screen a new (or edited) contribution; hold it (with a case) when a check or pre-moderation says so."""
    now = now or utcnow()
    result = screening.screen(item.title if isinstance(item, Idea) else None, item.body)
    reasons = list(result.reasons) or (["premoderation"] if phase.premoderated else [])
    if not reasons:
        return result
    if not new and item.moderation_state == "published":
        set_state(session, item, "held", reason=hold_message(reasons), now=now)
    else:
        item.moderation_state, item.moderation_reason = "held", hold_message(reasons)
        item.visible_from = None
    session.flush()
    case = open_case(session, item, reasons, now=now)
    audit.record(session, None, "moderation.auto_hold", kind_of(item), item.id, reasons=reasons,
                 case_id=case.id, restricted=case.restricted)
    return result


# ----------------------------------------------------------------------------------------- reports


def report(session: Session, user: User, item: Idea | Comment, reason: str | None, note: str | None,
           *, now: datetime | None = None) -> bool:
    """Record one person's report of a contribution; returns False when they had already reported it."""
    now = now or utcnow()
    if reason not in REPORT_LABELS:
        raise Invalid("There is a problem", {"reason": "Select why you are reporting this"})
    text = (note or "").strip()
    if len(text) > 500:
        raise Invalid("There is a problem", {"note": "Details must be 500 characters or fewer"})
    if item.author_id == user.id:
        raise Conflict("You cannot report your own contribution. You can edit or withdraw it instead.")
    if item.moderation_state not in ("published", "hidden"):
        raise NotFound("This is not available")
    target = _target(item)
    stmt = contributions.dialect_insert(session, Report).values(reporter_id=user.id, reason=reason, note=text,
                                                               created_at=now, **target)
    inserted = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["reporter_id", next(iter(target))]).returning(Report.id)
    ).scalar()
    if inserted is None:
        return False
    if item.moderation_state == "published":
        open_case(session, item, [reason], reports=1, now=now)
    return True


def has_reported(session: Session, user: User | None, kind: str, ids: list[int]) -> set[int]:
    """Which of these ideas or comments this person has already reported."""
    if user is None or not ids:
        return set()
    column = Report.idea_id if kind == "idea" else Report.comment_id
    return set(session.scalars(select(column).where(Report.reporter_id == user.id, column.in_(ids))))


# ------------------------------------------------------------------------------------------- queue


@dataclass
class QueueEntry:
    """A case with its contribution, for the queue page."""

    case: ModerationCase
    item: Idea | Comment | None
    kind: str
    phase: Phase | None


def queue(session: Session, consultation_id: int, *, restricted: bool, status: str = "open", reason: str = "",
          state: str = "", phase_id: int | None = None, kind: str = "", page: int = 1,
          per_page: int = 20) -> Page[QueueEntry]:
    """One page of a consultation's moderation cases (the restricted safeguarding ones, or the rest)."""
    stmt = select(ModerationCase).where(ModerationCase.consultation_id == consultation_id,
                                        ModerationCase.restricted.is_(restricted))
    if status in ("open", "closed"):
        stmt = stmt.where(ModerationCase.status == status)
    if reason:
        stmt = stmt.where(or_(ModerationCase.reason == reason,
                              cast(ModerationCase.reasons, String).like(f'%"{reason}"%')))
    if phase_id is not None:
        stmt = stmt.where(ModerationCase.phase_id == phase_id)
    if kind == "idea":
        stmt = stmt.where(ModerationCase.idea_id.is_not(None))
    elif kind == "comment":
        stmt = stmt.where(ModerationCase.comment_id.is_not(None))
    if state:
        ideas = select(Idea.id).where(Idea.moderation_state == state)
        comments = select(Comment.id).where(Comment.moderation_state == state)
        stmt = stmt.where(or_(ModerationCase.idea_id.in_(ideas), ModerationCase.comment_id.in_(comments)))
    stmt = stmt.order_by(ModerationCase.created_at, ModerationCase.id)
    result = paginate(session, stmt, page, per_page)
    idea_ids = [c.idea_id for c in result.items if c.idea_id]
    comment_ids = [c.comment_id for c in result.items if c.comment_id]
    ideas_by = {i.id: i for i in session.scalars(select(Idea).where(Idea.id.in_(idea_ids)))} if idea_ids else {}
    comments_by = ({c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(comment_ids)))}
                   if comment_ids else {})
    phases = {p.id: p for p in session.scalars(select(Phase).where(Phase.consultation_id == consultation_id))}
    entries = [QueueEntry(case=c, item=ideas_by.get(c.idea_id) if c.idea_id else comments_by.get(c.comment_id),
                          kind="idea" if c.idea_id else "comment", phase=phases.get(c.phase_id))
               for c in result.items]
    return Page(items=entries, page=result.page, per_page=result.per_page, total=result.total)


def adopt_unqueued(session: Session, consultation_id: int, *, now: datetime | None = None) -> int:
    """Give held and hidden contributions that have no case (older data, imports, the demo) one, so none is lost."""
    now = now or utcnow()
    added = 0
    for model, column in ((Idea, ModerationCase.idea_id), (Comment, ModerationCase.comment_id)):
        rows = session.execute(
            select(model.id, model.phase_id, model.moderation_state, model.created_at)
            .join(Phase, Phase.id == model.phase_id).outerjoin(ModerationCase, column == model.id)
            .where(Phase.consultation_id == consultation_id, model.moderation_state.in_(("held", "hidden")),
                   ModerationCase.id.is_(None))).all()
        for item_id, phase_id, state, created in rows:
            target = {"idea_id": item_id} if model is Idea else {"comment_id": item_id}
            session.add(ModerationCase(consultation_id=consultation_id, phase_id=phase_id, reason="other",
                                       reasons=["other"], report_count=0, restricted=False,
                                       status="open" if state == "held" else "closed",
                                       decision=None if state == "held" else "hide", created_at=created,
                                       updated_at=now, **target))
            added += 1
    session.flush()
    return added


def queue_counts(session: Session, consultation_ids: list[int]) -> dict[tuple[int, bool], int]:
    """Open cases per (consultation, restricted), counting held posts that get a case when the queue opens."""
    if not consultation_ids:
        return {}
    rows = session.execute(
        select(ModerationCase.consultation_id, ModerationCase.restricted, func.count())
        .where(ModerationCase.consultation_id.in_(consultation_ids), ModerationCase.status == "open")
        .group_by(ModerationCase.consultation_id, ModerationCase.restricted))
    counts = {(cid, bool(restricted)): n for cid, restricted, n in rows}
    # Held posts without a case yet (older data, imports, the demo) wait too: adopt_unqueued queues them.
    for model, column in ((Idea, ModerationCase.idea_id), (Comment, ModerationCase.comment_id)):
        for cid, n in session.execute(
                select(Phase.consultation_id, func.count()).select_from(model)
                .join(Phase, Phase.id == model.phase_id).outerjoin(ModerationCase, column == model.id)
                .where(Phase.consultation_id.in_(consultation_ids), model.moderation_state == "held",
                       ModerationCase.id.is_(None)).group_by(Phase.consultation_id)):
            counts[(cid, False)] = counts.get((cid, False), 0) + n
    return counts


def case_item(session: Session, case: ModerationCase) -> Idea | Comment:
    """The contribution a case is about."""
    item = session.get(Idea, case.idea_id) if case.idea_id else session.get(Comment, case.comment_id)
    if item is None:
        raise NotFound("This contribution no longer exists")
    return item


def case_reports(session: Session, case: ModerationCase) -> list[Report]:
    """The reports behind a case, oldest first (reporters are never shown)."""
    column = Report.idea_id if case.idea_id else Report.comment_id
    return list(session.scalars(select(Report).where(column == (case.idea_id or case.comment_id))
                                .order_by(Report.created_at, Report.id)))


def decide(session: Session, actor: User, case: ModerationCase, action: str, reason: str | None = None,
           *, now: datetime | None = None) -> str:
    """Publish, hide (with a reason shown in place), restore or dismiss one case; returns what happened."""
    now = now or utcnow()
    if action not in ACTIONS:
        raise Invalid("There is a problem", {"action": "Choose what to do"})
    item = case_item(session, case)
    if item.moderation_state == "withdrawn":
        raise Conflict("Its author has withdrawn this contribution, so it cannot be changed.")
    text = " ".join((reason or "").split())
    if action == "hide":
        if not text:
            raise Invalid("There is a problem", {"reason": "Enter the reason to show in place of it"})
        if len(text) > REASON_MAX:
            raise Invalid("There is a problem", {"reason": f"The reason must be {REASON_MAX} characters or fewer"})
        set_state(session, item, "hidden", reason=text, now=now)
    elif action in ("publish", "restore"):
        set_state(session, item, "published", now=now)
    before = case.status
    case.status, case.decision, case.decided_by_id, case.updated_at = "closed", action, actor.id, now
    audit.record(session, actor, f"moderation.{action}", kind_of(item), item.id, case_id=case.id,
                 reason=text or None, from_status=before, restricted=case.restricted)
    return action


def redact(session: Session, actor: User, case: ModerationCase, title: str | None, body: str | None,
           *, now: datetime | None = None) -> None:
    """Edit personal details out of a contribution and publish it; the original is kept for admins only."""
    now = now or utcnow()
    item = case_item(session, case)
    clean = _clean_texts(item, title, body)
    session.add(ContributionRevision(kind="redact", editor_id=actor.id, body=item.body, created_at=now,
                                     title=item.title if isinstance(item, Idea) else None, **_target(item)))
    if isinstance(item, Idea):
        item.title = clean["title"]
    item.body = clean["body"]
    set_state(session, item, "published", reason=REDACTED_NOTE, now=now)
    case.status, case.decision, case.decided_by_id, case.updated_at = "closed", "redact", actor.id, now
    session.flush()
    audit.record(session, actor, "moderation.redact", kind_of(item), item.id, case_id=case.id)


def _clean_texts(item: Idea | Comment, title: str | None, body: str | None) -> dict[str, str]:
    """Checked title and body for an edit, with every problem at once."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    fields = [("body", "the text", IDEA_BODY_MAX if isinstance(item, Idea) else COMMENT_BODY_MAX, body, False)]
    if isinstance(item, Idea):
        fields.insert(0, ("title", "a title", TITLE_MAX, title, True))
    for name, label, limit, value, single in fields:
        try:
            clean[name] = require_title(value, max_length=limit) if name == "title" else \
                require_text(value, field=name, label=label, max_length=limit, single_line=single)
        except Invalid as exc:
            errors.update(exc.field_errors)
    if errors:
        raise Invalid("There is a problem", errors)
    return clean


# ---------------------------------------------------------------------------------------- authors


def editable_until(item: Idea | Comment, window: timedelta) -> datetime | None:
    """Until when the author may still edit a published post (held posts can be edited while held)."""
    return item.created_at + window if item.moderation_state == "published" else None


def can_edit(item: Idea | Comment, user: User | None, window: timedelta, now: datetime | None = None) -> bool:
    """Whether this person may edit it now: their own, held, or published within the edit window."""
    if user is None or item.author_id != user.id:
        return False
    if item.moderation_state == "held":
        return True
    return item.moderation_state == "published" and (now or utcnow()) <= item.created_at + window


def author_edit(session: Session, user: User, item: Idea | Comment, title: str | None, body: str | None, *,
                window: timedelta, now: datetime | None = None) -> screening.Screening:
    """The author's own edit: re-screened, so it is published, or held again with the reason."""
    now = now or utcnow()
    if not can_edit(item, user, window, now):
        raise Conflict("This can no longer be edited. You can still withdraw it.")
    clean = _clean_texts(item, title, body)
    if item.moderation_state == "published":
        session.add(ContributionRevision(kind="author", editor_id=None, body=item.body, created_at=now,
                                         title=item.title if isinstance(item, Idea) else None, **_target(item)))
    if isinstance(item, Idea):
        item.title = clean["title"]
    item.body = clean["body"]
    phase = phase_of(session, item)
    case = _case(session, item)
    restricted_hold = item.moderation_state == "held" and case is not None and case.restricted
    result = screening.screen(item.title if isinstance(item, Idea) else None, item.body)
    if restricted_hold or phase.premoderated:
        # A safeguarding lead (or the pre-moderation moderator) still decides; the edit waits with the case.
        reasons = list(result.reasons) or ["premoderation"]
        open_case(session, item, reasons, now=now)
        item.moderation_reason = hold_message(reasons if result.held or phase.premoderated else case.reasons)
    elif result.held:
        apply_screening(session, item, phase=phase, now=now, new=False)
    elif item.moderation_state == "held":
        set_state(session, item, "published", now=now)
        if case is not None and case.status == "open":
            case.status, case.decision, case.updated_at = "closed", "author_fixed", now
    session.flush()
    return result


def withdraw(session: Session, user: User, item: Idea | Comment, *, now: datetime | None = None) -> None:
    """The author takes their contribution down (at any time); it is hidden from everyone, them included."""
    if item.author_id != user.id:
        raise NotFound("This is not available")
    if item.moderation_state == "withdrawn":
        return
    set_state(session, item, "withdrawn", now=now)
    case = _case(session, item)
    if case is not None and case.status == "open" and not case.restricted:
        case.status, case.decision, case.updated_at = "closed", "withdrawn", now or utcnow()


def set_premoderation(session: Session, actor: User, phase: Phase, on: bool) -> None:
    """Turn pre-moderation of a phase on or off (recorded in the audit log)."""
    if phase.premoderated == on:
        return
    phase.premoderated = on
    audit.record(session, actor, "phase.premoderation", "phase", phase.id, premoderated=on)


# --------------------------------------------------------------------------------------- networks


# Worked out after every vote and post: parsing the address was about a twentieth of a vote's CPU.
@lru_cache(maxsize=4096)
def network_key(secret: str, address: str | None) -> str | None:
    """A coarse, non-identifying key for the sender's network: an HMAC of the /24 (IPv4) or /48 (IPv6)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return hmac.new(secret.encode(), f"net:{network}".encode(), hashlib.sha256).hexdigest()[:32]


def record_network(session: Session, user_id: int, key: str, *, now: datetime | None = None) -> None:
    """Remember that an account was active from a network key (once per account and key)."""
    session.execute(contributions.dialect_insert(session, NetworkSighting)
                    .values(user_id=user_id, network_key=key, first_seen=now or utcnow())
                    .on_conflict_do_nothing(index_elements=["user_id", "network_key"]))


# ------------------------------------------------------------------------------------- public log


def public_log(session: Session, consultation_id: int) -> dict[str, Any]:
    """Counts of moderation decisions by reason and phase: no text, no ids, nothing about anyone."""
    phases = list(session.scalars(select(Phase).where(Phase.consultation_id == consultation_id)
                                  .order_by(Phase.position)))
    rows = session.execute(
        select(ModerationCase.phase_id, ModerationCase.reason, ModerationCase.restricted, ModerationCase.decision,
               ModerationCase.status, func.count())
        .where(ModerationCase.consultation_id == consultation_id)
        .group_by(ModerationCase.phase_id, ModerationCase.reason, ModerationCase.restricted,
                  ModerationCase.decision, ModerationCase.status))
    table: dict[int, dict[str, dict[str, int]]] = {p.id: {} for p in phases}
    for phase_id, reason, restricted, decision, status, n in rows:
        # Safeguarding cases are counted together, so no disclosure can be inferred from its kind.
        label = "Safeguarding concern" if restricted else REASON_LABELS.get(reason, reason)
        outcome = "waiting for a moderator" if status == "open" else {"hide": "hidden", "publish": "published",
                                                       "restore": "published", "redact": "edited and published",
                                                       "dismiss": "left published", "author_fixed":
                                                       "edited by its author", "withdrawn": "withdrawn"}.get(
                                                           decision or "", "closed")
        cell = table.setdefault(phase_id, {}).setdefault(label, {})
        cell[outcome] = cell.get(outcome, 0) + n
    return {"phases": phases, "table": table}
