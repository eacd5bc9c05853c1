"""Choosing quotes for a theme: on its topic, and each saying something different."""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")
# Words of a theme's name that say nothing of its topic.
_JOINING = frozenset({"and", "or", "of", "the", "a", "an", "in", "for", "to", "with", "on"})
# Endings taken off a name's words, longest first, so a root is found in its other forms by its start:
# "waiting" is "wait" ("waited", "waits"), "referrals" is "referr" ("referral", "referred").
# Each with the shortest root it may leave: "mental" keeps its ending, as "ment" would match "mention".
_ENDINGS = (("ings", 4), ("ing", 4), ("als", 5), ("al", 5), ("ies", 4), ("ied", 4), ("ed", 4), ("es", 4),
            ("s", 4))


def _root(word: str) -> str:
    """A word with its ending taken off, when enough is left to mean the same thing."""
    for ending, shortest in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= shortest:
            return word[:-len(ending)]
    return word


def topic_words(theme: dict[str, Any]) -> frozenset[str]:
    """The roots of a theme's name, as the analysts named it (its stored terms are too general to judge by)."""
    return frozenset(_root(w) for w in _WORD.findall(str(theme.get("label", "")).lower())
                     if w not in _JOINING and len(w) > 2)


def on_topic(text: str, words: frozenset[str]) -> bool:
    """Whether a contribution uses a word of its theme's name in some form (a quote should show what the theme is
    about)."""
    return any(word.startswith(root) for word in set(_WORD.findall(text.lower())) for root in words)


def same_words(text: str) -> str:
    """A text's words as compared for repeats: case and spacing aside."""
    return " ".join(text.lower().split())
