"""Pol.is's opinion-group math, reproduced from its published source (polis repo, math/src/polismath/math).

The steps, as Pol.is runs them on every update of a conversation:

1. The rating matrix: one row per participant, one column per statement anyone voted on; agree +1,
   disagree -1, pass 0, not seen missing. Statements moderated out or marked meta are not dropped: their
   column is set to 0 for everyone, so they shape no component but count as answered (``VoteTable``).
2. PCA of the matrix with each missing vote replaced by its column's mean, 2 components
   (``principal_components``). Every participant is a row here, however few votes they cast.
3. Each participant's projection uses only the votes they cast and is scaled by
   ``sqrt(statements / statements they answered)``, so people who voted little are not all pulled to the
   centre (``project``).
4. Only participants with at least ``min(7, statements)`` votes are grouped (``in_conversation``).
5. k-means into at most 100 "base clusters" of those participants (``base_clusters``), then the base
   clusters' centres, weighted by size, are grouped by k-means for every k in 2..5 (fewer when there are
   few base clusters) and k is chosen by silhouette over the base clusters (``group_clusterings``).

Pol.is's k-means starts from the first k distinct points and stops when no centre moves by 0.01; Pol.is
then carries each clustering over to its next update as the next starting point, and changes k only after
a new k has won four updates in a row. A single run has no previous update, so neither is reproduced as
such: the grouping step keeps the best of Pol.is's own start and ``restarts`` random ones (lowest
within-group sum of squares). In place of "won four updates in a row", k is the one that wins the
silhouette most often when the grouped people are resampled (``steady_k``): a k that wins only on the exact
data at hand, by a margin inside its sampling noise, would not have survived Pol.is's updates either.
Replaying a conversation's history with warm starts and that smoothing was tried on the Pol.is exports and
depended too much on the update schedule to be worth it (README, quality section).

Everything works on coordinate arrays (person, statement, value), never a dense people x statements matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds
from sklearn.metrics import silhouette_score

MIN_VOTES = 7
GREEDY_PARTICIPANTS = 15  # Pol.is fills its grouped set up to 15 with the keenest voters in tiny conversations
BASE_K = 100
MAX_GROUPS = 5
BASE_ITERATIONS = 100
GROUP_ITERATIONS = 20  # Pol.is passes its group iterations under a key its k-means ignores: 20 is the default
CENTRE_TOLERANCE = 0.01
SVD_TOLERANCE = 1e-6  # relative accuracy of the singular values: far finer than any grouping can tell
BLOCK = 20_000  # points per distance block: 20,000 x 100 centres is 16 MB
RESAMPLES = 100  # bootstrap resamples of the grouped people when choosing k (steady_k)
RESAMPLE_MAX = 2_000  # people drawn per resample in a large conversation: bounds the cost at any size


@dataclass(frozen=True)
class VoteTable:
    """The rating matrix as coordinates: each current vote on a statement that is analysed.

    ``zeroed`` counts statements that were answered but left out (moderated out or meta): Pol.is sets their
    column to 0 for everyone, which adds ``zeroed`` to every person's answered count. ``votes_per_person``
    counts every vote each person cast, left-out statements included, as Pol.is's threshold does.
    """

    person: np.ndarray
    statement: np.ndarray
    value: np.ndarray
    people: int
    statements: int
    zeroed: int
    votes_per_person: np.ndarray

    @property
    def columns(self) -> int:
        """Statements in Pol.is's rating matrix: the analysed ones plus the zeroed ones."""
        return self.statements + self.zeroed


@dataclass(frozen=True)
class Components:
    """Column centre, two principal axes (rows) and the share of vote variance each explains."""

    centre: np.ndarray
    axes: np.ndarray
    explained: np.ndarray


def column_means(table: VoteTable) -> np.ndarray:
    """Mean vote per statement over the people who voted on it (0 where nobody did)."""
    sums = np.bincount(table.statement, weights=table.value, minlength=table.statements)
    counts = np.bincount(table.statement, minlength=table.statements)
    return np.divide(sums, counts, out=np.zeros(table.statements), where=counts > 0)


