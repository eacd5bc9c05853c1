"""Equality monitoring: the questions (Census 2021 categories), saving, changing and withdrawing answers.

Answers are keyed by an HMAC of the account id under the server's pseudonym key (``respondent_key``), so the
table holds no account id and nothing that joins to ideas, comments or votes. Only this module computes the
key: to show a person their own answers, to delete them, and to count answers for a set of people in
aggregate (consult/services/inclusion.py), which then go through disclosure control before anyone sees them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import PREFER_NOT, PROFESSIONS, EqualityQuestionOff, EqualityResponse, utcnow
from .errors import Invalid

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference_data"
PREFER_LABEL = "Prefer not to say"

AGE_BANDS = (("under_18", "Under 18"), ("18_24", "18 to 24"), ("25_34", "25 to 34"), ("35_44", "35 to 44"),
             ("45_54", "45 to 54"), ("55_64", "55 to 64"), ("65_74", "65 to 74"), ("75_plus", "75 and over"))
# The 19 England and Wales ethnic groups of Census 2021, in their 5 high-level groups.
ETHNIC_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Asian, Asian British or Asian Welsh", (
        ("bangladeshi", "Bangladeshi"), ("chinese", "Chinese"), ("indian", "Indian"),
        ("pakistani", "Pakistani"), ("other_asian", "Any other Asian background"))),
    ("Black, Black British, Black Welsh, Caribbean or African", (
        ("african", "African"), ("caribbean", "Caribbean"),
        ("other_black", "Any other Black, Black British or Caribbean background"))),
    ("Mixed or Multiple ethnic groups", (
        ("white_asian", "White and Asian"), ("white_black_african", "White and Black African"),
        ("white_black_caribbean", "White and Black Caribbean"),
        ("other_mixed", "Any other Mixed or Multiple ethnic background"))),
    ("White", (
        ("white_british", "English, Welsh, Scottish, Northern Irish or British"), ("irish", "Irish"),
        ("gypsy_traveller", "Gypsy or Irish Traveller"), ("roma", "Roma"),
        ("other_white", "Any other White background"))),
    ("Other ethnic group", (("arab", "Arab"), ("any_other", "Any other ethnic group"))),
)
ETHNIC_HIGH = {code: group for group, items in ETHNIC_GROUPS for code, _ in items}
PAY_BANDS = tuple((f"band_{b}", f"Band {b}") for b in ("1", "2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9"))
PAY_BANDS += (("not_afc", "Not on Agenda for Change pay"),)


@dataclass(frozen=True)
class Question:
    """One optional question: its field, wording, choices and who it is for."""

    key: str
    label: str
    hint: str
    options: tuple[tuple[str, str], ...]
    special: bool = False
    # Who is asked: everyone, or only these declared categories.
    for_categories: tuple[str, ...] = ()
    dimension: str = ""  # the inclusion dimension it feeds ("" = same as key)


QUESTIONS: tuple[Question, ...] = (
    Question("age_band", "What is your age?", "", AGE_BANDS),
    Question("sex", "What is your sex?", "The Census 2021 question. A question about gender identity follows.",
             (("female", "Female"), ("male", "Male"))),
    Question("gender_same", "Is the gender you identify with the same as your sex registered at birth?", "",
             (("yes", "Yes"), ("no", "No")), special=True),
    Question("ethnic_group", "What is your ethnic group?", "The 19 groups used in Census 2021 in England and Wales.",
             tuple(item for _, items in ETHNIC_GROUPS for item in items), special=True),
    Question("disability", "Are your day-to-day activities limited because of a health problem or disability "
             "which has lasted, or is expected to last, at least 12 months?",
             "Include problems related to old age. This is how the Equality Act 2010 describes disability.",
             (("limited_a_lot", "Yes, limited a lot"), ("limited_a_little", "Yes, limited a little"), ("no", "No")),
             special=True),
    Question("sexual_orientation", "Which of the following best describes your sexual orientation?", "",
             (("straight", "Straight or heterosexual"), ("gay_lesbian", "Gay or lesbian"), ("bisexual", "Bisexual"),
              ("other", "Other sexual orientation")), special=True),
    Question("religion", "What is your religion?", "",
             (("none", "No religion"), ("christian", "Christian"), ("buddhist", "Buddhist"), ("hindu", "Hindu"),
              ("jewish", "Jewish"), ("muslim", "Muslim"), ("sikh", "Sikh"), ("other", "Any other religion")),
             special=True),
    Question("unpaid_carer", "Do you look after, or give any help or support to, anyone because they have "
             "long-term physical or mental health conditions or illnesses, or problems related to old age?",
             "Exclude anything you do as part of paid work.", (("yes", "Yes"), ("no", "No"))),
    Question("postcode_district", "What is the first part of your postcode?",
             "Only the part before the space, for example SO16. We use it to see which areas are taking part.",
             ()),
    Question("profession", "What is your profession, or the one you are studying for?", "",
             PROFESSIONS, for_categories=("staff", "student")),
    Question("pay_band", "What is your Agenda for Change pay band?", "", PAY_BANDS, for_categories=("staff",)),
)
QUESTION_KEYS = tuple(q.key for q in QUESTIONS)
BY_KEY = {q.key: q for q in QUESTIONS}
OUTWARD_CODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


def respondent_key(user_id: int, secret: str) -> str:
    """The key an account's answers are stored under: an HMAC nobody can compute without the server key."""
    return hmac.new(secret.encode(), f"equality:{user_id}".encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1)
