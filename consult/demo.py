"""The deterministic demo dataset: the AHP strategy consultation, its registrants and what they said.

Shared by `flask --app wsgi seed-demo`, the tests and the benchmarks. Everything comes from one
random.Random(seed) and is timed relative to `now`, so the same seed and `now` give the same rows.
Traffic follows what real online consultations show (and what the analysis must correct for): most
visits in the first days of a phase and after reminder emails, more in the evening, early ideas seen
by more people. Each idea and comment has a hidden appeal; a participant shown it supports it with
that probability, so "support among those shown" recovers the appeal whatever the posting time.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from .models import (
    AuditEvent,
    Comment,
    Consultation,
    ConsultationAssignment,
    Idea,
    Impression,
    ParticipantProfile,
    Phase,
    PhaseAudience,
    PhaseTransition,
    Topic,
    User,
    Vote,
    VoteEvent,
    utcnow,
)

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
_UK = ZoneInfo("Europe/London")
DEMO_DOMAIN = "demo.consult.test"
DEMO_PASSWORD = "ahp-demo-2021"


@dataclass(frozen=True)
class DemoAccount:
    """A named demo login with a known password."""

    email: str
    role: str
    category: str
    profession: str | None
    description: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(f"admin@{DEMO_DOMAIN}", "admin", "staff", "manager",
                "administrator: accounts and staff roles"),
    DemoAccount(f"facilitator@{DEMO_DOMAIN}", "facilitator", "staff", "manager",
                "facilitator: runs consultations, opens and closes phases"),
    DemoAccount(f"analyst@{DEMO_DOMAIN}", "analyst", "staff", "other_staff",
                "analyst: themes, support and exports"),
    DemoAccount(f"service-user@{DEMO_DOMAIN}", "participant", "service_user", None,
                "participant: a person who uses services"),
    DemoAccount(f"carer@{DEMO_DOMAIN}", "participant", "carer", None, "participant: a carer"),
    DemoAccount(f"public@{DEMO_DOMAIN}", "participant", "public", None,
                "participant: a member of the public"),
    DemoAccount(f"physio@{DEMO_DOMAIN}", "participant", "staff", "physiotherapist",
                "participant: staff, physiotherapist (phase 2 is for staff and students)"),
    DemoAccount(f"student@{DEMO_DOMAIN}", "participant", "student", None, "participant: a student"),
)
# (email, role, what they are), for `make run` to print beside DEMO_PASSWORD.
DEMO_LOGINS: list[tuple[str, str, str]] = [(a.email, a.role, a.description) for a in DEMO_ACCOUNTS]

# Sizes at scale 1.0; the comment and vote figures are targets the random draws land close to.
BASE_PARTICIPANTS = 600
BASE_IDEAS = 320
BASE_COMMENTS = 1150
BASE_VOTES = 11500
COMMENT_VOTE_SHARE = 0.22

PEOPLE = ("service_user", "carer", "public")
CATEGORY_MIX = {"service_user": 0.19, "carer": 0.10, "public": 0.12, "staff": 0.45, "student": 0.14}
PROFESSION_MIX = {
    "physiotherapist": 14, "occupational_therapist": 13, "radiographer": 9, "paramedic": 9,
    "speech_language_therapist": 8, "dietitian": 6, "podiatrist": 5, "operating_department_practitioner": 4,
    "orthoptist": 2, "osteopath": 1.5, "prosthetist_orthotist": 1.5, "art_therapist": 2, "drama_therapist": 1,
    "music_therapist": 1, "ahp_support_worker": 9, "nurse": 4, "doctor": 1.5, "pharmacist": 1,
    "healthcare_scientist": 1, "social_care": 2.5, "manager": 3, "other_staff": 2,
}
# When registrants joined: before phase 1 opened, or during phase 1, 2 or 3.
REGISTRATION = {"people": (0.10, 0.60, 0.05, 0.25), "staff": (0.10, 0.30, 0.40, 0.20)}
# How much more (or less) each group takes part in each phase, beyond being in its audience.
ENGAGEMENT: tuple[dict[str, float], ...] = (
    {"service_user": 1.6, "carer": 1.6, "public": 1.4, "staff": 0.7, "student": 0.6},
    {"staff": 1.0, "student": 0.8},
    {},
)
# Visits by hour of day: quiet overnight, a lunchtime bump and an evening peak.
DIURNAL = (0.30, 0.15, 0.10, 0.08, 0.08, 0.15, 0.40, 0.80, 1.00, 1.10, 1.00, 1.00,
           1.20, 1.10, 0.90, 0.90, 1.00, 1.20, 1.50, 1.90, 2.10, 1.90, 1.30, 0.70)
CHANGED_VOTE_SHARE = 0.03
# Most people who are shown something they don't like just move on; some vote against it.
OPPOSE = 0.2
REPLY_SHARE = 0.3

_TAG = re.compile(r"^\[(\w+)(?::(\w+))?\]\s*")


class DemoDataError(RuntimeError):
    """The database is not empty enough to hold the demo dataset."""


# --- corpus -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A piece of corpus text, limited to authors of one category (and profession) when tagged."""

    value: Any
    category: str | None = None
    profession: str | None = None

    def fits(self, person: _Person) -> bool:
        """Whether this person could plausibly have written it."""
        if self.category is None:
            return True
        if self.category == "people":
            return person.category in PEOPLE
        return person.category == self.category and self.profession in (None, person.profession)


def _tagged(text: str) -> _Text:
    """Split a leading [category] or [category:profession] tag from a text."""
    match = _TAG.match(text)
    if match is None:
        return _Text(text)
    return _Text(text[match.end():], match.group(1), match.group(2))


@dataclass(frozen=True)
class _Theme:
    """A strand of conversation: its ideas, extra sentences and comments, and how well it is received."""

    key: str
    appeal: float
    leaning: dict[str, float]
    authors: frozenset[str] | None
    ideas: tuple[_Text, ...]
    details: tuple[str, ...]
    comments: tuple[_Text, ...]


