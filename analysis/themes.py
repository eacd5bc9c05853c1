"""Themes: set aside what says nothing specific, cluster the rest by topic, label, describe, quote, and say
how stable the result is.

Method (unsupervised; settings chosen by cross-validation across the two pxtext files in ``eval_text``):

0. Set aside (``aside``): empty, redacted, non-English and non-substantive answers ("nothing", "all good",
   thanks, "hear, hear") go into named buckets, counted, not clustered. Near-identical texts (same content
   stems) are clustered once, so copies share a theme and fifty copies do not outvote fifty different texts.
1. Features. Each text becomes (a) a weighted sum of static word vectors distilled from all-MiniLM-L6-v2
   (``reference/word_vectors.npz``; words missing from it fall back to other words with the same stem), and
   (b) a 20-dimensional LSA of stemmed unigram+bigram TF-IDF, which carries the consultation's own vocabulary.
   Sentiment and politeness words count ``TONE_WEIGHT`` as much as topical words in both, so themes follow
   what texts are about, not how they sound. Both parts are unit-normalised and joined with weights 0.7 / 0.3.
2. Clustering (``clustering``): a cosine k-nearest-neighbour graph embedded spectrally, k-means on several
   numbers of its leading eigenvectors, combined by co-association and average linkage. Above ``FIT_SAMPLE``
   distinct texts the clustering is fitted on a seeded sample and the rest go to the nearest theme centre.
3. Number of themes: mean silhouette over fixed seeds in the spectral embedding, 6-12 for a consultation of
   any size (fewer for a small one); the run's seed does not enter, so every seed gives the same k.
4. Labels (``labels``): the theme's most distinctive noun phrase drawn from its texts whose last word names a
   topic, two joined by "and" when both are strong or the first is too general alone. Quotes (``quotes``):
   members near the centre whose own words say enough to stand alone and carry the theme's key words,
   re-ranked by support, no near-duplicates; the typical example is the nearest one holding the label's
   words. Sub-themes: k-means (2-4) within each theme, each with its label and typical example.
5. Stability: mean adjusted Rand index between runs with three seeds at the chosen k.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from analysis.aside import classify
from analysis.clustering import (
    K_SEEDS,
    _candidates,
    _centres,
    _choose_k,
    _cluster,
    _spectral,
    _stability,
    _sub_themes,
)
from analysis.corpus import Corpus, first_occurrences, term_counts
from analysis.labels import PhraseIndex, label_from, label_of_words, label_phrases
from analysis.quotes import OwnWords, choose_quotes, choose_typical, examples, stems_of_phrases
from analysis.records import distinct as distinct_values
from analysis.text import KEPT_WORDS, stem, tokenize
from analysis.word_vectors import WORD_VECTORS, fill_static, load_word_vectors, static_parts

FIT_SAMPLE = 4000  # texts the clustering is fitted on; the rest are assigned to the nearest centre
MIN_TEXTS = 10  # fewer distinct substantive texts than this: a plain statement, not themes
# How much sentiment and politeness words count in a text's vector (0 = not at all). They stay out of the
# TF-IDF terms and labels whatever this says. Chosen by cross-validation across the pxtext files (eval_text).
TONE_WEIGHT = 0.6
LSA_DIMENSIONS = 20
LSA_WEIGHT = 0.3
IDF_POWER = 0.25  # damped idf: frequent words still shape a text's vector, rare ones do not swamp it
MULTI_MEMBERSHIP_RATIO = 0.85  # a second theme counts when its centre is this close relative to the first
MULTI_MEMBERSHIP_MIN = 0.3
MAX_MEMBERSHIPS = 3
KEPT_WORD_LABEL_SHARE = 0.5
TOP_TERMS = 10

_KEPT_STEMS = frozenset(stem(w) for w in KEPT_WORDS)

Progress = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)  # no per-object __dict__: 500,000 of them at the large size
class ThemeDoc:
    """One contribution to be themed: ``weight`` (its support) ranks quotes; ``question`` is carried along."""

    id: str
    text: str
    weight: float = 0.0
    question: str = ""
    own: str | None = None  # the contribution's own words when ``text`` carries its idea as context


@dataclass(frozen=True)
class Theme:
    """A theme: readable label, distinctive terms, member ids and representative quote ids."""

    id: int
    label: str
    terms: list[str]
    size: int
    members: list[str]
    quotes: list[str]
    phrases: list[str] = field(default_factory=list)
    sub_themes: list[dict[str, object]] = field(default_factory=list)
    typical: str | None = None  # the member a description quotes as typical
    examples: list[str] = field(default_factory=list)  # substantive members near the centre


@dataclass
class ThemeResult:
    """Themes found in a set of contributions, with per-contribution assignments and quality figures."""

    themes: list[Theme]
    primary: dict[str, int]
    memberships: dict[str, list[int]]
    duplicates: list[list[str]]
    stability: float
    k: int
    method: str
    k_scores: dict[int, float] = field(default_factory=dict)
    set_aside: dict[str, list[str]] = field(default_factory=dict)
    statement: str = ""
    stability_pairs: list[float] = field(default_factory=list)
    k_by_seed: dict[int, int] = field(default_factory=dict)
    clustered: int = 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable copy (dictionary keys become strings)."""
        return {
            "themes": [asdict(t) for t in self.themes],
            "primary": dict(self.primary),
            "memberships": {key: list(v) for key, v in self.memberships.items()},
            "duplicates": [list(g) for g in self.duplicates],
            "stability": self.stability,
            "k": self.k,
            "method": self.method,
            "k_scores": {str(key): v for key, v in self.k_scores.items()},
            "set_aside": {key: list(v) for key, v in self.set_aside.items()},
            "statement": self.statement,
            "stability_pairs": list(self.stability_pairs),
            "k_by_seed": {str(key): v for key, v in self.k_by_seed.items()},
            "clustered": self.clustered,
        }


