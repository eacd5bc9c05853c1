"""Choosing quotes for a theme: on its topic, and each saying something different."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")
# Words of a theme's name that say nothing of its topic.
_JOINING = frozenset({"and", "or", "of", "the", "a", "an", "in", "for", "to", "with", "on"})


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """The Snowball stemmer (no data file needed): "waiting", "waited" and "waits" are all "wait"."""
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """A word's stem, remembered: an export stems every word of every contribution, from a small vocabulary."""
    return str(_stemmer().stem(word))


def topic_words(theme: dict[str, Any]) -> frozenset[str]:
    """The stems of a theme's name, as the analysts named it (its stored terms are too general to judge by)."""
    return frozenset(_stem(w) for w in _WORD.findall(str(theme.get("label", "")).lower())
                     if w not in _JOINING and len(w) > 2)


def on_topic(text: str, words: frozenset[str]) -> bool:
    """Whether a contribution uses a word of its theme's name (a quote should show what the theme is about)."""
    return any(_stem(w) in words for w in _WORD.findall(text.lower()))


def same_words(text: str) -> str:
    """A text's words as compared for repeats: case and spacing aside."""
    return " ".join(text.lower().split())
