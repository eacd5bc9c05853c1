"""Changing how someone takes part: the category (and profession) they declared when they registered.

What the category drives, and so what a change has to keep consistent:

- which phases the person may add to (a phase's audience) and whether a staff claim must be verified first
  (``phases.eligibility``): a change of category or profession drops the old verification and checks the
  claim again by the confirmed address's domain, so nobody keeps "verified staff" after switching;
- which equality questions they are asked (``equality.questions_for``): answers to questions no longer asked
  (pay band, profession) are cleared, as saving the questions page does;
- the group their contributions count in: ideas, comments and votes are stamped with the category and
  profession at the time they were posted, so a change applies from now on and never rewrites them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ParticipantProfile, User, utcnow
from . import accounts, audit, equality, ratelimit
from .errors import Invalid
from .ratelimit import Limit, TooManyRequests

# Enough to put a wrong choice right and change again when life changes; not enough to hop between groups
# to get into one phase after another (contributions keep the group they were posted under either way).
CHANGE_USER = (Limit("participation-user-1d", 3, 86400),)


@dataclass(frozen=True)
class Change:
    """What a change did: whether anything changed, the claim's verification before and after, answers cleared."""

    changed: bool
    was_verified: bool = False
    verified: bool = False
    claim_checked: bool = False
    cleared: tuple[str, ...] = ()


def change_participation(session: Session, user: User, category: str, profession: str | None, *, secret: str,
                         staff_domains: str = "", student_domains: str = "",
                         now: datetime | None = None) -> Change:
    """Change the person's declared category and profession; raises Invalid or TooManyRequests."""
    errors = accounts.category_errors(category, profession)
    if errors:
        raise Invalid("There is a problem", errors)
    now = now or utcnow()
    profession = accounts.kept_profession(category, profession)
    profile = user.profile
    if profile is not None:
        # Two submits at once: on PostgreSQL the second waits here for the first, then reads its change and
        # finds nothing to do (SQLite's writers already queue at BEGIN IMMEDIATE).
        session.execute(select(ParticipantProfile.id).where(ParticipantProfile.id == profile.id).with_for_update())
        session.refresh(profile)
    if profile is not None and profile.category == category and profile.profession == profession:
        return Change(changed=False, was_verified=bool(profile.claim_verified_via),
                      verified=bool(profile.claim_verified_via))
    wait = ratelimit.hit(session, CHANGE_USER, f"user:{user.id}", now=now)
    if wait:
        hours = math.ceil(wait / 3600)
        when = "in 1 hour" if hours == 1 else f"in {hours} hours"
        raise TooManyRequests("You have changed how you take part 3 times today. If you need to change it "
                              f"again, you can {when}.", wait)
    if profile is None:
        profile = ParticipantProfile(category=category, profession=profession)
        user.profile = profile
        old_category, old_profession, was_verified = None, None, False
    else:
        old_category, old_profession = profile.category, profile.profession
        was_verified = bool(profile.claim_verified_via)
    profile.category, profile.profession = category, profession
    # The checked claim was for the old group or profession: drop it, then check the new one the way a
    # confirmed address always is (a facilitator's check has to be asked for again).
    profile.claim_verified_via = profile.claim_verified_at = None
    if user.email_confirmed_at is not None:
        accounts.verify_claim_by_email(user, staff_domains=staff_domains, student_domains=student_domains, now=now)
    profile.updated_at = now
    cleared = _clear_answers(session, user.id, secret=secret, category=category, old_profession=old_profession,
                             new_profession=profession)
    verified = bool(profile.claim_verified_via)
    audit.record(session, user, "user.change_participation", "user", user.id,
                 category={"from": old_category, "to": category},
                 profession_changed=old_profession != profession,
                 claim_verified={"from": was_verified, "to": verified})
    session.flush()
    return Change(changed=True, was_verified=was_verified, verified=verified,
                  claim_checked=category in ("staff", "student"), cleared=cleared)


def _clear_answers(session: Session, user_id: int, *, secret: str, category: str, old_profession: str | None,
                   new_profession: str | None) -> tuple[str, ...]:
    """Clear equality answers to questions no longer asked; a profession answer follows a changed profession."""
    row = equality.get_answers(session, user_id=user_id, secret=secret)
    if row is None:
        return ()
    asked = {q.key for q in equality.questions_for(category)}
    cleared, touched = [], False
    for question in equality.QUESTIONS:
        if question.key not in asked and getattr(row, question.key) is not None:
            setattr(row, question.key, None)
            cleared.append(question.key)
    if "profession" in asked and old_profession and row.profession == old_profession != new_profession:
        # The answer said the same as the old profession: it is out of date now, whatever replaces it.
        row.profession, touched = new_profession, True
        if new_profession is None:
            cleared.append("profession")
    if cleared or touched:
        row.updated_on = utcnow().date()
    return tuple(cleared)