def principal_components(table: VoteTable, *, components: int = 2, seed: int = 0) -> Components | None:
    """The top principal components of the mean-imputed rating matrix (None if no vote varies).

    Imputing a column's mean and then centring leaves the imputed cells at exactly 0, so the centred matrix
    is sparse: the cast votes minus their column means. Pol.is finds its components by power iteration;
    ARPACK's Lanczos iteration (a refined power iteration) converges to the same components in far fewer
    products with the matrix, which matters at 100,000 people.
    """
    centre = column_means(table)
    centred = sparse.csr_matrix((table.value - centre[table.statement], (table.person, table.statement)),
                                shape=(table.people, table.statements))
    total = float(np.sum(centred.data**2))
    if total <= 1e-12:
        return None
    if min(centred.shape) <= components + 1:
        _, values, axes = np.linalg.svd(centred.toarray(), full_matrices=False)
    else:
        start = np.random.default_rng(seed).random(min(centred.shape)) + 0.5
        _, values, axes = svds(centred, k=components, v0=start, tol=SVD_TOLERANCE)
        order = np.argsort(-values)
        values, axes = values[order], axes[order]
    values, axes = values[:components], axes[:components]
    if values.size < components:  # one statement still gets a second (empty) axis
        axes = np.vstack([axes, np.zeros((components - values.size, table.statements))])
        values = np.concatenate([values, np.zeros(components - values.size)])
    return Components(centre, axes, values**2 / total)


def project(table: VoteTable, pca: Components) -> np.ndarray:
    """Each person's position on the axes from the votes they cast, scaled up when they answered few."""
    centred = table.value - pca.centre[table.statement]
    points = np.column_stack([
        np.bincount(table.person, weights=centred * axis[table.statement], minlength=table.people)
        for axis in pca.axes
    ])
    answered = np.bincount(table.person, minlength=table.people) + table.zeroed
    return points * np.sqrt(table.columns / np.maximum(answered, 1))[:, None]


def in_conversation(table: VoteTable, *, min_votes: int = MIN_VOTES) -> np.ndarray:
    """Indices of the people Pol.is groups: at least ``min(min_votes, statements)`` votes, at least 15 people."""
    counts = table.votes_per_person
    kept = np.flatnonzero(counts >= min(min_votes, table.columns))
    if kept.size < GREEDY_PARTICIPANTS:
        # Pol.is takes the keenest voters when too few qualify (ties: earlier people first).
        keenest = np.lexsort((np.arange(counts.size), -counts))
        already = set(kept.tolist())
        extra = [p for p in keenest[: GREEDY_PARTICIPANTS * 2] if counts[p] > 0 and p not in already]
        kept = np.sort(np.concatenate([kept, extra[: GREEDY_PARTICIPANTS - kept.size]])).astype(np.int64)
    return kept


