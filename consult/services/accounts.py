"""Accounts: registration, logging in, emailed links (confirm, reset, change of email), passwords and claims."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    CATEGORIES,
    PROFESSION_LABELS,
    STAFF_ROLES,
    AccountToken,
    ParticipantProfile,
    User,
    utcnow,
)
from . import audit, ratelimit, sessions
from .errors import Invalid, NotAllowed
from .passwords import check_password, hash_password, needs_rehash, verify_password
from .suspension import Suspended

__all__ = ["hash_password", "check_password", "verify_password"]

# How long each emailed link works. A reset link is short-lived because it is as good as the password.
TOKEN_LIFETIMES = {"confirm": timedelta(days=7), "reset": timedelta(hours=1), "change_email": timedelta(days=1)}
LINK_EXPIRED = ("This link has expired or has already been used. Links work once, for a limited time: "
                "ask for a new one.")
FORMAT_MESSAGE = "Enter an email address in the correct format, like name@example.com"


def normalise_email(email: str) -> str:
    """Validate an email address's form (no DNS look-up) and return it in lower case."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(FORMAT_MESSAGE, {"email": FORMAT_MESSAGE}) from exc
    return result.normalized.lower()


def check_password_rules(password: str, email: str | None = None) -> None:
    """Raise Invalid unless the password passes every rule (length, common, repeated, own details)."""
    check_password(password, email=email)


def category_errors(category: str, profession: str | None) -> dict[str, str]:
    """The messages for a declared category and profession (registering, or changing them later)."""
    errors: dict[str, str] = {}
    if category not in CATEGORIES:
        errors["category"] = "Select which of these best describes you"
    if category == "staff" and profession not in PROFESSION_LABELS:
        errors["profession"] = "Select your profession"
    if category == "student" and profession and profession not in PROFESSION_LABELS:
        errors["profession"] = "Select the profession you are studying for, or leave it blank"
    if category in CATEGORIES and category not in ("staff", "student") and profession:
        # It used to be dropped without a word: say so, so someone who meant "staff" can choose it.
        errors["profession"] = ("Only health or care staff and students give a profession: choose one of those "
                                "above, or leave the profession blank")
    return errors


def kept_profession(category: str, profession: str | None) -> str | None:
    """The profession stored with a category: students may name the one they study for; nobody else has one."""
    return profession if category in ("staff", "student") and profession else None


@dataclass(frozen=True)
class Registration:
    """What registering did: created a new account, or found the address already has one (say nothing)."""

    user: User
    created: bool


def register(session: Session, email: str, password: str, category: str, profession: str | None) -> Registration:
    """Create an unconfirmed participant account, or find the existing one; the caller answers the same."""
    errors: dict[str, str] = {}
    try:
        email = normalise_email(email)
    except Invalid as exc:
        errors.update(exc.field_errors)
    try:
        check_password(password, email=email if "email" not in errors else None)
    except Invalid as exc:
        errors.update(exc.field_errors)
    errors.update(category_errors(category, profession))
    if errors:
        raise Invalid("There is a problem", errors)
    # Hash before the first query, so no database lock is held while argon2 works, and hash even when
    # the address is taken, so the answer takes the same time either way.
    password_hash = hash_password(password)
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        return Registration(existing, False)
    user = User(email=email, password_hash=password_hash, role="participant")
    user.profile = ParticipantProfile(category=category, profession=kept_profession(category, profession))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Two registrations with the same email at once: the unique constraint decides, and the loser is told
        # the same as anyone whose address was taken.
        session.rollback()
        existing = session.scalar(select(User).where(User.email == email))
        assert existing is not None
        return Registration(existing, False)
    return Registration(user, True)


# A wrong password on a form that asks for it (changing email or password, deleting the account) counts
# against the login back-off of the account, so a session left open cannot be used to guess it.
WRONG_PASSWORD = "Your password is not right"
WRONG_CURRENT_PASSWORD = "Your current password is not right"


def password_wait(session: Session, user: User) -> int:
    """Seconds until this account may be asked for its password again (0 now): the login back-off."""
    return ratelimit.blocked(session, [(ratelimit.LOGIN_ACCOUNT, user.email)])


def count_wrong_password(session: Session, user: User) -> None:
    """Count a wrong password given on a form, as a failed login of the account counts."""
    ratelimit.hit(session, ratelimit.LOGIN_ACCOUNT, user.email)


