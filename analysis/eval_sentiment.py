"""Sentiment against human labels: plain VADER, the question-aware compound and the calibrated model.

The calibrated model (``analysis.sentiment_model``) is trained on human labels, so it is never scored on the
texts it learned from:

* **v6, other respondents**: the shared v6 file's labelled rows are split into five folds by respondent (no
  person on both sides); each fold is scored by a model trained on the other four, and the whole is repeated
  for three shuffles of the folds (the seeds), whose spread is printed beside the mean. Training includes
  choosing the model's settings by an inner cross-validation on those four folds only
  (``analysis.sentiment_training.train``), so the figures are nested: no setting sees the people scored;
* **across files**: a model trained on phase-1 (whose coders rated criticality, -5..5, not sentiment; read
  here as positive above 0 and negative below, with no neutral class and the unrated 0s left out) is scored
  on v6, and the shipped model (trained on v6) is scored on phase-1 by Spearman with criticality and the
  positive/negative F1.

None of the model's settings is chosen on these figures: the inner folds choose them (for the phase-1 model,
inner folds by row, since phase-1 names no respondent).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import f1_score

from analysis.eval_text import _PANDAS_MISSING, PHASE1_FILE, V6_FILE, sentiment_label_from_human
from analysis.sentiment import question_aware_vader, read_answers, score_sentiment, sentiment_label, vader_compound
from analysis.sentiment_training import respondent_folds, train

SEEDS = (0, 1, 2)
FOLDS = 5
PLAIN = "VADER compound"
PREVIOUS = "question-aware VADER (previous)"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_v6(data_dir: Path) -> tuple[list[str], list[str], list[int], list[str]]:
    """Labelled v6 rows: texts, questions, human sentiment (1 very positive .. 5 very negative), respondents."""
    rows = [r for r in _rows(data_dir / V6_FILE)
            if r["Comment sentiment"].strip() and r["FFT answer"] not in _PANDAS_MISSING]
    return ([r["FFT answer"] for r in rows], [r["FFT question"] for r in rows],
            [int(r["Comment sentiment"]) for r in rows], [r["Respondent ID"] for r in rows])


def load_phase1_criticality(data_dir: Path) -> tuple[list[str], list[str], list[int]]:
    """Phase-1 rows with a readable, non-zero criticality (-5 very critical .. 5 very positive)."""
    picked = []
    for row in _rows(data_dir / PHASE1_FILE):
        try:
            criticality = int(row["criticality"])
        except ValueError:
            continue
        if criticality != 0 and -5 <= criticality <= 5 and row["feedback"] not in _PANDAS_MISSING:
            picked.append((row["feedback"], row["question"], criticality))
    return [t for t, _, _ in picked], [q for _, q, _ in picked], [c for _, _, c in picked]


def _figures(scores: list[float], human: list[int], gold: list[str], *, sign: float = 1.0) -> dict[str, float]:
    predicted = [sentiment_label(s) for s in scores]
    return {"spearman": float(spearmanr(scores, human).statistic) * sign,
            "macro_f1": float(f1_score(gold, predicted, average="macro")),
            "neutral_f1": float(f1_score(gold, predicted, labels=["neutral"], average="macro"))}


def out_of_fold_scores(texts: list[str], questions: list[str], gold: list[str], respondents: list[str],
                       seed: int) -> list[float]:
    """Calibrated scores of every text from a model (and settings) chosen without its respondent."""
    answers = read_answers(texts, questions)
    folds = respondent_folds(respondents, seed, FOLDS)
    scores: list[float] = [0.0] * len(texts)
    for fold in range(FOLDS):
        rows, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        model = train(answers.take(rows), [gold[i] for i in rows], [respondents[i] for i in rows])
        # Scored exactly as at run time (the same fall-backs), only with a model that never saw these people.
        fold_scores = score_sentiment([texts[i] for i in test], [questions[i] for i in test], model)
        for i, score in zip(test, fold_scores, strict=True):
            scores[i] = 0.0 if score is None else score
    return scores


def _row(data: str, method: str, metric: str, value: float) -> dict[str, object]:
    return {"data": data, "method": method, "metric": metric, "value": round(float(value), 4)}


def evaluate_sentiment(data_dir: Path) -> list[dict[str, object]]:
    """Rows of data, method, metric and value for every sentiment comparison described above."""
    texts, questions, human, respondents = load_v6(data_dir)
    gold = [sentiment_label_from_human(h) for h in human]
    name = f"pxtext v6 sentiment (n={len(texts)})"
    rows: list[dict[str, object]] = []
    previous = question_aware_vader(texts, questions)
    # Texts marked "not scored" (not English) count as neutral here, so n stays the same.
    for method, scores in ((PLAIN, vader_compound(texts)), (PREVIOUS, [0.0 if s is None else s for s in previous])):
        rows += [_row(name, method, m, v) for m, v in _figures(scores, human, gold).items()]
    runs = [_figures(out_of_fold_scores(texts, questions, gold, respondents, seed), human, gold) for seed in SEEDS]
    method = f"calibrated, other respondents ({FOLDS} folds x {len(SEEDS)} seeds)"
    for metric in runs[0]:
        values = [r[metric] for r in runs]
        rows += [_row(name, method, metric, float(np.mean(values))),
                 _row(name, method, metric + "±", (max(values) - min(values)) / 2)]
    p_texts, p_questions, criticality = load_phase1_criticality(data_dir)
    p_gold = ["positive" if c > 0 else "negative" for c in criticality]
    p_model = train(read_answers(p_texts, p_questions), p_gold, [str(i) for i in range(len(p_texts))])
    transfer = [0.0 if s is None else s for s in score_sentiment(texts, questions, p_model)]
    rows += [_row(name, "calibrated, trained on phase-1 (no neutral class)", m, v)
             for m, v in _figures(transfer, human, gold).items()]
    rows.append(_row(name, "calibrated, shipped (not English: not scored)", "not_scored",
                     sum(s is None for s in score_sentiment(texts, questions))))
    # The other way round: phase-1 has no neutral class, so F1 is over positive and negative only, and
    # criticality rises with positivity (Spearman printed with v6's sign convention: lower is better).
    p_name = f"pxtext phase-1 criticality (n={len(p_texts)}, no neutral class)"
    p_previous = question_aware_vader(p_texts, p_questions)
    for method, scores in ((PLAIN, vader_compound(p_texts)), (PREVIOUS, [0.0 if s is None else s for s in p_previous]),
                           ("calibrated, shipped (trained on v6)",
                            [0.0 if s is None else s for s in score_sentiment(p_texts, p_questions)])):
        predicted = [sentiment_label(s) for s in scores]
        rows.append(_row(p_name, method, "spearman", -float(spearmanr(scores, criticality).statistic)))
        rows.append(_row(p_name, method, "pos_neg_f1",
                         float(f1_score(p_gold, predicted, labels=["positive", "negative"], average="macro"))))
    return rows
