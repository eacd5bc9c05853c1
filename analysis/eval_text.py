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
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF, LatentDirichletAllocation, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import normalize

from analysis.aside import BUCKETS
from analysis.text import analyse, stem
from analysis.themes import ThemeDoc, ThemeResult, find_themes

PHASE1_FILE = "phase1_text_data.shared30.csv"
V6_FILE = "v6framework_230831.shared30.csv"
REFERENCE_FILE = Path(__file__).parent / "reference" / "embedding_reference.json"
MINILM_FILE = Path(__file__).parent / "reference" / "minilm_pxtext.npz"

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


SET_ASIDE_LABEL = -1
ONE_CLUSTER = "consult (set-aside answers = 1 cluster)"
AS_SHOWN = "consult (each set-aside bucket a cluster, as shown)"
SCORINGS = {AS_SHOWN: "set-aside buckets as shown", ONE_CLUSTER: "set-aside answers as 1 cluster"}
# Printed under the theme tables by ``python -m analysis eval``: where each theme setting was chosen.
THEME_NOTES = """\
Two scorings of the same runs: "as shown" counts each named bucket of set-aside answers ("Nothing to add or
  change", "General praise, nothing specific", ...) as the cluster it is on the analysis page; "= 1 cluster"
  merges them all. Every reference is scored at the same number of clusters as the consult row above it.
Theme settings and where they were chosen (analysis/reference/theme_grid.py; choose on one file, read the other):
  staff-manner words topical (aside.MANNER_WORDS): chosen on v6 and on phase-1 alike (each file held out for
    the other's choice).
  TONE_WEIGHT 0.6: chosen on v6 at k = codes (phase-1 held out); kept by both directions of the new grid.
  word weights, common-component removal, LSA weight and dimensions, graph neighbours: the two files chose
    differently, inside the engine's sensitivity to noise, so the previous values stay; phase-1 figures are
    not a clean hold-out for these (README "Quality").
The +- columns are half the range over seeds 0-2; a difference inside them is a tie."""
# Each bucket's cluster in the "as shown" scoring: -1, -2, ... in the order the page lists them.
_BUCKET_LABEL = {name: -1 - n for n, (name, _) in enumerate(BUCKETS)}


@dataclass(frozen=True)
class _Ours:
    """One run of the engine, its clusters under both scorings, and its seconds."""

    result: ThemeResult
    one_cluster: list[int]
    as_shown: list[int]
    seconds: float


def _run_ours(data: LabelledTexts, themes: int | None, seed: int) -> _Ours:
    """Our themes for ``data``, with the set-aside answers as one cluster and as their named buckets."""
    docs = [
        ThemeDoc(str(i), t, 0.0, q) for i, (t, q) in enumerate(zip(data.texts, data.questions, strict=True))
    ]
    started = time.perf_counter()
    result = find_themes(docs, k=themes, seed=seed)
    seconds = time.perf_counter() - started
    bucket = {i: _BUCKET_LABEL[name] for name, ids in result.set_aside.items() for i in ids}
    return _Ours(result, [result.primary.get(d.id, SET_ASIDE_LABEL) for d in docs],
                 [result.primary.get(d.id, bucket.get(d.id, SET_ASIDE_LABEL)) for d in docs], seconds)


def _clusters(labels: list[int]) -> int:
    return len(set(labels))


def _minilm(data: LabelledTexts, name: str) -> dict[str, object] | None:
    """Stored MiniLM embeddings and UMAP reductions of ``data``'s texts (None when absent or mismatched)."""
    if not MINILM_FILE.exists():
        return None
    import hashlib

    key = "phase1" if name.startswith("pxtext phase-1") else "v6"
    with np.load(MINILM_FILE) as stored:
        keys = [str(k) for k in stored[f"{key}_keys"]]
        wanted = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in data.texts]
        if keys != wanted:
            return None
        meta = json.loads(str(stored["meta"]))["files"][key]
        return {"embeddings": stored[f"{key}_embeddings"].astype(np.float32),
                "umap": [stored[f"{key}_umap{s}"] for s in SEEDS], **meta}


def _spread(values: list[float]) -> float:
    return float(max(values) - min(values)) if values else 0.0


def _score_rows(data: str, method: str, runs: list[tuple[list[int], float]], labels: list[str],
                extra: dict[str, float] | None = None) -> list[dict[str, object]]:
    """NMI, ARI (means over seeds, with their spread), clusters and fastest seconds of one method."""
    nmi = [normalized_mutual_info_score(labels, c) for c, _ in runs]
    ari = [adjusted_rand_score(labels, c) for c, _ in runs]
    rows = [_row(data, method, "k", float(np.mean([_clusters(c) for c, _ in runs]))),
            _row(data, method, "nmi", float(np.mean(nmi))), _row(data, method, "nmi±", _spread(nmi) / 2),
            _row(data, method, "ari", float(np.mean(ari))), _row(data, method, "ari±", _spread(ari) / 2)]
    pairs = [adjusted_rand_score(a, b) for (a, _), (b, _) in itertools.combinations(runs, 2)]
    rows.append(_row(data, method, "stability", float(np.mean(pairs)) if pairs else 1.0))
    for metric, value in (extra or {}).items():
        rows.append(_row(data, method, metric, value))
    rows.append(_row(data, method, "seconds", min(s for _, s in runs)))
    return rows


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    return KMeans(k, n_init=10, random_state=seed).fit_predict(points)


