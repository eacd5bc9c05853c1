"""Writing ideas and comments from the corpus, the plans they are held in, and bulk-insert helpers."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from .corpus import _tagged, _Text, _Theme
from .settings import PEOPLE
from .traffic import _Density, _Person, _Pool


def _article(noun: str) -> str:
    """The noun with "a" or "an" in front."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


# --- text -------------------------------------------------------------------------------------


# Once an idea's own comments are taken, a theme comment posted under it is the closest in meaning to the idea
# among the next few its author could have written ("Unpaid carers must be in there" under "Unpaid carers"),
# not simply the next: the deck still deals each text once before any is repeated.
MATCH_WINDOW = 6


class _Deck:
    """Texts dealt in shuffled order, each used once before any is repeated."""

    def __init__(self, texts: Sequence[_Text], rng: random.Random) -> None:
        self.texts = list(texts)
        self.rng = rng
        self.order: list[_Text] = []
        self.next = 0

    def deal(self, person: _Person, prefer: Callable[[_Text], float] | None = None) -> _Text | None:
        """The next text this person could have written, or None if the deck has none; given ``prefer``, the
        one it scores highest among the next ``MATCH_WINDOW`` they could have written."""
        for _ in range(2):
            if self.next >= len(self.order):
                self.order = self.texts[:]
                self.rng.shuffle(self.order)
                self.next = 0
            fitting: list[int] = []
            for j in range(self.next, len(self.order)):
                if self.order[j].fits(person):
                    fitting.append(j)
                    if prefer is None or len(fitting) == MATCH_WINDOW:
                        break
            if fitting:
                # The first of equals, so the shuffled order breaks ties.
                j = max(fitting, key=lambda k: prefer(self.order[k])) if prefer is not None else fitting[0]
                self.order[self.next], self.order[j] = self.order[j], self.order[self.next]
                self.next += 1
                return self.order[self.next - 1]
            self.next = len(self.order)
        return None


class _Writer:
    """Composes idea and comment text from the corpus, varied by author and deterministic."""

    def __init__(self, corpus: dict[str, Any], rng: random.Random) -> None:
        self.corpus = corpus
        self.rng = rng
        self.themes: dict[str, _Theme] = corpus["theme_objects"]
        self.nouns: dict[str, str] = corpus["profession_nouns"]
        self.idea_decks = {key: _Deck(theme.ideas, rng) for key, theme in self.themes.items()}
        self.comment_decks = {key: _Deck(theme.comments, rng) for key, theme in self.themes.items()}
        self.feedback_decks = {key: _Deck(texts, rng) for key, texts in corpus["feedback"].items()}
        text = corpus["text"]
        self.generic = _Deck([_tagged(t) for t in text["generic_comments"]], rng)
        self.replies = _Deck([_tagged(t) for t in text["replies"]], rng)
        self.posted: dict[tuple[str, str], set[int]] = {}  # which of an idea's own comments are taken
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def _on_idea(self, theme: _Theme, idea: str, person: _Person) -> _Text | None:
        """The next comment written for this idea that this person could have written and nobody has posted."""
        used = self.posted.setdefault((theme.key, idea), set())
        for number, text in enumerate(theme.on_idea.get(idea, ())):
            if number not in used and text.fits(person):
                used.add(number)
                return text
        return None

    def _related(self, theme: _Theme, idea: str, person: _Person) -> _Text | None:
        """A comment of the theme's own, the closest in meaning to the idea titled ``idea`` among the next few
        this person could have written."""
        vectors = self._vectors()
        target = vectors.get((theme.key, idea))
        if target is None:
            return self.comment_decks[theme.key].deal(person)
        return self.comment_decks[theme.key].deal(person, lambda t: float(vectors[(theme.key, t.value)] @ target))

    def _vectors(self) -> dict[tuple[str, str], np.ndarray]:
        """Each theme's ideas (by title) and comments placed in the theme engine's space of meaning, all at
        once: word weights come from the whole corpus (one text alone weighs every word 0)."""
        if not self.vectors:
            from analysis.themes import embed_texts  # here: scikit-learn is imported only when seeding

            named = [((key, title), f"{title}. {body}") for key, theme in self.themes.items()
                     for title, body in (t.value for t in theme.ideas)]
            named += [((key, t.value), t.value) for key, theme in self.themes.items() for t in theme.comments]
            self.vectors.update(zip((k for k, _ in named), embed_texts([text for _, text in named]), strict=True))
        return self.vectors

    def _opener(self, person: _Person) -> str:
        """A first sentence saying who the author is."""
        openers, rng = self.corpus["openers"], self.rng
        if person.category == "staff":
            noun = _article(self.nouns[person.profession or "other_staff"])
            return rng.choice(openers["staff"]).format(noun=noun, setting=rng.choice(openers["settings"]),
                                                       years=rng.randint(2, 30))
        if person.category == "student":
            return rng.choice(openers["student"]).format(course=rng.choice(openers["courses"]))
        return rng.choice(openers[person.category])

    def idea(self, theme: _Theme, person: _Person, phase_index: int, offline: bool = False,
             taken: set[str] | None = None) -> tuple[str, str] | None:
        """A title and body for an idea on this theme by this person (offline: typed in by a facilitator).

        None when every idea on the theme this person could write has a title in taken (the topic's titles):
        real people do not post the same idea twice under one topic.
        """
        rng, taken = self.rng, taken if taken is not None else set()
        text = None
        for _ in range(len(theme.ideas)):
            dealt = self.idea_decks[theme.key].deal(person)
            if dealt is not None and dealt.value[0] not in taken:
                text = dealt
                break
        if text is None:
            return None
        title, body = text.value
        # Staff introducing themselves in phase 1 would read oddly: it asks people about their own care. A
        # facilitator types in what was said, and the event, not the text, says where it was gathered.
        if not offline and text.category is None and rng.random() < 0.35 and (
            phase_index > 0 or person.category in PEOPLE
        ):
            body = f"{self._opener(person)} {body}"
        # No stock sentences are added: the same pasted line on many ideas reads as fake and skews the analysis.
        return title, body

    def comment(self, theme: _Theme, person: _Person, phase_index: int, *, reply: bool, idea: str = "") -> str:
        """A comment (or reply) on the idea titled ``idea`` of this theme, by this person."""
        roll = self.rng.random()
        text: _Text | None = None
        if reply and roll < 0.55:
            text = self.replies.deal(person)
        elif phase_index == 0 and roll < 0.25 and theme.key in self.feedback_decks:
            text = self.feedback_decks[theme.key].deal(person)
        elif roll < 0.75 and (theme.authors is None or person.category in theme.authors):
            text = self._on_idea(theme, idea, person) or self._related(theme, idea, person)
        if text is None:
            text = self.generic.deal(person) or _Text(self.corpus["text"]["generic_comments"][0])
        openers = self.corpus["text"].get(f"comment_openers_{person.category}")
        if text.category is None and openers and self.rng.random() < 0.15:
            noun = self.nouns[person.profession or "other_staff"]
            opener = self.rng.choice(openers).format(noun=_article(noun), Noun=noun.capitalize())
            return f"{opener} {text.value}"
        return text.value


