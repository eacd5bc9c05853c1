"""Tokenising and normalising free text for themes and sentiment.

Uses nltk's ``SnowballStemmer`` (it needs no downloaded data), a word pattern, and scikit-learn's English stop
words minus the negations and quantifiers that carry meaning in consultation answers ("nothing", "not
enough staff", "more parking").
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

KEPT_WORDS: frozenset[str] = frozenset(
    {"no", "not", "nothing", "never", "none", "nor", "cannot", "few", "more", "most", "less"}
)
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS - KEPT_WORDS) | frozenset(
    # Contraction remnants ("don t", "i m") and filler that say nothing about a theme.
    {"s", "t", "d", "ll", "m", "ve", "re", "did", "does", "doing", "got", "just", "really", "lot", "lots"}
)

# The pattern nltk's RegexpTokenizer was given, run by the standard library: nltk 3.10 routes every pattern
# through the ``regex`` engine under a timeout, six times slower per text (14 against 2.3 microseconds), and a
# pattern without nested repetition cannot backtrack catastrophically. Same tokens on every text.
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")
_STEMMER = SnowballStemmer("english")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WHITESPACE = re.compile(r"\s+")
# Negative contractions, with and without the apostrophe, become "<verb> not" (and "can't" becomes
# "cannot") so every spelling of a negation lands on the same kept token.
_IRREGULAR_NEGATIONS: dict[str, tuple[str, ...]] = {
    "can't": ("cannot",),
    "cant": ("cannot",),
    "won't": ("will", "not"),
    "wont": ("will", "not"),
    "shan't": ("shall", "not"),
    "ain't": ("not",),
}
_BARE_NEGATIONS: frozenset[str] = frozenset(
    {
        "dont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "mustnt",
        "neednt",
    }
)


def normalise(text: str) -> str:
    """Lower-case, fold accents and curly quotes, and collapse whitespace."""
    text = text.translate(_QUOTES)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _WHITESPACE.sub(" ", text.lower()).strip()


def tokenize(text: str) -> list[str]:
    """Split text into lower-case word tokens: negative contractions become "not", clitics are dropped."""
    return list(_tokens(text))


# Themes read each text four or five times (set-aside check, features, phrases): remember recent ones.
@lru_cache(maxsize=65_536)
def _tokens(text: str) -> tuple[str, ...]:
    """``tokenize``'s work, cached."""
    tokens: list[str] = []
    for token in _WORDS.findall(normalise(text)):
        if token in _IRREGULAR_NEGATIONS:
            tokens.extend(_IRREGULAR_NEGATIONS[token])
        elif token.endswith("n't"):
            tokens.extend((token[:-3], "not"))
        elif token in _BARE_NEGATIONS:
            tokens.extend((token[:-2], "not"))
        else:
            # Possessives and other clitics ("patient's", "it's", "i'm") keep only their base word.
            tokens.append(token.split("'", 1)[0])
    # One shared string per distinct word: the cache holds 65,536 texts' tokens, about 60 MB as fresh strings.
    return tuple(map(sys.intern, tokens))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball-stem one word (cached: consultation vocabularies are small and repetitive)."""
    return _STEMMER.stem(word)


def content_tokens(text: str) -> list[str]:
    """Tokens of ``text`` without stop words and one-letter words, unstemmed."""
    return [t for t in tokenize(text) if t not in STOP_WORDS and len(t) > 1]


def analyse(text: str, extra_stop_words: Iterable[str] = ()) -> list[str]:
    """Stemmed content tokens: the analyser used for theme features (``extra_stop_words`` are unstemmed)."""
    extra = frozenset(extra_stop_words)
    return [stem(t) for t in content_tokens(text) if t not in extra]


def duplicate_key(text: str) -> str:
    """A key under which texts that differ only in case, punctuation or spacing collide."""
    return " ".join(tokenize(text))