# ---------------------------------------------------------------------------------------------- features


def _read(texts: Sequence[str]) -> Corpus:
    """Every text's words as integer codes (``analysis.corpus``): lists of strings took 1 GB at 500,000 texts."""
    return Corpus(texts)


def _tone_columns(vocabulary: np.ndarray) -> np.ndarray:
    """Which terms (unigram or bigram stems) contain a sentiment or politeness word."""
    stems = _tone_stem_set()
    return np.array([any(part in stems for part in str(term).split()) for term in vocabulary], dtype=bool)


@lru_cache(maxsize=1)
def _tone_stem_set() -> frozenset[str]:
    from analysis.aside import GENERIC_WORDS, TOPICAL_FEELINGS, sentiment_lexicon

    words = sentiment_lexicon() | GENERIC_WORDS | KEPT_WORDS
    return frozenset(stem(w) for w in words) - frozenset(stem(w) for w in TOPICAL_FEELINGS)


def _static_vectors(corpus: Corpus) -> np.ndarray | None:
    """Damped-idf weighted sum of distilled word vectors per text, unit length (zero if no word is known)."""
    parts = static_parts(corpus, TONE_WEIGHT, IDF_POWER)
    if parts is None:
        return None
    weights, vectors = parts
    static = np.empty((weights.shape[0], vectors.shape[1]), dtype=np.float32)
    fill_static(weights, vectors, static, 1.0)
    return static


@dataclass
class _Features:
    counts: sp.csr_matrix  # texts x terms, raw counts (for labels)
    vocabulary: np.ndarray  # term strings
    dense: np.ndarray  # texts x dimensions, the clustering space (float32)
    tfidf: sp.csr_matrix  # for near-duplicate checks between quotes