def authenticate(session: Session, email: str, password: str) -> tuple[User | None, str | None]:
    """The active user with this email and password (or None), and a stronger hash to store if one is due.

    Reads only: the caller records the login in a short write of its own, so argon2 never runs while a
    write lock is held. Raises Suspended for the right password of a suspended account.
    """
    # No format check here: an address that was accepted once (or by an admin) must always be able to log in.
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None, None
    if not user.is_active:
        # Only someone who knows the password learns this; anyone else gets the usual failure.
        raise Suspended()
    return user, hash_password(password) if needs_rehash(user.password_hash) else None


def record_login(session: Session, user: User, new_hash: str | None = None) -> None:
    """Note the time of a successful login (and store a rehashed password) in one short statement."""
    values: dict[str, object] = {"last_login_at": utcnow()}
    if new_hash:
        values["password_hash"] = new_hash
    session.execute(update(User).where(User.id == user.id).values(**values))


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> int:
    """End every session of this account on the server but `keep` (a session secret); returns how many ended."""
    return sessions.end_all(session, user.id, keep=keep)


# -------------------------------------------------------------------------------------- emailed links


def _token_hash(secret: str) -> str:
    """The stored form of a link's secret (a database leak reveals no working link)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, user: User, purpose: str, *, new_email: str | None = None,
                now: datetime | None = None) -> str:
    """A new single-use link secret for this account and purpose; earlier unused ones stop working."""
    now = now or utcnow()
    session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
    ).values(used_at=now))
    secret = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=_token_hash(secret), new_email=new_email,
                             created_at=now, expires_at=now + TOKEN_LIFETIMES[purpose]))
    session.flush()
    return secret


def find_token(session: Session, secret: str, purpose: str, *, now: datetime | None = None) -> AccountToken:
    """The live token for this secret (a read, to show the page behind a link), or Invalid."""
    now = now or utcnow()
    token = session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _token_hash(secret or ""), AccountToken.purpose == purpose))
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise Invalid(LINK_EXPIRED)
    return token


def use_token(session: Session, secret: str, purpose: str, *, now: datetime | None = None) -> AccountToken:
    """Spend a link: one statement marks it used, so two clicks at once cannot both succeed."""
    now = now or utcnow()
    token_id = session.execute(
        update(AccountToken).where(
            AccountToken.token_hash == _token_hash(secret or ""), AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None), AccountToken.expires_at > now,
        ).values(used_at=now).returning(AccountToken.id)
    ).scalar()
    if token_id is None:
        raise Invalid(LINK_EXPIRED)
    token = session.get(AccountToken, token_id)
    assert token is not None
    return token


def _domain_matches(email: str, domains: str) -> bool:
    """Whether the address is at one of the comma-separated domains (or a subdomain of one)."""
    host = email.rpartition("@")[2].lower()
    wanted = [d.strip().lower().lstrip("@.") for d in (domains or "").split(",") if d.strip()]
    return any(host == d or host.endswith("." + d) for d in wanted)


def verify_claim_by_email(user: User, *, staff_domains: str, student_domains: str, now: datetime) -> None:
    """Mark a staff or student claim verified when the confirmed address is at a configured domain."""
    profile = user.profile
    if profile is None or profile.category not in ("staff", "student"):
        return
    domains = staff_domains if profile.category == "staff" else student_domains
    if _domain_matches(user.email, domains):
        profile.claim_verified_via, profile.claim_verified_at = "email_domain", now
    elif profile.claim_verified_via == "email_domain":
        # The address that proved the claim has gone; a facilitator's check does not depend on it.
        profile.claim_verified_via = profile.claim_verified_at = None


def confirm_email(session: Session, secret: str, *, staff_domains: str = "", student_domains: str = "",
                  now: datetime | None = None) -> User:
    """Follow a confirmation link: the account may now take part (and a work address verifies a claim)."""
    now = now or utcnow()
    token = use_token(session, secret, "confirm", now=now)
    user = session.get(User, token.user_id)
    assert user is not None
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    verify_claim_by_email(user, staff_domains=staff_domains, student_domains=student_domains, now=now)
    return user


def request_reset(session: Session, email: str) -> tuple[User, str] | None:
    """A reset link secret for the account with this email, or None (the caller answers the same)."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if user is None or not user.is_active:
        return None
    return user, issue_token(session, user, "reset")


def reset_password(session: Session, secret: str, password_hash: str, *, now: datetime | None = None) -> User:
    """Spend a reset link: set the new password, end every session, and count the address as confirmed."""
    now = now or utcnow()
    token = use_token(session, secret, "reset", now=now)
    user = session.get(User, token.user_id)
    assert user is not None
    user.password_hash = password_hash
    sessions.end_all(session, user.id)
    # Following a link sent to the address proves it, as a confirmation link would.
    user.email_confirmed_at = user.email_confirmed_at or now
    audit.record(session, user, "user.reset_password", "user", user.id)
    return user