@lru_cache(maxsize=1)
def load_corpus() -> dict[str, Any]:
    """The demo text: consultation, phases, topics and themes, plus selected NHS patient feedback."""
    with (DEMO_DATA / "corpus.toml").open("rb") as handle:
        corpus = tomllib.load(handle)
    themes = {}
    for key, raw in corpus["themes"].items():
        ideas = []
        for title, body in raw["ideas"]:
            tagged = _tagged(title)
            ideas.append(_Text((tagged.value, body), tagged.category, tagged.profession))
        themes[key] = _Theme(
            key=key,
            appeal=float(raw["appeal"]),
            leaning=dict(raw.get("leaning", {})),
            authors=frozenset(raw["authors"]) if "authors" in raw else None,
            ideas=tuple(ideas),
            details=tuple(raw["details"]),
            comments=tuple(_tagged(text) for text in raw["comments"]),
        )
    feedback: dict[str, list[_Text]] = {}
    with (DEMO_DATA / "pxtext_feedback.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            feedback.setdefault(row["theme"], []).append(_Text(row["feedback"], "people"))
    return {**corpus, "theme_objects": themes, "feedback": {k: tuple(v) for k, v in feedback.items()}}


# --- time -------------------------------------------------------------------------------------


def _floor(moment: datetime) -> datetime:
    """Drop the microseconds: stored times are whole seconds."""
    return moment.replace(microsecond=0)


class _Density:
    """A rate that is constant within each hour, sampled by inverting its running total."""

    def __init__(self, start: datetime, weights: Sequence[float]) -> None:
        self.start = start
        self.weights = list(weights)
        self.cum = [0.0]
        for weight in self.weights:
            self.cum.append(self.cum[-1] + weight)

    def position(self, moment: datetime) -> float:
        """The running total of the rate up to this moment."""
        x = (moment - self.start).total_seconds() / 3600
        hour = min(max(int(x), 0), len(self.weights) - 1)
        return self.cum[hour] + (x - hour) * self.weights[hour]

    def at(self, position: float) -> datetime:
        """The moment at which the running total reaches this position."""
        hour = min(max(bisect.bisect_right(self.cum, position) - 1, 0), len(self.weights) - 1)
        return self.start + timedelta(hours=hour + (position - self.cum[hour]) / self.weights[hour])

    def sample(self, rng: random.Random, low: datetime, high: datetime) -> datetime:
        """A moment between low and high (whole seconds), more likely where the rate is high."""
        a, b = self.position(low), self.position(high)
        return min(max(_floor(self.at(a + rng.random() * (b - a))), low), high)


def _activity(start: datetime, hours: int, *, closing: bool) -> list[float]:
    """Visits per hour: a launch peak that fades over a week, a reminder email, a last-chance push."""
    weights = []
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        rate = 40 * math.exp(-hour / 168) + 5
        if hour >= 168:
            rate += 25 * math.exp(-(hour - 168) / 36)
        if closing:
            rate += 15 * math.exp(-(hours - hour) / 48)
        weights.append(rate * DIURNAL[moment.hour] * (0.8 if moment.weekday() >= 5 else 1.0))
    return weights


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Share a whole number out in proportion to weights (largest remainder)."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- people -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Person:
    """A registrant: account, declared category and profession, and how active they are."""

    email: str
    role: str
    category: str
    profession: str | None
    created_at: datetime
    weight: float = 1.0
    id: int = 0


class _Pool:
    """The registrants who may contribute to a phase, in order of registration, weighted by activity."""

    def __init__(self, people: Iterable[_Person], engagement: dict[str, float]) -> None:
        self.members = sorted(people, key=lambda p: (p.created_at, p.email))
        self.joined = [p.created_at for p in self.members]
        self.cum: list[float] = []
        total = 0.0
        for person in self.members:
            total += person.weight * engagement.get(person.category, 1.0)
            self.cum.append(total)

    def size_at(self, moment: datetime) -> int:
        """How many members had registered by this moment."""
        return bisect.bisect_right(self.joined, moment)

    def pick(self, rng: random.Random, moment: datetime, *, exclude: set[int] | None = None,
             allowed: frozenset[str] | None = None) -> _Person | None:
        """A member registered by this moment, not excluded, of an allowed category; None if none is."""
        size = self.size_at(moment)
        if size == 0:
            return None

        def ok(person: _Person) -> bool:
            if exclude is not None and person.id in exclude:
                return False
            return allowed is None or person.category in allowed

        total = self.cum[size - 1]
        for _ in range(16):
            person = self.members[min(bisect.bisect_right(self.cum, rng.random() * total), size - 1)]
            if ok(person):
                return person
        # Rare: most eligible members are excluded. Walk the list from a random point instead.
        start = rng.randrange(size)
        for step in range(size):
            person = self.members[(start + step) % size]
            if ok(person):
                return person
        return None


def _article(noun: str) -> str:
    """The noun with "a" or "an" in front."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


# --- text -------------------------------------------------------------------------------------


class _Deck:
    """Texts dealt in shuffled order, each used once before any is repeated."""

    def __init__(self, texts: Sequence[_Text], rng: random.Random) -> None:
        self.texts = list(texts)
        self.rng = rng
        self.order: list[_Text] = []
        self.next = 0

    def deal(self, person: _Person) -> _Text | None:
        """The next text this person could have written, or None if the deck has none."""
        for _ in range(2):
            if self.next >= len(self.order):
                self.order = self.texts[:]
                self.rng.shuffle(self.order)
                self.next = 0
            for j in range(self.next, len(self.order)):
                if self.order[j].fits(person):
                    self.order[self.next], self.order[j] = self.order[j], self.order[self.next]
                    self.next += 1
                    return self.order[self.next - 1]
            self.next = len(self.order)
        return None


class _Writer:
    """Composes idea and comment text from the corpus, varied by author and deterministic."""

    def __init__(self, corpus: dict[str, Any], rng: random.Random) -> None:
        self.corpus = corpus
        self.rng = rng
        self.themes: dict[str, _Theme] = corpus["theme_objects"]
        self.nouns: dict[str, str] = corpus["profession_nouns"]
        self.idea_decks = {key: _Deck(theme.ideas, rng) for key, theme in self.themes.items()}
        self.comment_decks = {key: _Deck(theme.comments, rng) for key, theme in self.themes.items()}
        self.feedback_decks = {key: _Deck(texts, rng) for key, texts in corpus["feedback"].items()}
        text = corpus["text"]
        self.generic = _Deck([_tagged(t) for t in text["generic_comments"]], rng)
        self.replies = _Deck([_tagged(t) for t in text["replies"]], rng)

    def _opener(self, person: _Person) -> str:
        """A first sentence saying who the author is."""
        openers, rng = self.corpus["openers"], self.rng
        if person.category == "staff":
            noun = _article(self.nouns[person.profession or "other_staff"])
            return rng.choice(openers["staff"]).format(noun=noun, setting=rng.choice(openers["settings"]),
                                                       years=rng.randint(2, 30))
        if person.category == "student":
            return rng.choice(openers["student"]).format(course=rng.choice(openers["courses"]))
        return rng.choice(openers[person.category])

    def idea(self, theme: _Theme, person: _Person, phase_index: int,
             note: str | None = None) -> tuple[str, str]:
        """A title and body for an idea on this theme by this person (note: how it was gathered offline)."""
        rng = self.rng
        text = self.idea_decks[theme.key].deal(person) or _Text(self.rng.choice(theme.ideas).value)
        title, body = text.value
        # Staff introducing themselves in phase 1 would read oddly: it asks people about their own care.
        if note is None and text.category is None and rng.random() < 0.35 and (
            phase_index > 0 or person.category in PEOPLE
        ):
            body = f"{self._opener(person)} {body}"
        if rng.random() < 0.6:
            body += ("\n\n" if rng.random() < 0.3 else " ") + rng.choice(theme.details)
        if rng.random() < 0.12:
            body += " " + rng.choice(self.corpus["text"]["closers"])
        if note is not None:
            body = f"{note}\n\n{body}"
        return title, body

    def comment(self, theme: _Theme, person: _Person, phase_index: int, *, reply: bool) -> str:
        """A comment (or reply) on an idea of this theme, by this person."""
        roll = self.rng.random()
        text: _Text | None = None
        if reply and roll < 0.55:
            text = self.replies.deal(person)
        elif phase_index == 0 and roll < 0.25 and theme.key in self.feedback_decks:
            text = self.feedback_decks[theme.key].deal(person)
        elif roll < 0.75 and (theme.authors is None or person.category in theme.authors):
            text = self.comment_decks[theme.key].deal(person)
        if text is None:
            text = self.generic.deal(person) or _Text(self.corpus["text"]["generic_comments"][0])
        openers = self.corpus["text"].get(f"comment_openers_{person.category}")
        if text.category is None and openers and self.rng.random() < 0.15:
            noun = self.nouns[person.profession or "other_staff"]
            opener = self.rng.choice(openers).format(noun=_article(noun), Noun=noun.capitalize())
            return f"{opener} {text.value}"
        return text.value


# --- plans ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _TopicPlan:
    """A topic and the themes its ideas come from."""

    title: str
    description: str
    weight: float
    themes: list[_Theme]
    theme_weights: list[float]
    id: int = 0


@dataclass(eq=False)
class _PhasePlan:
    """A phase: schedule, state, audience, traffic and who may take part."""

    index: int
    raw: dict[str, Any]
    opens_at: datetime
    closes_at: datetime
    state: str
    last: datetime  # the last second anyone could act: just before closing, or now
    activity: _Density
    pool: _Pool
    topics: list[_TopicPlan]
    exposure: _Density | None = None
    id: int = 0


@dataclass(eq=False)
class _IdeaPlan:
    """An idea to insert, with its hidden appeal and the counts its rows will add up to."""

    phase: _PhasePlan
    topic: _TopicPlan
    theme: _Theme
    author: _Person | None
    category: str | None
    profession: str | None
    title: str
    body: str
    created_at: datetime
    visible_until: datetime | None  # None: held, never shown to anyone
    appeal: float
    channel: str = "online"
    entered_by_id: int | None = None
    state: str = "published"
    reason: str | None = None
    id: int = 0
    up: int = 0
    down: int = 0
    seen: int = 0
    comments: int = 0


@dataclass(eq=False)
class _CommentPlan:
    """A comment or reply to insert."""

    idea: _IdeaPlan
    created_at: datetime
    appeal: float
    author: _Person | None = None
    parent: _CommentPlan | None = None
    body: str = ""
    state: str = "published"
    reason: str | None = None
    visible_until: datetime | None = None
    has_replies: bool = False
    id: int = 0
    up: int = 0
    down: int = 0
    seen: int = 0


# An idea or comment as the vote simulation sees it:
# (item, phase, author, visible from, visible until, theme).
_Exposed = tuple[Any, _PhasePlan, _Person | None, datetime, datetime | None, _Theme]


@dataclass
class _Interactions:
    """Impressions, votes and vote events, as tuples until the items have ids."""

    impressions: list[tuple[int, Any, datetime]] = field(default_factory=list)
    votes: list[tuple[_Person, Any, int, datetime, datetime]] = field(default_factory=list)
    events: list[tuple[_Person, Any, int, datetime]] = field(default_factory=list)


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Group rows into lists of at most size."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_returning_ids(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in order and return their new ids, in the same order."""
    # Core inserts keep NULL columns in every row (the ORM's bulk path drops them, which splits
    # one executemany into thousands), and modest batches keep RETURNING bookkeeping linear.
    table = model.__table__  # type: ignore[attr-defined]
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for chunk in _chunks(rows, 2_000):
        ids.extend(session.execute(statement, chunk).scalars())
    return ids


# --- the seeder -------------------------------------------------------------------------------


class _Seeder:
    """Builds the whole dataset in memory, then writes it with bulk inserts."""

    def __init__(self, session: Session, *, rng: random.Random, now: datetime, participants: int, ideas: int,
                 comments: int, votes: int, progress: Callable[[str], None]) -> None:
        self.session = session
        self.rng = rng
        self.now = _floor(now)
        self.sizes = {"participants": participants, "ideas": ideas, "comments": comments, "votes": votes}
        self.say = progress
        self.corpus = load_corpus()
        self.writer = _Writer(self.corpus, rng)
        self.audit: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def day(self, offset: int, hour: int, minute: int = 0) -> datetime:
        """A UK wall-clock time on the day `offset` days from now, stored as naive UTC like every timestamp."""
        date = (self.now + timedelta(days=offset)).date()
        local = datetime(date.year, date.month, date.day, hour, minute, tzinfo=_UK)
        return local.astimezone(UTC).replace(tzinfo=None)

    # -- accounts --

    def make_people(self) -> None:
        """The staff accounts, the named demo participants and the generated registrants."""
        rng = self.rng
        self.staff: dict[str, _Person] = {}
        self.demo: list[_Person] = []
        for i, account in enumerate(DEMO_ACCOUNTS):
            joined = self.day(-70, 9, 10 * i) if account.role != "participant" else self.day(-60, 10, 7 * i)
            person = _Person(account.email, account.role, account.category, account.profession, joined)
            if account.role == "participant":
                self.demo.append(person)
            else:
                self.staff[account.role] = person
        first_open = self.phases[0].opens_at
        generated = []
        categories, shares = zip(*CATEGORY_MIX.items(), strict=True)
        professions, profession_weights = zip(*PROFESSION_MIX.items(), strict=True)
        for _ in range(self.sizes["participants"]):
            category = rng.choices(categories, shares)[0]
            profession = rng.choices(professions, profession_weights)[0] if category == "staff" else None
            bucket = rng.choices(range(4), REGISTRATION["people" if category in PEOPLE else "staff"])[0]
            if bucket == 0:
                joined = _floor(first_open - timedelta(seconds=rng.uniform(1, 7 * 86400)))
            else:
                plan = self.phases[bucket - 1]
                joined = plan.activity.sample(rng, plan.opens_at, plan.last)
            generated.append(_Person("", "participant", category, profession, joined,
                                     weight=min(rng.lognormvariate(0, 0.9), 8.0)))
        generated.sort(key=lambda p: p.created_at)
        for number, person in enumerate(generated, start=1):
            person.email = f"participant{number:05d}@{DEMO_DOMAIN}"
        self.participants = self.demo + generated

    def insert_people(self, password_hash: str) -> None:
        """Insert accounts and profiles; every demo account shares one password hash."""
        people = [*self.staff.values(), *self.participants]
        rows = [{"email": p.email, "password_hash": password_hash, "role": p.role, "is_active": True,
                 "session_version": 1, "created_at": p.created_at, "last_login_at": None,
                 "email_confirmed_at": p.created_at} for p in people]
        ids = _insert_returning_ids(self.session, User, rows)
        for person, user_id in zip(people, ids, strict=True):
            person.id = user_id
        self.session.execute(insert(ParticipantProfile.__table__), [
            {"user_id": p.id, "category": p.category, "profession": p.profession, "updated_at": p.created_at}
            for p in people
        ])
        admin = self.staff["admin"]
        self.audit.append({"actor_id": None, "action": "user.create", "target_type": "user",
                           "target_id": admin.id, "detail": {"role": "admin", "via": "command line"},
                           "at": admin.created_at})
        for role in ("facilitator", "analyst"):
            person = self.staff[role]
            self.audit.append({"actor_id": admin.id, "action": "user.set_role", "target_type": "user",
                               "target_id": person.id, "at": person.created_at + timedelta(minutes=5),
                               "detail": {"from_role": "participant", "to_role": role}})
        self.session.commit()
        self.counts["users"] = len(people)
        self.say(f"{len(people):,} accounts ({len(self.participants):,} participants)")

    # -- consultation --

    def plan_phases(self) -> None:
        """Schedules and traffic for the three phases (pools are filled once people exist)."""
        schedule = [(self.day(-56, 9), self.day(-42, 23, 59)), (self.day(-35, 10, 30), self.day(-21, 23, 59)),
                    (self.day(-14, 9), self.day(14, 23, 59))]
        self.phases: list[_PhasePlan] = []
        themes = self.corpus["theme_objects"]
        for index, (raw, (opens_at, closes_at)) in enumerate(
                zip(self.corpus["phases"], schedule, strict=True)):
            state = "closed" if closes_at <= self.now else "open"
            last = (closes_at if state == "closed" else self.now) - timedelta(seconds=1)
            hours = max(1, math.ceil((last - opens_at).total_seconds() / 3600))
            topics = [
                _TopicPlan(t["title"], t["description"], float(t["weight"]),
                           [themes[key] for key in t["themes"]], [float(w) for w in t["themes"].values()])
                for t in raw["topics"]
            ]
            self.phases.append(_PhasePlan(
                index=index, raw=raw, opens_at=opens_at, closes_at=closes_at, state=state, last=last,
                activity=_Density(opens_at, _activity(opens_at, hours, closing=state == "closed")),
                pool=_Pool([], {}), topics=topics,
            ))

    def fill_pools(self) -> None:
        """Who may contribute to each phase: its audience, weighted by each group's engagement."""
        for plan in self.phases:
            audience = set(plan.raw["audience"])
            members = [p for p in self.participants if not audience or p.category in audience]
            plan.pool = _Pool(members, ENGAGEMENT[plan.index])

    def insert_consultations(self) -> None:
        """The AHP consultation with its phases, topics, audiences and state history, and the draft."""
        session, facilitator = self.session, self.staff["facilitator"]
        raw = self.corpus["consultation"]
        consultation = Consultation(slug=raw["slug"], title=raw["title"], summary=raw["summary"],
                                    description=raw["description"].strip(), is_published=True,
                                    created_at=self.day(-70, 11))
        session.add(consultation)
        for plan in self.phases:
            phase = Phase(position=plan.index + 1, title=plan.raw["title"], question=plan.raw["question"],
                          description=plan.raw["description"].strip(), state=plan.state,
                          opens_at=plan.opens_at, closes_at=plan.closes_at)
            consultation.phases.append(phase)
            phase.audience = [PhaseAudience(category=c) for c in plan.raw["audience"]]
            phase.topics = [Topic(position=i + 1, title=t.title, description=t.description)
                            for i, t in enumerate(plan.topics)]
            # Phase 2 was launched by hand at a staff event; the rest ran to schedule.
            manual_open = plan.index == 1
            phase.transitions = [PhaseTransition(from_state="draft", to_state="open", reason=(
                "manual" if manual_open else "schedule"), actor_id=facilitator.id if manual_open else None,
                at=plan.opens_at)]
            if plan.state == "closed":
                phase.transitions.append(PhaseTransition(from_state="open", to_state="closed",
                                                         reason="schedule", actor_id=None, at=plan.closes_at))
        draft = self.corpus["draft"]
        other = Consultation(slug=draft["slug"], title=draft["title"], summary=draft["summary"],
                             description=draft["description"].strip(), is_published=False,
                             created_at=self.day(-3, 14))
        for position, raw_phase in enumerate(draft["phases"], start=1):
            phase = Phase(position=position, title=raw_phase["title"], question=raw_phase["question"],
                          description=raw_phase["description"], state="draft", opens_at=None, closes_at=None)
            phase.topics = [Topic(position=i, title=title, description=description)
                            for i, (title, description) in enumerate(raw_phase["topics"], start=1)]
            other.phases.append(phase)
        session.add(other)
        session.flush()
        for plan, phase in zip(self.phases, consultation.phases, strict=True):
            plan.id = phase.id
            for topic_plan, topic in zip(plan.topics, phase.topics, strict=True):
                topic_plan.id = topic.id
        # The demo's staff logins work on what they run: the facilitator runs both consultations (and created
        # the draft), the analyst analyses the published one.
        admin, analyst = self.staff["admin"], self.staff["analyst"]
        assignments = [(consultation, facilitator, "facilitator", admin, consultation.created_at),
                       (other, facilitator, "facilitator", facilitator, other.created_at),
                       (consultation, analyst, "analyst", admin, consultation.created_at)]
        for target, person, role, by, at in assignments:
            session.add(ConsultationAssignment(consultation_id=target.id, user_id=person.id, role=role,
                                               assigned_by_id=by.id, created_at=at))
            if by is admin:
                self.audit.append({"actor_id": admin.id, "action": "consultation.assign",
                                   "target_type": "consultation", "target_id": target.id,
                                   "detail": {"user_id": person.id, "role": role}, "at": at})
        phase_two = self.phases[1]
        self.audit.append({"actor_id": facilitator.id, "action": "phase.open", "target_type": "phase",
                           "target_id": phase_two.id, "detail": {}, "at": phase_two.opens_at})
        self.audit.append({"actor_id": facilitator.id, "action": "consultation.create",
                           "target_type": "consultation", "target_id": other.id,
                           "detail": {"slug": other.slug}, "at": other.created_at})
        session.commit()
        topics = sum(len(p.topics) for p in self.phases) + sum(len(p.topics) for p in other.phases)
        self.counts.update(consultations=2, phases=len(self.phases) + len(other.phases), topics=topics)

    # -- ideas --

    def _appeal(self, theme: _Theme) -> float:
        """An idea's hidden appeal: mostly modest, a few clear favourites, better on popular themes."""
        if self.rng.random() < 0.06:
            return self.rng.uniform(0.6, 0.85)
        return min(max(self.rng.betavariate(2, 5) * theme.appeal, 0.03), 0.9)

    def _pick_theme(self, topic: _TopicPlan) -> _Theme:
        """One of the topic's themes, by weight."""
        return self.rng.choices(topic.themes, topic.theme_weights)[0]

    def plan_ideas(self) -> None:
        """Online ideas over each phase's busy hours, plus offline, hidden and held ones."""
        rng, total = self.rng, self.sizes["ideas"]
        moderation = self.corpus["moderation"]
        n_hidden = min(max(1, round(total * 3 / BASE_IDEAS)), total)
        n_held = min(max(1, round(total * 2 / BASE_IDEAS)), total - n_hidden)
        n_offline = min(max(len(self.corpus["offline"]), round(total * 0.03)), total - n_hidden - n_held)
        n_online = total - n_hidden - n_held - n_offline
        self.ideas: list[_IdeaPlan] = []
        # The named demo participants each have an idea in phase 1, and staff and student one in phase 2 too.
        named = {0: list(self.demo), 1: [p for p in self.demo if p.category in ("staff", "student")]}
        phase_counts = _split(n_online, [p.raw["share"] for p in self.phases])
        for plan, count in zip(self.phases, phase_counts, strict=True):
            # Ideas dry up near the end of a closed phase as people turn to voting on what is there.
            post_until = plan.last
            if plan.state == "closed":
                post_until = _floor(plan.opens_at + (plan.last - plan.opens_at) * 0.9)
            chosen = named.get(plan.index, [])
            positions = dict(zip(rng.sample(range(count), min(len(chosen), count)), chosen, strict=False))
            position = 0
            topic_counts = _split(count, [t.weight for t in plan.topics])
            for topic, topic_count in zip(plan.topics, topic_counts, strict=True):
                for _ in range(topic_count):
                    theme = self._pick_theme(topic)
                    author = positions.get(position)
                    position += 1
                    created = plan.activity.sample(rng, plan.opens_at, post_until)
                    if author is None:
                        author = plan.pool.pick(rng, created, allowed=theme.authors)
                    if author is None:
                        continue
                    created = max(created, author.created_at)
                    title, body = self.writer.idea(theme, author, plan.index)
                    self.ideas.append(_IdeaPlan(
                        phase=plan, topic=topic, theme=theme, author=author, category=author.category,
                        profession=author.profession, title=title, body=body, created_at=created,
                        visible_until=plan.last, appeal=self._appeal(theme)))
        self._plan_offline(n_offline)
        self._plan_moderated(moderation, n_hidden, n_held)
        self.ideas.sort(key=lambda idea: idea.created_at)

    def _plan_offline(self, count: int) -> None:
        """Ideas a facilitator typed in from workshops and paper forms, during working hours."""
        rng, facilitator = self.rng, self.staff["facilitator"]
        groups = self.corpus["offline"]
        for i in range(count):
            group = groups[i % len(groups)]
            plan = self.phases[group["phase"] - 1]
            topic = rng.choices(plan.topics, [t.weight for t in plan.topics])[0]
            theme = self._pick_theme(topic)
            span_days = max(1, (plan.last - plan.opens_at).days)
            created = plan.opens_at.replace(hour=10) + timedelta(days=rng.randrange(span_days),
                                                                 seconds=rng.randrange(6 * 3600))
            created = min(max(created, plan.opens_at), plan.last)
            stand_in = _Person("", "participant", group["category"], group.get("profession"), created)
            title, body = self.writer.idea(theme, stand_in, plan.index, note=group["note"])
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=theme, author=None, category=group["category"],
                profession=group.get("profession"), title=title, body=body, created_at=created,
                visible_until=plan.last, appeal=self._appeal(theme), channel=group["channel"],
                entered_by_id=facilitator.id))

    def _plan_moderated(self, moderation: dict[str, Any], n_hidden: int, n_held: int) -> None:
        """Ideas a moderator hid after a few hours, and recent ones waiting in the queue."""
        rng = self.rng
        for i in range(n_hidden):
            title, body, reason = moderation["hidden_ideas"][i % len(moderation["hidden_ideas"])]
            # The advert comes from someone in private practice, so it goes to the staff phase.
            plan = self.phases[1] if i % len(moderation["hidden_ideas"]) == 0 else self.phases[0]
            topic = rng.choice(plan.topics)
            created = plan.activity.sample(rng, plan.opens_at, plan.last - timedelta(hours=1))
            author = plan.pool.pick(rng, created)
            if author is None:
                continue
            created = max(created, author.created_at)
            hidden_at = min(_floor(created + timedelta(hours=rng.uniform(2, 20))), plan.last)
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=topic.themes[0], author=author, category=author.category,
                profession=author.profession, title=title, body=body, created_at=created,
                visible_until=hidden_at, appeal=0.05, state="hidden", reason=reason))
            self.audit.append({"actor_id": self.staff["facilitator"].id, "action": "idea.moderate",
                               "target_type": "idea", "target_id": None,
                               "detail": {"to_state": "hidden", "reason": reason}, "at": hidden_at,
                               "_idea": self.ideas[-1]})
        plan = self.phases[-1]
        for i in range(n_held):
            title, body, reason = moderation["held_ideas"][i % len(moderation["held_ideas"])]
            created = _floor(max(self.now - timedelta(hours=rng.uniform(1, 30)), plan.opens_at))
            author = plan.pool.pick(rng, created)
            if author is None:
                continue
            topic = rng.choice(plan.topics)
            self.ideas.append(_IdeaPlan(
                phase=plan, topic=topic, theme=topic.themes[0], author=author, category=author.category,
                profession=author.profession, title=title, body=body, created_at=created, visible_until=None,
                appeal=0.0, state="held", reason=reason))

    def plan_exposure(self) -> None:
        """Per phase, the chance per hour that a given visible idea is shown to someone.

        A visitor is shown a handful of the ideas visible at the time, so each idea's share of the
        traffic falls as more ideas are posted: early ideas are seen by more people.
        """
        for plan in self.phases:
            hours = len(plan.activity.weights)
            change = [0] * (hours + 1)
            for idea in self.ideas:
                if idea.phase is plan and idea.visible_until is not None:
                    change[self._hour(plan, idea.created_at)] += 1
                    change[self._hour(plan, idea.visible_until) + 1] -= 1
            visible, weights = 0, []
            for hour in range(hours):
                visible += change[hour]
                weights.append(plan.activity.weights[hour] * min(1.0, 8 / max(visible, 1)))
            plan.exposure = _Density(plan.opens_at, weights)

    @staticmethod
    def _hour(plan: _PhasePlan, moment: datetime) -> int:
        """The index of the hour of the phase this moment falls in."""
        hours = len(plan.activity.weights)
        return min(max(int((moment - plan.opens_at).total_seconds() // 3600), 0), hours - 1)

    # -- comments --

    def _exposure_of(self, plan: _PhasePlan, start: datetime, end: datetime | None) -> float:
        """How much showing an item visible from start to end gets (0 if never visible)."""
        assert plan.exposure is not None
        if end is None or end <= start:
            return 0.0
        return plan.exposure.position(end) - plan.exposure.position(start)

    def plan_comments(self) -> None:
        """Comments where ideas are seen and divisive, replies one level deep, a hidden personal attack."""
        rng = self.rng
        weights = [
            self._exposure_of(idea.phase, idea.created_at, idea.visible_until)
            * (0.5 + 3 * idea.appeal * (1 - idea.appeal)) * rng.lognormvariate(0, 0.5)
            for idea in self.ideas
        ]
        by_idea: dict[int, list[_CommentPlan]] = {}
        for index in rng.choices(range(len(self.ideas)), weights, k=self.sizes["comments"]):
            idea = self.ideas[index]
            assert idea.phase.exposure is not None and idea.visible_until is not None
            created = idea.phase.exposure.sample(rng, idea.created_at, idea.visible_until)
            by_idea.setdefault(index, []).append(_CommentPlan(idea=idea, created_at=created,
                                                              appeal=rng.betavariate(2, 4)))
        self.comments: list[_CommentPlan] = []
        for index in sorted(by_idea):
            idea = self.ideas[index]
            top_level: list[_CommentPlan] = []
            for comment in sorted(by_idea[index], key=lambda c: c.created_at):
                plan = idea.phase
                if top_level and rng.random() < REPLY_SHARE:
                    comment.parent = rng.choice(top_level)
                    assert comment.parent.author is not None
                    # Authors often answer comments on their own idea.
                    parent_author = comment.parent.author
                    if idea.author is not None and idea.author is not parent_author and rng.random() < 0.2:
                        comment.author = idea.author
                    else:
                        comment.author = plan.pool.pick(rng, comment.created_at, exclude={parent_author.id})
                else:
                    comment.author = plan.pool.pick(rng, comment.created_at)
                if comment.author is None:
                    continue
                comment.body = self.writer.comment(idea.theme, comment.author, plan.index,
                                                   reply=comment.parent is not None)
                comment.visible_until = idea.visible_until
                if comment.parent is None:
                    top_level.append(comment)
                else:
                    comment.parent.has_replies = True
                self.comments.append(comment)
        self._hide_comments()
        for comment in self.comments:
            if comment.state == "published":
                comment.idea.comments += 1

    def _hide_comments(self) -> None:
        """Hide a few top-level comments without replies from the closed phases, after a few hours."""
        rng, texts = self.rng, self.corpus["moderation"]["hidden_comments"]
        candidates = [c for c in self.comments
                      if c.parent is None and not c.has_replies and c.idea.phase.state == "closed"]
        count = min(len(candidates), max(1, round(self.sizes["comments"] / BASE_COMMENTS)))
        for i, comment in enumerate(rng.sample(candidates, count)):
            body, reason = texts[i % len(texts)]
            assert comment.visible_until is not None
            comment.body, comment.state, comment.reason, comment.appeal = body, "hidden", reason, 0.05
            comment.visible_until = min(_floor(comment.created_at + timedelta(hours=rng.uniform(2, 12))),
                                        comment.visible_until)
            self.audit.append({"actor_id": self.staff["facilitator"].id, "action": "comment.moderate",
                               "target_type": "comment", "target_id": None, "at": comment.visible_until,
                               "detail": {"to_state": "hidden", "reason": reason}, "_comment": comment})

    # -- impressions and votes --

    def plan_interactions(self) -> None:
        """Who was shown each idea and comment, and who voted on it (once, sometimes changing their mind)."""
        comment_votes = round(self.sizes["votes"] * COMMENT_VOTE_SHARE)
        self.idea_activity = self._interact(
            [(i, i.phase, i.author, i.created_at, i.visible_until, i.theme) for i in self.ideas],
            self.sizes["votes"] - comment_votes)
        self.comment_activity = self._interact(
            [(c, c.idea.phase, c.author, c.created_at, c.visible_until, c.idea.theme) for c in self.comments],
            comment_votes)

    def _interact(self, items: list[_Exposed], target_votes: int) -> _Interactions:
        """Impressions in proportion to exposure, scaled so the expected number of votes meets the target."""
        rng = self.rng
        exposures = [self._exposure_of(plan, start, end) for _, plan, _, start, end, _ in items]
        # A participant shown an item with appeal q supports it with probability q and opposes it
        # with probability OPPOSE(1 - q), so expected votes per impression is OPPOSE + (1 - OPPOSE)q.
        expected = sum(e * (OPPOSE + (1 - OPPOSE) * item[0].appeal)
                       for e, item in zip(exposures, items, strict=True))
        per_exposure = target_votes / expected if expected else 0.0
        out = _Interactions()
        for (item, plan, author, start, end, theme), exposure in zip(items, exposures, strict=True):
            if end is None or exposure <= 0:
                continue
            assert plan.exposure is not None
            cap = int(0.9 * max(plan.pool.size_at(end) - 1, 0))
            shown = min(_poisson(rng, per_exposure * exposure), cap)
            seen: set[int] = {author.id} if author is not None else set()
            for moment in sorted(plan.exposure.sample(rng, start, end) for _ in range(shown)):
                viewer = plan.pool.pick(rng, moment, exclude=seen)
                if viewer is None:
                    continue
                seen.add(viewer.id)
                item.seen += 1
                out.impressions.append((viewer.id, item, moment))
                appeal = min(0.97, item.appeal * theme.leaning.get(viewer.category, 1.0))
                roll = rng.random()
                if roll < appeal:
                    value = 1
                elif roll < appeal + OPPOSE * (1 - appeal):
                    value = -1
                else:
                    continue
                voted = min(moment + timedelta(seconds=5 + int(rng.expovariate(1 / 75))), end)
                changed = min(_floor(voted + timedelta(seconds=rng.expovariate(1 / 21600))), end)
                if rng.random() < CHANGED_VOTE_SHARE and changed > voted:
                    out.events.append((viewer, item, -value, voted))
                    out.events.append((viewer, item, value, changed))
                    out.votes.append((viewer, item, value, voted, changed))
                else:
                    out.events.append((viewer, item, value, voted))
                    out.votes.append((viewer, item, value, voted, voted))
                if value == 1:
                    item.up += 1
                else:
                    item.down += 1
        return out

    # -- writing --

    def insert_ideas(self) -> None:
        """Insert the ideas in posting order, with counts that match the rows that follow."""
        rows = [{
            "topic_id": i.topic.id, "phase_id": i.phase.id, "title": i.title, "body": i.body,
            "author_id": i.author.id if i.author else None, "entered_by_id": i.entered_by_id,
            "channel": i.channel,
            "author_category": i.category, "author_profession": i.profession, "created_at": i.created_at,
            "visible_from": i.created_at if i.state != "held" else None, "moderation_state": i.state,
            "moderation_reason": i.reason, "up_count": i.up, "down_count": i.down, "impression_count": i.seen,
            "comment_count": i.comments,
        } for i in self.ideas]
        ids = _insert_returning_ids(self.session, Idea, rows)
        for idea, idea_id in zip(self.ideas, ids, strict=True):
            idea.id = idea_id
            if idea.entered_by_id is not None:
                self.audit.append({"actor_id": idea.entered_by_id, "action": "idea.enter_on_behalf",
                                   "target_type": "idea", "target_id": idea_id,
                                   "detail": {"channel": idea.channel}, "at": idea.created_at})
        self.session.commit()
        self.counts["ideas"] = len(rows)
        self.say(f"{len(rows):,} ideas")

    def insert_comments(self) -> None:
        """Insert top-level comments, then replies (which need their parent's id), in posting order."""
        for replies in (False, True):
            batch = sorted((c for c in self.comments if (c.parent is not None) == replies),
                           key=lambda c: c.created_at)
            if not batch:
                continue
            rows = [{
                "idea_id": c.idea.id, "parent_id": c.parent.id if c.parent else None,
                "phase_id": c.idea.phase.id,
                "body": c.body, "author_id": c.author.id if c.author else None, "entered_by_id": None,
                "channel": "online", "author_category": c.author.category if c.author else None,
                "author_profession": c.author.profession if c.author else None, "created_at": c.created_at,
                "visible_from": c.created_at, "moderation_state": c.state, "moderation_reason": c.reason,
                "up_count": c.up, "down_count": c.down, "impression_count": c.seen,
            } for c in batch]
            ids = _insert_returning_ids(self.session, Comment, rows)
            for comment, comment_id in zip(batch, ids, strict=True):
                comment.id = comment_id
        self.session.commit()
        self.counts["comments"] = len(self.comments)
        self.say(f"{len(self.comments):,} comments")

    def _bulk(self, model: type, rows: Iterable[dict[str, Any]], label: str) -> int:
        """Insert rows in chunks, committing each, and return how many."""
        total = 0
        table = model.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(rows, 20_000):
            self.session.execute(insert(table), chunk)
            self.session.commit()
            total += len(chunk)
        self.say(f"{total:,} {label}")
        return total

    def insert_interactions(self) -> None:
        """Insert votes, the vote event log and impressions, each in time order."""
        both = ((self.idea_activity, "idea_id", "comment_id"),
                (self.comment_activity, "comment_id", "idea_id"))
        votes = sorted(((v, key, other) for activity, key, other in both for v in activity.votes),
                       key=lambda row: row[0][3])
        self.counts["votes"] = self._bulk(Vote, ({
            "voter_id": voter.id, key: item.id, other: None, "value": value, "voter_category": voter.category,
            "voter_profession": voter.profession, "created_at": created, "updated_at": updated,
        } for (voter, item, value, created, updated), key, other in votes), "votes")
        events = sorted(((e, key, other) for activity, key, other in both for e in activity.events),
                        key=lambda row: row[0][3])
        self.counts["vote_events"] = self._bulk(VoteEvent, ({
            "voter_id": voter.id, key: item.id, other: None, "value": value, "voter_category": voter.category,
            "voter_profession": voter.profession, "at": at,
        } for (voter, item, value, at), key, other in events), "vote events")
        seen = sorted(((s, key, other) for activity, key, other in both for s in activity.impressions),
                      key=lambda row: row[0][2])
        self.counts["impressions"] = self._bulk(Impression, ({
            "viewer_id": viewer_id, key: item.id, other: None, "first_seen": moment,
        } for (viewer_id, item, moment), key, other in seen), "impressions")

    def insert_audit(self) -> None:
        """Insert the audit log of the privileged actions behind the data, oldest first."""
        for row in self.audit:
            target = row.pop("_idea", None) or row.pop("_comment", None)
            if target is not None:
                row["target_id"] = target.id
        self.audit.sort(key=lambda row: row["at"])
        self.session.execute(insert(AuditEvent.__table__), self.audit)
        self.session.commit()
        self.counts["audit_events"] = len(self.audit)

    def run(self, password_hash: str) -> dict[str, int]:
        """Plan and insert everything; return how many rows of each kind were written."""
        self.plan_phases()
        self.make_people()
        self.insert_people(password_hash)
        self.fill_pools()
        self.insert_consultations()
        self.plan_ideas()
        self.plan_exposure()
        self.plan_comments()
        self.plan_interactions()
        self.insert_ideas()
        self.insert_comments()
        self.insert_interactions()
        self.insert_audit()
        return self.counts


def seed_demo(session: Session, *, scale: float = 1.0, seed: int = 2021, now: datetime | None = None,
              ideas: int | None = None, comments: int | None = None, votes: int | None = None,
              progress: Callable[[str], None] | None = None, secret: str | None = None) -> dict[str, int]:
    """Fill an empty database with the demo consultation; return the number of rows of each kind.

    `scale` multiplies participants, ideas, comments and votes (1.0: about 600 participants,
    320 ideas, 1,150 comments and 11,500 votes); `ideas`, `comments` and `votes` override the
    scaled figures (the benchmark uses scale=66, ideas=20_000, votes=200_000). The same seed and
    `now` give the same data. Commits as it goes.
    """
    if session.scalar(select(func.count()).select_from(Consultation)):
        raise DemoDataError("The database already has a consultation: "
                            "demo data only goes into an empty database.")
    if session.scalar(select(func.count()).select_from(User).where(User.email.like(f"%@{DEMO_DOMAIN}"))):
        raise DemoDataError(f"Accounts @{DEMO_DOMAIN} already exist: "
                            "demo data only goes into an empty database.")
    if scale <= 0:
        raise ValueError("scale must be positive")
    seeder = _Seeder(
        session, rng=random.Random(seed), now=now or utcnow(),
        participants=max(20, round(BASE_PARTICIPANTS * scale)),
        ideas=ideas if ideas is not None else max(10, round(BASE_IDEAS * scale)),
        comments=comments if comments is not None else round(BASE_COMMENTS * scale),
        votes=votes if votes is not None else round(BASE_VOTES * scale),
        progress=progress or (lambda _message: None),
    )
    # Hashing is deliberately slow, so every demo account shares one hash of the demo password.
    counts = seeder.run(PasswordHasher().hash(DEMO_PASSWORD))
    extra = _seed_inclusion(session, seed=seed, secret=secret)
    counts["ideas"] += extra["offline_ideas"]
    counts.update(extra)
    return counts


def _seed_inclusion(session: Session, *, seed: int, secret: str | None) -> dict[str, int]:
    """Equality answers and offline workshops (consult/demo_equality.py), under the app's pseudonym key."""
    from flask import current_app, has_app_context

    from .demo_equality import seed_equality, seed_workshops

    if secret is None:
        secret = str(current_app.config["PSEUDONYM_KEY"]) if has_app_context() else "demo-pseudonym-key"
    counts = seed_equality(session, secret=secret, seed=seed)
    offline = seed_workshops(session)
    session.commit()
    counts.update(offline)
    return counts
