"""The cross-validation grid behind the theme settings (README "Quality"): score candidate settings on both
pxtext files, choose on one, read the other.

Each setting is scored like ``make eval`` scores consult (seeds 0-2; automatic k and k = number of codes;
answers set aside = one cluster). A setting is chosen on one file by the mean of (NMI + ARI) / 2 over the two
k, among settings whose run-to-run stability is >= 0.85 at both k with the same automatic k on every seed.
Stage 1 is a grid (staff-manner words topical or not x word weights x common-component removal); stage 2 a
coordinate search per choosing file over tone weight, LSA weight, graph neighbours and LSA dimensions,
starting from that file's stage-1 choice. Labels, quotes and sub-themes are skipped (they do not change the
clusters). Runs in the project's virtualenv; an hour or more on 2 busy cores.

    python analysis/reference/theme_grid.py [DATA_DIR]      # appends to theme_grid.jsonl, then prints choices
"""

from __future__ import annotations

import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import normalize

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import analysis.aside as aside  # noqa: E402
import analysis.clustering as clustering  # noqa: E402
import analysis.themes as themes  # noqa: E402
from analysis.corpus import Corpus  # noqa: E402
from analysis.eval_text import SET_ASIDE_LABEL, LabelledTexts, load_phase1, load_v6_single_label  # noqa: E402
from analysis.text import stem  # noqa: E402
from analysis.word_vectors import WORD_VECTORS, load_word_vectors, stem_index  # noqa: E402

RESULTS = Path(__file__).with_name("theme_grid.jsonl")
DEFAULTS = {"manner": False, "weight": "idf", "idf_power": 0.25, "sif_a": 1e-3, "pcs": 0, "tone": 0.6,
            "lsa_w": 0.3, "lsa_d": 20, "nn": 20}
AXES = [("tone", [0.3, 0.6, 1.0]), ("lsa_w", [0.15, 0.3, 0.5]), ("nn", [10, 20, 30]), ("lsa_d", [20, 50])]
_TOPICAL_WITHOUT_MANNER = aside.TOPICAL_FEELINGS - aside.MANNER_WORDS
P = dict(DEFAULTS)


def configure(setting: dict[str, object]) -> None:
    """Apply a setting to the engine's module constants (and clear the word-list caches)."""
    P.clear()
    P.update(DEFAULTS, **setting)
    aside.TOPICAL_FEELINGS = _TOPICAL_WITHOUT_MANNER | (aside.MANNER_WORDS if P["manner"] else frozenset())
    aside.sentiment_lexicon.cache_clear()
    aside._tone_stems.cache_clear()
    themes._tone_stem_set.cache_clear()
    themes.TONE_WEIGHT, themes.LSA_WEIGHT, themes.LSA_DIMENSIONS = P["tone"], P["lsa_w"], P["lsa_d"]
    clustering.NEIGHBOURS = P["nn"]


def _static(corpus: Corpus) -> np.ndarray:
    """``themes._static_vectors`` with the word weights and common-component removal of the setting."""
    table = load_word_vectors(WORD_VECTORS)
    stems = stem_index(WORD_VECTORS)
    n = len(corpus.words)
    every = [list(words) + list(corpus.tone[i]) for i, words in enumerate(corpus.words)]
    document_frequency = Counter(stem(w) for words in every for w in set(words))
    frequency = Counter(stem(w) for words in every for w in words)
    total = sum(frequency.values())
    rows: dict[str, int] = {}
    vectors: list[np.ndarray] = []
    entries: tuple[list[int], list[int], list[float]] = ([], [], [])
    for i, words in enumerate(corpus.words):
        weighted: Counter[str] = Counter(words)
        for w in corpus.tone[i]:
            weighted[w] += P["tone"]
        for word, count in weighted.items():
            if word not in rows:
                if word in table.index:
                    vector = table.vectors[table.index[word]]
                elif stem(word) in stems:
                    vector = table.vectors[stems[stem(word)]].mean(axis=0)
                else:
                    continue
                rows[word] = len(vectors)
                vectors.append(vector)
            s = stem(word)
            if P["weight"] == "idf":
                weight = max(np.log((n + 1) / (document_frequency[s] + 1)), 0.0) ** P["idf_power"]
            else:
                weight = P["sif_a"] / (P["sif_a"] + frequency[s] / total)
            entries[0].append(i)
            entries[1].append(rows[word])
            entries[2].append(count * weight)
    matrix = sp.csr_matrix((entries[2], (entries[0], entries[1])), shape=(n, len(vectors)), dtype=np.float32)
    summed = matrix @ np.vstack(vectors)
    if P["pcs"]:
        summed = normalize(summed)
        top = TruncatedSVD(P["pcs"], random_state=0).fit(summed).components_
        summed = summed - (summed @ top.T) @ top
    return normalize(summed)


