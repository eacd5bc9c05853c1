"""Quality of themes and sentiment against human coding of NHS patient-experience text (pxtext).

The pxtext files (MIT, NHS England; see SOURCE.md and LICENSE-pxtextmining beside them) carry human theme
codes and sentiment. The labels are used here for evaluation only: nothing in ``themes`` or ``sentiment`` is
fitted to them. Row selection reproduces the baselines in ANALYSIS.md, which were measured with pandas:
texts that pandas reads as missing ("", "None", "N/A", ...) are dropped.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF, LatentDirichletAllocation, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score, v_measure_score
from sklearn.preprocessing import normalize

from analysis.sentiment import score_sentiment, sentiment_label, vader_compound
from analysis.text import analyse, stem
from analysis.themes import ThemeDoc, ThemeResult, find_themes

PHASE1_FILE = "phase1_text_data.shared30.csv"
V6_FILE = "v6framework_230831.shared30.csv"
REFERENCE_FILE = Path(__file__).parent / "reference" / "embedding_reference.json"

# pandas' default missing-value strings: the ANALYSIS.md baselines dropped rows whose text is one of them.
_PANDAS_MISSING = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
# The v6 one-hot columns start after the sentiment column.
_V6_FIRST_CATEGORY = "Not assigned"
_V6_UNLABELLED = "Labelling not possible"
_V6_MIN_CLASS_SIZE = 15


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with one human theme code each, and the question each text answered."""

    name: str
    texts: list[str]
    labels: list[str]
    questions: list[str]

    @property
    def k(self) -> int:
        """Number of distinct human codes."""
        return len(set(self.labels))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_phase1(data_dir: Path) -> LabelledTexts:
    """Phase-1 pxtext: one of 9 human labels per text (n = 3,095 on the shared file)."""
    rows = [r for r in _read_csv(data_dir / PHASE1_FILE) if r["feedback"] not in _PANDAS_MISSING]
    return LabelledTexts(
        name="pxtext phase-1",
        texts=[r["feedback"] for r in rows],
        labels=[r["label"] for r in rows],
        questions=[r["question"] for r in rows],
    )


def load_v6_single_label(data_dir: Path) -> LabelledTexts:
    """v6 pxtext rows with exactly one framework category, minus "Labelling not possible" and rare classes."""
    rows = _read_csv(data_dir / V6_FILE)
    columns = list(rows[0])
    categories = columns[columns.index(_V6_FIRST_CATEGORY) :]
    picked: list[tuple[dict[str, str], str]] = []
    for row in rows:
        codes = [c for c in categories if row[c].strip()]
        if len(codes) == 1 and codes[0] != _V6_UNLABELLED and row["FFT answer"] not in _PANDAS_MISSING:
            picked.append((row, codes[0]))
    counts = Counter(code for _, code in picked)
    picked = [(row, code) for row, code in picked if counts[code] >= _V6_MIN_CLASS_SIZE]
    return LabelledTexts(
        name="pxtext v6 single-label",
        texts=[row["FFT answer"] for row, _ in picked],
        labels=[code for _, code in picked],
        questions=[row["FFT question"] for row, _ in picked],
    )


def load_v6_sentiment(data_dir: Path) -> tuple[list[str], list[str], list[int]]:
    """v6 pxtext texts with human sentiment (1 very positive .. 5 very negative): texts, questions, scores."""
    rows = [
        r
        for r in _read_csv(data_dir / V6_FILE)
        if r["Comment sentiment"].strip() and r["FFT answer"] not in _PANDAS_MISSING
    ]
    return (
        [r["FFT answer"] for r in rows],
        [r["FFT question"] for r in rows],
        [int(r["Comment sentiment"]) for r in rows],
    )


def without_duplicate_texts(data: LabelledTexts) -> LabelledTexts:
    """Keep the first row of each exact (whitespace-trimmed) text."""
    seen: set[str] = set()
    keep: list[int] = []
    for i, text in enumerate(data.texts):
        if text.strip() not in seen:
            seen.add(text.strip())
            keep.append(i)
    return LabelledTexts(
        name=data.name + " (no duplicate texts)",
        texts=[data.texts[i] for i in keep],
        labels=[data.labels[i] for i in keep],
        questions=[data.questions[i] for i in keep],
    )


def theme_datasets(data_dir: Path) -> list[LabelledTexts]:
    """Both pxtext files, each with and without exact duplicate texts."""
    sets: list[LabelledTexts] = []
    for data in (load_phase1(data_dir), load_v6_single_label(data_dir)):
        sets.extend((data, without_duplicate_texts(data)))
    return sets


# ------------------------------------------------------------------------------------------- evaluation

