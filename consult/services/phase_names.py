"""How the strategy team's pages and exports name a phase, and attribute a quote: one rule, kept here.

A phase is named by its own title, as the facilitator wrote it, capitals and all ("Online conversation three").
Its number is a separate fact (phases can be reordered or deleted, and the numbers move up): exports give it in a
column of its own. A quote is attributed as the strategy quoted people: "Anon, June 2021, Online conversation
three", the UK month it was posted and the phase, never the person.

The analysis engine is handed each phase as "Phase 2: <title>" (it orders phases by that key, and stored runs keep
it), so what it gives back is named here by the title it carries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .typed_time import UK

# "Phase 12: " at the start of the engine's key for a phase, and inside its quotes' attributions.
_ENGINE_PREFIX = re.compile(r"^Phase \d+: ")
_ENGINE_ATTRIBUTION = re.compile(r"^(Anon, [^,]+), Phase \d+: ")


def engine_key(phase: Any) -> str:
    """The key the analysis engine is given for a phase: "Phase 2: The AHP community" (it sorts phases by it)."""
    return f"Phase {phase.position}: {phase.title}"


def phase_name(phase: Any) -> str:
    """A phase's name on every page and export: its title as written; also reads an engine key or a plain name."""
    if phase is None:
        return ""
    if isinstance(phase, str):
        return _ENGINE_PREFIX.sub("", phase, count=1)
    return str(phase.title)


def month_year(moment: datetime | None) -> str:
    """The UK month and year of a stored (UTC) time: "June 2021"."""
    if moment is None:
        return "undated"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UK).strftime("%B %Y")


def attribution(moment: datetime | None, phase: Any) -> str:
    """ "Anon, June 2021, The AHP community": the month and the phase's name, never the person."""
    name = phase_name(phase)
    return f"Anon, {month_year(moment)}, {name}" if name else f"Anon, {month_year(moment)}"


def engine_attribution(text: str | None) -> str:
    """The engine's own quote attribution ("Anon, June 2021, Phase 2: X") named by the same rule."""
    return _ENGINE_ATTRIBUTION.sub(r"\1, ", text or "", count=1)
