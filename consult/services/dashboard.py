"""The facilitator dashboard's reads: registered participants by category, and a page of consultations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import CATEGORIES, Consultation, ParticipantProfile, Phase, User
from .queries import Page, paginate


@dataclass(frozen=True)
class Registrants:
    """Registered participants, in all and by the category they declared."""

    total: int
    by_category: dict[str, int] = field(default_factory=dict)


def registrant_counts(session: Session) -> Registrants:
    """Active participant accounts per declared category, in one grouped query."""
    rows = session.execute(
        select(ParticipantProfile.category, func.count())
        .join(User, User.id == ParticipantProfile.user_id)
        .where(User.role == "participant", User.is_active.is_(True))
        .group_by(ParticipantProfile.category)
    ).all()
    counts = dict.fromkeys(CATEGORIES, 0)
    counts.update({category: n for category, n in rows})
    return Registrants(total=sum(counts.values()), by_category=counts)


def consultations_page(session: Session, *, page: int, per_page: int,
                       consultation_ids: list[int] | None = None) -> Page[Consultation]:
    """Consultations (published or not; only these ids unless None), newest first, with phases and topics."""
    stmt = (select(Consultation)
            .options(selectinload(Consultation.phases).selectinload(Phase.topics))
            .order_by(Consultation.created_at.desc(), Consultation.id.desc()))
    if consultation_ids is not None:
        stmt = stmt.where(Consultation.id.in_(consultation_ids))
    return paginate(session, stmt, page, per_page)
