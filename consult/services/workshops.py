"""Contributions gathered offline (workshops, paper, phone), uploaded by CSV, checked row by row.

A bad row rejects nothing else: each good row goes in on its own savepoint and each bad one is reported with
its row number and what to fix. Every row has a fingerprint (topic, title, text, channel, event and date),
unique per phase, so uploading the same file again adds nothing twice. Offline input is accepted while the
phase is open and, after it closes, up to a deadline the facilitator sets. Offline ideas have no author, so
they carry no votes of their own and are left out of vote-based support.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    CATEGORIES,
    GATHERED,
    IDEA_BODY_MAX,
    TITLE_MAX,
    Idea,
    OfflineContribution,
    OfflineEvent,
    OfflineSettings,
    Phase,
    Topic,
    User,
    utcnow,
)
from . import audit, moderation
from .errors import Conflict, Invalid
from .phases import scheduled_state
from .text import require_text, require_title

COLUMNS = ("topic", "title", "idea", "channel", "event", "date", "people", "group_profile", "category")
REQUIRED = ("topic", "title", "idea", "channel", "event", "date")
CHANNELS = {"workshop": "workshop", "paper": "paper", "phone": "phone"}
MAX_ROWS = 2000
PROFILE_MAX = 300


@dataclass
class UploadReport:
    """What happened to each row of an upload."""

    added: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # added, but waiting for a moderator (personal details)
    problems: list[tuple[int, list[str]]] = field(default_factory=list)
    events: set[str] = field(default_factory=set)


def template_csv(phase: Phase) -> str:
    """A template with the columns, one example row per channel, and this phase's topic names."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    first = phase.topics[0].title if phase.topics else "Topic title"
    day = max(phase.opens_at or utcnow(), utcnow()).date().isoformat()  # a date the upload would accept
    writer.writerow([first, "Transport to appointments", "Several people said buses do not reach the clinic.",
                     "workshop", "Older people's forum, Southampton", day, "12",
                     "older adults, mostly disabled", "service_user"])
    writer.writerow([first, "Phone follow-up", "Call me after the appointment instead of a letter.", "phone",
                     "Phone line", day, "", "", ""])
    return out.getvalue()


def deadline_for(session: Session, phase: Phase) -> datetime | None:
    """The facilitator-set deadline for offline input after the phase closes, if any."""
    return session.scalar(select(OfflineSettings.deadline).where(OfflineSettings.phase_id == phase.id))


def set_deadline(session: Session, actor: User, phase: Phase, deadline: datetime | None) -> None:
    """Set (or clear) how long after closing offline contributions may still be entered."""
    if deadline is not None and phase.closes_at is not None and deadline < phase.closes_at:
        raise Invalid("There is a problem", {"deadline": "The deadline must be after the phase closes"})
    row = session.scalar(select(OfflineSettings).where(OfflineSettings.phase_id == phase.id))
    if row is None:
        row = OfflineSettings(phase_id=phase.id)
        session.add(row)
    row.deadline = deadline
    audit.record(session, actor, "offline.deadline", "phase", phase.id,
                 deadline=deadline.isoformat() if deadline else None)
    session.flush()


def accepting(session: Session, phase: Phase, now: datetime | None = None) -> tuple[bool, str]:
    """Whether offline input is accepted now, and why not when it is not."""
    now = now or utcnow()
    state = scheduled_state(phase, now)
    if state == "open":
        return True, ""
    if state == "draft":
        return False, "This phase has not opened yet. Open it before entering contributions."
    deadline = deadline_for(session, phase)
    if deadline is not None and now <= deadline:
        return True, ""
    if deadline is None:
        return False, ("This phase is closed. Set a deadline for offline contributions below to enter what "
                       "was gathered before it closed.")
    return False, (f"This phase is closed and the deadline for offline contributions ({_day(deadline.date())}) "
                   "has passed.")


