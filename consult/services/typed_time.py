"""Dates and times as facilitators type them (UK time, "9:30am", "midday") turned into the naive UTC the
database keeps, with a plain message for every way a typed date can be wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .errors import Invalid

UK = ZoneInfo("Europe/London")
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?m\.?)?", re.ASCII)
_TIME_WORDS = {"midday": (12, 0), "noon": (12, 0), "12 noon": (12, 0), "midnight": (0, 0)}


@dataclass(frozen=True)
class TypedDateTime:
    """A date and time as a person typed them into a form, in UK time."""

    day: str = ""
    month: str = ""
    year: str = ""
    time: str = ""

    @property
    def is_blank(self) -> bool:
        """True when nothing was typed in any part."""
        return not any(part.strip() for part in (self.day, self.month, self.year, self.time))

    @classmethod
    def from_utc(cls, value: datetime | None) -> TypedDateTime:
        """The form's parts for a stored UTC time, to fill in an edit form."""
        if value is None:
            return cls()
        local = value.replace(tzinfo=UTC).astimezone(UK)
        hour = local.hour % 12 or 12
        return cls(str(local.day), str(local.month), str(local.year),
                   f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}")


def parse_time(text: str) -> tuple[int, int] | None:
    """Hours and minutes from "9:30am", "9am", "14:00", "14.00" or "midday"; None when not a time."""
    text = " ".join(text.strip().lower().split())
    if text in _TIME_WORDS:
        return _TIME_WORDS[text]
    match = _TIME.fullmatch(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = match.group(3) or ""
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif hour > 23:
        return None
    return hour, minute


def to_utc(typed: TypedDateTime, *, field: str, label: str) -> datetime | None:
    """The naive UTC time for a UK date and time typed into a form; None when left blank."""
    if typed.is_blank:
        return None
    parts = {"day": typed.day.strip(), "month": typed.month.strip(), "year": typed.year.strip()}
    missing = [name for name, value in parts.items() if not value]
    if missing:
        message = f"The {label} date must include a {' and a '.join(missing)}"
        raise Invalid(message, {field: message})
    not_real = f"The {label} date must be a real date, like 3 6 2021"
    # ASCII digits only ("²".isdigit() is true but int() refuses it), and no more digits than a date has.
    if (not all(value.isascii() and value.isdigit() for value in parts.values()) or len(parts["year"]) != 4
            or len(parts["day"]) > 2 or len(parts["month"]) > 2):
        raise Invalid(not_real, {field: not_real})
    if not 2000 <= int(parts["year"]) < 2100:
        message = f"The {label} date must be in a year from 2000 to 2099"
        raise Invalid(message, {field: message})
    try:
        local_date = datetime(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except (ValueError, OverflowError) as exc:
        raise Invalid(not_real, {field: not_real}) from exc
    time_field = f"{field}_time"
    if not typed.time.strip():
        message = f"Enter the {label} time, like 9:00am or 17:30"
        raise Invalid(message, {time_field: message})
    clock = parse_time(typed.time)
    if clock is None:
        message = f"Enter the {label} time as a real time, like 9:00am or 17:30"
        raise Invalid(message, {time_field: message})
    local = local_date.replace(hour=clock[0], minute=clock[1], tzinfo=UK)
    return local.astimezone(UTC).replace(tzinfo=None)
