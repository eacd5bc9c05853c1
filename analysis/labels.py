"""Theme labels an analyst would write: short noun phrases drawn from the texts, not lists of stems.

Candidate phrases are runs of one to three adjacent topical words in a text (stop words, sentiment and
politeness words break a run: "the car park was full" gives "car park"), keyed by their stems and shown in
their most common spelling. A phrase scores by how much more often the theme's texts use it than the rest do
(class-based TF-IDF over documents), with a bonus for two- and three-word phrases that several texts share.
The label is the best phrase, or the two best joined by "and" when the second is nearly as strong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from analysis.aside import is_tone_word
from analysis.text import STOP_WORDS, stem, tokenize

MAX_PHRASE_WORDS = 3
MIN_PHRASE_DOCS = 2
SECOND_PHRASE_RATIO = 0.75
PHRASE_BONUS = 0.35  # per extra word, for phrases at least MIN_PHRASE_DOCS texts share
EXTEND_SHARE = 0.2  # a longer phrase replaces its word when it has this share of the word's uses
COVERAGE_POWER = 1.0  # above 1 favours phrases many of the theme use over rare distinctive ones
# Words that read badly at either end of a label ("waiting long", "need parking").
_EDGE_WORDS = frozenset(
    "need needs needed want wanted get getting given give make made go going went come came take took "
    "told tell ask asked seen see use used able possible sure maybe also still even ever always often "
    "sometimes usually quite rather little long short early late first last next new old know knew look "
    "looked feel listen explain arrive arrived answer answered receive received understand present "
    "quicker faster sooner slower bigger smaller quick real reality sense makes gets spent date notice ago "
    "years year months weeks days term willing whilst etc thing things idea ideas point points way ways "
    "lot lots kind sort part parts bit everyone anyone someone".split()
)


def noun_like(word: str) -> bool:
    """A rough test, with no tagger to hand, for a word that can end a noun phrase."""
    if word in _EDGE_WORDS or len(word) < 3:
        return False
    return not (word.endswith(("ed", "ly")) and not word.endswith(("bed", "need", "speed", "feed", "family")))


# Joining words allowed inside a phrase, never at its ends: "speech and language therapy", "lack of beds".
CONNECTORS = frozenset({"and", "of", "for", "to", "in", "at", "on"})


def phrases_of(text: str) -> list[tuple[str, str]]:
    """(stem key, surface) of every candidate phrase in ``text``, each once."""
    runs: list[list[str]] = [[]]
    for token in tokenize(text):
        if token in CONNECTORS and runs[-1]:
            runs[-1].append(token)
            continue
        if token in STOP_WORDS or len(token) < 2 or is_tone_word(token) or token.startswith("xx"):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(token)
    found: dict[str, str] = {}
    for run in runs:
        for size in range(1, MAX_PHRASE_WORDS + 2):
            for start in range(len(run) - size + 1):
                words = run[start : start + size]
                if words[0] in CONNECTORS or words[-1] in CONNECTORS:
                    continue
                if sum(w not in CONNECTORS for w in words) > MAX_PHRASE_WORDS:
                    continue
                if words[0] in _EDGE_WORDS or not noun_like(words[-1]):
                    continue
                key = " ".join(w if w in CONNECTORS else stem(w) for w in words)
                found.setdefault(key, " ".join(words))
    return list(found.items())


def _acronyms(texts: Sequence[str]) -> frozenset[str]:
    """Words written in capitals most of the time ("CPD", "NHS", "AHP"), to show them so in labels."""
    cased: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for text in texts:
        for word in re.findall(r"[A-Za-z]{2,6}", text):
            (cased if word.isupper() else lower)[word.lower()] += 1
    return frozenset(w for w, n in cased.items() if n > lower[w])


class PhraseIndex:
    """Candidate phrases of every text, for scoring against any grouping of the texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        """Read every text's phrases once."""
        self.keys: list[list[str]] = []
        self.surface: dict[str, Counter[str]] = {}
        self.document_frequency: Counter[str] = Counter()
        for text in texts:
            pairs = phrases_of(text)
            self.keys.append([k for k, _ in pairs])
            for key, words in pairs:
                self.surface.setdefault(key, Counter())[words] += 1
                self.document_frequency[key] += 1
        self.n = len(texts)
        self.acronyms = _acronyms(texts)

    def readable(self, key: str) -> str:
        """A phrase's most common spelling, acronyms in capitals."""
        words = self.surface[key].most_common(1)[0][0].split()
        return " ".join(w.upper() if w in self.acronyms else w for w in words)

    def top(self, members: Sequence[int], count: int = 5) -> list[str]:
        """The ``count`` most distinctive phrase keys of the texts at ``members``, no phrase inside another."""
        if not members:
            return []
        inside: Counter[str] = Counter()
        for i in members:
            inside.update(self.keys[i])
        size = len(members)
        scored = []
        for key, count_in in inside.items():
            if count_in < min(MIN_PHRASE_DOCS, size):
                continue
            words = sum(part not in CONNECTORS for part in key.split())
            outside = self.document_frequency[key] - count_in
            rest = max(self.n - size, 1)
            share_in = count_in / size
            # Distinctiveness: the phrase's share inside against its share outside (smoothed), weighted by
            # how much of the theme uses it.
            lift = np.log((share_in + 1e-3) / ((outside + 0.5) / (rest + 1.0) + 1e-3))
            score = share_in**COVERAGE_POWER * max(lift, 0.0) * (1 + PHRASE_BONUS * (words - 1))
            if score > 0:
                scored.append((score, -words, key))
        scored.sort(reverse=True)
        chosen: list[str] = []
        for _, _, key in scored:
            parts = set(key.split()) - CONNECTORS
            if any(parts <= set(c.split()) or (set(c.split()) - CONNECTORS) <= parts for c in chosen):
                continue
            chosen.append(key)
            if len(chosen) == count:
                break
        return chosen

    def extend(self, members: Sequence[int], key: str) -> str:
        """A one-word phrase grown to the longer phrase a good share of its uses belong to ("waiting times")."""
        if " " in key:
            return key
        inside: Counter[str] = Counter()
        for i in members:
            inside.update(k for k in self.keys[i] if " " in k and key in k.split())
        base = self.scores(members, [key])[0] * max(len(members), 1)
        best = [(n, k) for k, n in inside.items() if n >= max(MIN_PHRASE_DOCS, EXTEND_SHARE * base)]
        return max(best)[1] if best else key

    def scores(self, members: Sequence[int], keys: Sequence[str]) -> list[float]:
        """Share of the texts at ``members`` that use each phrase key."""
        inside: Counter[str] = Counter()
        for i in members:
            inside.update(self.keys[i])
        return [inside[k] / max(len(members), 1) for k in keys]


