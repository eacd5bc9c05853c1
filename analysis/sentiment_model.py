"""A small calibrated sentiment model: logistic regression over VADER's parts, the question and word vectors.

VADER's compound score with fixed cut-offs (±0.05) cannot tell a neutral remark from a mild one, and
consultation answers carry signals VADER does not read: the question they answer, a suggestion's wording
("it would be good if", "please could"), hedges ("but", "apart from"), declining answers ("Nothing.") and
what the answer is about (a long wait reads worse than a kind nurse even in plain words). Each text becomes
the hand-made features below plus the direction (unit length) of the average of the static word vectors the
theme engine ships (``reference/word_vectors.npz``, distilled from all-MiniLM-L6-v2), and a three-class
(negative, neutral, positive) multinomial logistic regression scores them.

Averaged word vectors cannot read negation or a declining lead, so two kinds of word are left out of the
average: a declining lead ("Nothing, but the wait was awful" averages "but the wait was awful"; the refusal
itself is a hand-made feature) and a word of VADER's lexicon within three words after one of VADER's negations
("The staff were not helpful" averages "the staff were not"; VADER's own score reads the negation).

The model ships as ``reference/sentiment_model.json`` (feature scaling, coefficients and the settings chosen
for it; no text, no download at run time). ``python -m analysis.sentiment_model`` retrains it deterministically
on the shared v6 pxtext file (``analysis.sentiment_training``). Scoring needs numpy, VADER and the word-vector
file only.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from vaderSentiment.vaderSentiment import NEGATE

from analysis.text import stem, tokenize
from analysis.word_vectors import WORD_VECTORS, load_word_vectors, stem_index

MODEL_FILE = Path(__file__).parent / "reference" / "sentiment_model.json"
CLASSES = ("negative", "neutral", "positive")
NEGATION_WINDOW = 3  # VADER's: a negation flips the valence of a word up to three words after it
_NEGATIONS = frozenset(NEGATE)

_SUGGESTION = re.compile(
    r"\b(?:would (?:be|have been|like)|could (?:be|have|do|we|you)|should|please|need(?:s|ed)?|more|less|better|"
    r"wish|if|maybe|perhaps|improve(?:d|ment)?)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|no|never|nobody|none|nothing|without)\b|n't\b", re.IGNORECASE)
_HEDGE = re.compile(
    r"\b(?:but|however|although|though|except|apart from|only|bit|slightly|sometimes|otherwise|mostly)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(?:thank|thanks|thankyou|grateful)\b", re.IGNORECASE)
FEATURES = (
    "vader compound", "vader positive share", "vader negative share", "question-aware compound",
    "declines the question", "declines an improvement question", "declines a what-was-good question",
    "improvement question", "what-was-good question", "yes/no question",
    "compound x improvement question", "compound x what-was-good question",
    "suggestion words", "negations", "hedges", "thanks", "log words", "asks a question", "exclamations",
    "mixed positive and negative words", "no felt words",
)


def dense_features(text: str, kind: str, polarity: dict[str, float], question_aware: float,
                   declined: bool) -> list[float]:
    """The hand-made features of one (normalised) text, in the order of ``FEATURES``."""
    improvement, praise, yes_no = (float(kind == k) for k in ("improvement", "praise", "yes/no"))
    compound = polarity["compound"]
    return [
        compound, polarity["pos"], polarity["neg"], question_aware,
        float(declined), float(declined) * improvement, float(declined) * praise,
        improvement, praise, yes_no, compound * improvement, compound * praise,
        float(min(len(_SUGGESTION.findall(text)), 3)), float(min(len(_NEGATION.findall(text)), 3)),
        float(min(len(_HEDGE.findall(text)), 3)), float(bool(_THANKS.search(text))),
        math.log1p(len(text.split())), float("?" in text), float(min(text.count("!"), 3)),
        float(polarity["pos"] > 0 and polarity["neg"] > 0), float(polarity["pos"] == 0 and polarity["neg"] == 0),
    ]


# ---------------------------------------------------------------------------------------------- word vectors


# The word-vector table and its stem fall-back are the theme engine's: one copy in memory when both run.
@lru_cache(maxsize=1)
def _word_table() -> tuple[dict[str, int], dict[str, list[int]], np.ndarray]:
    """The theme engine's word index, stem groups and vectors (float32, words x 256)."""
    table = load_word_vectors(WORD_VECTORS)
    if table is None:
        raise FileNotFoundError(f"{WORD_VECTORS} is missing: the sentiment model needs it")
    return table.index, stem_index(WORD_VECTORS), table.vectors


@lru_cache(maxsize=100_000)
def _word_row(word: str) -> int | tuple[int, ...] | None:
    """The vector row of a word, the rows of its stem group when the vocabulary lacks it, or None."""
    index, stems, _ = _word_table()
    if word in index:
        return index[word]
    group = stems.get(stem(word))
    return tuple(group) if group else None