def _parse_date(text: str) -> date | None:
    """A date written as 2021-05-14 or 14/05/2021."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _topic(phase: Phase, text: str) -> Topic | None:
    """A topic of this phase by its title (any case) or its number."""
    wanted = " ".join(text.split()).casefold()
    for topic in phase.topics:
        if " ".join(topic.title.split()).casefold() == wanted or str(topic.position) == wanted:
            return topic
    return None


def _check_row(phase: Phase, row: dict[str, str], today: date) -> tuple[dict[str, Any], list[str]]:
    """Validate one row; return the clean values and the problems in plain words."""
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for name in REQUIRED:
        if not row.get(name):
            problems.append(f"the {name} column is empty")
    if problems:
        return clean, problems
    topic = _topic(phase, row["topic"])
    if topic is None:
        problems.append(f"there is no topic called “{row['topic'][:80]}” in this phase")
    clean["topic"] = topic
    for name, label, limit, single in (("title", "a title", TITLE_MAX, True), ("idea", "the idea", IDEA_BODY_MAX,
                                                                               False)):
        try:
            clean[name] = require_title(row[name], max_length=limit) if name == "title" else \
                require_text(row[name], field=name, label=label, max_length=limit, single_line=single)
        except Invalid as exc:
            problems.append(f"{name}: {next(iter(exc.field_errors.values()), exc.message)}")
    channel = row["channel"].strip().lower()
    if channel not in CHANNELS:
        problems.append(f"the channel “{row['channel'][:20]}” should be workshop, paper or phone")
    clean["channel"] = channel
    try:
        clean["event"] = require_text(row["event"], field="event", label="the event name", max_length=150,
                                      single_line=True)
    except Invalid as exc:
        problems.append(f"event: {next(iter(exc.field_errors.values()), exc.message)}")
    held = _parse_date(row["date"])
    if held is None:
        problems.append(f"the date “{row['date'][:20]}” should look like 2021-05-14 or 14/05/2021")
    elif held > today:
        problems.append("the date is in the future")
    elif phase.opens_at is not None and held < phase.opens_at.date():
        # Input gathered before the question was asked belongs to another round (and catches the template's
        # example rows sent as they are).
        problems.append(f"the date is before this phase opened ({_day(phase.opens_at.date())})")
    clean["held_on"] = held
    people = row.get("people", "")
    if people and (not people.isdigit() or not 1 <= int(people) <= 100000):
        problems.append(f"people should be a whole number of people, not “{people[:20]}”")
    clean["people"] = int(people) if people.isdigit() else None
    profile = " ".join(row.get("group_profile", "").split())
    if len(profile) > PROFILE_MAX:
        problems.append(f"the group profile is longer than {PROFILE_MAX} characters")
    clean["profile"] = profile or None
    category = row.get("category", "").strip().lower()
    if category and category not in CATEGORIES:
        problems.append(f"the category “{category[:20]}” should be one of {', '.join(CATEGORIES)} or empty")
    clean["category"] = category or None
    return clean, problems


def _fingerprint(clean: dict[str, Any]) -> str:
    """What makes a row the same row when a file is uploaded again."""
    parts = (str(clean["topic"].id), clean["title"], clean["idea"], clean["channel"], clean["event"].casefold(),
             clean["held_on"].isoformat())
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _event(session: Session, phase: Phase, clean: dict[str, Any]) -> OfflineEvent:
    """The event a row belongs to, created on first sight; the first profile given is kept."""
    event = session.scalar(select(OfflineEvent).where(
        OfflineEvent.phase_id == phase.id, OfflineEvent.channel == clean["channel"],
        OfflineEvent.name == clean["event"], OfflineEvent.held_on == clean["held_on"]))
    if event is None:
        event = OfflineEvent(phase_id=phase.id, channel=clean["channel"], name=clean["event"],
                             held_on=clean["held_on"])
        session.add(event)
        session.flush()
    if event.people is None and clean["people"]:
        event.people = clean["people"]
    if event.profile is None and clean["profile"]:
        event.profile = clean["profile"]
    return event


# The hand-entry form's choice for "a new event, described in the boxes below".
NEW_EVENT = "new"


@dataclass(frozen=True)
class EventChoice:
    """Which event an idea entered by hand came from: a recorded one's id, NEW_EVENT with its details, or ""."""

    choice: str = ""
    name: str = ""
    day: str = ""
    month: str = ""
    year: str = ""
    people: str = ""
    profile: str = ""


def event_options(session: Session, phase: Phase) -> list[OfflineEvent]:
    """The phase's recorded events, newest first, for the hand-entry form's list."""
    return list(session.scalars(select(OfflineEvent).where(OfflineEvent.phase_id == phase.id)
                                .order_by(OfflineEvent.held_on.desc(), OfflineEvent.name)))


