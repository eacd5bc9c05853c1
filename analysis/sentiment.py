"""Sentiment per contribution: VADER compound, corrected for the question the text answers.

VADER (the ``vaderSentiment`` package, which bundles its lexicon) scores text on its own. Consultation answers
are replies: "Nothing." to "What could we improve?" is praise, "Nothing." to "What was good?" is criticism,
and VADER reads the leading "nothing" of "Nothing, excellent service" as a negation of "excellent". So:

* answers that decline the question ("nothing", "none", "no.", "can't think of anything", "not a thing"...)
  are scored as praise for improvement questions, criticism for what-was-good questions, and mild praise
  otherwise (feedback forms mostly ask for problems); what follows the refusal is scored on its own and wins
  when it is more strongly felt ("Nothing, but the food was awful");
* other answers to an improvement question are suggestions, so lean negative; answers to a what-was-good
  question lean positive.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_THRESHOLD = 0.05  # VADER's own cut-offs for its compound score
NEGATIVE_THRESHOLD = -0.05
QUESTION_LEAN = 0.3  # how far the question moves an ordinary answer
DECLINED_IMPROVEMENT = 0.6  # "Nothing." to "What could we improve?"
DECLINED_UNKNOWN = 0.4  # "Nothing." when the question is unknown
DECLINED_PRAISE = -0.5  # "Nothing." to "What was good?"

_IMPROVEMENT_QUESTION = re.compile(
    r"improv|better|differently|chang|could (?:we|you|have)|should (?:we|you)|wrong|worse|dislike|"
    r"did ?n[o']?t like|disappoint|suggest",
    re.IGNORECASE,
)
_PRAISE_QUESTION = re.compile(
    r"(?:was|were|went) (?:good|well|best)|like(?:d)? (?:most|best)|best (?:thing|part)|good about|positive",
    re.IGNORECASE,
)
_QUALIFIER = (
    r"(?:\s+(?:at all|really|whatsoever|much|else|more|obvious|drastic|to (?:improve|add|say|change|report|"
    r"complain about)|(?:that )?i can think of|comes to mind|springs to mind|for me|thanks?(?: you)?))*"
)
# "Nothing"/"none"/"not a thing" decline whatever follows; a bare "no" only when punctuation or the end
# follows, so "No doctors at the surgery" stays a complaint.
_DECLINE = re.compile(
    r"^\W*(?:(?:absolutely |really |honestly )?(?:nothing|none|nowt|nope|not a thing|not really|n/?a)"
    + _QUALIFIER
    + r"|no"
    + _QUALIFIER
    + r"(?=\s*(?:[.,!;:\-\u2013]|$))"
    + r"|(?:i )?(?:can'?t|cannot|can not|could ?n'?t|could not) think of any(?:thing)?"
    + _QUALIFIER
    + r")",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def question_kind(question: str) -> str:
    """Classify a question as "improvement", "praise" or "other" from its wording."""
    if _IMPROVEMENT_QUESTION.search(question):
        return "improvement"
    if _PRAISE_QUESTION.search(question):
        return "praise"
    return "other"


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _score(text: str, kind: str) -> float:
    normalised = text.replace("\u2019", "'").strip()
    declined = _DECLINE.match(normalised)
    if declined:
        rest = normalised[declined.end() :].strip(" \t\r\n.,!;:-\u2013")
        rest_score = _analyzer().polarity_scores(rest)["compound"] if rest else 0.0
        if kind == "praise":
            return min(DECLINED_PRAISE, rest_score)
        base = DECLINED_IMPROVEMENT if kind == "improvement" else DECLINED_UNKNOWN
        # A complaint after the refusal ("Nothing, but the wait was awful") outweighs the refusal itself.
        return rest_score if rest_score <= NEGATIVE_THRESHOLD else max(base, rest_score)
    compound = _analyzer().polarity_scores(normalised)["compound"]
    if kind == "improvement":
        return _clip(compound - QUESTION_LEAN)
    if kind == "praise":
        return _clip(compound + QUESTION_LEAN)
    return compound


def score_sentiment(texts: list[str], questions: list[str]) -> list[float]:
    """Question-aware compound sentiment (-1..1) for each text; ``questions`` is parallel (may be "")."""
    if len(questions) != len(texts):
        raise ValueError("texts and questions must have the same length")
    kinds: dict[str, str] = {}
    scores = []
    for text, question in zip(texts, questions, strict=True):
        kind = kinds.setdefault(question, question_kind(question))
        scores.append(round(_score(text, kind), 4) if text.strip() else 0.0)
    return scores


def vader_compound(texts: list[str]) -> list[float]:
    """Plain VADER compound per text: the baseline the question-aware score is measured against."""
    return [_analyzer().polarity_scores(t)["compound"] for t in texts]


def sentiment_label(compound: float) -> str:
    """ "positive", "neutral" or "negative" by VADER's standard thresholds."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"