def _features(corpus: Corpus, seed: int) -> _Features:
    n = len(corpus)
    counts, vocabulary = term_counts(corpus, min_df=2 if n >= 50 else 1)
    if counts.shape[1]:
        # TF-IDF with tone terms down-weighted, scaled and normalised in place: the values the chain
        # tocsc() @ diags(scale) -> tocsr() -> normalize gave, without its three copies of the matrix.
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        scale = np.ones(counts.shape[1], dtype=np.float64)
        scale[np.flatnonzero(_tone_columns(vocabulary))] = TONE_WEIGHT
        tfidf.data *= scale[tfidf.indices]
        tfidf.sort_indices()
        tfidf = normalize(tfidf, copy=False)
    else:
        tfidf = counts
    static = static_parts(corpus, TONE_WEIGHT, IDF_POWER)
    dimensions = min(LSA_DIMENSIONS, counts.shape[1] - 1, n - 1)
    lsa = TruncatedSVD(dimensions, random_state=0).fit_transform(tfidf) if dimensions >= 1 else None
    width = (0 if static is None else static[1].shape[1]) + (0 if lsa is None else lsa.shape[1])
    if not width:
        return _Features(counts, vocabulary, np.zeros((n, 1), dtype=np.float32), tfidf)
    # Both parts written into one float32 array (the values np.hstack(...).astype(float32) gave) without
    # float64 copies, the word vectors a slice of texts at a time.
    dense = np.empty((n, width), dtype=np.float32)
    if static is not None:
        fill_static(*static, dense[:, : static[1].shape[1]], 1 - LSA_WEIGHT)
    if lsa is not None:
        # Normalised and weighted in place: the products LSA_WEIGHT * normalize(lsa) gave, without two
        # float64 copies of the texts x 20 array (160 MB at 500,000 texts, at the stage's peak).
        lsa = normalize(lsa, copy=False)
        lsa *= LSA_WEIGHT if static is not None else 1.0
        dense[:, width - lsa.shape[1]:] = lsa
    return _Features(counts, vocabulary, dense, tfidf)


# ---------------------------------------------------------------------------------- labels and quotes


def _readable(term: str, surface: dict[str, Counter[str]]) -> str:
    spellings = surface.get(term)
    return spellings.most_common(1)[0][0] if spellings else term


def _theme_terms(
    features: _Features, labels: np.ndarray, k: int, surface: dict[str, Counter[str]]
) -> list[list[str]]:
    """Top class-based TF-IDF terms per theme, most common spelling, bigrams absorbing their own words."""
    if features.counts.shape[1] == 0:
        return [[] for _ in range(k)]
    n = labels.shape[0]
    membership = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    per_theme = np.asarray((membership @ features.counts).todense(), dtype=np.float64)
    term_totals = per_theme.sum(axis=0)
    average_words = per_theme.sum() / k
    scores = (
        per_theme
        / np.maximum(per_theme.sum(axis=1, keepdims=True), 1)
        * np.log(1 + average_words / np.maximum(term_totals, 1))
    )
    sizes = np.bincount(labels, minlength=k)
    containing = np.asarray((membership @ (features.counts > 0).astype(np.float64)).todense())
    document_share = containing / np.maximum(sizes[:, None], 1)
    tone = _tone_columns(features.vocabulary)
    result = []
    for t in range(k):
        chosen: list[str] = []
        for j in np.argsort(-scores[t]):
            if scores[t, j] <= 0 or len(chosen) == TOP_TERMS:
                break
            term = str(features.vocabulary[j])
            if tone[j]:
                continue
            # "not", "more", "no" say little as a label unless they are what most of the theme says.
            if term in _KEPT_STEMS and document_share[t, j] < KEPT_WORD_LABEL_SHARE:
                continue
            parts = set(term.split())
            # Skip a word already inside a chosen bigram, and a bigram that repeats a chosen word.
            if any(parts <= set(c.split()) or set(c.split()) <= parts for c in chosen):
                continue
            chosen.append(term)
        result.append([_readable(term, surface) for term in chosen])
    return result


