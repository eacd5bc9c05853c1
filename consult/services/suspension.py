"""Suspending an account that breaks the rules: it is logged out everywhere and cannot log in, post or vote.

Moderators suspend the author of a contribution from its case without learning who the author is: the audit
row names the case, not the account. Admins suspend or reinstate a named account from its page. What the
person already posted stays as it was; moderators hide what breaks the rules, post by post.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Comment, Idea, ModerationCase, User
from . import audit, sessions
from .errors import Invalid, NotAllowed

REASON_MAX = 500
REASON_MESSAGE = "Say why the account is suspended"
SUSPENDED_MESSAGE = ("This account is suspended, so it cannot be used to take part. If you think this is a "
                     "mistake, contact the team running the consultation.")


class Suspended(NotAllowed):
    """The right password for a suspended account: say so, rather than "wrong password"."""

    def __init__(self) -> None:
        super().__init__(SUSPENDED_MESSAGE)


def _reason(reason: str | None) -> str:
    """The reason, trimmed; raises Invalid when it is missing or too long."""
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid(REASON_MESSAGE, {"reason": REASON_MESSAGE})
    if len(text) > REASON_MAX:
        message = f"The reason must be {REASON_MAX} characters or fewer (it has {len(text):,})"
        raise Invalid(message, {"reason": message})
    return text


def _stop(session: Session, user: User) -> int:
    """Mark the account suspended and end its sessions on every server; returns how many sessions ended."""
    user.is_active = False
    return sessions.end_all(session, user.id)


def suspend(session: Session, actor: User, user: User, reason: str | None) -> bool:
    """An admin suspends a named account; returns False when it already was (nothing changes)."""
    if actor.role != "admin":
        raise NotAllowed("Only admins can suspend a named account")
    text = _reason(reason)
    if user.id == actor.id:
        raise Invalid("You cannot suspend your own account", {"reason": "You cannot suspend your own account"})
    if not user.is_active:
        return False
    ended = _stop(session, user)
    audit.record(session, actor, "user.suspend", "user", user.id, reason=text, sessions_ended=ended)
    return True


def reinstate(session: Session, actor: User, user: User) -> bool:
    """An admin lets a suspended account log in again; returns False when it was not suspended."""
    if actor.role != "admin":
        raise NotAllowed("Only admins can reinstate an account")
    if user.is_active:
        return False
    user.is_active = True
    audit.record(session, actor, "user.reinstate", "user", user.id)
    return True


def author_state(session: Session, item: Idea | Comment) -> str:
    """What the case page may say of a contribution's author: "none" (offline or erased), "staff",
    "suspended" or "active"; never who they are."""
    author = session.get(User, item.author_id) if item.author_id is not None else None
    if author is None:
        return "none"
    if author.role != "participant":
        return "staff"
    return "active" if author.is_active else "suspended"


def suspend_author(session: Session, actor: User, case: ModerationCase, reason: str | None) -> bool:
    """Suspend the participant who wrote a case's contribution, without naming them to the moderator.

    Returns False when the account was already suspended. Contributions gathered offline have no account;
    staff accounts are suspended by an admin, by name, so a moderator cannot lock out a colleague unseen.
    """
    text = _reason(reason)
    model = Idea if case.idea_id is not None else Comment
    item_id = case.idea_id if case.idea_id is not None else case.comment_id
    author_id = session.scalar(select(model.author_id).where(model.id == item_id))
    author = session.get(User, author_id, with_for_update=True) if author_id is not None else None
    if author is None:
        raise Invalid("This contribution was gathered offline or its author deleted their account, so there is "
                      "no account to suspend.", {"reason": "There is no account to suspend"})
    if author.id == actor.id:
        raise Invalid("This is your own contribution.", {"reason": "This is your own contribution"})
    if author.role != "participant":
        message = "Its author has a staff role: ask an admin, who can suspend staff accounts by name."
        raise Invalid(message, {"reason": message})
    if not author.is_active:
        return False
    ended = _stop(session, author)
    # The case, not the account: the audit log must not tell moderators or admins who wrote what.
    audit.record(session, actor, "case.suspend_author", "case", case.id, reason=text, sessions_ended=ended)
    return True
