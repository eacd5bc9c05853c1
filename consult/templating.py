"""Template filters and globals: dates in UK time, labels, the phase state a person sees."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for

from . import publicids
from .fragments import contribution_controls, vote_buttons
from .models import (
    AHP_PROFESSIONS,
    CATEGORY_LABELS,
    CATEGORY_PLURALS,
    GATHERED,
    OTHER_PROFESSIONS,
    PROFESSION_LABELS,
    utcnow,
)
from .services.group_names import dimension_title, group_label
from .services.moderation import DECISION_WORDS
from .services.phase_names import attribution, engine_attribution, phase_name
from .services.phases import scheduled_state
from .services.text import plural

UK = ZoneInfo("Europe/London")
STATE_LABELS = {"draft": "Not open yet", "open": "Open", "closed": "Closed"}
FIXED_URLS = 20_000  # addresses fixed_url remembers per process before it starts again
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
    return "" if value is None else _month_year(value.year, value.month, value.day, value.hour)


# UK clocks change, and UK months begin, on the hour in UTC, so the hour decides the month. Pages show this beside
# every idea and comment, and the time zone conversion was a fortieth of a page's work.
@lru_cache(maxsize=4096)
def _month_year(year: int, month: int, day: int, hour: int) -> str:
    """The UK month and year of this UTC hour."""
    return datetime(year, month, day, hour, tzinfo=UTC).astimezone(UK).strftime("%B %Y")


def audience_text(phase: Any) -> str:
    """Who may contribute to a phase, as a sentence."""
    categories = phase.audience_categories
    if not categories:
        return "Open to everyone."
    return "For " + " and ".join(CATEGORY_PLURALS[c] for c in categories) + "."


def _day(value: datetime) -> str:
    """A UK date and time in words, e.g. "30 June at 11:59pm" (the year only when it is not this year)."""
    local = value.replace(tzinfo=UTC).astimezone(UK)
    year = "" if local.year == datetime.now(UK).year else f" {local.year}"
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B}{year} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def _span(delta_seconds: float) -> str:
    """A time left in the largest whole unit that fits: "3 days", "5 hours", "20 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if delta_seconds >= size:
            n = int(delta_seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "less than a minute"


def phase_timing(phase: Any, now: datetime | None = None) -> str:
    """When a phase runs, in words: the time left on an open phase, when a closed one ran."""
    now = now or utcnow()
    state = scheduled_state(phase, now)
    if state == "open":
        if phase.closes_at is None:
            return "Open now, with no closing date set."
        return f"Closes in {_span((phase.closes_at - now).total_seconds())}, on {_day(phase.closes_at)}."
    if state == "closed":
        ran_from = f" from {_day(phase.opens_at)}" if phase.opens_at else ""
        ended = phase.closes_at if phase.closes_at and phase.closes_at <= now else None
        if ended:
            return f"Closed. It ran{ran_from} to {_day(ended)}."
        return f"Closed. It opened on {_day(phase.opens_at)}." if phase.opens_at else "Closed."
    if phase.opens_at and phase.opens_at > now:
        return f"Opens in {_span((phase.opens_at - now).total_seconds())}, on {_day(phase.opens_at)}."
    return "Not open yet."


def phase_step(phase: Any) -> str:
    """Where a phase sits in its consultation, e.g. "Phase 2 of 3" (counting the phases this person sees)."""
    from . import authz

    ids = authz.visible_phase_ids(phase.consultation)
    number = next((i for i, phase_id in enumerate(ids, 1) if phase_id == phase.id), phase.position)
    return f"Phase {number} of {max(len(ids), number)}"


def page_url(page: int, **changes: Any) -> str:
    """The current URL with another page number (and any other query changes)."""
    args = request.args.to_dict()
    args.update({k: str(v) for k, v in changes.items()})
    args["page"] = str(page)
    return url_for(request.endpoint or "public.home", **(request.view_args or {}), **args)


def fixed_url(known: dict[tuple[Any, ...], str], endpoint: str, **values: Any) -> str:
    """url_for() remembered per app (`known`) and script root: the same endpoint and values give the same address.

    Every page links a dozen addresses in base.html, and topic and idea pages their breadcrumbs, order links and
    forms' actions. The app has no url_defaults functions, so nothing else about a request changes these
    addresses. Not for values that come from the request (a `next` address): each would be remembered.
    """
    key = (request.script_root, endpoint, *values.items())
    url = known.get(key)
    if url is None:
        if len(known) >= FIXED_URLS:
            known.clear()  # a bound on memory: pages of many topics and ideas (a comment form names its idea)
        url = known[key] = url_for(endpoint, **values)
    return url


def pid_url(known: dict[tuple[Any, ...], str], key: str, endpoint: str, id_arg: str, id_kind: str, item_id: int,
            **values: Any) -> str:
    """url_for(endpoint, **{id_arg: item_id}, **values) for an address that ends in an idea's or comment's public id.

    A list links each of its ideas or comments to the same endpoint: the address before the public id is built by
    url_for once per process and script root (`known`, as fixed_url) and each item's public id (under the app's
    key, `key`) put after it (url_for cost more than a card's text; so did a per-request cache in g).
    """
    cache_key = (request.script_root, endpoint, id_arg, id_kind, *values.items())
    prefix = known.get(cache_key)
    if prefix is None:
        url = url_for(endpoint, **values, **{id_arg: item_id})
        public_id = publicids.encode(id_kind, item_id, key=key)
        # An address whose public id is not its last part (none yet) is left to url_for on every item.
        known[cache_key] = url[:-len(public_id)] if url.endswith("/" + public_id) else ""
        return url
    if not prefix:
        return url_for(endpoint, **values, **{id_arg: item_id})
    return prefix + publicids.encode(id_kind, item_id, key=key)


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["uk_time"] = uk_time
    app.jinja_env.filters["month_year"] = month_year
    app.jinja_env.filters["plural"] = plural
    app.jinja_env.filters["phase_name"] = phase_name
    # {{ comment.id|pid('comment') }}: the public id of an idea or comment (anchors, form fields, data attributes).
    # The key is read once, as the URL converters read it (authz.init_app): pages call this ~70 times.
    key = str(app.config["PUBLIC_ID_KEY"])
    app.jinja_env.filters["pid"] = lambda n, kind: publicids.encode(kind, n, key=key)
    from .audit_words import key_words, value_words, who_words  # it formats times with this module's uk_time

    app.jinja_env.globals.update(audit_key=key_words, audit_value=value_words, audit_who=who_words)
    app.jinja_env.globals.update(
        CATEGORY_LABELS=CATEGORY_LABELS,
        GATHERED=GATHERED,
        DECISION_WORDS=DECISION_WORDS,
        group_label=group_label,
        dimension_title=dimension_title,
        phase_name=phase_name,
        attribution=attribution,
        engine_attribution=engine_attribution,
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
        phase_timing=phase_timing,
        phase_step=phase_step,
        fixed_url=partial(fixed_url, {}),
        vote_buttons=partial(vote_buttons, key),
    )
    app.jinja_env.globals["pid_url"] = bound_pid_url = partial(pid_url, {}, key)
    app.jinja_env.globals["contribution_controls"] = partial(contribution_controls, bound_pid_url)


def visible_phases(consultation: Any) -> list[Any]:
    """The consultation's phases this person may see (drafts only for its staff)."""
    from . import authz

    return [phase for phase in consultation.phases if authz.phase_visible(phase)]
