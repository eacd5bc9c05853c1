"""Opinion groups from the vote matrix, the way Pol.is finds them.

People who voted on at least ``MIN_VOTES`` items (passes and withdrawn votes count, as in Pol.is) form the
rows of a sparse person x item matrix of +1 / -1 / 0. Missing votes are imputed with the item's mean and
every column is centred, which leaves them at exactly zero, so the matrix stays sparse and a truncated SVD
of it is the PCA of the imputed matrix. As Pol.is does, each person's projection is scaled up by
``sqrt(items / items they voted on)`` so sparse voters are not all pulled to the centre. k-means on the two
components, with k in 2..5 chosen by silhouette, gives the groups.

For each group: its size and the items that distinguish it (repness: the group agrees, or disagrees, much
more than everyone else, with a two-proportion z above ``Z_90``), and, across groups, consensus items that
every group agrees (or disagrees) with: ``prod_g (A_g+1)/(S_g+2)``.

Meta statements (about the speaker, "I am over 55"; see ``analysis.meta``) are left out of the matrix, so they
shape no group, and out of the distinguishing and consensus items; ``meta_statements`` reports them apart, with
how each group answered them (shares withheld for groups with fewer than ``MIN_CELL`` votes on one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from analysis.groups import MIN_CELL, two_proportion_z
from analysis.meta import meta_statements
from analysis.records import Dataset, Interactions, distinct, index_interactions

MIN_VOTES = 7
K_RANGE = range(2, 6)
Z_90 = 1.2816
TOP = 5
# Above this many people k-means switches to mini-batches and silhouette to a sample, to stay fast.
LARGE = 20_000
SILHOUETTE_SAMPLE = 2_000


def _round(value: float) -> float:
    return round(float(value), 4)


def _vote_matrix(seen: Interactions, n_items: int, min_votes: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Sparse person x item matrix (+1/-1/0) of people with enough votes, and those people's indices."""
    votes_per_person = np.bincount(seen.vote_person, minlength=len(seen.people))
    kept = np.flatnonzero(votes_per_person >= min(min_votes, n_items))
    row_of = np.full(len(seen.people), -1)
    row_of[kept] = np.arange(kept.size)
    use = row_of[seen.vote_person] >= 0
    rows, cols = row_of[seen.vote_person[use]], seen.vote_item[use]
    values = seen.vote_value[use].astype(np.float64)
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(kept.size, n_items))
    return matrix, kept


def _projection(matrix: sparse.csr_matrix, seed: int) -> tuple[np.ndarray, list[float]] | None:
    """Two principal components of the mean-imputed matrix, scaled for people with few votes (None: no variation)."""
    voted = matrix.copy()
    voted.data = np.ones_like(voted.data)
    counts = np.asarray(voted.sum(axis=0)).ravel()
    means = np.divide(np.asarray(matrix.sum(axis=0)).ravel(), counts, out=np.zeros(matrix.shape[1]),
                      where=counts > 0)
    coo = matrix.tocoo()
    centred = sparse.csr_matrix((coo.data - means[coo.col], (coo.row, coo.col)), shape=matrix.shape)
    centred.eliminate_zeros()
    if centred.nnz == 0:
        return None
    components = min(2, matrix.shape[1] - 1)
    svd = TruncatedSVD(n_components=components, random_state=seed, algorithm="arpack")
    points = svd.fit_transform(centred)
    per_person = np.asarray(voted.sum(axis=1)).ravel()
    points *= np.sqrt(matrix.shape[1] / np.maximum(per_person, 1))[:, None]
    return points, [_round(v) for v in svd.explained_variance_ratio_]


def _cluster(points: np.ndarray, seed: int) -> tuple[np.ndarray, int, dict[int, float]]:
    """k-means labels with k chosen by silhouette over K_RANGE (capped by the number of people)."""
    large = points.shape[0] > LARGE
    scores: dict[int, float] = {}
    labels_by_k: dict[int, np.ndarray] = {}
    for k in K_RANGE:
        if k >= points.shape[0]:
            break
        model = (MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096) if large
                 else KMeans(n_clusters=k, random_state=seed, n_init=10))
        # On two-dimensional points, k-means with OpenMP and OpenBLAS threads competing was measured 100x
        # slower on 2 cores (2.8 s against 0.015 s for 437 people); one thread is plenty here.
        with threadpool_limits(limits=1):
            labels = model.fit_predict(points)
        if len(set(labels.tolist())) < 2:
            continue
        sample = min(SILHOUETTE_SAMPLE, points.shape[0])
        scores[k] = _round(silhouette_score(points, labels, sample_size=sample, random_state=seed))
        labels_by_k[k] = labels
    best = max(scores, key=lambda k: (scores[k], -k))
    # Number groups by size, largest first, so "group 0" means the same thing across reruns.
    labels = labels_by_k[best]
    order = np.argsort(-np.bincount(labels, minlength=best), kind="stable")
    relabel = np.empty(best, dtype=np.int64)
    relabel[order] = np.arange(best)
    return relabel[labels], best, scores