# --- plans ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _TopicPlan:
    """A topic and the themes its ideas come from."""

    title: str
    description: str
    weight: float
    themes: list[_Theme]
    theme_weights: list[float]
    id: int = 0


@dataclass(eq=False)
class _PhasePlan:
    """A phase: schedule, state, audience, traffic and who may take part."""

    index: int
    raw: dict[str, Any]
    opens_at: datetime
    closes_at: datetime
    state: str
    last: datetime  # the last second anyone could act: just before closing, or now
    activity: _Density
    pool: _Pool
    topics: list[_TopicPlan]
    exposure: _Density | None = None
    id: int = 0


@dataclass(eq=False)
class _IdeaPlan:
    """An idea to insert, with its hidden appeal and the counts its rows will add up to."""

    phase: _PhasePlan
    topic: _TopicPlan
    theme: _Theme
    author: _Person | None
    category: str | None
    profession: str | None
    title: str
    body: str
    created_at: datetime
    visible_until: datetime | None  # None: held, never shown to anyone
    appeal: float
    channel: str = "online"
    entered_by_id: int | None = None
    state: str = "published"
    reason: str | None = None
    offline_event: int | None = None  # which of the corpus's offline groups it was gathered at
    id: int = 0
    up: int = 0
    down: int = 0
    seen: int = 0
    comments: int = 0


@dataclass(eq=False)
class _CommentPlan:
    """A comment or reply to insert."""

    idea: _IdeaPlan
    created_at: datetime
    appeal: float
    author: _Person | None = None
    parent: _CommentPlan | None = None
    body: str = ""
    state: str = "published"
    reason: str | None = None
    visible_until: datetime | None = None
    has_replies: bool = False
    id: int = 0
    up: int = 0
    down: int = 0
    seen: int = 0


# An idea or comment as the vote simulation sees it:
# (item, phase, author, visible from, visible until, theme).
_Exposed = tuple[Any, _PhasePlan, _Person | None, datetime, datetime | None, _Theme]


@dataclass
class _Interactions:
    """Impressions, votes and vote events, as tuples until the items have ids."""

    impressions: list[tuple[int, Any, datetime]] = field(default_factory=list)
    votes: list[tuple[_Person, Any, int, datetime, datetime]] = field(default_factory=list)
    events: list[tuple[_Person, Any, int, datetime]] = field(default_factory=list)


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Group rows into lists of at most size."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_returning_ids(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in order and return their new ids, in the same order."""
    # Core inserts keep NULL columns in every row (the ORM's bulk path drops them, which splits
    # one executemany into thousands), and modest batches keep RETURNING bookkeeping linear.
    table = model.__table__  # type: ignore[attr-defined]
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for chunk in _chunks(rows, 2_000):
        ids.extend(session.execute(statement, chunk).scalars())
    return ids


# --- the seeder -------------------------------------------------------------------------------