def postcode_regions() -> dict[str, str]:
    """Postcode area (letters) to English region, by majority (approximate; see reference_data/README.md)."""
    with (REFERENCE_DIR / "postcode_area_region.csv").open(newline="", encoding="utf-8") as handle:
        return {row["area"]: row["region"] for row in csv.DictReader(handle)}


def normalise_district(text: str | None) -> str | None:
    """An outward code in capitals without spaces ("so16" -> "SO16"), or None when it is not one."""
    value = str(text or "").strip().upper()
    if " " in value:
        # A full postcode: keep only the outward code, never store the rest.
        value = value.split()[0]
    return value if OUTWARD_CODE.match(value) else None


def region_of(district: str) -> str | None:
    """The English region a postcode district lies in (by its area's majority), or None outside England."""
    area = re.match(r"^[A-Z]+", district)
    return postcode_regions().get(area.group(0)) if area else None


def questions_for(category: str | None, switched_off: Iterable[str] = ()) -> list[Question]:
    """The questions to ask someone in this declared category, less any a consultation switched off."""
    off = set(switched_off)
    return [q for q in QUESTIONS if q.key not in off and (not q.for_categories or category in q.for_categories)]


def get_answers(session: Session, *, user_id: int, secret: str) -> EqualityResponse | None:
    """This person's stored answers, or None."""
    key = respondent_key(user_id, secret)
    return session.scalar(select(EqualityResponse).where(EqualityResponse.respondent_key == key))


def clean_answers(values: dict[str, Any], *, category: str | None, consent: bool) -> dict[str, str | None]:
    """Check submitted answers; return the values to store, or raise Invalid with a message per field."""
    errors: dict[str, str] = {}
    clean: dict[str, str | None] = {}
    for question in questions_for(category):
        raw = str(values.get(question.key) or "").strip()
        if not raw:
            clean[question.key] = None
        elif raw == PREFER_NOT:
            clean[question.key] = PREFER_NOT
        elif question.key == "postcode_district":
            district = normalise_district(raw)
            if district is None:
                errors[question.key] = ("Enter the first part of a postcode, like SO16 or M1, "
                                        "or leave it blank")
            clean[question.key] = district
        elif raw in dict(question.options):
            clean[question.key] = raw
        else:
            errors[question.key] = "Choose one of the answers, or leave it blank"
    special = [q.key for q in QUESTIONS if q.special and clean.get(q.key) not in (None, PREFER_NOT)]
    if special and not consent:
        errors["consent_special"] = ("Tick the box to agree that we may hold your answers about ethnicity, "
                                     "disability, sexual orientation, religion and gender identity, or leave "
                                     "those questions blank")
    if errors:
        raise Invalid("There is a problem", errors)
    return clean


