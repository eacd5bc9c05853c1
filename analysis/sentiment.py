"""Sentiment per contribution: a calibrated model over VADER, read in the light of the question answered.

``score_sentiment`` scores each text with the small logistic regression of ``analysis.sentiment_model``
(shipped in the repository), whose features include VADER's scores, the question-aware compound below and the
averaged word vectors of the answer; ``decide`` says where the rules below overrule it.
The question-aware compound on its own (``question_aware_vader``) is the previous method, kept as a feature
and as a baseline in ``make eval``.

VADER (the ``vaderSentiment`` package, which bundles its lexicon) scores text on its own. Consultation answers
are replies: "Nothing." to "What could we improve?" is praise, "Nothing." to "What was good?" is criticism,
and VADER reads the leading "nothing" of "Nothing, excellent service" as a negation of "excellent". So:

* answers that decline the question ("nothing", "none", "no.", "can't think of anything", "not a thing"...)
  are scored as praise for improvement questions, criticism for what-was-good questions, and mild praise
  otherwise (feedback forms mostly ask for problems); what follows the refusal is scored on its own and wins
  when it is more strongly felt ("Nothing, but the food was awful");
* other answers to an improvement question are suggestions, so lean negative (tried: leaving suggestions
  with no felt words neutral lowered macro-F1 on v6, whose coders mostly call suggestions negative); answers
  to a what-was-good question lean positive;
* a yes/no question ("Have we got it right?", also after a preamble: "We have summarised what we heard. Have
  we got it right?") is read by its answer: a leading "No" disagrees and "Yes" agrees, whatever words follow
  ("No, you have missed carers" is not praise);
* a question asking what people want or need ("How do you want care to be?") gets proposals: they are read as
  answers to an open question, but are negative only with a negative word and positive only with a positive
  one ("A named contact for each family" is neutral), where a request to a feedback form's improvement
  question usually implies a complaint;
* text that is not in English is not scored (``None``): VADER's English lexicon reads Welsh as negative.

VADER's fixed ±0.05 cut-offs call almost every suggestion positive or negative, so the question-aware
compound alone finds few neutral answers (neutral F1 0.14 on v6); the calibrated model learns the classes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis.aside import is_not_english
from analysis.sentiment_model import (
    FEATURES,
    SentimentModel,
    answer_words,
    calibrated_compound,
    dense_features,
    shipped_model,
)

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
# Questions asking what people want or need ("How do you want care to be?", "What does the AHP community
# need?"): their answers are proposals, not verdicts on a service.
_PROPOSAL_QUESTION = re.compile(
    r"\b(?:want|wants|wish|need|needs|would (?:you )?like|hope|hopes|priorit\w*|matters?|ideas?|help)\b",
    re.IGNORECASE,
)
_YES_NO_QUESTION = re.compile(
    r"^\W*(?:have|has|had|do|does|did|is|are|was|were|can|could|would|will|should|shall|may)\b[^?]*\?\s*$",
    re.IGNORECASE,
)
_YES = re.compile(r"^\W*(?:yes|yeah|yep|definitely|absolutely|mostly|i agree|agree(?:d)?|spot on)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(?:no|nope|not really|not at all|i disagree|disagree|not quite|partly)\b", re.IGNORECASE)
# Where the rules overrule the model (see ``decide``): a question-aware compound this far from 0, and VADER's own
# compound this far from 0 in the same direction ("The staff were not helpful").
STRONGLY_FELT = 0.5
FELT = 0.3
YES_NO_ANSWER = 0.5  # what a bare "Yes" / "No" to a yes/no question scores
BATCH = 20_000  # texts scored at a time, so memory stays flat however many there are
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
    """Classify a question as "yes/no", "improvement", "praise", "proposal" or "other" from its wording."""
    # The question is the last sentence: "We have summarised what we heard. Have we got it right?" is yes/no.
    if _YES_NO_QUESTION.match(re.split(r"(?<=[.!])\s+", question.strip())[-1]):
        return "yes/no"
    if _IMPROVEMENT_QUESTION.search(question):
        return "improvement"
    if _PRAISE_QUESTION.search(question):
        return "praise"
    if _PROPOSAL_QUESTION.search(question):
        return "proposal"
    return "other"


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").strip()


def _read(normalised: str, kind: str, polarity: dict[str, float]) -> tuple[float, bool, int]:
    """The question-aware compound of one normalised text, whether it declines the question, and where the
    words after a declining lead start (``polarity``: VADER's scores of the whole text)."""
    if kind == "yes/no":
        answer = _NO.match(normalised) or _YES.match(normalised)
        if answer:
            sign = -1.0 if _NO.match(normalised) else 1.0
            rest = normalised[answer.end():].strip(" \t\r\n.,!;:-\u2013")
            rest_score = _analyzer().polarity_scores(rest)["compound"] if rest else 0.0
            # The answer sets the direction; the rest can only strengthen it (a "No" that then praises one
            # part is still a "No").
            return _clip(sign * max(YES_NO_ANSWER, sign * rest_score)), False, 0
    declined = _DECLINE.match(normalised) if kind != "yes/no" else None
    if declined:
        rest = normalised[declined.end() :].strip(" \t\r\n.,!;:-\u2013")
        rest_score = _analyzer().polarity_scores(rest)["compound"] if rest else 0.0
        # A complaint after the refusal ("Nothing, but the wait was awful") outweighs the refusal itself: the
        # answer is then a complaint, not a declining answer.
        complaint = rest_score <= NEGATIVE_THRESHOLD
        if kind == "praise":
            return min(DECLINED_PRAISE, rest_score), not complaint, declined.end()
        base = DECLINED_IMPROVEMENT if kind == "improvement" else DECLINED_UNKNOWN
        return (rest_score if complaint else max(base, rest_score)), not complaint, declined.end()
    compound = polarity["compound"]
    if kind == "improvement":
        return _clip(compound - QUESTION_LEAN), False, 0
    if kind == "praise":
        return _clip(compound + QUESTION_LEAN), False, 0
    return compound, False, 0


@dataclass(frozen=True)
class Answers:
    """Everything the rules and the calibrated model read from a batch of texts and their questions."""

    texts: list[str]  # normalised
    kinds: list[str]  # question kind per text
    dense: np.ndarray  # texts x FEATURES
    words: list[list[str]]  # the words the averaged word vector carries (see analysis.sentiment_model)
    question_aware: np.ndarray  # the question-aware compound per text
    not_english: np.ndarray  # bool per text

    def take(self, rows: Sequence[int] | np.ndarray) -> Answers:
        """The answers at ``rows``, in that order."""
        rows = list(rows)
        return Answers([self.texts[i] for i in rows], [self.kinds[i] for i in rows], self.dense[rows],
                       [self.words[i] for i in rows], self.question_aware[rows], self.not_english[rows])


def read_answers(texts: list[str], questions: list[str]) -> Answers:
    """Read every text in the light of its question: features, question-aware compound, answer words."""
    if len(questions) != len(texts):
        raise ValueError("texts and questions must have the same length")
    kinds: dict[str, str] = {}
    lexicon = _analyzer().lexicon
    normalised, text_kinds, rows, words, question_aware, not_english = [], [], [], [], [], []
    for text, question in zip(texts, questions, strict=True):
        kind = kinds.setdefault(question, question_kind(question))
        clean = _normalise(text)
        polarity = _analyzer().polarity_scores(clean)
        score, declined, start = _read(clean, kind, polarity) if clean else (0.0, False, 0)
        normalised.append(clean)
        text_kinds.append(kind)
        rows.append(dense_features(clean, kind, polarity, score, declined))
        words.append(answer_words(clean[start:], lexicon))
        question_aware.append(score)
        not_english.append(bool(clean) and is_not_english(clean))
    dense = np.array(rows, dtype=float).reshape(len(texts), len(FEATURES))
    return Answers(normalised, text_kinds, dense, words, np.array(question_aware, dtype=float),
                   np.array(not_english, dtype=bool))


def decide(answers: Answers, probabilities: np.ndarray, model_kinds: frozenset[str],
           felt_rule: str) -> list[float | None]:
    """Scores from the model's class probabilities, the question-aware compound where the rules say so.

    The question-aware compound is kept for answers to a kind of question the model never saw, and for an
    answer the model calls neutral whose question-aware compound is at least STRONGLY_FELT from 0, or that
    VADER alone reads at least FELT in the same direction ("The staff were not helpful"), or that answers a
    what-was-good question without a negative word ("The ambulance crew"). With ``felt_rule`` "one-sided" the
    last two apply only to answers without both positive and negative words: a mixed answer is the model's
    to call.
    """
    compounds = calibrated_compound(probabilities)
    fallback = answers.question_aware
    vader = answers.dense[:, FEATURES.index("vader compound")]
    mixed = answers.dense[:, FEATURES.index("mixed positive and negative words")] > 0
    praise = np.array([kind == "praise" for kind in answers.kinds], dtype=bool)
    felt_by_vader = (np.abs(vader) >= FELT) & (vader * fallback > 0)
    leaning = felt_by_vader | (praise & (vader >= 0) & (fallback > 0))
    if felt_rule == "one-sided":
        leaning &= ~mixed
    neutral = np.abs(compounds) < POSITIVE_THRESHOLD
    overruled = neutral & ((np.abs(fallback) >= STRONGLY_FELT) | leaning)
    # Proposals are read as answers to an open question ("other"), but a side needs a word felt that way: a
    # request to a feedback form usually implies a complaint, a proposal does not ("A named contact for each
    # family", "Leadership development should be open to support workers too" are neutral).
    proposal = np.array([kind == "proposal" for kind in answers.kinds], dtype=bool)
    known = np.array([kind in model_kinds or (kind == "proposal" and "other" in model_kinds)
                      for kind in answers.kinds], dtype=bool)
    chosen = np.round(np.where(known & ~overruled, compounds, fallback), 4)
    unfelt = np.where(chosen < 0, answers.dense[:, FEATURES.index("vader negative share")] == 0,
                      answers.dense[:, FEATURES.index("vader positive share")] == 0)
    chosen[proposal & unfelt] = 0.0
    empty = np.array([not text for text in answers.texts], dtype=bool)
    return [0.0 if blank else None if foreign else float(score)
            for score, blank, foreign in zip(chosen, empty, answers.not_english, strict=True)]


def score_sentiment(texts: list[str], questions: list[str],
                    model: SentimentModel | None = None) -> list[float | None]:
    """Calibrated sentiment (-1..1; ±0.05 bands the class) per text, None for text not in English (not scored).

    ``model`` defaults to the shipped one (``analysis.sentiment_model``). Answers to a kind of question the
    model never saw in training (the pxtext files have no yes/no question) keep the question-aware compound,
    which reads "No" to "Have we got it right?" as disagreement, and so do strongly felt answers the model
    would call neutral (see ``decide``). Empty text scores 0 (neutral).
    """
    if len(questions) != len(texts):
        raise ValueError("texts and questions must have the same length")
    model = model or shipped_model()
    scores: list[float | None] = []
    for start in range(0, len(texts), BATCH):
        answers = read_answers(texts[start:start + BATCH], questions[start:start + BATCH])
        scores += decide(answers, model.probabilities(answers.dense, answers.words), model.kinds, model.felt_rule)
    return scores


def question_aware_vader(texts: list[str], questions: list[str]) -> list[float | None]:
    """The previous method: VADER compound corrected for the question, None for text not in English."""
    answers = read_answers(texts, questions)
    return [0.0 if not text else None if foreign else round(float(score), 4)
            for text, score, foreign in zip(answers.texts, answers.question_aware, answers.not_english,
                                            strict=True)]


def vader_compound(texts: list[str]) -> list[float]:
    """Plain VADER compound per text: the baseline the question-aware score is measured against."""
    return [_analyzer().polarity_scores(t)["compound"] for t in texts]


def sentiment_label(compound: float | None) -> str:
    """ "positive", "neutral" or "negative" by VADER's standard thresholds; "not scored" for None."""
    if compound is None:
        return "not scored"
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"