def check_event_choice(session: Session, phase: Phase, channel: str | None, choice: EventChoice,
                       errors: dict[str, str], today: date) -> OfflineEvent | dict[str, Any] | None:
    """The recorded event chosen, or a new event's clean details, or None; problems go into ``errors``."""
    picked = choice.choice.strip()
    if not picked:
        return None
    if picked != NEW_EVENT:
        event = session.get(OfflineEvent, int(picked)) if picked.isascii() and picked.isdigit() and \
            len(picked) < 19 else None
        if event is None or event.phase_id != phase.id:
            errors["event"] = "Select an event from the list, or that it came from none of them"
            return None
        if channel in CHANNELS and channel != event.channel:
            errors["event"] = (f"“{event.name}” was recorded as gathered {GATHERED[event.channel]}. Choose that "
                               "above, or choose another event")
        return event
    clean: dict[str, Any] = {"channel": channel}
    try:
        clean["event"] = require_text(choice.name, field="event_name", label="the event's name", max_length=150,
                                      single_line=True)
    except Invalid as exc:
        errors.update(exc.field_errors)
    parts = [p.strip() for p in (choice.day, choice.month, choice.year)]
    try:
        if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
            raise ValueError(parts)
        clean["held_on"] = date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors["event_date"] = "Enter the date it was held, for example 14 5 2021"
    else:
        if clean["held_on"] > today:
            errors["event_date"] = "The date it was held must be today or in the past"
        elif phase.opens_at is not None and clean["held_on"] < phase.opens_at.date():
            opened = _day(phase.opens_at.date())
            errors["event_date"] = f"The date must be on or after the day this phase opened ({opened})"
    people = choice.people.strip()
    if people and (not people.isascii() or not people.isdigit() or not 1 <= int(people) <= 100000):
        errors["event_people"] = "Enter how many people took part as a whole number, like 12, or leave it empty"
    clean["people"] = int(people) if people.isascii() and people.isdigit() else None
    profile = " ".join(choice.profile.split())
    if len(profile) > PROFILE_MAX:
        errors["event_profile"] = f"Describe the group in {PROFILE_MAX} characters or fewer"
    clean["profile"] = profile or None
    return clean


def entry_event(session: Session, phase: Phase, chosen: OfflineEvent | dict[str, Any]) -> OfflineEvent:
    """The chosen event, recording a new one (or finding one of the same name, channel and day) first."""
    if isinstance(chosen, OfflineEvent):
        return chosen
    try:
        with session.begin_nested():
            return _event(session, phase, chosen)
    except IntegrityError:
        # A double click recorded it a moment ago: use that one.
        return _event(session, phase, chosen)


def entry_fingerprint(topic: Topic, title: str, body: str, event: OfflineEvent) -> str:
    """An idea entered by hand from an event is the same row as it would be in that event's CSV upload."""
    return _fingerprint({"topic": topic, "title": title, "idea": body, "channel": event.channel,
                         "event": event.name, "held_on": event.held_on})


def already_entered(session: Session, phase: Phase, print_: str) -> Idea | None:
    """The idea already entered (by hand or upload) with this fingerprint, if any."""
    return session.scalar(select(Idea).join(OfflineContribution, OfflineContribution.idea_id == Idea.id)
                          .where(OfflineContribution.phase_id == phase.id,
                                 OfflineContribution.fingerprint == print_))


def event_of(session: Session, idea_id: int) -> OfflineEvent | None:
    """The recorded event an offline idea came from, if it is linked to one."""
    return session.scalar(select(OfflineEvent)
                          .join(OfflineContribution, OfflineContribution.event_id == OfflineEvent.id)
                          .where(OfflineContribution.idea_id == idea_id))


def link_entry(session: Session, phase: Phase, idea: Idea, event: OfflineEvent, print_: str) -> None:
    """Count an idea entered by hand with the event it came from, as an uploaded row is."""
    session.add(OfflineContribution(phase_id=phase.id, event_id=event.id, idea_id=idea.id, fingerprint=print_))
    session.flush()


