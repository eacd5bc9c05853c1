"""Forms for the facilitator pages: consultations, phases, topics, phase changes and offline entry."""

from __future__ import annotations

from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField

from . import Form
from .equality import EventForm


class BackForm(Form):
    """A plain POST button (open or close a phase) that returns to the page it came from."""

    next = HiddenField()


class PhaseChangeForm(BackForm):
    """Closing or reopening a phase: the confirmation, and for a reopening its new planned closing time."""

    confirmed = HiddenField()
    closes_at_day = StringField()
    closes_at_month = StringField()
    closes_at_year = StringField()
    closes_at_time = StringField()

    def typed(self, prefix: str) -> dict[str, str]:
        """The day, month, year and time boxes of the planned closing time, as typed."""
        return {part: getattr(self, f"{prefix}_{part}").data or "" for part in ("day", "month", "year", "time")}


class ConsultationForm(Form):
    """A consultation's title, web address name, summary, description and whether it is published."""

    title = StringField()
    slug = StringField()
    summary = TextAreaField()
    description = TextAreaField()
    is_published = StringField(default="no")

    @property
    def published(self) -> bool:
        """Whether "Yes, anyone can see it" was chosen."""
        return self.is_published.data == "yes"


class PhaseForm(Form):
    """A phase's wording, audience and planned times, typed as UK day, month, year and time boxes."""

    title = StringField()
    question = TextAreaField()
    description = TextAreaField()
    # The service checks the choices, so an odd value gets its plain message rather than WTForms' one.
    audience = SelectMultipleField(choices=[], validate_choice=False)
    opens_at_day = StringField()
    opens_at_month = StringField()
    opens_at_year = StringField()
    opens_at_time = StringField()
    closes_at_day = StringField()
    closes_at_month = StringField()
    closes_at_year = StringField()
    closes_at_time = StringField()
    requires_verified_staff = StringField()

    def typed(self, prefix: str) -> dict[str, str]:
        """The day, month, year and time boxes of one planned time, as typed."""
        return {part: getattr(self, f"{prefix}_{part}").data or "" for part in ("day", "month", "year", "time")}


class TopicForm(Form):
    """A topic's title and description."""

    title = StringField()
    description = TextAreaField()


class MoveTopicForm(BackForm):
    """Move a topic one place up or down."""

    direction = HiddenField()


class OnBehalfForm(EventForm):
    """An idea gathered at a workshop, on paper or by phone, with the group its author told us, and the event it
    came from: an event chosen from those recorded, or a new one's details (EventForm's boxes)."""

    category = StringField()
    profession = StringField()
    title = StringField()
    body = TextAreaField()
    event = StringField()