def _features(corpus: Corpus, seed: int) -> themes._Features:
    """``themes._features`` for the setting (same TF-IDF, LSA and joining)."""
    n = len(corpus.terms)
    vectorizer = CountVectorizer(analyzer=lambda terms: terms, min_df=2 if n >= 50 else 1)
    counts = vectorizer.fit_transform(corpus.terms).tocsr()
    vocabulary = vectorizer.get_feature_names_out()
    tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsc()
    scale = np.ones(counts.shape[1])
    scale[np.flatnonzero(themes._tone_columns(vocabulary))] = P["tone"]
    tfidf = normalize((tfidf @ sp.diags(scale)).tocsr())
    parts = [(1 - P["lsa_w"]) * _static(corpus)]
    lsa = TruncatedSVD(P["lsa_d"], random_state=0).fit_transform(tfidf)
    parts.append(P["lsa_w"] * normalize(lsa))
    return themes._Features(counts, vocabulary, np.hstack(parts).astype(np.float32), tfidf)


def _skip_labels() -> None:
    """Labels, quotes and sub-themes do not change the clusters: skip them to save time."""
    themes._features = _features
    themes.PhraseIndex = lambda texts: None  # type: ignore[assignment,misc]
    themes.label_from = lambda phrases, members, fallback, taken: (f"t{len(taken)}", [])
    themes._sub_themes = lambda *args, **kwargs: []
    themes._theme_terms = lambda features, labels, k, surface: [[] for _ in range(k)]
    themes.OwnWords = type("OwnWords", (), {"read": staticmethod(lambda texts: None)})  # type: ignore[misc]
    themes.choose_quotes = lambda *args, **kwargs: []
    themes.choose_typical = lambda *args, **kwargs: None
    themes.examples = lambda *args, **kwargs: []


def score_file(data: LabelledTexts) -> dict[str, dict[str, object]]:
    """NMI, ARI (means and half-ranges over seeds 0-2), stability and k at the automatic k and k = codes."""
    docs = [themes.ThemeDoc(str(i), t, 0.0, q) for i, (t, q) in enumerate(zip(data.texts, data.questions, strict=True))]

    def run(k: int | None, seed: int) -> tuple[int, list[int]]:
        result = themes.find_themes(docs, k=k, seed=seed)
        return result.k, [result.primary.get(d.id, SET_ASIDE_LABEL) for d in docs]

    automatic = [run(None, s) for s in (0, 1, 2)]
    at_codes = automatic if automatic[0][0] == data.k - 1 else [run(data.k - 1, s) for s in (0, 1, 2)]
    out = {}
    for mode, runs in (("auto", automatic), ("codes", at_codes)):
        nmi = [normalized_mutual_info_score(data.labels, c) for _, c in runs]
        ari = [adjusted_rand_score(data.labels, c) for _, c in runs]
        pairs = [adjusted_rand_score(a, b) for (_, a), (_, b) in itertools.combinations(runs, 2)]
        out[mode] = {"k": [k for k, _ in runs], "nmi": float(np.mean(nmi)), "nmis": (max(nmi) - min(nmi)) / 2,
                     "ari": float(np.mean(ari)), "aris": (max(ari) - min(ari)) / 2, "cross": float(np.mean(pairs))}
    return out


def score(result: dict[str, dict[str, dict[str, object]]], name: str) -> float | None:
    """The choosing criterion on one file, or None when the setting fails the stability condition."""
    r = result[name]
    if any(r[m]["cross"] < 0.85 for m in ("auto", "codes")) or len(set(r["auto"]["k"])) != 1:
        return None
    return sum((r[m]["nmi"] + r[m]["ari"]) / 2 for m in ("auto", "codes")) / 2


def main() -> None:
    """Stage 1 grid, stage 2 coordinate search from each file's stage-1 choice, then the choices."""
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    files = {"p1": load_phase1(data_dir / "pxtext"), "v6": load_v6_single_label(data_dir / "pxtext")}
    _skip_labels()
    done: dict[str, dict] = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            entry = json.loads(line)
            done[json.dumps(dict(DEFAULTS, **entry["setting"]), sort_keys=True)] = entry["res"]

    def result(setting: dict[str, object]) -> dict:
        key = json.dumps(dict(DEFAULTS, **setting), sort_keys=True)
        if key not in done:
            configure(setting)
            done[key] = {name: score_file(data) for name, data in files.items()}
            with RESULTS.open("a") as handle:
                handle.write(json.dumps({"setting": setting, "res": done[key]}) + "\n")
            print(key, {n: round(score(done[key], n) or -1, 4) for n in files}, flush=True)
        return done[key]

    weights = [{"weight": "idf", "idf_power": p} for p in (0, 0.25, 0.5, 1.0)]
    weights += [{"weight": "sif", "sif_a": a} for a in (1e-3, 1e-2)]
    stage1 = [dict(manner=m, pcs=c, **w) for m, w, c in itertools.product((False, True), weights, (0, 1, 2))]
    for setting in stage1:
        result(setting)
    for name, other in (("v6", "p1"), ("p1", "v6")):
        best = dict(max(stage1, key=lambda s: score(result(s), name) or -1))
        best_score = score(result(best), name)
        for _ in range(2):
            changed = False
            for axis, values in AXES:
                for value in values:
                    candidate = dict(best, **{axis: value})
                    value_score = score(result(candidate), name)
                    if value_score is not None and (best_score is None or value_score > best_score):
                        best, best_score, changed = candidate, value_score, True
            if not changed:
                break
        held_out = score(result(best), other)
        print(f"chosen on {name}: {dict(DEFAULTS, **best)}  {name} {best_score:.4f}, held-out {other} "
              f"{held_out if held_out is None else round(held_out, 4)}")


if __name__ == "__main__":
    main()