SEEDS = (0, 1, 2)
OURS = "ours (k = human labels)"
OURS_AUTO = "ours (automatic k)"
# Baseline figures printed in ANALYSIS.md (measured with duplicates kept); recomputed ones sit beside them.
PUBLISHED_BASELINES: dict[str, dict[str, tuple[float, float]]] = {
    "pxtext phase-1": {
        "TF-IDF + k-means": (0.098, -0.016),
        "LSA(100) + k-means": (0.095, -0.007),
        "TF-IDF + NMF": (0.123, 0.055),
        "counts + LDA": (0.091, 0.064),
    },
    "pxtext v6 single-label": {
        "TF-IDF + k-means": (0.178, -0.026),
        "LSA(100) + k-means": (0.232, 0.030),
        "TF-IDF + NMF": (0.224, 0.133),
        "counts + LDA": (0.152, 0.094),
    },
}


def _tfidf_kmeans(texts: list[str], k: int, seed: int) -> np.ndarray:
    matrix = TfidfVectorizer(stop_words="english").fit_transform(texts)
    return KMeans(k, n_init=10, random_state=seed).fit_predict(matrix)


def _lsa_kmeans(texts: list[str], k: int, seed: int) -> np.ndarray:
    matrix = TfidfVectorizer(stop_words="english").fit_transform(texts)
    reduced = normalize(TruncatedSVD(100, random_state=seed).fit_transform(matrix))
    return KMeans(k, n_init=10, random_state=seed).fit_predict(reduced)


def _tfidf_nmf(texts: list[str], k: int, seed: int) -> np.ndarray:
    matrix = TfidfVectorizer(stop_words="english").fit_transform(texts)
    return NMF(k, init="nndsvda", max_iter=400, random_state=seed).fit_transform(matrix).argmax(axis=1)


def _counts_lda(texts: list[str], k: int, seed: int) -> np.ndarray:
    matrix = CountVectorizer(stop_words="english").fit_transform(texts)
    return LatentDirichletAllocation(k, random_state=seed).fit_transform(matrix).argmax(axis=1)


BASELINES: dict[str, Callable[[list[str], int, int], np.ndarray]] = {
    "TF-IDF + k-means": _tfidf_kmeans,
    "LSA(100) + k-means": _lsa_kmeans,
    "TF-IDF + NMF": _tfidf_nmf,
    "counts + LDA": _counts_lda,
}


def npmi_coherence(texts: list[str], term_lists: list[list[str]]) -> float:
    """Mean NPMI of term pairs within each theme's terms, from document co-occurrence in ``texts``."""
    documents = []
    for text in texts:
        stems = analyse(text)
        documents.append(set(stems) | {f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)})
    n = len(documents)
    themes = []
    for terms in term_lists:
        keys = [" ".join(stem(w) for w in term.split()) for term in terms]
        present = [{i for i, d in enumerate(documents) if key in d} for key in keys]
        pairs = []
        for a, b in itertools.combinations(range(len(keys)), 2):
            joint = len(present[a] & present[b]) / n
            if joint == 0:
                pairs.append(-1.0)
                continue
            p_a, p_b = len(present[a]) / n, len(present[b]) / n
            pairs.append(1.0 if joint == 1 else math.log(joint / (p_a * p_b)) / -math.log(joint))
        if pairs:
            themes.append(float(np.mean(pairs)))
    return float(np.mean(themes)) if themes else 0.0


def topic_diversity(term_lists: list[list[str]]) -> float:
    """Share of distinct terms among all themes' terms (1 = no theme repeats another's words)."""
    terms = [t for terms in term_lists for t in terms]
    return len(set(terms)) / len(terms) if terms else 0.0


def _row(data: str, method: str, metric: str, value: float) -> dict[str, object]:
    return {"data": data, "method": method, "metric": metric, "value": round(float(value), 4)}


def _run_ours(data: LabelledTexts, k: int | None, seed: int) -> tuple[ThemeResult, list[int], float]:
    docs = [
        ThemeDoc(str(i), t, 0.0, q) for i, (t, q) in enumerate(zip(data.texts, data.questions, strict=True))
    ]
    started = time.perf_counter()
    result = find_themes(docs, k=k, seed=seed)
    seconds = time.perf_counter() - started
    return result, [result.primary[d.id] for d in docs], seconds