def answer_words(answer: str, lexicon: dict[str, float]) -> list[str]:
    """Words of an answer that its averaged vector may carry: lexicon words VADER reads as negated left out."""
    tokens = tokenize(answer)
    kept = []
    for i, token in enumerate(tokens):
        if token in lexicon and any(t in _NEGATIONS for t in tokens[max(0, i - NEGATION_WINDOW):i]):
            continue
        kept.append(token)
    return kept


def averaging_matrix(words: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Texts x vocabulary rows, each text's row averaging the vectors of its known words (zero if none).

    A word missing from the vocabulary stands for the mean of its stem group, as in the theme engine.
    """
    data: list[float] = []
    columns: list[int] = []
    pointers = [0]
    for text_words in words:
        weights: dict[int, float] = {}
        known = 0
        for word in text_words:
            row = _word_row(word)
            if row is None:
                continue
            known += 1
            group = (row,) if isinstance(row, int) else row
            for r in group:
                weights[r] = weights.get(r, 0.0) + 1.0 / len(group)
        columns.extend(weights)
        data.extend(w / known for w in weights.values())
        pointers.append(len(columns))
    shape = (len(words), len(_word_table()[0]))
    return sp.csr_matrix((np.array(data, dtype=np.float32), np.array(columns, dtype=np.int32),
                          np.array(pointers, dtype=np.int64)), shape=shape)


def word_vector_means(words: Sequence[Sequence[str]], dimensions: int = 256) -> np.ndarray:
    """The averaged word vector of every text, cut to its first ``dimensions`` (principal) components."""
    vectors = _word_table()[2][:, :dimensions]
    return np.asarray(averaging_matrix(words) @ vectors, dtype=np.float64)


def directions(means: np.ndarray, dimensions: int) -> np.ndarray:
    """The first ``dimensions`` of each averaged vector scaled to unit length (zero stays zero).

    Only the direction counts, as in the theme engine: the average of one or two words is much longer than
    the average of thirty, and would otherwise give short answers extreme probabilities.
    """
    kept = means[:, :dimensions]
    norms = np.linalg.norm(kept, axis=1, keepdims=True)
    return kept / np.where(norms > 0, norms, 1.0)


# ---------------------------------------------------------------------------------------------- the model


class SentimentModel:
    """A fitted model: feature scaling, class coefficients, and the settings chosen for it."""

    def __init__(self, stored: dict[str, Any]) -> None:
        if tuple(stored["classes"]) != CLASSES or tuple(stored["features"]) != FEATURES:
            raise ValueError("sentiment model does not match this version of the code")
        self.stored = stored
        self.mean = np.array(stored["mean"])
        self.scale = np.array(stored["scale"])
        self.dimensions = int(stored["word_vector_dimensions"])
        self.vector_mean = np.array(stored["word_vector_mean"])
        self.vector_scale = float(stored["word_vector_scale"])
        coef = np.array(stored["coef"])
        self.dense_coef, self.vector_coef = coef[:, : len(FEATURES)], coef[:, len(FEATURES):]
        self.intercept = np.array(stored["intercept"])
        self.kinds = frozenset(stored["question_kinds"])
        self.felt_rule = str(stored["felt_rule"])

    def probabilities(self, dense: np.ndarray, words: Sequence[Sequence[str]]) -> np.ndarray:
        """P(negative, neutral, positive) per text, given its dense features and its answer words."""
        if len(words) == 0:
            return np.zeros((0, len(CLASSES)))
        return self.probabilities_from_vectors(dense, word_vector_means(words, self.dimensions))

    def probabilities_from_vectors(self, dense: np.ndarray, means: np.ndarray) -> np.ndarray:
        """The same from the texts' averaged word vectors (``word_vector_means``, at least ``dimensions``)."""
        vectors = (directions(means, self.dimensions) - self.vector_mean) / self.vector_scale
        logits = ((dense - self.mean) / self.scale) @ self.dense_coef.T + vectors @ self.vector_coef.T
        logits += self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        expo = np.exp(logits)
        return expo / expo.sum(axis=1, keepdims=True)


def calibrated_compound(probabilities: np.ndarray) -> np.ndarray:
    """One score in -1..1 per text whose VADER-style band (±0.05) gives the most probable class.

    The strength is P(positive) - P(negative); texts whose most probable class is neutral are squeezed inside
    the ±0.05 band, the others pushed outside it with their sign kept, so one number carries class and strength.
    """
    strength = probabilities[:, 2] - probabilities[:, 0]
    best = probabilities.argmax(axis=1)
    outside = np.sign(strength) * (0.05 + 0.95 * np.abs(strength))
    return np.where(best == 1, 0.049 * strength, outside)


@lru_cache(maxsize=1)
def shipped_model() -> SentimentModel:
    """The model stored in the repository."""
    return SentimentModel(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


if __name__ == "__main__":
    from analysis.__main__ import DEFAULT_DATA
    from analysis.sentiment_training import train_shipped

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA / "pxtext"
    trained = train_shipped(folder)
    chosen = trained.stored["chosen"]
    print(f"wrote {MODEL_FILE} ({trained.stored['trained_on']} texts; chosen by 5-fold cross-validation by "
          f"respondent: {chosen})")