def _counts_by_group(matrix: sparse.csr_matrix, labels: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Agree, disagree and voted counts per (group, item)."""
    membership = sparse.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                                   shape=(k, labels.size))
    agree = matrix.copy()
    agree.data = (agree.data > 0).astype(np.float64)
    disagree = matrix.copy()
    disagree.data = (disagree.data < 0).astype(np.float64)
    voted = matrix.copy()
    voted.data = np.ones_like(voted.data)
    return tuple(np.asarray((membership @ m).todense()) for m in (agree, disagree, voted))


def _representative(agree: np.ndarray, disagree: np.ndarray, voted: np.ndarray, ids: list[str], g: int,
                    top: int) -> list[dict[str, Any]]:
    """Items group g agrees or disagrees with much more than everyone else (Pol.is repness)."""
    rows = []
    for direction, counts in (("agree", agree), ("disagree", disagree)):
        inside, inside_n = counts[g], voted[g]
        outside, outside_n = counts.sum(axis=0) - inside, voted.sum(axis=0) - inside_n
        p_in = (inside + 1) / (inside_n + 2)
        p_out = (outside + 1) / (outside_n + 2)
        ratio = p_in / p_out
        z = two_proportion_z(inside, inside_n, outside, outside_n)
        for item in np.flatnonzero((p_in > 0.5) & (ratio > 1) & (z > Z_90)):
            rows.append({"item": ids[item], "direction": direction, "in_group": _round(p_in[item]),
                         "others": _round(p_out[item]), "ratio": _round(ratio[item]), "z": _round(z[item]),
                         "_rank": float(ratio[item] * p_in[item])})
    rows.sort(key=lambda r: -r["_rank"])
    for row in rows:
        del row["_rank"]
    return rows[:top]


def _consensus(counts: np.ndarray, voted: np.ndarray, ids: list[str], top: int) -> list[dict[str, Any]]:
    score = np.prod((counts + 1) / (voted + 2), axis=0)
    best = np.argsort(-score, kind="stable")[:top]
    return [{"item": ids[i], "consensus": _round(score[i])} for i in best]


def opinion_groups(
    dataset: Dataset,
    *,
    seen: Interactions | None = None,
    min_votes: int = MIN_VOTES,
    seed: int = 0,
    top: int = TOP,
) -> dict[str, Any]:
    """Pol.is-style opinion groups: sizes, the items that distinguish each, and consensus across groups."""
    seen = seen if seen is not None else index_interactions(dataset)
    all_ids = [c.id for c in dataset.contributions]
    full, kept = _vote_matrix(seen, len(all_ids), min_votes)
    meta, found = meta_statements(dataset)
    opinions = np.array([i for i, item in enumerate(all_ids) if item not in meta], dtype=np.int64)
    matrix, ids = full[:, opinions], [all_ids[i] for i in opinions]
    result: dict[str, Any] = {
        "min_votes": min_votes,
        "participants": int(kept.size),
        "excluded": int(distinct(seen.vote_person).size - kept.size),
        "groups": [],
        "consensus": {"agree": [], "disagree": []},
        "meta_statements": {"found": found, "count": len(meta), "items": []},
    }
    if kept.size < 2 * K_RANGE[0] or len(ids) < 3:
        result["note"] = f"too few people with at least {min_votes} votes, or too few items, to find groups"
        return result
    projected = _projection(matrix, seed)
    if projected is None:
        result["note"] = "everyone voted the same way on every item, so there are no opinion groups to find"
        return result
    points, explained = projected
    labels, k, silhouettes = _cluster(points, seed)
    agree, disagree, voted = _counts_by_group(matrix, labels, k)
    sizes = np.bincount(labels, minlength=k)
    result.update({
        "k": k,
        "silhouette": silhouettes[k],
        "silhouettes": {str(key): value for key, value in silhouettes.items()},
        "explained_variance": explained,
        "groups": [
            {"id": g, "size": int(sizes[g]),
             "representative": _representative(agree, disagree, voted, ids, g, top)}
            for g in range(k)
        ],
        "consensus": {"agree": _consensus(agree, voted, ids, top),
                      "disagree": _consensus(disagree, voted, ids, top)},
    })
    result["meta_statements"]["items"] = _meta_answers(full, labels, k, all_ids, meta)
    return result


def _meta_answers(full: sparse.csr_matrix, labels: np.ndarray, k: int, ids: list[str],
                  meta: frozenset[str]) -> list[dict[str, Any]]:
    """How everyone, and each opinion group, answered each meta statement (agree share among voters)."""
    columns = [i for i, item in enumerate(ids) if item in meta]
    if not columns:
        return []
    agree, disagree, voted = _counts_by_group(full[:, columns], labels, k)
    rows = []
    for j, column in enumerate(columns):
        total = voted[:, j].sum()
        rows.append({
            "item": ids[column], "voted": int(total), "agree": int(agree[:, j].sum()),
            "disagree": int(disagree[:, j].sum()),
            "agree_share": _round(agree[:, j].sum() / total) if total else None,
            "by_group": [{"group": g, "agree_share": _round(agree[g, j] / voted[g, j])
                          if voted[g, j] >= MIN_CELL else None} for g in range(k)],
        })
    return rows


def opinion_labels(dataset: Dataset, *, min_votes: int = MIN_VOTES, seed: int = 0) -> dict[str, int]:
    """Opinion group per person (pseudonym -> group id) for people with enough votes; empty if none found."""
    seen = index_interactions(dataset)
    matrix, kept = _vote_matrix(seen, len(dataset.contributions), min_votes)
    meta, _ = meta_statements(dataset)
    matrix = matrix[:, [i for i, c in enumerate(dataset.contributions) if c.id not in meta]]
    if kept.size < 2 * K_RANGE[0]:
        return {}
    labels, _, _ = _cluster(_projection(matrix, seed)[0], seed)
    return {seen.people[p]: int(g) for p, g in zip(kept, labels, strict=True)}