def upload(session: Session, actor: User, phase: Phase, text: str, *, now: datetime | None = None) -> UploadReport:
    """Add every good row of a CSV as an offline idea; report every bad row; never add a row twice."""
    now = now or utcnow()
    ok, why = accepting(session, phase, now)
    if not ok:
        raise Conflict(why)
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error:
        header = []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise Invalid("There is a problem", {"file": "The file is missing the column" + ("s " if len(missing) > 1
                      else " ") + ", ".join(missing) + ". Download the template to start from."})
    report = UploadReport()
    seen: dict[str, int] = {}
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise Invalid("There is a problem", {"file": f"The file could not be read as CSV ({exc})."}) from exc
    if len(rows) > MAX_ROWS:
        raise Invalid("There is a problem", {"file": f"Upload at most {MAX_ROWS} rows at a time."})
    for number, raw in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        if not any(row.values()):
            continue  # a blank line is not a row
        clean, problems = _check_row(phase, row, now.date())
        if problems:
            report.problems.append((number, problems))
            continue
        print_ = _fingerprint(clean)
        if print_ in seen:
            report.problems.append((number, [f"this row repeats row {seen[print_]}, so it was added once"]))
            continue
        seen[print_] = number
        exists = session.scalar(select(OfflineContribution.id).where(OfflineContribution.phase_id == phase.id,
                                                                     OfflineContribution.fingerprint == print_))
        if exists is not None:
            report.already.append(number)
            continue
        try:
            with session.begin_nested():
                event = _event(session, phase, clean)
                idea = Idea(topic_id=clean["topic"].id, phase_id=phase.id, author_id=None, entered_by_id=actor.id,
                            channel=clean["channel"], author_category=clean["category"], author_profession=None,
                            created_at=now, visible_from=now, title=clean["title"], body=clean["idea"])
                session.add(idea)
                session.flush()
                session.add(OfflineContribution(phase_id=phase.id, event_id=event.id, idea_id=idea.id,
                                                fingerprint=print_))
                session.flush()
                # The same checks as a participant's post: notes typed up from a workshop can carry a name or
                # a phone number as easily as a post can.
                moderation.apply_screening(session, idea, phase=phase, now=now)
                if idea.moderation_state == "held":
                    report.held.append(number)
        except IntegrityError:
            # Someone uploaded the same file at the same moment: theirs went in, so this row is already there.
            report.already.append(number)
            continue
        report.added.append(number)
        report.events.add(clean["event"])
    if report.added:
        audit.record(session, actor, "offline.upload", "phase", phase.id, added=len(report.added),
                     rejected=len(report.problems), already=len(report.already), held=len(report.held))
    return report


def _day(value: date) -> str:
    """A date in words without a leading zero: "4 December 2026"."""
    return f"{value.day} {value:%B %Y}"


def _days(first: date, last: date) -> str:
    """A span of days in words: "4 December 2026", "1–4 December 2026", "30 November – 4 December 2026"."""
    if first == last:
        return _day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{_day(last)}"
    return f"{_day(first) if first.year != last.year else f'{first.day} {first:%B}'} – {_day(last)}"


def event_rows(session: Session, phase_ids: list[int]) -> list[dict[str, Any]]:
    """Offline events with how many contributions each brought in (for facilitators), then, per phase and
    channel, the offline ideas a facilitator entered one at a time (they belong to no uploaded event)."""
    if not phase_ids:
        return []
    counts = dict(session.execute(select(OfflineContribution.event_id, func.count())
                                  .where(OfflineContribution.phase_id.in_(phase_ids))
                                  .group_by(OfflineContribution.event_id)).all())
    events = session.scalars(select(OfflineEvent).where(OfflineEvent.phase_id.in_(phase_ids))
                             .order_by(OfflineEvent.held_on, OfflineEvent.name)).all()
    rows = [{"id": e.id, "phase_id": e.phase_id, "channel": e.channel, "name": e.name, "held_on": e.held_on,
             "when": _day(e.held_on), "people": e.people, "profile": e.profile,
             "contributions": int(counts.get(e.id, 0))} for e in events]
    uploaded = select(OfflineContribution.idea_id).where(OfflineContribution.phase_id.in_(phase_ids))
    singles = session.execute(
        select(Idea.phase_id, Idea.channel, func.count(), func.min(Idea.created_at), func.max(Idea.created_at))
        .where(Idea.phase_id.in_(phase_ids), Idea.author_id.is_(None), Idea.channel != "online",
               Idea.id.not_in(uploaded))
        .group_by(Idea.phase_id, Idea.channel).order_by(Idea.phase_id, Idea.channel)).all()
    rows += [{"id": None, "phase_id": phase_id, "channel": channel, "name": "Entered one at a time",
              "held_on": None, "when": _days(first.date(), last.date()), "people": None, "profile": None,
              "contributions": int(n)} for phase_id, channel, n, first, last in singles]
    return rows