def _timed(run: Callable[[], np.ndarray]) -> tuple[list[int], float]:
    started = time.perf_counter()
    clusters = run()
    return [int(c) for c in clusters], time.perf_counter() - started


def _compare_at(data: LabelledTexts, title: str, method: str, ours: list[tuple[list[int], float]],
                minilm: dict[str, object] | None) -> list[dict[str, object]]:
    """Ours beside every TF-IDF baseline and both MiniLM references, all at our number of clusters."""
    clusters = _clusters(ours[0][0])
    rows = _score_rows(title, method, ours, data.labels)
    for name, run in BASELINES.items():
        runs = [_timed(lambda s=seed, r=run: r(data.texts, clusters, s)) for seed in SEEDS]
        rows += _score_rows(title, name, runs, data.labels)
    if minilm is not None:
        embeddings = normalize(minilm["embeddings"])  # type: ignore[arg-type]
        encode = float(minilm["encode_seconds"])  # type: ignore[arg-type]
        runs = []
        for seed in SEEDS:
            labels, seconds = _timed(lambda s=seed: _kmeans(embeddings, clusters, s))
            runs.append((labels, seconds + encode))
        rows += _score_rows(title, "MiniLM + k-means (same run)", runs, data.labels)
        runs = []
        for seed in SEEDS:
            reduced = minilm["umap"][seed]  # type: ignore[index]
            labels, seconds = _timed(lambda s=seed, x=reduced: _kmeans(x, clusters, s))
            runs.append((labels, seconds + encode + float(minilm["umap_seconds"])))  # type: ignore[arg-type]
        rows += _score_rows(title, "MiniLM BERTopic-style: UMAP + k-means (same run)", runs, data.labels)
    return rows


def _evaluate_themes(data: LabelledTexts) -> list[dict[str, object]]:
    """The issue-9 tables for one file: automatic k and k = number of codes, ours beside every reference.

    Each k is scored twice: with every named bucket of set-aside answers a cluster, as the analysis page shows
    them, and with them all merged into one. At k = number of codes, the themes asked for are k less the
    set-aside clusters, so every method has k clusters.
    """
    minilm = _minilm(data, data.name)
    automatic = [_run_ours(data, None, seed) for seed in SEEDS]
    by_seed = "/".join(str(run.result.k) for run in automatic)
    aside_share = float(np.mean([run.one_cluster.count(SET_ASIDE_LABEL) / len(run.one_cluster) for run in automatic]))
    # Which answers are set aside does not depend on k or the seed: the rules read each text alone.
    buckets = sum(1 for ids in automatic[0].result.set_aside.values() if ids)
    rows: list[dict[str, object]] = []
    for method, scoring, aside in ((AS_SHOWN, "as_shown", buckets), (ONE_CLUSTER, "one_cluster", 1)):
        runs = [(getattr(run, scoring), run.seconds) for run in automatic]
        title = (f"{data.name}, automatic k (themes by seed {by_seed}; {_clusters(runs[0][0])} clusters, "
                 f"{SCORINGS[method]})")
        rows += _compare_at(data, title, method, runs, minilm)
        rows.append(_row(title, method, "set_aside_share", aside_share))
        themes = max(2, data.k - aside)
        runs = [(getattr(run, scoring), run.seconds) for run in (_run_ours(data, themes, s) for s in SEEDS)]
        title = f"{data.name}, k = number of codes ({data.k}; {themes} themes, {SCORINGS[method]})"
        rows += _compare_at(data, title, method, runs, minilm)
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


def sentiment_label_from_human(score: int) -> str:
    """Human 1-2 (very) positive, 3 neutral, 4-5 (very) negative."""
    return "positive" if score <= 2 else "neutral" if score == 3 else "negative"


def evaluate_text(data_dir: Path) -> list[dict[str, object]]:
    """Themes and sentiment against the human pxtext coding: rows of data, method, metric and value."""
    data_dir = Path(data_dir)
    if (data_dir / "pxtext").is_dir():
        data_dir = data_dir / "pxtext"
    rows: list[dict[str, object]] = []
    for data in (load_phase1(data_dir), load_v6_single_label(data_dir)):
        rows += _evaluate_themes(data)
    from analysis.eval_sentiment import evaluate_sentiment

    rows += evaluate_sentiment(data_dir)
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
            sizes = [max(11, len(m) + 2) for m in present]
            lines += ["", data, " " * width + "".join(f"{m:>{w}}" for m, w in zip(present, sizes, strict=True))]
            current = data
        lines.append(
            f"{method:<{width}}"
            + "".join(f"{values[m]:>{w}.3f}" if m in values else " " * w for m, w in zip(present, sizes, strict=True))
        )
    return "\n".join(lines).lstrip("\n")


if __name__ == "__main__":
    from analysis.__main__ import DEFAULT_DATA

    print(format_table(evaluate_text(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA)))
