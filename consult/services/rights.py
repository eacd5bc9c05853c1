"""Participants' rights: see everything held about you (JSON), and delete your account.

Deleting an account removes the identity (the user row, profile, staff assignments), the equality answers,
votes and the record of what the person was shown. Contributions either stay, with no author, or are
deleted, as the person chooses. Counts on the items they voted on or saw are corrected in the same unit of
work, so nothing shows a vote from a person who no longer exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import publicids
from ..models import (
    Comment,
    ConsultationAssignment,
    Idea,
    Impression,
    ParticipantProfile,
    Phase,
    Topic,
    User,
    Vote,
    VoteEvent,
    utcnow,
)
from . import audit, equality, sessions
from .accounts import WRONG_PASSWORD, authenticate
from .errors import Invalid, NotAllowed

RETENTION = ("Your account and your answers about you are kept until you delete them, or until 12 months after "
             "the last consultation you took part in closes, whichever is sooner.")


def _iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 text."""
    return value.isoformat() if value is not None else None


def data_held(session: Session, user: User, *, secret: str, public_id_key: str) -> dict[str, Any]:
    """Everything the platform holds about this person, as plain JSON-ready data."""

    def pid(kind: str, number: int | None) -> str | None:
        """Ideas and comments by their public ids, as pages show them: database ids would show their order."""
        return None if number is None else publicids.encode(kind, number, key=public_id_key)

    profile = user.profile
    answers = equality.get_answers(session, user_id=user.id, secret=secret)
    ideas = session.execute(
        select(Idea, Topic.title, Phase.title).join(Topic, Idea.topic_id == Topic.id)
        .join(Phase, Idea.phase_id == Phase.id).where(Idea.author_id == user.id).order_by(Idea.id)).all()
    comments = session.scalars(select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)).all()
    votes = session.scalars(select(Vote).where(Vote.voter_id == user.id).order_by(Vote.id)).all()
    seen = session.scalar(select(func.count()).select_from(Impression).where(Impression.viewer_id == user.id))
    assignments = session.scalars(select(ConsultationAssignment).where(ConsultationAssignment.user_id == user.id))
    return {
        "about": "Everything consult holds about you, downloaded on " + utcnow().date().isoformat() + ".",
        "account": {"email": user.email, "role": user.role, "created_at": _iso(user.created_at),
                    "last_login_at": _iso(user.last_login_at),
                    "password": "stored only as a one-way hash, which is not included"},
        "profile": {"category": profile.category if profile else None,
                    "profession": profile.profession if profile else None},
        "equality_answers": None if answers is None else {
            "answers": {key: getattr(answers, key) for key in (*equality.QUESTION_KEYS, "region")},
            "in_words": [{"question": q, "answer": a} for q, a in equality.describe(answers)],
            "consent_to_special_category_data": answers.consent_special,
            "last_changed_on": answers.updated_on.isoformat(),
            "note": "Stored apart from your account and contributions; only counted in aggregate.",
        },
        "ideas": [{"id": pid("idea", idea.id), "phase": phase_title, "topic": topic_title, "title": idea.title,
                   "body": idea.body, "created_at": _iso(idea.created_at), "state": idea.moderation_state}
                  for idea, topic_title, phase_title in ideas],
        "comments": [{"id": pid("comment", c.id), "idea_id": pid("idea", c.idea_id),
                      "reply_to": pid("comment", c.parent_id), "body": c.body,
                      "created_at": _iso(c.created_at), "state": c.moderation_state} for c in comments],
        "votes": [{"idea_id": pid("idea", v.idea_id), "comment_id": pid("comment", v.comment_id), "value": v.value,
                   "updated_at": _iso(v.updated_at)} for v in votes],
        "items_shown_to_you": int(seen or 0),
        "staff_assignments": [{"consultation_id": a.consultation_id, "role": a.role} for a in assignments],
        "retention": RETENTION,
    }


def _recount(session: Session, idea_ids: set[int], comment_ids: set[int]) -> None:
    """Recompute vote and impression counts for the given items only."""
    for model, ids, vote_col, seen_col in ((Idea, idea_ids, Vote.idea_id, Impression.idea_id),
                                           (Comment, comment_ids, Vote.comment_id, Impression.comment_id)):
        if not ids:
            continue
        up = select(func.count()).where(vote_col == model.id, Vote.value == 1).scalar_subquery()
        down = select(func.count()).where(vote_col == model.id, Vote.value == -1).scalar_subquery()
        seen = select(func.count()).where(seen_col == model.id).scalar_subquery()
        session.execute(update(model).where(model.id.in_(sorted(ids)))
                        .values(up_count=up, down_count=down, impression_count=seen))


