"""Registration, passwords (argon2) and staff roles."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import CATEGORIES, PROFESSION_LABELS, STAFF_ROLES, ParticipantProfile, User, utcnow
from . import audit
from .errors import Invalid, NotAllowed

PASSWORD_MIN = 10
PASSWORD_MAX = 256
ALREADY_REGISTERED = "An account with this email address already exists. Log in instead."
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so timing does not reveal registered emails."""
    return _hasher.hash("not a real password, used to even out timing")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    """Validate an email address's form (no DNS look-up) and return it in lower case."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("Enter an email address in the correct format, like name@example.com",
                      {"email": "Enter an email address in the correct format, like name@example.com"}) from exc
    return result.normalized.lower()


def check_password_rules(password: str) -> None:
    """Raise Invalid unless the password is long enough and not absurdly long."""
    if len(password) < PASSWORD_MIN:
        message = f"Password must be {PASSWORD_MIN} characters or more"
        raise Invalid(message, {"password": message})
    if len(password) > PASSWORD_MAX:
        message = f"Password must be {PASSWORD_MAX} characters or fewer"
        raise Invalid(message, {"password": message})


def register(session: Session, email: str, password: str, category: str, profession: str | None) -> User:
    """Create a participant account with its declared category; refuse duplicates clearly."""
    errors: dict[str, str] = {}
    try:
        email = normalise_email(email)
    except Invalid as exc:
        errors.update(exc.field_errors)
    try:
        check_password_rules(password)
    except Invalid as exc:
        errors.update(exc.field_errors)
    if category not in CATEGORIES:
        errors["category"] = "Select which of these best describes you"
    if category == "staff" and profession not in PROFESSION_LABELS:
        errors["profession"] = "Select your profession"
    if errors:
        raise Invalid("There is a problem", errors)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Invalid("There is a problem", {"email": ALREADY_REGISTERED})
    user = User(email=email, password_hash=hash_password(password), role="participant")
    user.profile = ParticipantProfile(category=category, profession=profession if category == "staff" else None)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        # Two registrations with the same email at once: the unique constraint decides.
        session.rollback()
        raise Invalid("There is a problem", {"email": ALREADY_REGISTERED}) from exc
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None (same time either way)."""
    # No format check here: an address that was accepted once (or by an admin) must always be able to log in.
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if email else None
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def create_user(session: Session, email: str, password: str, role: str, *, category: str = "staff",
                profession: str | None = None) -> User:
    """Create an account with a staff role (command line); raises Invalid on bad input."""
    if role not in STAFF_ROLES:
        raise Invalid(f"Role must be one of: {', '.join(STAFF_ROLES)}")
    email = normalise_email(email)
    check_password_rules(password)
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
    user.session_version += 1
