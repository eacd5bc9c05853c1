"""Correcting an offline event (a workshop, paper round or phone session) after it was recorded, or deleting one
that brought in no ideas. Its ideas point at the event, so they follow a correction; how they were gathered
follows a change of channel. Both are audited with what changed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import GATHERED, Idea, OfflineContribution, OfflineEvent, User
from . import audit
from .errors import Conflict, Invalid
from .workshops import CHANNELS, NEW_EVENT, EventChoice, check_event_choice


def contributions_of(session: Session, event: OfflineEvent) -> int:
    """How many ideas were entered under this event (uploaded or typed in)."""
    return session.scalar(select(func.count()).select_from(OfflineContribution)
                          .where(OfflineContribution.event_id == event.id)) or 0


def update_event(session: Session, actor: User, event: OfflineEvent, *, channel: str | None, choice: EventChoice,
                 today: date | None = None) -> list[str]:
    """Correct an event's channel, name, date, size or group with the checks used when it was recorded; the
    names of the details that changed (none: nothing is recorded)."""
    errors: dict[str, str] = {}
    channel = (channel or "").strip()
    if channel not in CHANNELS:
        errors["channel"] = "Select how the event's ideas were gathered"
    clean = check_event_choice(session, event.phase, channel, EventChoice(
        choice=NEW_EVENT, name=choice.name, day=choice.day, month=choice.month, year=choice.year,
        people=choice.people, profile=choice.profile), errors, today or date.today())
    if errors or not isinstance(clean, dict):
        raise Invalid("There is a problem", errors)
    clash = session.scalar(select(OfflineEvent.id).where(
        OfflineEvent.phase_id == event.phase_id, OfflineEvent.channel == channel,
        OfflineEvent.name == clean["event"], OfflineEvent.held_on == clean["held_on"], OfflineEvent.id != event.id))
    if clash is not None:
        raise Invalid("There is a problem", {"event_name": (
            f"Another event gathered {GATHERED[channel]} is called “{clean['event']}” on that day. Change the name "
            "or the date")})
    new = {"channel": channel, "name": clean["event"], "held_on": clean["held_on"], "people": clean["people"],
           "profile": clean["profile"]}
    before = {key: getattr(event, key) for key in new}
    changed = [key for key in new if before[key] != new[key]]
    if not changed:
        return []
    for key in changed:
        setattr(event, key, new[key])
    if "channel" in changed:
        # Its ideas were gathered the way the event was: the inclusion page counts them under the new channel.
        session.execute(update(Idea).where(Idea.id.in_(
            select(OfflineContribution.idea_id).where(OfflineContribution.event_id == event.id)))
            .values(channel=channel), execution_options={"synchronize_session": False})
    audit.record(session, actor, "offline.event_edit", "offline_event", event.id, phase_id=event.phase_id,
                 changed=changed, before={k: _plain(before[k]) for k in changed},
                 after={k: _plain(new[k]) for k in changed})
    session.flush()
    return changed


def delete_event(session: Session, actor: User, event: OfflineEvent) -> None:
    """Delete an event that brought in no ideas (audited); one with ideas stays, with the reason."""
    count = contributions_of(session, event)
    if count:
        raise Conflict(f"“{event.name}” cannot be deleted because {count:,} "
                       f"{'idea was' if count == 1 else 'ideas were'} entered under it. An event is deleted only "
                       "when nothing came from it, so the inclusion page keeps counting the people it heard. "
                       "You can still correct its details.")
    audit.record(session, actor, "offline.event_delete", "offline_event", event.id, phase_id=event.phase_id,
                 name=event.name, channel=event.channel, held_on=event.held_on.isoformat())
    session.delete(event)
    session.flush()


def _plain(value: object) -> object:
    """A value as the audit log's JSON keeps it."""
    return value.isoformat() if isinstance(value, date) else value