def label_from(index: PhraseIndex, members: Sequence[int], fallback: str,
               taken: set[str] | frozenset[str] = frozenset(),
               exclude: Sequence[str] = ()) -> tuple[str, list[str]]:
    """A label ("Car park and parking charges") and the theme's top phrases in readable form.

    A label already in ``taken`` (another theme's) gets the theme's next phrase joined to it; phrases in
    ``exclude`` (a parent theme's) are not used, so a sub-theme says what sets it apart.
    """
    keys = [k for k in index.top(members, 5 + len(exclude)) if index.readable(k) not in exclude][:5]
    if not keys:
        return fallback, []
    keys[0] = index.extend(members, keys[0])
    readable = [index.readable(k) for k in keys]
    shares = index.scores(members, keys[:2])
    label = readable[0]
    if len(keys) > 1 and shares[1] >= SECOND_PHRASE_RATIO * shares[0]:
        label = f"{readable[0]} and {readable[1]}"
    if label.lower() in taken:
        extra = next((r for r in readable[1:] if r not in label), None)
        label = f"{readable[0]} and {extra}" if extra else label
    return label[:1].upper() + label[1:], readable


def flat(text: str) -> str:
    """A title and body on separate lines read as sentences on one line ("Title. Body")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:;" or i == len(lines) - 1 else line + "." for i, line in enumerate(lines))
