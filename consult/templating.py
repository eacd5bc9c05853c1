"""Template filters and globals: dates in UK time, labels, the phase state a person sees."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for

from .models import AHP_PROFESSIONS, CATEGORY_LABELS, CATEGORY_PLURALS, OTHER_PROFESSIONS, PROFESSION_LABELS, utcnow
from .services.phases import scheduled_state

UK = ZoneInfo("Europe/London")
STATE_LABELS = {"draft": "Not open yet", "open": "Open", "closed": "Closed"}
STATE_TAGS = {"draft": "nhsuk-tag--grey", "open": "nhsuk-tag--green", "closed": "nhsuk-tag--blue"}


def uk_time(value: datetime | None, with_time: bool = True) -> str:
    """Format a stored UTC time as UK local time, e.g. "3 June 2021, 7:05pm"."""
    if value is None:
        return "not set"
    local = value.replace(tzinfo=UTC).astimezone(UK)
    date = f"{local.day} {local:%B %Y}"
    if not with_time:
        return date
    hour = local.hour % 12 or 12
    return f"{date}, {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def month_year(value: datetime | None) -> str:
    """Month and year, the only date shown beside anonymous contributions ("June 2021")."""
    return "" if value is None else value.replace(tzinfo=UTC).astimezone(UK).strftime("%B %Y")


def audience_text(phase: Any) -> str:
    """Who may contribute to a phase, as a sentence."""
    categories = phase.audience_categories
    if not categories:
        return "Open to everyone."
    return "For " + " and ".join(CATEGORY_PLURALS[c] for c in categories) + "."


def page_url(page: int, **changes: Any) -> str:
    """The current URL with another page number (and any other query changes)."""
    args = request.args.to_dict()
    args.update({k: str(v) for k, v in changes.items()})
    args["page"] = str(page)
    return url_for(request.endpoint or "public.home", **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["uk_time"] = uk_time
    app.jinja_env.filters["month_year"] = month_year
    app.jinja_env.globals.update(
        CATEGORY_LABELS=CATEGORY_LABELS,
        AHP_PROFESSIONS=AHP_PROFESSIONS,
        OTHER_PROFESSIONS=OTHER_PROFESSIONS,
        PROFESSION_LABELS=PROFESSION_LABELS,
        STATE_LABELS=STATE_LABELS,
        STATE_TAGS=STATE_TAGS,
        page_url=page_url,
        audience_text=audience_text,
        has_blueprint=lambda name: name in current_app.blueprints,
        phase_state=lambda phase: scheduled_state(phase, utcnow()),
        visible_phases=visible_phases,
    )


def visible_phases(consultation: Any) -> list[Any]:
    """The consultation's phases this person may see (drafts only for its staff)."""
    from . import authz

    return [phase for phase in consultation.phases if authz.phase_visible(phase)]
