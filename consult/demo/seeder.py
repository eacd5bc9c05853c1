"""The demo seeder: accounts, the consultation, then bulk inserts of everything the planner drew."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..models import (
    AuditEvent,
    Comment,
    Consultation,
    ConsultationAssignment,
    Idea,
    Impression,
    OfflineContribution,
    OfflineEvent,
    ParticipantProfile,
    Phase,
    PhaseAudience,
    PhaseTransition,
    Topic,
    User,
    Vote,
    VoteEvent,
)
from .corpus import load_corpus
from .planner import _Planner
from .settings import _UK, CATEGORY_MIX, DEMO_ACCOUNTS, DEMO_DOMAIN, ENGAGEMENT, PEOPLE, PROFESSION_MIX, REGISTRATION
from .traffic import _activity, _Density, _floor, _Person, _Pool
from .writing import _chunks, _insert_returning_ids, _PhasePlan, _TopicPlan, _Writer


def _uk_clock(date: date_type, hour: int = 0, minute: int = 0) -> datetime:
    """A UK wall-clock time on this date, as naive UTC like every stored timestamp."""
    return datetime(date.year, date.month, date.day, hour, minute, tzinfo=_UK).astimezone(UTC).replace(tzinfo=None)


def _day_start(moment: datetime) -> datetime:
    """The start (midnight, UK time) of the UK day this naive UTC moment falls in, as naive UTC."""
    return _uk_clock(moment.replace(tzinfo=UTC).astimezone(_UK).date())


def _claim(category: str | None) -> bool | None:
    """The verified-claim stamp of a demo account's post or vote: no demo claim is verified (staff, students)."""
    return False if category in ("staff", "student") else None


class _Seeder(_Planner):
    """Builds the whole dataset in memory, then writes it with bulk inserts."""

    def __init__(self, session: Session, *, rng: random.Random, now: datetime, participants: int, ideas: int,
                 comments: int, votes: int, progress: Callable[[str], None]) -> None:
        self.session = session
        self.rng = rng
        # The demo's clock stops at the start of `now`'s UK day: seeded at any hour of one day, it is the same
        # data (its traffic follows the hour of day, so a later `now` had drawn other rows and other themes).
        self.now = _day_start(now)
        self.sizes = {"participants": participants, "ideas": ideas, "comments": comments, "votes": votes}
        self.say = progress
        self.corpus = load_corpus()
        self.writer = _Writer(self.corpus, rng)
        self.audit: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def day(self, offset: int, hour: int, minute: int = 0) -> datetime:
        """A UK wall-clock time on the day `offset` days from now, stored as naive UTC like every timestamp."""
        return _uk_clock((self.now + timedelta(days=offset)).date(), hour, minute)

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

    def insert_ideas(self) -> None:
        """Insert the ideas in posting order, with counts that match the rows that follow."""
        rows = [{
            "topic_id": i.topic.id, "phase_id": i.phase.id, "title": i.title, "body": i.body,
            "author_id": i.author.id if i.author else None, "entered_by_id": i.entered_by_id,
            "channel": i.channel,
            "author_category": i.category, "author_profession": i.profession,
            "author_claim_verified": _claim(i.category) if i.author else None, "created_at": i.created_at,
            "visible_from": i.created_at if i.state != "held" else None, "moderation_state": i.state,
            "moderation_reason": i.reason, "up_count": i.up, "down_count": i.down, "impression_count": i.seen,
            "comment_count": i.comments,
        } for i in self.ideas]
        ids = _insert_returning_ids(self.session, Idea, rows)
        for idea, idea_id in zip(self.ideas, ids, strict=True):
            idea.id = idea_id
            if idea.entered_by_id is not None and idea.offline_event is None:
                self.audit.append({"actor_id": idea.entered_by_id, "action": "idea.enter_on_behalf",
                                   "target_type": "idea", "target_id": idea_id,
                                   "detail": {"channel": idea.channel}, "at": idea.created_at})
        self._insert_offline_events()
        self.session.commit()
        self.counts["ideas"] = len(rows)
        self.say(f"{len(rows):,} ideas")

    def _insert_offline_events(self) -> None:
        """The events the offline ideas were gathered at, each idea linked to its event as an upload links it."""
        events = linked = 0
        for number, group in enumerate(self.corpus["offline"]):
            ideas = [i for i in self.ideas if i.offline_event == number]
            if not ideas:
                continue
            # Held the day before its first idea was typed in (not before the phase opened); the rest followed.
            first = min(i.created_at for i in ideas)
            held = max(first - timedelta(days=1), ideas[0].phase.opens_at)
            event_id = self.session.execute(insert(OfflineEvent).values(
                phase_id=ideas[0].phase.id, channel=group["channel"], name=group["name"], held_on=held.date(),
                people=group["people"], profile=group["profile"], created_at=first,
            ).returning(OfflineEvent.id)).scalar_one()
            events += 1
            self.session.execute(insert(OfflineContribution), [{
                "phase_id": idea.phase.id, "event_id": event_id, "idea_id": idea.id,
                "fingerprint": hashlib.sha256(f"demo\x1f{group['name']}\x1f{idea.title}".encode()).hexdigest(),
            } for idea in ideas])
            linked += len(ideas)
            # Typed up into the workshop spreadsheet and uploaded, as a facilitator does (services/workshops.py).
            self.audit.append({"actor_id": self.staff["facilitator"].id, "action": "offline.upload",
                               "target_type": "phase", "target_id": ideas[0].phase.id,
                               "detail": {"added": len(ideas), "rejected": 0, "already": 0},
                               "at": first})
        self.counts.update(offline_events=events, offline_ideas=linked)

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
                "author_profession": c.author.profession if c.author else None,
                "author_claim_verified": _claim(c.author.category) if c.author else None, "created_at": c.created_at,
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
            "voter_profession": voter.profession, "voter_claim_verified": _claim(voter.category),
            "created_at": created, "updated_at": updated,
        } for (voter, item, value, created, updated), key, other in votes), "votes")
        events = sorted(((e, key, other) for activity, key, other in both for e in activity.events),
                        key=lambda row: row[0][3])
        self.counts["vote_events"] = self._bulk(VoteEvent, ({
            "voter_id": voter.id, key: item.id, other: None, "value": value, "voter_category": voter.category,
            "voter_profession": voter.profession, "voter_claim_verified": _claim(voter.category), "at": at,
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