def new_password_hash(user: User, current: str, new: str) -> str:
    """Check the current password and the rules for the new one; return the new hash (no database work)."""
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "Enter your current password"
    elif not verify_password(user.password_hash, current):
        errors["current_password"] = WRONG_CURRENT_PASSWORD
    try:
        check_password(new, email=user.email, field="new_password")
    except Invalid as exc:
        errors.update(exc.field_errors)
    if errors:
        raise Invalid("There is a problem", errors)
    return hash_password(new)


def set_password(session: Session, user: User, password_hash: str, *, keep: str | None = None) -> None:
    """Store a new password and end every other session of the account (`keep` names the one that stays)."""
    user.password_hash = password_hash
    sessions.end_all(session, user.id, keep=keep)
    audit.record(session, user, "user.change_password", "user", user.id)


def request_email_change(session: Session, user: User, new_email: str, password: str) -> tuple[str, str | None]:
    """Check the password and the new address; return (address, link secret or None when it is taken)."""
    errors: dict[str, str] = {}
    try:
        new_email = normalise_email(new_email)
    except Invalid as exc:
        errors.update(exc.field_errors)
    if not password:
        errors["password"] = "Enter your password to confirm the change"
    elif not verify_password(user.password_hash, password):
        errors["password"] = WRONG_PASSWORD
    if not errors and new_email == user.email:
        errors["email"] = "This is already your email address"
    if errors:
        raise Invalid("There is a problem", errors)
    taken = session.scalar(select(func.count()).select_from(User).where(User.email == new_email))
    if taken:
        return new_email, None
    return new_email, issue_token(session, user, "change_email", new_email=new_email)


def change_email(session: Session, secret: str, *, staff_domains: str = "", student_domains: str = "",
                 keep: str | None = None, now: datetime | None = None) -> User:
    """Follow the link sent to a new address: it becomes the account's email, and other sessions end."""
    now = now or utcnow()
    token = use_token(session, secret, "change_email", now=now)
    user = session.get(User, token.user_id)
    assert user is not None and token.new_email
    if session.scalar(select(func.count()).select_from(User).where(User.email == token.new_email)):
        raise Invalid("Another account now uses this email address, so it cannot be yours as well.")
    user.email, user.email_confirmed_at = token.new_email, now
    # Whoever knew the old login is logged out; the session that followed the link (`keep`) stays.
    sessions.end_all(session, user.id, keep=keep)
    verify_claim_by_email(user, staff_domains=staff_domains, student_domains=student_domains, now=now)
    audit.record(session, user, "user.change_email", "user", user.id)
    return user


def verify_claim(session: Session, actor: User, user: User, *, now: datetime | None = None) -> None:
    """A facilitator or admin confirms someone's staff or student claim after checking it themselves."""
    if actor.role not in ("facilitator", "admin"):
        raise NotAllowed("Only facilitators can verify staff and student claims")
    profile = user.profile
    if profile is None or profile.category not in ("staff", "student"):
        raise Invalid("Only staff and student claims can be verified")
    profile.claim_verified_via, profile.claim_verified_at = "facilitator", now or utcnow()
    audit.record(session, actor, "user.verify_claim", "user", user.id, category=profile.category)


def create_user(session: Session, email: str, password: str, role: str, *, category: str = "staff",
                profession: str | None = None) -> User:
    """Create an account with a staff role (command line); raises Invalid on bad input."""
    if role not in STAFF_ROLES:
        raise Invalid(f"Role must be one of: {', '.join(STAFF_ROLES)}")
    email = normalise_email(email)
    check_password(password, email=email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Invalid(f"An account with the email {email} already exists")
    # An operator creates staff accounts for addresses they know, so these count as confirmed.
    user = User(email=email, password_hash=hash_password(password), role=role, email_confirmed_at=utcnow())
    user.profile = ParticipantProfile(category=category, profession=profession)
    session.add(user)
    session.flush()
    audit.record(session, None, "user.create", "user", user.id, role=role, via="command line")
    return user


def set_role(session: Session, actor: User, user: User, role: str) -> None:
    """Change a user's staff role (admins only); ends the user's sessions so it takes effect."""
    if actor.role != "admin":
        raise NotAllowed("Only an admin can change roles")
    if role not in STAFF_ROLES:
        raise Invalid("Choose a role from the list")
    if user.id == actor.id and role != "admin":
        raise Invalid("You cannot remove your own admin role; ask another admin")
    if user.role == role:
        return
    audit.record(session, actor, "user.set_role", "user", user.id, from_role=user.role, to_role=role)
    user.role = role
    sessions.end_all(session, user.id)
