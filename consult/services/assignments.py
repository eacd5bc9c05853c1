"""Staff assignments to consultations: who runs, moderates, analyses or safeguards each one (admins decide)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ASSIGNMENT_ROLES, Consultation, ConsultationAssignment, User, utcnow
from . import audit
from .errors import Invalid, NotAllowed, NotFound

# Which account roles can hold each assignment: the account role says what pages a person can reach,
# the assignment says on which consultations.
FITS: dict[str, tuple[str, ...]] = {
    "facilitator": ("facilitator", "admin"),
    "moderator": ("moderator", "facilitator", "admin"),
    "analyst": ("analyst", "admin"),
    "safeguarding": ("moderator", "facilitator", "analyst", "admin"),
}
ROLE_NAMES = {"facilitator": "facilitator", "moderator": "moderator", "analyst": "analyst",
              "safeguarding": "safeguarding lead"}


def with_article(noun: str) -> str:
    """The noun with "a" or "an" before it: "an analyst", "a facilitator"."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _require_admin(actor: User) -> None:
    """Only admins assign staff."""
    if actor.role != "admin":
        raise NotAllowed("Only admins can assign staff to consultations")


def assignments_of(session: Session, consultation: Consultation) -> list[tuple[ConsultationAssignment, User]]:
    """Everyone assigned to a consultation, by role then email."""
    rows = session.execute(
        select(ConsultationAssignment, User).join(User, User.id == ConsultationAssignment.user_id)
        .where(ConsultationAssignment.consultation_id == consultation.id)
        .order_by(ConsultationAssignment.role, User.email)
    ).all()
    return [(assignment, user) for assignment, user in rows]


def assign_staff(session: Session, actor: User, consultation: Consultation, *, email: str | None,
                 role: str | None) -> tuple[ConsultationAssignment, bool]:
    """Assign a staff member (by email) to a consultation; returns (assignment, created)."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    address = (email or "").strip().lower()
    person = session.scalar(select(User).where(User.email == address)) if address else None
    if not address:
        errors["email"] = "Enter the email address of the person to assign"
    elif person is None:
        errors["email"] = "There is no account with this email address. They need to register first."
    if role not in ASSIGNMENT_ROLES:
        errors["role"] = "Choose what they will do on this consultation"
    elif person is not None and person.role not in FITS[role]:
        errors["role"] = (f"{person.email} is {with_article(person.role)}, so they cannot be "
                          f"{with_article(ROLE_NAMES[role])}. Change their role in Users and roles first.")
    if errors:
        raise Invalid("There is a problem", errors)
    assert person is not None and role is not None
    existing = session.scalar(select(ConsultationAssignment).where(
        ConsultationAssignment.consultation_id == consultation.id, ConsultationAssignment.user_id == person.id,
        ConsultationAssignment.role == role))
    if existing is not None:
        return existing, False
    assignment = ConsultationAssignment(consultation_id=consultation.id, user_id=person.id, role=role,
                                        assigned_by_id=actor.id, created_at=utcnow())
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "consultation.assign", "consultation", consultation.id, user_id=person.id,
                 role=role)
    return assignment, True


def unassign_staff(session: Session, actor: User, consultation: Consultation, assignment_id: int | None) -> User:
    """Remove one assignment from a consultation; returns the person it was for."""
    _require_admin(actor)
    assignment = session.get(ConsultationAssignment, assignment_id) if assignment_id is not None else None
    if assignment is None or assignment.consultation_id != consultation.id:
        raise NotFound("That assignment does not exist. It may have been removed already.")
    person = session.get(User, assignment.user_id)
    assert person is not None
    audit.record(session, actor, "consultation.unassign", "consultation", consultation.id, user_id=person.id,
                 role=assignment.role)
    session.delete(assignment)
    session.flush()
    return person
