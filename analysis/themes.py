"""Themes: cluster contributions, label, quote and group them, and say how stable the result is.

Method (unsupervised; chosen on the pxtext evaluation in ``eval_text`` with one configuration for every file):

1. Features. Each text becomes (a) a weighted sum of static word vectors distilled from all-MiniLM-L6-v2
   (``reference/word_vectors.npz``; words missing from it fall back to other words with the same stem), and
   (b) a 20-dimensional LSA of stemmed unigram+bigram TF-IDF, which carries the consultation's own vocabulary
   (service names, abbreviations). Both are unit-normalised and concatenated with weights 0.7 / 0.3.
2. Clustering. A cosine 20-nearest-neighbour graph is embedded spectrally (as UMAP initialises), k-means runs
   on the 4..10 leading eigenvectors (fewer for k < 9), and the runs are combined by co-association and
   average linkage: the consensus is steadier than any single run. Above ``FIT_SAMPLE`` texts the clustering
   is fitted on a seeded sample and every text is assigned to the nearest theme centre, so time and memory
   grow linearly.
3. Number of themes: the silhouette of k-means in the spectral embedding over ``K_RANGE``, unless given.
4. Labels: class-based TF-IDF (BERTopic's c-TF-IDF) over stemmed unigrams and bigrams, shown in each stem's
   most common spelling. Quotes: members nearest the centre, re-ranked by support weight, no near-duplicates.
   Memberships: a text also belongs to any other theme whose centre is nearly as close as its own.
5. Stability: mean adjusted Rand index between the themes and re-runs with other seeds on 80% subsamples.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from analysis.aside import classify, is_tone_word
from analysis.labels import PhraseIndex, label_from
from analysis.text import KEPT_WORDS, content_tokens, stem, tokenize

WORD_VECTORS = Path(__file__).parent / "reference" / "word_vectors.npz"
FIT_SAMPLE = 4000  # texts the clustering is fitted on; the rest are assigned to the nearest centre
STABILITY_SAMPLE = 1500  # texts per stability re-run (keeps the check cheap at any scale)
STABILITY_RUNS = 3  # seeds compared for run-to-run agreement
K_RANGE = range(6, 13)  # "about 6-12 themes" for a consultation of LARGE_INPUT distinct texts or more
K_SEEDS = (0, 1, 2)  # fixed: the number of themes must not depend on the run's seed
LARGE_INPUT = 200
MIN_DISTINCT_PER_THEME = 5
MIN_TEXTS = 10  # fewer distinct substantive texts than this: a plain statement, not themes
SUB_THEMES = range(2, 5)
MIN_SUB_THEME_SIZE = 5
# How much sentiment and politeness words count in a text's vector (0 = not at all). They stay out of the
# TF-IDF terms and labels whatever this says. Chosen by cross-validation across the pxtext files (eval_text).
TONE_WEIGHT = 0.6
NEIGHBOURS = 20
SPECTRAL_DIMENSIONS = range(4, 11)
LSA_DIMENSIONS = 20
LSA_WEIGHT = 0.3
IDF_POWER = 0.25  # damped idf: frequent words still shape a text's vector, rare ones do not swamp it
MULTI_MEMBERSHIP_RATIO = 0.85  # a second theme counts when its centre is this close relative to the first
MULTI_MEMBERSHIP_MIN = 0.3
MAX_MEMBERSHIPS = 3
QUOTES = 3
QUOTE_POOL = 12  # members nearest the centre that compete, by support, to be quoted
QUOTE_MAX_SIMILARITY = 0.8
QUOTE_MIN_TOPICAL_WORDS = 3
LABEL_TERMS = 3
KEPT_WORD_LABEL_SHARE = 0.5
TOP_TERMS = 10

_KEPT_STEMS = frozenset(stem(w) for w in KEPT_WORDS)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class _WordVectors:
    index: dict[str, int]
    vectors: np.ndarray  # float32, one row per word


@lru_cache(maxsize=1)
def _load_word_vectors(path: Path) -> _WordVectors | None:
    """The distilled static word vectors, or None when the file is absent (TF-IDF features only)."""
    if not path.exists():
        return None
    with np.load(path) as data:
        words = str(data["words"]).split("\n")
        vectors = data["vectors"].astype(np.float32) * data["scales"][:, None]
    return _WordVectors({w: i for i, w in enumerate(words)}, vectors)


@lru_cache(maxsize=1)
def _stem_index(path: Path) -> dict[str, list[int]]:
    """Rows of the word vectors grouped by stem, for words the vocabulary lacks (plurals, -ing forms)."""
    table = _load_word_vectors(path)
    groups: dict[str, list[int]] = {}
    if table is not None:
        for word, row in table.index.items():
            groups.setdefault(stem(word), []).append(row)
    return groups


@dataclass
class _Corpus:
    words: list[list[str]]  # content words per text, unstemmed
    terms: list[list[str]]  # stemmed unigrams and bigrams per text
    surface: dict[str, Counter[str]]  # stem term -> spellings seen
    tone: list[list[str]] = field(default_factory=list)  # sentiment and politeness words per text


def _read(texts: Sequence[str]) -> _Corpus:
    words: list[list[str]] = []
    terms: list[list[str]] = []
    tone: list[list[str]] = []
    surface: dict[str, Counter[str]] = {}
    for text in texts:
        every = content_tokens(text)
        # What a text is about, not how it sounds: "great", "rude", "thanks" would pull texts together by
        # tone, so they count only TONE_WEIGHT as much as topical words (see _features).
        content = [w for w in every if not is_tone_word(w)]
        tone.append([w for w in every if is_tone_word(w)])
        stems = [stem(w) for w in every]
        bigrams = [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]
        for s, w in zip(stems, every, strict=True):
            surface.setdefault(s, Counter())[w] += 1
        for s, a, b in zip(bigrams, every, every[1:], strict=False):
            surface.setdefault(s, Counter())[f"{a} {b}"] += 1
        words.append(content)
        terms.append(stems + bigrams)
    return _Corpus(words, terms, surface, tone)


def _tone_columns(vocabulary: np.ndarray) -> np.ndarray:
    """Which terms (unigram or bigram stems) contain a sentiment or politeness word."""
    stems = _tone_stem_set()
    return np.array([any(part in stems for part in str(term).split()) for term in vocabulary], dtype=bool)


@lru_cache(maxsize=1)
def _tone_stem_set() -> frozenset[str]:
    from analysis.aside import GENERIC_WORDS, TOPICAL_FEELINGS, sentiment_lexicon

    words = sentiment_lexicon() | GENERIC_WORDS | KEPT_WORDS
    return frozenset(stem(w) for w in words) - frozenset(stem(w) for w in TOPICAL_FEELINGS)


def _static_vectors(corpus: _Corpus) -> np.ndarray | None:
    """Damped-idf weighted sum of distilled word vectors per text, unit length (zero if no word is known)."""
    table = _load_word_vectors(WORD_VECTORS)
    if table is None:
        return None
    stems = _stem_index(WORD_VECTORS)
    n = len(corpus.words)
    document_frequency = Counter(
        stem(w) for i, words in enumerate(corpus.words)
        for w in set(words) | set(corpus.tone[i] if i < len(corpus.tone) else ())
    )
    rows: dict[str, int] = {}
    vectors: list[np.ndarray] = []
    entries: tuple[list[int], list[int], list[float]] = ([], [], [])
    for i, words in enumerate(corpus.words):
        weighted: Counter[str] = Counter(words)
        if TONE_WEIGHT > 0 and i < len(corpus.tone):
            for w in corpus.tone[i]:
                weighted[w] += TONE_WEIGHT
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
            idf = np.log((n + 1) / (document_frequency[stem(word)] + 1))
            entries[0].append(i)
            entries[1].append(rows[word])
            entries[2].append(count * max(idf, 0.0) ** IDF_POWER)
    if not vectors:
        return np.zeros((n, table.vectors.shape[1]), dtype=np.float32)
    weights = sp.csr_matrix((entries[2], (entries[0], entries[1])), shape=(n, len(vectors)), dtype=np.float32)
    return normalize(weights @ np.vstack(vectors))


@dataclass
class _Features:
    counts: sp.csr_matrix  # texts x terms, raw counts (for labels)
    vocabulary: np.ndarray  # term strings
    dense: np.ndarray  # texts x dimensions, the clustering space (float32)
    tfidf: sp.csr_matrix  # for near-duplicate checks between quotes


def _features(corpus: _Corpus, seed: int) -> _Features:
    n = len(corpus.terms)
    vectorizer = CountVectorizer(analyzer=lambda terms: terms, min_df=2 if n >= 50 else 1)
    try:
        counts = vectorizer.fit_transform(corpus.terms).tocsr()
        vocabulary = vectorizer.get_feature_names_out()
    except ValueError:  # no term occurs often enough: every text is empty or unique
        counts = sp.csr_matrix((n, 0))
        vocabulary = np.array([], dtype=object)
    if counts.shape[1]:
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsc()
        tone = np.flatnonzero(_tone_columns(vocabulary))
        scale = np.ones(counts.shape[1], dtype=np.float64)
        scale[tone] = TONE_WEIGHT
        tfidf = normalize((tfidf @ sp.diags(scale)).tocsr())
    else:
        tfidf = counts
    parts: list[np.ndarray] = []
    static = _static_vectors(corpus)
    if static is not None:
        parts.append((1 - LSA_WEIGHT) * static)
    dimensions = min(LSA_DIMENSIONS, counts.shape[1] - 1, n - 1)
    if dimensions >= 1:
        lsa = TruncatedSVD(dimensions, random_state=0).fit_transform(tfidf)
        parts.append((LSA_WEIGHT if static is not None else 1.0) * normalize(lsa))
    dense = np.hstack(parts).astype(np.float32) if parts else np.zeros((n, 1), dtype=np.float32)
    return _Features(counts, vocabulary, dense, tfidf)


# -------------------------------------------------------------------------------------------- clustering


def _spectral(dense: np.ndarray, seed: int) -> np.ndarray:
    """Laplacian eigenmap of the symmetric cosine k-nearest-neighbour graph (leading non-trivial vectors)."""
    n = dense.shape[0]
    # Small consultations get fewer neighbours, or the graph would join everything to everything.
    neighbours = min(NEIGHBOURS, max(4, int(np.sqrt(n))), n - 1)
    graph = (
        NearestNeighbors(n_neighbors=neighbours, metric="cosine")
        .fit(dense)
        .kneighbors_graph(mode="connectivity")
    )
    graph = graph.maximum(graph.T).tocsr()
    inverse_root_degree = 1.0 / np.sqrt(np.asarray(graph.sum(axis=1)).ravel())
    scale = sp.diags(inverse_root_degree)
    dimensions = min(max(SPECTRAL_DIMENSIONS), n - 2)
    start = np.random.default_rng(seed).uniform(0.5, 1.5, n)
    # The largest eigenvalues of the normalised adjacency are the smallest of the normalised Laplacian; asking
    # for them directly avoids the shift-invert factorisation that makes a general eigensolver slow here.
    _, vectors = eigsh(scale @ graph @ scale, k=dimensions + 1, which="LA", v0=start, tol=1e-6)
    vectors = vectors * inverse_root_degree[:, None]
    # Drop the trivial direction (constant on each connected component). Degree-weighted centring, which
    # leaves the other eigenvectors as they are, then dropping the flattest column does that whether or not
    # the graph is connected: with several components the solver returns an arbitrary mix of their
    # indicators, and discarding its first vector would throw away the split.
    degree = inverse_root_degree**-2
    vectors -= degree @ vectors / degree.sum()
    flattest = int(np.argmin(np.linalg.norm(vectors, axis=0)))
    vectors = np.delete(vectors[:, ::-1], vectors.shape[1] - 1 - flattest, axis=1)
    # Eigenvectors have arbitrary sign; fix it so runs are reproducible.
    return vectors * np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])])


def _consensus(embedding: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Co-association consensus of k-means runs on leading spectral dimensions, cut by average linkage."""
    n = embedding.shape[0]
    # From min(4, k - 1) to min(10, k + 1) dimensions: with few themes the later eigenvectors are only noise.
    low, high = min(min(SPECTRAL_DIMENSIONS), k - 1), min(max(SPECTRAL_DIMENSIONS), k + 1, embedding.shape[1])
    runs = list(range(max(1, low), high + 1)) or [embedding.shape[1]]
    indicators = []
    for j, dims in enumerate(runs):
        labels = KMeans(k, n_init=4, random_state=seed + j).fit_predict(normalize(embedding[:, :dims]))
        indicators.append(sp.csr_matrix((np.ones(n, dtype=np.float32), (np.arange(n), labels)), shape=(n, k)))
    stacked = sp.hstack(indicators).tocsr()
    distance = 1.0 - (stacked @ stacked.T).toarray() / len(runs)
    return AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(distance)


