"""The demo corpus: phases, topics, themes and tagged texts read from consult/demo_data."""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .settings import DEMO_DATA, PEOPLE

_TAG = re.compile(r"^\[(\w+)(?::(\w+))?\]\s*")

if TYPE_CHECKING:
    from .traffic import _Person




# --- corpus -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A piece of corpus text, limited to authors of one category (and profession) when tagged."""

    value: Any
    category: str | None = None
    profession: str | None = None

    def fits(self, person: _Person) -> bool:
        """Whether this person could plausibly have written it."""
        if self.category is None:
            return True
        if self.category == "people":
            return person.category in PEOPLE
        return person.category == self.category and self.profession in (None, person.profession)


def _tagged(text: str) -> _Text:
    """Split a leading [category] or [category:profession] tag from a text."""
    match = _TAG.match(text)
    if match is None:
        return _Text(text)
    return _Text(text[match.end():], match.group(1), match.group(2))


@dataclass(frozen=True)
class _Theme:
    """A strand of conversation: its ideas, extra sentences and comments, and how well it is received."""

    key: str
    appeal: float
    leaning: dict[str, float]
    authors: frozenset[str] | None
    ideas: tuple[_Text, ...]
    details: tuple[str, ...]
    comments: tuple[_Text, ...]
    # Comments written for one idea (by its title), posted under it before the theme's own comments.
    on_idea: dict[str, tuple[_Text, ...]]


@lru_cache(maxsize=1)
def load_corpus() -> dict[str, Any]:
    """The demo text: consultation, phases, topics and themes, plus selected NHS patient feedback."""
    with (DEMO_DATA / "corpus.toml").open("rb") as handle:
        corpus = tomllib.load(handle)
    with (DEMO_DATA / "idea_comments.toml").open("rb") as handle:
        on_ideas = tomllib.load(handle)
    themes = {}
    for key, raw in corpus["themes"].items():
        ideas = []
        for title, body in raw["ideas"]:
            tagged = _tagged(title)
            ideas.append(_Text((tagged.value, body), tagged.category, tagged.profession))
        themes[key] = _Theme(
            key=key,
            appeal=float(raw["appeal"]),
            leaning=dict(raw.get("leaning", {})),
            authors=frozenset(raw["authors"]) if "authors" in raw else None,
            ideas=tuple(ideas),
            details=tuple(raw["details"]),
            comments=tuple(_tagged(text) for text in raw["comments"]),
            on_idea={_tagged(title).value: tuple(_tagged(text) for text in texts)
                     for title, texts in on_ideas.get(key, {}).items()},
        )
    feedback: dict[str, list[_Text]] = {}
    with (DEMO_DATA / "pxtext_feedback.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            feedback.setdefault(row["theme"], []).append(_Text(row["feedback"], "people"))
    return {**corpus, "theme_objects": themes, "feedback": {k: tuple(v) for k, v in feedback.items()}}


# --- time -------------------------------------------------------------------------------------
