"""Audit log details in words: "Moderation case 8", "Reasons: Email address, Phone number", UK times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .models import CATEGORY_LABELS
from .services.moderation import DECISION_WORDS, REASON_LABELS
from .templating import uk_time

# What each recorded key means, where its name alone does not say it.
KEY_WORDS = {
    "case_id": "Moderation case", "user_id": "Account", "run_id": "Analysis", "consultation_id": "Consultation",
    "phase_id": "Phase", "topic_id": "Topic", "idea_id": "Idea", "comment_id": "Comment", "theme_id": "Theme",
    "from_status": "Was", "to_status": "Now", "restricted": "Safeguarding (trained staff only)",
    "reasons": "Reasons", "reason": "Reason", "opens_at": "Opens", "closes_at": "Closes", "via": "From",
    "changed": "Changed", "premoderated": "Every post checked first", "decision": "Decision",
    "category": "Takes part as", "profession_changed": "Profession changed",
    "claim_verified": "Staff or student claim verified",
    "title": "Title", "slug": "Web address name", "position": "Was phase number",
    "topics_deleted": "Empty topics deleted with it", "phases_deleted": "Phases deleted with it",
}
# Field names listed in "changed".
FIELD_WORDS = {"opens_at": "opening time", "closes_at": "closing time", "audience": "who can take part",
               "requires_verified_staff": "checked staff only", "is_published": "published"}
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")
# Kinds of unusual activity, as the Unusual activity page names them.
_KINDS = {"vote_burst": "burst of votes", "post_burst": "burst of posts", "duplicate_text": "near-identical texts"}
_STATUS = {"open": "open", "closed": "closed", "held": "waiting for a moderator", "published": "published",
           "hidden": "hidden", "withdrawn": "withdrawn", "draft": "not open yet", "excluded": "votes left out",
           "dismissed": "dismissed"}


def key_words(key: str) -> str:
    """A detail's name as a person would say it."""
    return KEY_WORDS.get(key) or key.replace("_", " ").capitalize()


def value_words(key: str, value: Any) -> str:
    """A detail's value in words: yes/no, UK times, reasons and decisions by name, lists joined."""
    if value is None:
        return "not set"
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "from" in value or "to" in value:
            return f"{value_words(key, value.get('from'))} → {value_words(key, value.get('to'))}"
        return ", ".join(f"{key_words(k).lower()} {value_words(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(value_words(key, v) for v in value) or "none"
    if isinstance(value, str):
        if _ISO.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            # Stored as UTC (naive or marked): shown in UK time, as the page's heading says.
            return uk_time(moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None))
        if key == "changed":
            return FIELD_WORDS.get(value, value.replace("_", " "))
        if key in ("reasons", "reason"):
            return REASON_LABELS.get(value, value)
        if key == "decision":
            return DECISION_WORDS.get(value, value)
        if key == "category":
            return CATEGORY_LABELS.get(value, value)
        if key == "kind" and value in _KINDS:
            return _KINDS[value]
        if key.endswith("status") or key.endswith("state"):
            return _STATUS.get(value, value)
    return str(value)


def who_words(event: Any, email: str | None) -> str:
    """Who did it: the account's email, or what acted when no account did."""
    if email:
        return email
    if event.action == "moderation.auto_hold":
        return "Automatic screening (no account)"
    if (event.detail or {}).get("via") == "command line":
        return "The command line (no account)"
    # Every other action is taken by a signed-in person; the event outlives their deleted account.
    return "A deleted account"
