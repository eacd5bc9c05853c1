"""The calibrated sentiment model: shipped file, scoring equal to scikit-learn's, honest evaluation."""

import json

import numpy as np
import pytest

from analysis.eval_text import sentiment_label_from_human
from analysis.sentiment import read_answers, score_sentiment, sentiment_label
from analysis.sentiment_model import (
    CLASSES,
    FEATURES,
    MODEL_FILE,
    answer_words,
    calibrated_compound,
    directions,
    shipped_model,
    word_vector_means,
)
from analysis.sentiment_training import Settings, fit, misread_plain_answers, respondent_folds, train_shipped

from . import DATA_DIR

needs_data = pytest.mark.skipif(not (DATA_DIR / "pxtext").is_dir(), reason="shared pxtext data not present")
IMPROVE = "How could we improve?"


def test_shipped_model_is_a_small_file_that_matches_the_code() -> None:
    stored = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert MODEL_FILE.stat().st_size < 200_000
    assert tuple(stored["features"]) == FEATURES and tuple(stored["classes"]) == CLASSES
    assert stored["trained_on"] > 1000 and "v6framework" in stored["source"]
    assert shipped_model().kinds == {"improvement", "praise", "other"}


def test_calibrated_compound_bands_give_the_most_probable_class() -> None:
    probabilities = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.34, 0.33, 0.33]])
    labels = [sentiment_label(float(s)) for s in calibrated_compound(probabilities)]
    assert labels == ["neutral", "negative", "positive", "negative"]


def test_scoring_without_scikit_learn_matches_its_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    texts = ["Staff were lovely", "More parking please", "Nothing", "The wait was awful", "It was fine",
             "Food was cold", "Great care", "Please could the car park be bigger", "Okay I suppose"] * 4
    questions = [IMPROVE, IMPROVE, IMPROVE, "FFT Why?", "FFT Why?", "What was good?", "What was good?",
                 IMPROVE, "FFT Why?"] * 4
    labels = ["positive", "negative", "positive", "negative", "neutral", "negative", "positive", "neutral",
              "neutral"] * 4
    answers = read_answers(texts, questions)
    model = fit(answers, labels, Settings(C=1.0, dimensions=64, class_weight="balanced", neutral_shift=0.0,
                                          felt_rule="any"))
    dense, vectors = answers.dense, directions(word_vector_means(answers.words), 64)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    matrix = np.hstack([(dense - dense.mean(axis=0)) / scale,
                        (vectors - vectors.mean(axis=0)) / vectors.std(axis=0).mean()])
    reference = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(matrix, labels)
    # Run time sums each word's own contribution instead of averaging vectors: the same, without scikit-learn.
    np.testing.assert_allclose(model.probabilities(dense, answers.words), reference.predict_proba(matrix),
                               atol=1e-3)


def test_word_vectors_leave_out_the_declining_lead_and_negated_felt_words() -> None:
    answers = read_answers(["Nothing, but the wait was awful", "The staff were not helpful"], [IMPROVE, ""])
    assert answers.words[0] == ["but", "the", "wait", "was", "awful"]
    assert answers.words[1] == ["the", "staff", "were", "not"]
    # Only the words VADER itself reads as negated: a topical word after "not" stays.
    assert answer_words("not enough parking", {"enough": 0.0}) == ["not", "parking"]
    # A declining answer with nothing after it averages no word, so its vector is zero.
    empty = read_answers(["Nothing."], [IMPROVE])
    assert empty.words == [[]] and not word_vector_means(empty.words, 256).any()


def test_shipped_model_reads_the_plain_answers_the_issue_states() -> None:
    assert misread_plain_answers(shipped_model()) == []


def test_folds_by_respondent_never_split_a_person() -> None:
    respondents = [f"p{i % 37}" for i in range(200)]
    folds = respondent_folds(respondents, seed=1, folds=5)
    assert set(folds) == set(range(5))
    for person in set(respondents):
        assert len({f for f, r in zip(folds, respondents, strict=True) if r == person}) == 1


@needs_data
@pytest.mark.slow
def test_shipped_model_is_rebuilt_byte_for_byte(tmp_path) -> None:
    rebuilt = tmp_path / "sentiment_model.json"
    train_shipped(DATA_DIR / "pxtext", rebuilt)
    assert rebuilt.read_bytes() == MODEL_FILE.read_bytes()


def test_yes_no_questions_keep_the_question_aware_reading() -> None:
    # The pxtext files hold no yes/no question, so the model never learned one: the rule reads them.
    scores = score_sentiment(["No, you have missed carers", "Yes", "Yes, spot on"], ["Have we got it right?"] * 3)
    assert [sentiment_label(s) for s in scores] == ["negative", "positive", "positive"]


def test_not_english_and_empty_texts() -> None:
    scores = score_sentiment(["Mae'r staff yn garedig iawn ac yn barod i helpu bob amser", "  "], ["", ""])
    assert scores == [None, 0.0]


def test_empty_input_scores_nothing() -> None:
    assert score_sentiment([], []) == []


@needs_data
@pytest.mark.slow
def test_evaluation_scores_the_model_only_on_people_it_never_saw() -> None:
    from analysis.eval_sentiment import PLAIN, PREVIOUS, evaluate_sentiment, load_v6

    texts, _, human, respondents = load_v6(DATA_DIR / "pxtext")
    assert len(texts) == 1831 and len(set(respondents)) > 500
    rows = evaluate_sentiment(DATA_DIR / "pxtext")
    values = {(r["method"], r["metric"]): r["value"] for r in rows if str(r["data"]).startswith("pxtext v6")}
    phase1 = {(r["method"], r["metric"]): r["value"] for r in rows if str(r["data"]).startswith("pxtext phase-1")}
    calibrated = next(m for m, _ in values if m.startswith("calibrated, other respondents"))
    assert values[(PLAIN, "spearman")] == pytest.approx(-0.38, abs=0.01)
    assert values[(PREVIOUS, "macro_f1")] > values[(PLAIN, "macro_f1")]
    # Issue 9's bars that the calibrated model reaches on respondents it was not trained on (nested: its
    # settings were chosen without them too).
    assert values[(calibrated, "spearman")] <= -0.60
    assert values[(calibrated, "macro_f1")] >= 0.60
    assert values[(calibrated, "neutral_f1")] > values[(PREVIOUS, "neutral_f1")] + 0.05
    assert values[(calibrated, "macro_f1")] > values[(PREVIOUS, "macro_f1")] + 0.03
    assert values[(calibrated, "spearman±")] < 0.02
    # The other way round: trained on v6, scored on phase-1's criticality, it still beats both others.
    shipped = "calibrated, shipped (trained on v6)"
    assert phase1[(shipped, "spearman")] < min(phase1[(PLAIN, "spearman")], phase1[(PREVIOUS, "spearman")])
    gold = {sentiment_label_from_human(h) for h in human}
    assert gold == {"positive", "neutral", "negative"}