def _evaluate_themes(data: LabelledTexts) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for method, published in PUBLISHED_BASELINES.get(data.name, {}).items():
        rows.append(_row(data.name, method + " (ANALYSIS.md)", "nmi", published[0]))
        rows.append(_row(data.name, method + " (ANALYSIS.md)", "ari", published[1]))
    for method, run in BASELINES.items():
        scores = []
        for seed in SEEDS:
            started = time.perf_counter()
            clusters = run(data.texts, data.k, seed)
            seconds = time.perf_counter() - started
            scores.append(
                (
                    normalized_mutual_info_score(data.labels, clusters),
                    adjusted_rand_score(data.labels, clusters),
                    seconds,
                )
            )
        nmi, ari, _ = np.mean(scores, axis=0)
        rows += [_row(data.name, method, "nmi", nmi), _row(data.name, method, "ari", ari)]
        rows.append(_row(data.name, method, "seconds", min(s[2] for s in scores)))
    measured: dict[str, list[float]] = {
        m: [] for m in ("nmi", "ari", "v_measure", "stability", "npmi", "diversity")
    }
    measured["seconds"] = []
    for seed in SEEDS:
        result, clusters, seconds = _run_ours(data, data.k, seed)
        measured["nmi"].append(normalized_mutual_info_score(data.labels, clusters))
        measured["ari"].append(adjusted_rand_score(data.labels, clusters))
        measured["v_measure"].append(v_measure_score(data.labels, clusters))
        measured["stability"].append(result.stability)
        measured["npmi"].append(npmi_coherence(data.texts, [t.terms for t in result.themes]))
        measured["diversity"].append(topic_diversity([t.terms for t in result.themes]))
        measured["seconds"].append(seconds)
    # Quality is the mean over seeds; time is the fastest run, the usual benchmark figure on a shared machine.
    rows += [
        _row(data.name, OURS, metric, float(min(values) if metric == "seconds" else np.mean(values)))
        for metric, values in measured.items()
    ]
    result, clusters, seconds = _run_ours(data, None, SEEDS[0])
    rows += [
        _row(data.name, OURS_AUTO, "nmi", normalized_mutual_info_score(data.labels, clusters)),
        _row(data.name, OURS_AUTO, "ari", adjusted_rand_score(data.labels, clusters)),
        _row(data.name, OURS_AUTO, "k", result.k),
        _row(data.name, OURS_AUTO, "stability", result.stability),
        _row(data.name, OURS_AUTO, "seconds", seconds),
    ]
    return rows


def reference_rows(path: Path = REFERENCE_FILE) -> list[dict[str, object]]:
    """The stored embedding reference (all-MiniLM-L6-v2, BERTopic-style), labelled as measured, not rerun."""
    if not path.exists():
        return []
    stored = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for entry in stored["results"]:
        method = f"reference: MiniLM {entry['pipeline']} (stored)"
        for metric in ("nmi", "ari", "seconds"):
            rows.append(_row(entry["data"], method, metric, entry[metric]))
        if entry["pipeline"] == "umap+hdbscan":
            rows.append(_row(entry["data"], method, "k", entry["k"]))
    return rows


def _evaluate_sentiment(data_dir: Path) -> list[dict[str, object]]:
    texts, questions, human = load_v6_sentiment(data_dir)
    gold = [sentiment_label_from_human(h) for h in human]
    name = f"pxtext v6 sentiment (n={len(texts)})"
    rows = []
    for method, scores in (
        ("VADER compound", vader_compound(texts)),
        ("ours (question-aware VADER)", score_sentiment(texts, questions)),
    ):
        rows.append(_row(name, method, "spearman", spearmanr(scores, human).statistic))
        predicted = [sentiment_label(s) for s in scores]
        rows.append(_row(name, method, "macro_f1", f1_score(gold, predicted, average="macro")))
    return rows


def sentiment_label_from_human(score: int) -> str:
    """Human 1-2 (very) positive, 3 neutral, 4-5 (very) negative."""
    return "positive" if score <= 2 else "neutral" if score == 3 else "negative"


def evaluate_text(data_dir: Path) -> list[dict[str, object]]:
    """Themes and sentiment against the human pxtext coding: rows of data, method, metric and value."""
    data_dir = Path(data_dir)
    if (data_dir / "pxtext").is_dir():
        data_dir = data_dir / "pxtext"
    reference = reference_rows()
    rows: list[dict[str, object]] = []
    for data in theme_datasets(data_dir):
        rows += _evaluate_themes(data)
        rows += [r for r in reference if r["data"] == data.name]
    rows += _evaluate_sentiment(data_dir)
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    """Rows pivoted to one line per data set and method, one column per metric."""
    metrics: list[str] = []
    table: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        metric = str(row["metric"])
        if metric not in metrics:
            metrics.append(metric)
        table.setdefault((str(row["data"]), str(row["method"])), {})[metric] = float(row["value"])  # type: ignore[arg-type]
    width = max(len(method) for _, method in table) + 2
    lines = []
    current = None
    for (data, method), values in table.items():
        if data != current:
            present = [m for m in metrics if any(m in v for (d, _), v in table.items() if d == data)]
            lines += ["", data, " " * width + "".join(f"{m:>11}" for m in present)]
            current = data
        lines.append(
            f"{method:<{width}}"
            + "".join(f"{values[m]:>11.3f}" if m in values else " " * 11 for m in present)
        )
    return "\n".join(lines).lstrip("\n")


if __name__ == "__main__":
    from analysis.__main__ import DEFAULT_DATA

    print(format_table(evaluate_text(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA)))