def first_distinct(points: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` distinct points, in order: Pol.is's starting centres."""
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)[:k]]


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of each point's nearest centre (squared distance less the point's own norm), in blocks."""
    labels = np.empty(points.shape[0], dtype=np.int64)
    norms = np.sum(centres**2, axis=1)
    for start in range(0, points.shape[0], BLOCK):
        block = points[start:start + BLOCK]
        labels[start:start + BLOCK] = np.argmin(norms[None, :] - 2 * block @ centres.T, axis=1)
    return labels


def kmeans(points: np.ndarray, centres: np.ndarray, *, weights: np.ndarray | None = None,
           iterations: int = BASE_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Pol.is's k-means from given centres: empty clusters are dropped; stops when no centre moves 0.01."""
    weights = np.ones(points.shape[0]) if weights is None else weights
    for _ in range(iterations + 1):
        labels = _nearest(points, centres)
        used = np.flatnonzero(np.bincount(labels, minlength=centres.shape[0]) > 0)
        labels = np.searchsorted(used, labels)
        mass = np.bincount(labels, weights=weights, minlength=used.size)
        moved = np.column_stack([np.bincount(labels, weights=weights * points[:, d], minlength=used.size)
                                 for d in range(points.shape[1])]) / mass[:, None]
        # Pol.is compares the sorted old and new centres, so a dropped cluster always counts as a change.
        settled = moved.shape == centres.shape and bool(np.all(
            np.linalg.norm(np.sort(moved, axis=0) - np.sort(centres, axis=0), axis=1) < CENTRE_TOLERANCE))
        centres = moved
        if settled:
            break
    return _nearest(points, centres), centres


def base_clusters(points: np.ndarray, *, k: int = BASE_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base cluster of each point, the base centres and their sizes."""
    labels, centres = kmeans(points, first_distinct(points, k), iterations=BASE_ITERATIONS)
    sizes = np.bincount(labels, minlength=centres.shape[0]).astype(np.float64)
    used = np.flatnonzero(sizes > 0)
    return np.searchsorted(used, labels), centres[used], sizes[used]


def group_range(base_count: int) -> range:
    """The k Pol.is tries: 2 up to ``min(5, 2 + base clusters // 12)``, and fewer than the base clusters."""
    return range(2, min(MAX_GROUPS, 2 + base_count // 12, base_count - 1) + 1)


def _within(points: np.ndarray, weights: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    return float(np.sum(weights * np.sum((points - centres[labels]) ** 2, axis=1)))


def group_clusterings(centres: np.ndarray, sizes: np.ndarray, *, seed: int = 0,
                      restarts: int = 10) -> dict[int, tuple[np.ndarray, float]]:
    """For each k Pol.is tries: the grouping of the base clusters and its silhouette.

    Each k starts from Pol.is's first distinct centres and from ``restarts`` random distinct base centres;
    the start with the smallest weighted within-group sum of squares is kept.
    """
    rng = np.random.default_rng(seed)
    distinct = np.unique(centres, axis=0)
    found: dict[int, tuple[np.ndarray, float]] = {}
    for k in group_range(centres.shape[0]):
        if distinct.shape[0] <= k:
            break
        starts = [first_distinct(centres, k)]
        starts += [distinct[rng.choice(distinct.shape[0], size=k, replace=False)] for _ in range(restarts)]
        best: tuple[float, np.ndarray] | None = None
        for start in starts:
            labels, found_centres = kmeans(centres, start, weights=sizes, iterations=GROUP_ITERATIONS)
            within = _within(centres, sizes, labels, found_centres)
            if best is None or within < best[0] - 1e-12:
                best = (within, labels)
        assert best is not None
        labels = best[1]
        if np.unique(labels).size < 2:
            continue
        # Pol.is averages the silhouette over base clusters, unweighted; a lone member scores 0.
        found[k] = (labels, float(silhouette_score(centres, labels)))
    return found


def best_k(silhouettes: dict[int, float]) -> int:
    """The k with the highest silhouette (the smaller k on a tie)."""
    return max(silhouettes, key=lambda k: (silhouettes[k], -k))


def steady_k(points: np.ndarray, *, seed: int = 0, resamples: int | None = None) -> dict[int, int]:
    """How often each k wins the silhouette when the grouped people are drawn again with replacement.

    Stands in for Pol.is's rule that a new k must win four updates in a row: the k chosen is the one that
    wins most often (``modal_k``), so a near-tie that flips with who happened to vote does not decide it.
    Large conversations draw at most ``RESAMPLE_MAX`` people per resample.
    """
    resamples = RESAMPLES if resamples is None else resamples
    rng = np.random.default_rng(seed)
    draw = min(points.shape[0], RESAMPLE_MAX)
    wins: dict[int, int] = {}
    for r in range(resamples):
        sample = points[rng.choice(points.shape[0], size=draw, replace=True)]
        # Pol.is starts from the first distinct points; a resample's order must not repeat the original's.
        sample = sample[rng.permutation(draw)]
        _, centres, sizes = base_clusters(sample)
        found = group_clusterings(centres, sizes, seed=seed + r + 1)
        if found:
            winner = best_k({k: score for k, (_, score) in found.items()})
            wins[winner] = wins.get(winner, 0) + 1
    return wins


def modal_k(wins: dict[int, int], fallback: int) -> int:
    """The k that won most resamples (the smaller k on a tie), or ``fallback`` when none was found."""
    return min(wins, key=lambda k: (-wins[k], k)) if wins else fallback
