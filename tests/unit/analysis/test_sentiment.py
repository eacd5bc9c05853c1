"""Question-aware sentiment."""


import pytest
from sklearn.metrics import f1_score

from analysis.eval_text import load_v6_sentiment, sentiment_label_from_human
from analysis.sentiment import question_kind, score_sentiment, sentiment_label, vader_compound

from . import DATA_DIR

DATA = DATA_DIR
IMPROVE = "What could we improve?"
GOOD = "What was good?"


def _one(text: str, question: str) -> str:
    return sentiment_label(score_sentiment([text], [question])[0])


@pytest.mark.parametrize(
    "answer",
    [
        "Nothing",
        "Nothing.",
        "nothing at all",
        "No.",
        "None",
        "Can't think of anything!",
        "Not a thing, all great",
    ],
)
def test_score_sentiment_declining_an_improvement_question_is_positive(answer: str) -> None:
    assert _one(answer, IMPROVE) == "positive"


def test_score_sentiment_nothing_to_a_what_was_good_question_is_negative() -> None:
    assert _one("Nothing.", GOOD) == "negative"


def test_score_sentiment_keeps_complaints_that_start_with_no_or_nothing() -> None:
    assert _one("No doctors at the surgery.", IMPROVE) == "negative"
    assert _one("Nothing, but the wait was awful", IMPROVE) == "negative"


def test_score_sentiment_reads_praise_after_nothing_as_praise() -> None:
    # Plain VADER reads "nothing" as negating "excellent".
    assert vader_compound(["Nothing excellent service"])[0] < 0
    assert _one("Nothing excellent service", IMPROVE) == "positive"
    assert _one("Nothing excellent service", "") == "positive"


def test_score_sentiment_handles_negation_and_question_lean() -> None:
    assert _one("The staff were not helpful", "") == "negative"
    assert _one("The staff were helpful", "") == "positive"
    assert score_sentiment(["More parking"], [IMPROVE])[0] < score_sentiment(["More parking"], [""])[0]
    assert _one("The ambulance crew", GOOD) == "positive"
    assert score_sentiment(["   "], [IMPROVE]) == [0.0]


def test_score_sentiment_requires_one_question_per_text() -> None:
    with pytest.raises(ValueError):
        score_sentiment(["a", "b"], ["q"])


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How could we improve?", "improvement"),
        ("What could we do better?", "improvement"),
        ("What was good?", "praise"),
        ("What went well?", "praise"),
        ("FFT Why?", "other"),
        ("Trust A - Q1", "other"),
        # The demo's own check-and-challenge question: the question is its last sentence.
        ("We have summarised what we heard. Have we got it right, and what is missing?", "yes/no"),
        ("How do you want care from allied health professionals to be?", "proposal"),
        ("What does the AHP community need to provide the care people have asked for?", "proposal"),
        ("Is there anything else? Tell us what you need.", "proposal"),
    ],
)
def test_question_kind_reads_the_wording(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_a_no_to_a_check_and_challenge_question_after_a_preamble_disagrees() -> None:
    question = "We have summarised what we heard. Have we got it right, and what is missing?"
    scores = score_sentiment(["No, you have missed carers.", "Yes, this is right."], [question] * 2)
    assert [sentiment_label(s) for s in scores] == ["negative", "positive"]


def test_proposals_are_negative_or_positive_only_with_a_word_felt_that_way() -> None:
    question = "How do you want care from allied health professionals to be?"
    texts = ["A named contact for each family.", "Evening and weekend appointments for people who work.",
             "Fund backfill for apprentices. Teams can't release staff for apprenticeships.",
             # "support" is a positive word to VADER, and no word here is negative.
             "Leadership development should be open to support workers too.",
             "Please stop making me repeat my story to every new therapist. It is exhausting and upsetting.",
             "The physio was brilliant and kind."]
    labels = [sentiment_label(s) for s in score_sentiment(texts, [question] * len(texts))]
    assert labels == ["neutral", "neutral", "neutral", "neutral", "negative", "positive"]


def test_sentiment_label_uses_vader_thresholds() -> None:
    assert [sentiment_label(c) for c in (0.05, 0.0, -0.05, 0.9, -0.9)] == [
        "positive",
        "neutral",
        "negative",
        "positive",
        "negative",
    ]


@pytest.mark.skipif(not (DATA / "pxtext").is_dir(), reason="shared pxtext data not present")
def test_score_sentiment_agrees_with_human_labels_better_than_plain_vader() -> None:
    texts, questions, human = load_v6_sentiment(DATA / "pxtext")
    gold = [sentiment_label_from_human(h) for h in human]
    plain = f1_score(gold, [sentiment_label(c) for c in vader_compound(texts)], average="macro")
    ours = f1_score(gold, [sentiment_label(c) for c in score_sentiment(texts, questions)], average="macro")
    assert ours > plain + 0.03