def _near_duplicate_groups(corpus: Corpus, texts: Sequence[str]) -> np.ndarray:
    """Each text's group of near-duplicates, numbered in the order first seen: texts with the same set of
    topical stems (or, lacking any, the same tokens) are near-duplicates."""
    tokens = corpus.tokens
    topical = ~corpus.is_tone[tokens.values]
    width = len(corpus.stems)
    stems = distinct_values(tokens.row_of_each()[topical] * width + corpus.stem_code[tokens.values[topical]])
    starts = np.searchsorted(stems // width, np.arange(len(corpus) + 1))
    stems = (stems % width).astype(np.int32)
    groups: dict[bytes | str, int] = {}
    keys = np.empty(len(corpus), dtype=np.int64)
    for i, text in enumerate(texts):
        begin, end = starts[i], starts[i + 1]
        # The stems' codes as bytes (the same set, sorted, gives the same bytes); a string never equals them.
        key: bytes | str = stems[begin:end].tobytes() if end > begin else " ".join(tokenize(text))
        keys[i] = groups.setdefault(key, len(groups))
    return keys


# ---------------------------------------------------------------------------------------------- entry


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length rows placing each text in the space themes are compared in (static MiniLM word vectors).

    Texts with no known word get a zero row. Without the word-vector file, a hashed bag of stems stands in,
    so callers always get an array of ``len(texts)`` rows.
    """
    corpus = _read(texts)
    static = _static_vectors(corpus)
    if static is not None:
        return static.astype(np.float32)
    from sklearn.feature_extraction.text import HashingVectorizer

    hashed = HashingVectorizer(analyzer=lambda terms: terms, n_features=256, alternate_sign=False)
    return normalize(hashed.transform(corpus.terms).toarray()).astype(np.float32)


def _tiny_statement(clustered: int, distinct: int, aside: int) -> str:
    """What to say instead of themes when there is too little to theme."""
    if clustered == 0:
        return (f"No themes: none of the {aside:,} contributions says what it is about (see the answers set "
                "aside).")
    return (f"Too few different contributions to find themes ({distinct:,} distinct, at least {MIN_TEXTS} are "
            "needed): read them directly.")


def find_themes(
    docs: list[ThemeDoc],
    *,
    k: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> ThemeResult:
    """Set aside non-substantive answers, cluster the rest into themes (``k``, or chosen), label and quote."""

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    static_available = load_word_vectors(WORD_VECTORS) is not None
    method = (
        "minilm-static-words+" if static_available else ""
    ) + f"tfidf-lsa{LSA_DIMENSIONS} | knn-spectral consensus k-means"
    report(0.0, "Reading texts")
    set_aside: dict[str, list[str]] = {}
    kept: list[ThemeDoc] = []
    for doc in docs:
        verdict = classify(doc.own if doc.own is not None else doc.text)
        if verdict.bucket is None:
            kept.append(doc)
        else:
            set_aside.setdefault(verdict.bucket, []).append(doc.id)
    aside_count = len(docs) - len(kept)
    if not kept:
        statement = _tiny_statement(0, 0, aside_count) if docs else "Nothing to theme."
        return ThemeResult([], {}, {}, [], 1.0, 0, method, {}, set_aside, statement)
    corpus = _read([d.text for d in kept])
    keys = _near_duplicate_groups(corpus, [d.text for d in kept])
    _, representative, _ = first_occurrences(keys)
    sizes = np.bincount(keys)
    groups = np.split(np.argsort(keys, kind="stable"), np.cumsum(sizes)[:-1])
    duplicates = sorted(([kept[i].id for i in g.tolist()] for g in groups if len(g) > 1),
                        key=lambda g: (-len(g), g[0]))
    # Cluster one representative per group of near-identical texts (its first member): copies must land in
    # one theme, and fifty copies of one sentence must not outvote fifty different ones.
    group_of = keys
    distinct = sizes.size
    if distinct < MIN_TEXTS and distinct > 1:
        return ThemeResult([], {}, {}, duplicates, 1.0, 0, method, {}, set_aside,
                           _tiny_statement(len(kept), distinct, aside_count), clustered=0)

    report(0.15, "Building text features")
    features = _features(corpus, seed)
    rng = np.random.default_rng(seed)
    unique = representative.size
    fit = np.sort(rng.choice(unique, size=FIT_SAMPLE, replace=False)) if unique > FIT_SAMPLE else np.arange(unique)
    dense_fit = features.dense[representative[fit]]

    k_scores: dict[int, float] = {}
    if distinct == 1:
        k = 1
    elif k is None:
        report(0.35, "Choosing the number of themes")
        # One OpenMP thread for these small k-means: its spinning threads made runs ten times slower on a
        # busy two-core machine (a web server beside the batch job) and gained nothing on an idle one.
        with threadpool_limits(limits=1, user_api="openmp"):
            k_scores = _choose_k(_spectral(dense_fit, 0), _candidates(distinct))
        k = max(k_scores, key=lambda c: (k_scores[c], -c)) if k_scores else 1
    k = max(1, min(k, len(fit)))

    report(0.5, f"Clustering into {k} themes")
    with threadpool_limits(limits=1, user_api="openmp"):
        fit_labels = _cluster(dense_fit, k, seed)
    centres = _centres(dense_fit, fit_labels, k)
    similarity = features.dense @ centres.T
    rep_labels = similarity[representative].argmax(axis=1)
    rep_labels[fit] = fit_labels
    labels = rep_labels[group_of]
    # Renumber themes by size, largest first, dropping any left empty by the assignment.
    order = [t for t, _ in Counter(labels.tolist()).most_common()]
    renumber = {old: new for new, old in enumerate(order)}
    labels = np.array([renumber[t] for t in labels.tolist()])
    similarity = similarity[:, order]
    k = len(order)

    report(0.7, "Measuring stability")
    with threadpool_limits(limits=1, user_api="openmp"):
        fit_renumbered = np.array([renumber.get(t, 0) for t in fit_labels.tolist()])
        stability, pairs = _stability(dense_fit, fit_renumbered, k, seed)

    report(0.85, "Labelling themes and picking quotes")
    weights = np.array([d.weight for d in kept], dtype=np.float64)
    own_texts = [d.own if d.own is not None else d.text for d in kept]
    own = OwnWords.read(own_texts)
    terms = _theme_terms(features, labels, k, corpus.surface)
    # Labels are drawn from what members say for themselves: a short reaction repeated many times ("I agree, but
    # not at the expense of other services") must not name a theme, as it is never quoted.
    phrases = PhraseIndex([text if own.substantive[i] else "" for i, text in enumerate(own_texts)])
    themes = []
    taken: set[str] = set()
    for t in range(k):
        members = np.flatnonzero(labels == t)
        terms[t] = [w for w in terms[t] if w.lower() not in phrases.names]  # never a person's name
        # No phrase can lead a label: the theme's top words as nouns, else an honest "Mixed comments".
        fallback = label_of_words(terms[t][:TOP_TERMS], phrases.names) or "Mixed comments"
        if fallback.lower() in taken:
            fallback = f"{fallback} ({t + 1})"
        label, top = label_from(phrases, members.tolist(), fallback, taken)
        taken.add(label.lower())
        key = stems_of_phrases([label, *top] if top else terms[t])
        quotes = choose_quotes(members, similarity[:, t], weights, own, key, features.tfidf)
        typical = choose_typical(members, similarity[:, t], own, label_phrases(label, top))
        subs = _sub_themes(features.dense, members, phrases, kept, seed, [label] if top else [], own=own)
        themes.append(Theme(t, label, terms[t], len(members), [kept[i].id for i in members],
                            [kept[i].id for i in quotes], top, subs,
                            None if typical is None else kept[typical].id,
                            [kept[i].id for i in examples(members, similarity[:, t], own, key)]))
    primary = {doc.id: int(t) for doc, t in zip(kept, labels.tolist(), strict=True)}
    memberships: dict[str, list[int]] = {}
    for i, doc in enumerate(kept):
        own = similarity[i, labels[i]]
        close = [
            t
            for t in np.argsort(-similarity[i]).tolist()
            if t != labels[i] and similarity[i, t] >= max(MULTI_MEMBERSHIP_MIN, MULTI_MEMBERSHIP_RATIO * own)
        ]
        memberships[doc.id] = [int(labels[i])] + [int(t) for t in close[: MAX_MEMBERSHIPS - 1]]
    statement = f"{k} themes in {len(kept):,} contributions; {aside_count:,} set aside as saying nothing specific."
    k_by_seed = {s: k for s in K_SEEDS} if k_scores else {}
    report(1.0, f"Found {k} themes")
    return ThemeResult(themes, primary, memberships, duplicates, stability, k, method, k_scores, set_aside,
                       statement, pairs, k_by_seed, len(kept))
