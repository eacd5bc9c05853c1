"""Clustering for themes: a k-nearest-neighbour graph embedded spectrally, consensus k-means on it, the
seed-independent choice of the number of themes, run-to-run stability, and sub-themes within a theme."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from analysis.labels import PhraseIndex, label_from, label_phrases
from analysis.quotes import OwnWords, choose_typical

STABILITY_SAMPLE = 1500  # texts per stability re-run (keeps the check cheap at any scale)
STABILITY_RUNS = 3  # seeds compared for run-to-run agreement
K_RANGE = range(6, 13)  # "about 6-12 themes" for a consultation of LARGE_INPUT distinct texts or more
K_SEEDS = (0, 1, 2)  # fixed: the number of themes must not depend on the run's seed
LARGE_INPUT = 200
MIN_DISTINCT_PER_THEME = 5
MIN_THEME_SIZE = 3  # no theme of fewer texts (of those clustered) when the cut can avoid it
MIN_THEME_SHARE = 0.01  # nor of a smaller share of them
EXTRA_CUTS = 4  # finer cuts tried to find k themes of at least that size
SUB_THEMES = range(2, 5)
OTHER_POINTS = "Other points"  # the part of a theme whose texts share no phrase of their own
MIN_SUB_THEME_SIZE = 5
SUB_THEME_SAMPLE = 800  # members a sub-theme split is fitted on
DISTINCT_PREFIX = 1000  # rows checked for copies before the whole theme is
SILHOUETTE_SAMPLE = 2000  # points the silhouette for choosing k is measured on
NEIGHBOURS = 20
SPECTRAL_DIMENSIONS = range(4, 11)


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
    return _cut(distance, k)


def _cut(distance: np.ndarray, k: int) -> np.ndarray:
    """Average-linkage cut of the co-association distances into ``k`` themes, none smaller than
    ``MIN_THEME_SHARE`` of the texts (at least ``MIN_THEME_SIZE``).

    Average linkage leaves a handful of outlying texts as a theme of their own (3 of 1,357 on one demo seed,
    5 beside themes of 264). Then the tree is cut into a few more clusters, the ``k`` largest are kept, and
    every text of the others joins the kept cluster it is most often grouped with: still ``k`` themes on
    every seed, none of them a few stray texts.
    """
    n = distance.shape[0]
    smallest = max(MIN_THEME_SIZE, int(np.ceil(MIN_THEME_SHARE * n)))
    labels = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(distance)
    if k < 2 or np.bincount(labels).min() >= smallest or n < k * smallest:
        return labels
    for extra in range(1, EXTRA_CUTS + 1):
        finer = AgglomerativeClustering(k + extra, metric="precomputed", linkage="average").fit_predict(distance)
        sizes = np.bincount(finer)
        if (sizes >= smallest).sum() >= k:
            kept = np.argsort(-sizes, kind="stable")[:k]
            inside = np.isin(finer, kept)
            # Mean co-association of each stray text with each kept cluster's texts.
            closeness = np.stack([(1.0 - distance[~inside][:, finer == c]).mean(axis=1) for c in kept], axis=1)
            finer[~inside] = kept[closeness.argmax(axis=1)]
            return np.searchsorted(np.sort(kept), finer)
    return labels


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
                values.append(float(silhouette_score(points, labels, metric="cosine", random_state=0,
                                                     sample_size=min(points.shape[0], SILHOUETTE_SAMPLE))))
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


def _distinct_rows_below(points: np.ndarray, count: int) -> bool:
    """Whether ``points`` has fewer than ``count`` distinct rows (to 4 decimals).

    The first ``DISTINCT_PREFIX`` rows are checked first: when they already have ``count`` distinct rows, so
    does the whole, and the rounded copy of a large theme (hundreds of MB at 500,000 texts) is never made.
    """
    if np.unique(points[:DISTINCT_PREFIX].round(4), axis=0).shape[0] >= count:
        return False
    return bool(np.unique(points.round(4), axis=0).shape[0] < count)


def _sub_themes(dense: np.ndarray, members: np.ndarray, phrases: PhraseIndex, docs: Sequence[Any],
                seed: int, parent: Sequence[str] = (), own: OwnWords | None = None) -> list[dict[str, object]]:
    """Two to four sub-themes of one theme (k-means, k by silhouette), each labelled by its own phrases and,
    given each text's ``own`` words, with its typical member (nearest its centre, holding its label's words).

    Phrases made only of the words of ``parent`` (the theme's label) do not label a sub-theme. A sub-theme
    smaller than ``MIN_SUB_THEME_SIZE`` is folded into the nearest other one.
    """
    if members.size < 2 * MIN_SUB_THEME_SIZE:
        return []
    points = normalize(dense[members], copy=False)  # dense[members] is already a copy
    if _distinct_rows_below(points, 2 * MIN_SUB_THEME_SIZE):
        return []  # copies of a few texts: nothing to divide
    # Fit on a seeded sample of a large theme and assign the rest to the nearest centre: time stays linear.
    fit = (np.sort(np.random.default_rng(seed).choice(members.size, size=SUB_THEME_SAMPLE, replace=False))
           if members.size > SUB_THEME_SAMPLE else np.arange(members.size))
    best: tuple[float, KMeans] | None = None
    with threadpool_limits(limits=1, user_api="openmp"):
        for k in SUB_THEMES:
            if fit.size < k * MIN_SUB_THEME_SIZE:
                break
            model = KMeans(k, n_init=2, random_state=seed).fit(points[fit])
            if len(set(model.labels_.tolist())) < 2:
                continue
            score = float(silhouette_score(points[fit], model.labels_, metric="cosine", random_state=0))
            if best is None or score > best[0] + 1e-9:
                best = (score, model)
        if best is None:
            return []
        centres = best[1].cluster_centers_
        labels = best[1].predict(points)
    # Nearest centre by squared distance on unit rows: the largest 2 p.c - |c|^2 (no members x centres x
    # dimensions array).
    closeness = 2 * points @ centres.T - (centres**2).sum(axis=1)
    counts = np.bincount(labels, minlength=len(centres))
    kept = np.flatnonzero(counts >= MIN_SUB_THEME_SIZE)
    if kept.size < 2:
        return []
    if kept.size < len(centres):
        labels = kept[closeness[:, kept].argmax(axis=1)]
    # Each part is named by its own phrases; parts with none of their own are one "Other points", not
    # "Other points (1)", "(2)", "(3)" that tell an analyst nothing apart.
    taken: set[str] = set()
    named: list[tuple[np.ndarray, str, list[str]]] = []
    unnamed: list[np.ndarray] = []
    for t, _ in Counter(labels.tolist()).most_common():
        where = np.flatnonzero(labels == t)
        label, top = label_from(phrases, members[where].tolist(), "", taken, exclude=list(parent))
        if label:
            taken.add(label.lower())
            named.append((where, label, top))
        else:
            unnamed.append(where)
    if not named:
        return []
    if unnamed:
        named.append((np.sort(np.concatenate(unnamed)), OTHER_POINTS, []))
    if len(named) < 2:
        return []
    # How close each member is to its own part's centre, for the typical example.
    own_centre = points @ centres.T
    closeness_to_own = own_centre[np.arange(members.size), labels]
    result = []
    for number, (where, label, top) in enumerate(named):
        inside = members[where]
        sub: dict[str, object] = {"id": number, "label": label, "phrases": top[:4], "size": int(inside.size),
                                  "contributions": [docs[i].id for i in inside]}
        if own is not None:
            similarity = np.zeros(len(docs), dtype=np.float64)
            similarity[inside] = closeness_to_own[where]
            typical = choose_typical(inside, similarity, own, label_phrases(label, top))
            sub["typical"] = None if typical is None else docs[typical].id
        result.append(sub)
    return result
