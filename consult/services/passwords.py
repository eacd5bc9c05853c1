"""Password hashing (argon2id) and the rules a new password must pass (NIST SP 800-63B section 5.1.1.2)."""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Invalid

PASSWORD_MIN = 10
PASSWORD_MAX = 256
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Hash a password with argon2id (slow on purpose: never call it inside a write transaction)."""
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so the time taken does not reveal which emails exist."""
    return _hasher.hash("not a real password, used to even out timing")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash; takes the same time when there is no hash to check."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker settings than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, in lower case (consult/data/ATTRIBUTION.md says where from)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def _is_sequence(text: str) -> bool:
    """Whether every character is one step up, or one step down, from the one before ("abcdef", "98765")."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return steps in ({1}, {-1})


def _repeats_a_short_unit(text: str) -> bool:
    """Whether the text is one to four characters repeated ("aaaa...", "abab...", "1234 1234 ...")."""
    return re.fullmatch(r"(.{1,4}?)\1+.{0,3}", text, flags=re.DOTALL) is not None and (
        len(set(text)) <= 4)


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why this password may not be used, in plain words, or None when it is fine."""
    if not password:
        return f"Enter a password of {PASSWORD_MIN} characters or more"
    if len(password) < PASSWORD_MIN:
        return f"Password must be {PASSWORD_MIN} characters or more"
    if len(password) > PASSWORD_MAX:
        return f"Password must be {PASSWORD_MAX} characters or fewer"
    if not password.strip():
        return "Password cannot be only spaces"
    folded = password.lower()
    compact = re.sub(r"\s+", "", folded)
    if len(set(compact)) < 4 or _repeats_a_short_unit(compact):
        return "Password cannot be the same few characters repeated. A few random words make a strong password"
    if _is_sequence(compact):
        return "Password cannot be a sequence like abcdefghij or 1234567890"
    stripped = re.sub(r"[\d\W_]+$", "", compact)  # "password2024!" is still "password"
    if folded in common_passwords() or compact in common_passwords() or stripped in common_passwords():
        return "This password is one of the most commonly used, so it is easy to guess. Choose another"
    if email:
        local, _, domain = email.lower().partition("@")
        parts = {local, domain, *re.split(r"[._+\-@]", email.lower())}
        if email.lower() in folded or any(len(part) >= 4 and part in compact for part in parts):
            return "Password cannot contain your email address or part of it"
    return None


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    """Raise Invalid with the reason when the password may not be used."""
    problem = password_problem(password, email=email)
    if problem:
        raise Invalid(problem, {field: problem})