def posted_counts(session: Session, user: User) -> dict[str, int]:
    """What deleting the account's contributions would remove: its ideas, comments, and others' comments on them."""
    mine = select(Idea.id).where(Idea.author_id == user.id)
    return {
        "ideas": session.scalar(select(func.count()).select_from(mine.subquery())) or 0,
        "comments": session.scalar(select(func.count()).where(Comment.author_id == user.id)) or 0,
        "others": session.scalar(select(func.count()).where(Comment.idea_id.in_(mine),
                                                            Comment.author_id.is_distinct_from(user.id))) or 0,
    }


def delete_account(session: Session, user: User, *, password: str, contributions: str,
                   secret: str) -> dict[str, int]:
    """Erase an account: identity, equality answers, votes; contributions kept anonymous or deleted."""
    errors: dict[str, str] = {}
    if contributions not in ("keep", "delete"):
        errors["contributions"] = "Choose what should happen to what you have posted"
    confirmed, _rehash = authenticate(session, user.email, password) if password else (None, None)
    if not password:
        errors["password"] = "Enter your password to confirm"
    elif confirmed is None or confirmed.id != user.id:
        errors["password"] = WRONG_PASSWORD
    if errors:
        raise Invalid("There is a problem", errors)
    return erase(session, user, contributions=contributions, secret=secret)


def erase_on_request(session: Session, actor: User, user: User, *, contributions: str, typed_email: str,
                     secret: str) -> dict[str, int]:
    """An admin erases an account the person asked to be deleted (by email or letter, or unable to log in)."""
    if actor.role != "admin":
        raise NotAllowed("Only admins can delete someone else's account")
    if user.id == actor.id:
        raise Invalid("There is a problem", {"typed_email": "Delete your own account from Your account"})
    errors: dict[str, str] = {}
    if contributions not in ("keep", "delete"):
        errors["contributions"] = "Choose what should happen to what they posted"
    if " ".join((typed_email or "").split()).lower() != user.email.lower():
        errors["typed_email"] = "Type the account's email address exactly, to confirm which account to delete"
    if errors:
        raise Invalid("There is a problem", errors)
    counts = erase(session, user, contributions=contributions, secret=secret)
    # The id only: the address is the identity being erased, so the audit log does not keep it.
    audit.record(session, actor, "user.erase", "user", user.id, contributions=contributions, **counts)
    return counts


def erase(session: Session, user: User, *, contributions: str, secret: str) -> dict[str, int]:
    """Erase an account whoever asked: identity, equality answers, votes; contributions kept anonymous or deleted."""
    uid = user.id
    voted_ideas = set(session.scalars(select(Vote.idea_id).where(Vote.voter_id == uid, Vote.idea_id.is_not(None))))
    voted_comments = set(session.scalars(select(Vote.comment_id).where(Vote.voter_id == uid,
                                                                       Vote.comment_id.is_not(None))))
    seen_ideas = set(session.scalars(select(Impression.idea_id).where(Impression.viewer_id == uid,
                                                                      Impression.idea_id.is_not(None))))
    seen_comments = set(session.scalars(select(Impression.comment_id).where(Impression.viewer_id == uid,
                                                                            Impression.comment_id.is_not(None))))
    counts = {"equality_answers": equality.withdraw_answers(session, user_id=uid, secret=secret)}
    counts["votes"] = int(session.execute(delete(Vote).where(Vote.voter_id == uid)).rowcount or 0)
    session.execute(delete(Impression).where(Impression.viewer_id == uid))
    # The vote log keeps its anonymous history (needed to re-run analyses), with no link to the person.
    session.execute(update(VoteEvent).where(VoteEvent.voter_id == uid).values(voter_id=None))
    if contributions == "delete":
        parents = set(session.scalars(select(Comment.idea_id).where(Comment.author_id == uid)))
        counts["comments"] = int(session.execute(delete(Comment).where(Comment.author_id == uid)).rowcount or 0)
        counts["ideas"] = int(session.execute(delete(Idea).where(Idea.author_id == uid)).rowcount or 0)
        remaining = select(func.count()).where(Comment.idea_id == Idea.id,
                                               Comment.moderation_state == "published").scalar_subquery()
        if parents:
            session.execute(update(Idea).where(Idea.id.in_(sorted(parents))).values(comment_count=remaining))
    else:
        counts["ideas"] = int(session.execute(update(Idea).where(Idea.author_id == uid)
                                              .values(author_id=None)).rowcount or 0)
        counts["comments"] = int(session.execute(update(Comment).where(Comment.author_id == uid)
                                                 .values(author_id=None)).rowcount or 0)
    session.execute(delete(ParticipantProfile).where(ParticipantProfile.user_id == uid))
    session.execute(delete(ConsultationAssignment).where(ConsultationAssignment.user_id == uid))
    session.expunge(user)
    # Every device is logged out (the rows would go with the account anyway; this does not rely on cascades).
    sessions.end_all(session, uid)
    session.execute(delete(User).where(User.id == uid))
    _recount(session, voted_ideas | seen_ideas, voted_comments | seen_comments)
    return counts
