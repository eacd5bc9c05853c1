"""Quotes and typical examples: members near a theme's centre whose own words carry the theme's key terms.

A contribution is judged by its *own* words: a brief comment is themed with its idea's text as context, but
"Good idea. I'd like to know how it would be measured." says nothing about the idea's topic by itself. It is
quotable alone only when its own words, without a self-introduction, hold at least
``QUOTE_MIN_TOPICAL_WORDS`` topical words (``analysis.words``); a short reaction is never a quote or a
typical example. Quotes are the members nearest the centre whose own words use one of the theme's key words
(its label, top phrases and distinctive terms), re-ranked by support, no two alike. The typical example a
description quotes is the member nearest the centre among those whose own words hold the label's words (all
of them if any member does, else one), so a reader sees the label at work; with none, there is no typical
example rather than one that does not match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from analysis.text import STOP_WORDS, stem, tokenize
from analysis.words import own_topical_words

QUOTES = 3
QUOTE_POOL = 12  # members nearest the centre that compete, by support, to be quoted
QUOTE_MAX_SIMILARITY = 0.8
QUOTE_MIN_TOPICAL_WORDS = 3
EXAMPLES = 30  # substantive members near the centre offered as examples (stance sentences)
_JOINING = frozenset({"and", "of", "for", "to", "in", "at", "on"})


@dataclass(frozen=True)
class OwnWords:
    """Each text's own topical stems, whether it says enough to be quoted alone, and (on demand) a key for
    copies."""

    # A sorted tuple per text, one object per distinct set: at 500,000 texts a frozenset each held 200 MB more.
    stems: list[tuple[str, ...]]
    substantive: np.ndarray  # bool per text
    texts: Sequence[str]

    @classmethod
    def read(cls, own_texts: Sequence[str]) -> OwnWords:
        """Read the texts' own words (a comment's own text, not the idea it answers)."""
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        stems, substantive = [], np.zeros(len(own_texts), dtype=bool)
        for i, text in enumerate(own_texts):
            words = own_topical_words(text)
            found = tuple(sorted({stem(w) for w in words}))
            stems.append(shared.setdefault(found, found))
            substantive[i] = len(words) >= QUOTE_MIN_TOPICAL_WORDS
        return cls(stems, substantive, own_texts)

    def carries(self, i: int, wanted: frozenset[str]) -> bool:
        """Whether text ``i``'s own words use any of these stems."""
        return not wanted.isdisjoint(self.stems[i])

    def holds(self, i: int, wanted: frozenset[str]) -> bool:
        """Whether text ``i``'s own words use every one of these stems."""
        return wanted.issubset(self.stems[i])

    def key(self, i: int) -> str:
        """Text ``i``'s words, for telling copies apart from texts that only look alike."""
        return " ".join(tokenize(self.texts[i]))


def stems_of_phrases(phrases: Iterable[str]) -> frozenset[str]:
    """The stems of the content words of readable phrases or labels."""
    return frozenset(stem(w) for p in phrases for w in tokenize(p) if w not in _JOINING and w not in STOP_WORDS)


def choose_quotes(members: np.ndarray, similarity: np.ndarray, weights: np.ndarray, own: OwnWords,
                  key_stems: frozenset[str], tfidf: sp.csr_matrix | None = None) -> list[int]:
    """Up to ``QUOTES`` substantive members near the centre whose own words carry a key word, best supported
    first, no two with the same words or nearly the same terms."""
    nearest = members[np.argsort(-similarity[members], kind="stable")]
    substantive = [int(i) for i in nearest if own.substantive[i]]
    carrying = [i for i in substantive if own.carries(i, key_stems)]
    pool = carrying[:QUOTE_POOL]
    if len(pool) < QUOTES:  # too few carry a key word: the nearest substantive ones fill the pool
        pool += [i for i in substantive if i not in set(pool)][: QUOTES - len(pool)]
    ranked = sorted(pool, key=lambda i: (-weights[i], -similarity[i]))
    chosen: list[int] = []
    for i in ranked:
        if any(own.key(i) == own.key(j) for j in chosen):
            continue
        if chosen and tfidf is not None and tfidf.shape[1]:
            overlap = (tfidf[chosen] @ tfidf[i].T).toarray().max()
            if overlap > QUOTE_MAX_SIMILARITY:
                continue
        chosen.append(i)
        if len(chosen) == QUOTES:
            break
    return chosen


def choose_typical(members: np.ndarray, similarity: np.ndarray, own: OwnWords,
                   label_phrases: Sequence[str]) -> int | None:
    """The substantive member nearest the centre among those whose own words hold every word of the label's
    phrases, else of its first phrase, else of its second, else one word of them; None when none does (a
    typical example that does not match its label misleads)."""
    substantive = [int(i) for i in members if own.substantive[i]]
    wanted = [stems_of_phrases(label_phrases)] + [stems_of_phrases([p]) for p in label_phrases]
    wanted = [w for w in wanted if w]
    if not substantive or not wanted:
        return None
    tiers = [[i for i in substantive if own.holds(i, w)] for w in wanted]
    tiers.append([i for i in substantive if own.carries(i, wanted[0])])
    tier = next((t for t in tiers if t), None)
    return None if tier is None else max(tier, key=lambda i: (similarity[i], -i))


def examples(members: np.ndarray, similarity: np.ndarray, own: OwnWords, key_stems: frozenset[str],
             count: int = EXAMPLES) -> list[int]:
    """Substantive members whose own words carry a key word, nearest the centre first."""
    nearest = members[np.argsort(-similarity[members], kind="stable")]
    return [int(i) for i in nearest if own.substantive[i] and own.carries(i, key_stems)][:count]
