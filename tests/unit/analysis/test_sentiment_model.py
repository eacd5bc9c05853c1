"""The calibrated sentiment model: shipped file, scoring equal to scikit-learn's, honest evaluation."""

import json

import numpy as np
import pytest

from analysis.eval_text import sentiment_label_from_human
from analysis.sentiment import model_inputs, score_sentiment, sentiment_label
from analysis.sentiment_model import CLASSES, FEATURES, MODEL_FILE, calibrated_compound, fit, shipped_model

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
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    import analysis.sentiment_model as module

    texts = ["Staff were lovely", "More parking please", "Nothing", "The wait was awful", "It was fine",
             "Food was cold", "Great care", "Please could the car park be bigger", "Okay I suppose"] * 4
    questions = [IMPROVE, IMPROVE, IMPROVE, "FFT Why?", "FFT Why?", "What was good?", "What was good?",
                 IMPROVE, "FFT Why?"] * 4
    labels = ["positive", "negative", "positive", "negative", "neutral", "negative", "positive", "neutral",
              "neutral"] * 4
    normalised, dense, kinds = model_inputs(texts, questions)
    old = module.WORD_WEIGHT
    module.WORD_WEIGHT = 1.0  # exercise the vocabulary path too
    try:
        model = fit(normalised, dense, kinds, labels)
    finally:
        module.WORD_WEIGHT = old
    mean, scale = np.array(model.stored["mean"]), np.array(model.stored["scale"])
    vectoriser = TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True).fit(normalised)
    matrix = hstack([csr_matrix((dense - mean) / scale), vectoriser.transform(normalised)]).tocsr()
    reference = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(matrix, labels)
    assert model.vocabulary == vectoriser.vocabulary_
    np.testing.assert_allclose(model.probabilities(normalised, dense), reference.predict_proba(matrix), atol=1e-3)


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
    # Issue 9's bars that the calibrated model reaches on respondents it was not trained on.
    assert values[(calibrated, "spearman")] <= -0.60
    assert values[(calibrated, "neutral_f1")] > values[(PREVIOUS, "neutral_f1")] + 0.05
    assert values[(calibrated, "macro_f1")] > values[(PREVIOUS, "macro_f1")] + 0.03
    assert values[(calibrated, "spearman±")] < 0.02
    # The other way round: trained on v6, scored on phase-1's criticality, it still beats both others.
    shipped = "calibrated, shipped (trained on v6)"
    assert phase1[(shipped, "spearman")] < min(phase1[(PLAIN, "spearman")], phase1[(PREVIOUS, "spearman")])
    gold = {sentiment_label_from_human(h) for h in human}
    assert gold == {"positive", "neutral", "negative"}
