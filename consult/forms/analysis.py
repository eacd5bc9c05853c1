"""Forms for the analysts' pages."""

from __future__ import annotations

from wtforms import StringField

from . import Form, IdField


class StartAnalysisForm(Form):
    """Which consultation to analyse, all of it or one phase, and an optional number of themes."""

    consultation_id = IdField()
    # "all", or a phase id.
    scope = StringField(default="all")
    k = StringField()