def save_answers(session: Session, *, user_id: int, secret: str, category: str | None, values: dict[str, Any],
                 consent: bool, keep: Iterable[str] = ()) -> EqualityResponse:
    """Create or replace this person's answers (blank answers are stored as not answered).

    ``keep`` names questions that were not on the page (switched off by a consultation): their stored
    answers stay as they were.
    """
    kept = set(keep)
    clean = clean_answers({k: v for k, v in values.items() if k not in kept}, category=category, consent=consent)
    row = get_answers(session, user_id=user_id, secret=secret)
    if row is None:
        row = EqualityResponse(respondent_key=respondent_key(user_id, secret))
        session.add(row)
    for key in QUESTION_KEYS:
        # Questions not asked of this category (a profession for a carer) are cleared, not kept from before.
        if key not in kept:
            setattr(row, key, clean.get(key))
    if "postcode_district" not in kept:
        district = clean.get("postcode_district")
        row.region = region_of(district) if district and district != PREFER_NOT else None
    # Special-category answers kept from before keep the consent they were given with.
    kept_special = any(BY_KEY[k].special and getattr(row, k) not in (None, PREFER_NOT) for k in kept if k in BY_KEY)
    row.consent_special = bool(consent) or (bool(row.consent_special) and kept_special)
    row.updated_on = utcnow().date()
    session.flush()
    return row


def withdraw_answers(session: Session, *, user_id: int, secret: str) -> int:
    """Delete this person's answers (deleted, not hidden); returns how many rows went."""
    key = respondent_key(user_id, secret)
    result = session.execute(delete(EqualityResponse).where(EqualityResponse.respondent_key == key))
    return int(result.rowcount or 0)


def answers_for_people(session: Session, user_ids: Iterable[int], *, secret: str) -> list[dict[str, str | None]]:
    """The answers of a set of people, as anonymous dicts in no particular order (for aggregates only)."""
    keys = sorted({respondent_key(uid, secret) for uid in user_ids})
    rows: list[dict[str, str | None]] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for row in session.scalars(select(EqualityResponse).where(EqualityResponse.respondent_key.in_(chunk))):
            rows.append({key: getattr(row, key) for key in (*QUESTION_KEYS, "region")})
    # Sorted by content so the order says nothing about who answered what.
    rows.sort(key=lambda r: tuple(str(v) for v in r.values()))
    return rows


def rows_for_keys(session: Session, keys: list[str]) -> list[EqualityResponse]:
    """Stored answers for these respondent keys (in chunks, for aggregation only)."""
    rows: list[EqualityResponse] = []
    for start in range(0, len(keys), 500):
        rows += session.scalars(select(EqualityResponse).where(
            EqualityResponse.respondent_key.in_(keys[start:start + 500]))).all()
    return rows


def switched_off(session: Session, consultation_id: int) -> set[str]:
    """The questions a consultation's facilitators have switched off."""
    return set(session.scalars(select(EqualityQuestionOff.question).where(
        EqualityQuestionOff.consultation_id == consultation_id)))


def set_switched_off(session: Session, *, consultation_id: int, questions: Iterable[str]) -> set[str]:
    """Replace the set of switched-off questions for a consultation; unknown names are refused."""
    wanted = set(questions)
    unknown = wanted - set(QUESTION_KEYS)
    if unknown:
        raise Invalid("There is a problem", {"questions": "Choose questions from the list"})
    session.execute(delete(EqualityQuestionOff).where(EqualityQuestionOff.consultation_id == consultation_id))
    session.add_all(EqualityQuestionOff(consultation_id=consultation_id, question=q) for q in sorted(wanted))
    session.flush()
    return wanted


def describe(row: EqualityResponse | None) -> list[tuple[str, str]]:
    """A person's own answers in words (question, answer), for their account page and data download."""
    if row is None:
        return []
    described = []
    for question in QUESTIONS:
        value = getattr(row, question.key)
        if value is None:
            continue
        label = PREFER_LABEL if value == PREFER_NOT else dict(question.options).get(value, value)
        described.append((question.label, label))
    return described