def _cluster(dense: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels for rows of ``dense`` (consensus on the spectral embedding)."""
    if k <= 1 or dense.shape[0] <= k:
        return np.zeros(dense.shape[0], dtype=int) if k <= 1 else np.arange(dense.shape[0]) % max(k, 1)
    return _consensus(_spectral(dense, seed), k, seed)


def _choose_k(embedding: np.ndarray, candidates: range) -> dict[int, float]:
    """Silhouette (cosine) of k-means in the spectral embedding for each candidate k.

    Seeds are fixed here, not taken from the run's seed, so the same texts give the same number of themes
    whatever ``--seed`` says; each score is the mean over ``K_SEEDS`` k-means runs, which keeps a near tie
    between two k from flipping on one unlucky start.
    """
    points = normalize(embedding)
    scores: dict[int, float] = {}
    for k in candidates:
        if k >= points.shape[0]:
            break
        values = []
        for s in K_SEEDS:
            labels = KMeans(k, n_init=4, random_state=s).fit_predict(points)
            if len(set(labels.tolist())) > 1:
                values.append(float(silhouette_score(points, labels, metric="cosine", random_state=0)))
        if values:
            scores[k] = round(float(np.mean(values)), 4)
    return scores


def _candidates(distinct: int) -> range:
    """Numbers of themes worth trying: about 6-12 for a real consultation, fewer for a small one."""
    high = min(max(K_RANGE), distinct // MIN_DISTINCT_PER_THEME)
    low = min(min(K_RANGE), high) if distinct >= LARGE_INPUT else 2
    return range(max(2, low), max(2, high) + 1)


def _centres(dense: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    centres = np.zeros((k, dense.shape[1]), dtype=np.float32)
    np.add.at(centres, labels, dense)
    return normalize(centres)


def _stability(dense: np.ndarray, labels: np.ndarray, k: int, seed: int) -> tuple[float, list[float]]:
    """Mean pairwise ARI between runs with seeds ``seed``, ``seed + 1``, ``seed + 2`` at the same k.

    Above ``STABILITY_SAMPLE`` texts the three runs share one seeded sample (the check stays cheap).
    """
    n = dense.shape[0]
    if k <= 1 or n < 4 * k:
        return 1.0, []
    if n > STABILITY_SAMPLE:
        picked = np.sort(np.random.default_rng(seed + 7919).choice(n, size=STABILITY_SAMPLE, replace=False))
        runs = [_cluster(dense[picked], k, seed + r) for r in range(STABILITY_RUNS)]
    else:
        runs = [labels] + [_cluster(dense, k, seed + r) for r in range(1, STABILITY_RUNS)]
    pairs = [round(float(adjusted_rand_score(a, b)), 4) for a, b in itertools.combinations(runs, 2)]
    return round(float(np.mean(pairs)), 4), pairs

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


def _quotes(
    members: np.ndarray, similarity: np.ndarray, weights: np.ndarray, features: _Features, keys: list[str]
) -> list[int]:
    """Members near the centre, re-ranked by support, skipping near-duplicates of quotes already chosen."""
    pool = members[np.argsort(-similarity[members], kind="stable")[:QUOTE_POOL]]
    ranked = sorted(pool.tolist(), key=lambda i: (-weights[i], -similarity[i]))
    chosen: list[int] = []
    for i in ranked:
        if any(keys[i] == keys[j] for j in chosen):
            continue
        if chosen and features.tfidf.shape[1]:
            overlap = (features.tfidf[chosen] @ features.tfidf[i].T).toarray().max()
            if overlap > QUOTE_MAX_SIMILARITY:
                continue
        chosen.append(i)
        if len(chosen) == QUOTES:
            break
    return chosen


def _near_duplicate_key(words: list[str], text: str) -> str:
    """Texts with the same set of content stems (or, lacking any, the same tokens) are near-duplicates."""
    stems = sorted({stem(w) for w in words})
    return " ".join(stems) if stems else "\x00" + " ".join(tokenize(text))


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


def _sub_themes(dense: np.ndarray, members: np.ndarray, phrases: PhraseIndex, docs: list[ThemeDoc],
                seed: int, parent: Sequence[str] = ()) -> list[dict[str, object]]:
    """Two to four sub-themes of one theme (k-means, k by silhouette), each labelled by its own phrases."""
    if members.size < 2 * MIN_SUB_THEME_SIZE:
        return []
    points = normalize(dense[members])
    if np.unique(points.round(4), axis=0).shape[0] < 2 * MIN_SUB_THEME_SIZE:
        return []  # copies of a few texts: nothing to divide
    best: tuple[float, np.ndarray] | None = None
    for k in SUB_THEMES:
        if members.size < k * MIN_SUB_THEME_SIZE:
            break
        labels = KMeans(k, n_init=4, random_state=seed).fit_predict(points)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(points, labels, metric="cosine", random_state=0))
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    if best is None:
        return []
    labels = best[1]
    order = [t for t, _ in Counter(labels.tolist()).most_common()]
    taken: set[str] = set()
    result = []
    for number, t in enumerate(order):
        inside = members[labels == t]
        label, top = label_from(phrases, inside.tolist(), f"Other points ({number + 1})", taken,
                                exclude=list(parent[:1]))
        taken.add(label.lower())
        result.append({"id": number, "label": label, "phrases": top[:4], "size": int(inside.size),
                       "contributions": [docs[i].id for i in inside]})
    return result


def _substantive(i: int, docs: list[ThemeDoc], corpus: _Corpus) -> bool:
    """A text worth quoting on its own: at least three topical words of its own ("Good point." is not)."""
    own = docs[i].own
    topical = [w for w in content_tokens(own) if not is_tone_word(w)] if own is not None else corpus.words[i]
    return len(topical) >= QUOTE_MIN_TOPICAL_WORDS


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

    static_available = _load_word_vectors(WORD_VECTORS) is not None
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
    keys = [_near_duplicate_key(w, d.text) for w, d in zip(corpus.words, kept, strict=True)]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    duplicates = sorted(([kept[i].id for i in g] for g in groups.values() if len(g) > 1),
                        key=lambda g: (-len(g), g[0]))
    # Cluster one representative per group of near-identical texts: copies must land in one theme, and
    # fifty copies of one sentence must not outvote fifty different ones.
    representative = np.array([g[0] for g in groups.values()])
    group_of = np.empty(len(kept), dtype=int)
    for g, members in enumerate(groups.values()):
        group_of[members] = g
    distinct = len(groups)
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
    quotable = np.array([_substantive(i, kept, corpus) for i in range(len(kept))])
    # Brief reactions are never quoted alone; a text with fewer than four words of its own is quoted last.
    weights = np.where(quotable, weights, weights - 2.0)
    terms = _theme_terms(features, labels, k, corpus.surface)
    phrases = PhraseIndex([d.own if d.own is not None else d.text for d in kept])
    themes = []
    taken: set[str] = set()
    for t in range(k):
        members = np.flatnonzero(labels == t)
        quotes = [i for i in _quotes(members, similarity[:, t], weights, features, keys) if quotable[i]]
        fallback = " · ".join(terms[t][:LABEL_TERMS]).capitalize() or f"Theme {t + 1}"
        label, top = label_from(phrases, members.tolist(), fallback, taken)
        taken.add(label.lower())
        subs = _sub_themes(features.dense, members, phrases, kept, seed, top)
        themes.append(Theme(t, label, terms[t], len(members), [kept[i].id for i in members],
                            [kept[i].id for i in quotes], top, subs))
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
