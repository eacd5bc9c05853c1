"""Unit tests of the analysis package, and small builders shared by them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analysis.records import Contribution, Impression, Vote
from analysis.themes import Theme, ThemeResult

START = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
# The evaluation data kept with the tests (a copy of ../shared/data, with licences).
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
POLIS_DIR = DATA_DIR / "polis"


def at(hours: float) -> datetime:
    """A time ``hours`` after the start of the test consultation."""
    return START + timedelta(hours=hours)


def idea(id: str, hours: float = 0.0, *, text: str = "", phase: str = "1", author: str | None = None,
         role: str = "participant", groups: dict[str, str] | None = None, kind: str = "idea",
         question: str = "What should change?") -> Contribution:
    """A contribution visible ``hours`` after the start."""
    return Contribution(
        id=id, kind=kind, parent=None, text=text or f"idea {id}", phase=phase, topic="workforce",
        question=question, visible_from=at(hours), author=author or f"author-{id}", author_role=role,
        groups=groups or {},
    )


def votes_for(item: str, up: int, down: int = 0, *, hours: float = 1.0, prefix: str = "v") -> list[Vote]:
    """``up`` up-votes and ``down`` down-votes on ``item`` from distinct people."""
    return [Vote(item, f"{prefix}{item}-u{i}", 1, at(hours)) for i in range(up)] + [
        Vote(item, f"{prefix}{item}-d{i}", -1, at(hours)) for i in range(down)
    ]


def views_for(item: str, people: int, *, hours: float = 1.0, prefix: str = "v") -> list[Impression]:
    """Impressions of ``item`` by ``people`` distinct people, named so the first ones match ``votes_for``."""
    names = [f"{prefix}{item}-u{i}" for i in range(people)]
    return [Impression(item, name, at(hours)) for name in names]


@dataclass
class FakeDoc:
    """The shape of ``analysis.themes.ThemeDoc``."""

    id: str
    text: str
    weight: float
    question: str
    own: str | None = None


def keyword_themes(keywords: list[str]):
    """A theme finder that puts each document in the theme of the first keyword its text contains."""

    def find(docs: list[FakeDoc], *, k: int | None = None, seed: int = 0, progress=None) -> ThemeResult:
        primary: dict[str, int] = {}
        for doc in docs:
            for t, word in enumerate(keywords):
                if word in doc.text:
                    primary[doc.id] = t
                    break
        if progress is not None:
            progress(0.5, "clustering")
        themes = []
        for t, word in enumerate(keywords):
            members = [d for d, theme in primary.items() if theme == t]
            if members:
                themes.append(Theme(t, word, [word], len(members), members, members[:2]))
        return ThemeResult(themes, primary, {d: [t] for d, t in primary.items()}, duplicates=[], stability=1.0,
                           k=len(themes), method="keywords")

    return find


def fake_sentiment(texts: list[str], questions: list[str]) -> list[float]:
    """+0.6 for "good", -0.6 for "bad", else 0."""
    return [0.6 if "good" in t else -0.6 if "bad" in t else 0.0 for t in texts]


def fake_label(compound: float) -> str:
    """VADER's usual thresholds."""
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def fake_engines(keywords: list[str]):
    """TextEngines built from the fakes above."""
    from analysis.pipeline import TextEngines

    return TextEngines(FakeDoc, keyword_themes(keywords), fake_sentiment, fake_label)
