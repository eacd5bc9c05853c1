"""Opinion groups against Pol.is's own grouping, on each Pol.is export, beside the previous method.

Pol.is writes each participant's group (``group-id`` in participants-votes.csv) for the people it grouped.
The adjusted Rand index compares our groups with it on the people both grouped, for seeds 0-2 (mean and half
the range). Three variants run in one pass: Pol.is's math with meta statements left out (the default), the
same with meta statements kept in the matrix, and the previous method (``_previous_labels``, kept here only
for this comparison). "ARI at Pol.is's k" forces Pol.is's number of groups, which separates choosing k from
drawing the groups.

Issue 9's bar applies "where two principal components explain the votes". The rule, fixed before any ARI
of the new method was read: Horn's parallel analysis on the rating matrix (mean-imputed, meta and
moderated-out statements zeroed, as grouped): a component is real when its share of the vote variance is above
the 95th percentile of that share over ``PERMUTATIONS`` copies with each statement's votes shuffled among its
voters; two components explain the votes when at most two are real. The top-2 share itself is printed too.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

from analysis import opinion_math as om
from analysis.meta import meta_statements
from analysis.opinion import _votes, opinion_groups, opinion_labels
from analysis.polis import read_polis
from analysis.records import Dataset, index_interactions

SEEDS = (0, 1, 2)
PERMUTATIONS = 50
COMPONENTS_CHECKED = 8


def polis_groups(folder: Path) -> dict[str, str]:
    """Pol.is's own group per participant (only the participants it grouped)."""
    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as handle:
        return {r["participant"]: r["group-id"] for r in csv.DictReader(handle) if r.get("group-id", "") != ""}


def _without_meta_marks(dataset: Dataset) -> Dataset:
    """The dataset with every statement treated as an opinion (no marks, no detection)."""
    contributions = [replace(c, meta=False) for c in dataset.contributions]
    return replace(dataset, contributions=contributions, meta={**dataset.meta, "meta_marked": True})


def _ari(ours: dict[str, int], theirs: dict[str, str]) -> tuple[float, int]:
    common = sorted(set(ours) & set(theirs))
    return adjusted_rand_score([theirs[p] for p in common], [ours[p] for p in common]), len(common)


def _previous_labels(dataset: Dataset, seed: int) -> dict[str, int]:
    """The previous method: PCA of the grouped voters only, meta columns dropped, sklearn k-means by silhouette."""
    seen = index_interactions(dataset)
    meta, _ = meta_statements(dataset)
    keep_items = np.array([c.id not in meta for c in dataset.contributions])
    use = keep_items[seen.vote_item]
    person, item, value = seen.vote_person[use], seen.vote_item[use], seen.vote_value[use].astype(float)
    per_person = np.bincount(seen.vote_person, minlength=len(seen.people))
    kept = np.flatnonzero(per_person >= min(om.MIN_VOTES, len(dataset.contributions)))
    row_of = np.full(len(seen.people), -1)
    row_of[kept] = np.arange(kept.size)
    rows = row_of[person] >= 0
    matrix = sparse.csr_matrix((value[rows], (row_of[person[rows]], item[rows])),
                               shape=(kept.size, len(dataset.contributions)))[:, np.flatnonzero(keep_items)]
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    means = np.divide(np.asarray(matrix.sum(axis=0)).ravel(), counts, out=np.zeros(matrix.shape[1]),
                      where=counts > 0)
    coo = matrix.tocoo()
    centred = sparse.csr_matrix((coo.data - means[coo.col], (coo.row, coo.col)), shape=matrix.shape)
    points = TruncatedSVD(n_components=2, random_state=seed, algorithm="arpack").fit_transform(centred)
    points *= np.sqrt(matrix.shape[1] / np.maximum(np.diff(matrix.indptr), 1))[:, None]
    best: tuple[float, np.ndarray] | None = None
    with threadpool_limits(limits=1):
        for k in range(2, 6):
            labels = KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(points)
            score = float(silhouette_score(points, labels))
            if best is None or score > best[0]:
                best = (score, labels)
    assert best is not None
    return {seen.people[p]: int(g) for p, g in zip(kept, best[1], strict=True)}


def _shares(table: om.VoteTable, value: np.ndarray, components: int) -> np.ndarray:
    """Share of the vote variance along each of the first principal components (mean-imputed matrix)."""
    centred = value - np.bincount(table.statement, weights=value, minlength=table.statements)[table.statement] / \
        np.bincount(table.statement, minlength=table.statements)[table.statement]
    matrix = sparse.csr_matrix((centred, (table.person, table.statement)), shape=(table.people, table.statements))
    start = np.random.default_rng(0).random(min(matrix.shape)) + 0.5
    singular = np.sort(svds(matrix, k=components, v0=start, return_singular_vectors=False))[::-1]
    return singular**2 / float(np.sum(centred**2))


def parallel_analysis(table: om.VoteTable, *, permutations: int = PERMUTATIONS,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Variance shares of the first components, their 95th percentile under shuffling, and how many are real."""
    components = min(COMPONENTS_CHECKED, min(table.people, table.statements) - 1)
    observed = _shares(table, table.value, components)
    rng = np.random.default_rng(seed)
    order = np.argsort(table.statement, kind="stable")
    starts = np.searchsorted(table.statement[order], np.arange(table.statements + 1))
    nulls = []
    for _ in range(permutations):
        shuffled = table.value.copy()
        for s in range(table.statements):  # each statement's votes shuffled among the people who voted on it
            block = order[starts[s]:starts[s + 1]]
            shuffled[block] = table.value[rng.permutation(block)]
        nulls.append(_shares(table, shuffled, components))
    threshold = np.percentile(nulls, 95, axis=0)
    below = np.flatnonzero(observed <= threshold)
    return observed, threshold, int(below[0]) if below.size else components


def polis_opinion_rows(data_dir: Path, conversations: Sequence[str] | None = None) -> list[dict[str, object]]:
    """Rows of data, method, metric and value: ARI with Pol.is's groups for each variant, and the structure."""
    rows: list[dict[str, object]] = []
    folders = sorted(p for p in (data_dir / "polis").glob("*") if (p / "participants-votes.csv").is_file()
                     and (conversations is None or p.name in conversations))
    for folder in folders:
        dataset = read_polis(folder)
        theirs = polis_groups(folder)
        their_k = len(set(theirs.values()))
        meta, found = meta_statements(dataset)
        data = f"polis {folder.name} ({len(theirs)} grouped by Pol.is into {their_k})"

        def add(method: str, metric: str, value: float, *, data: str = data) -> None:
            rows.append({"data": data, "method": method, "metric": metric, "value": round(float(value), 4)})

        table = _votes(dataset, index_interactions(dataset)).table
        observed, threshold, real = parallel_analysis(table)
        structure = "vote structure (parallel analysis, 95%)"
        add(structure, "pc1+pc2_variance", observed[:2].sum())
        add(structure, "pc3_variance", observed[2] if observed.size > 2 else 0.0)
        add(structure, "pc3_null_95th", threshold[2] if threshold.size > 2 else 0.0)
        add(structure, "real_components", real)
        add(structure, "two_pcs_explain", float(real <= 2))
        variants = ((f"Pol.is math, meta left out ({len(meta)} {found})", dataset, opinion_labels),
                    ("Pol.is math, meta kept", _without_meta_marks(dataset), opinion_labels),
                    ("previous method, meta left out", dataset, None))
        for method, variant, labeller in variants:
            aris, seconds, common = [], [], 0
            for seed in SEEDS:
                started = time.process_time()
                labels = (labeller(variant, seed=seed) if labeller is not None
                          else _previous_labels(variant, seed))
                seconds.append(time.process_time() - started)
                ari, common = _ari(labels, theirs)
                aris.append(ari)
            add(method, "ari_vs_polis", float(np.mean(aris)))
            add(method, "ari_half_range", (max(aris) - min(aris)) / 2)
            add(method, "people_compared", common)
            add(method, "cpu_seconds", float(np.mean(seconds)))
            if labeller is not None:
                result = opinion_groups(variant, seed=SEEDS[0])
                add(method, "k", result.get("k", 0))
                add(method, "silhouette", result.get("silhouette", 0.0))
                forced = [_ari(labeller(variant, seed=seed, k=their_k), theirs)[0] for seed in SEEDS]
                add(method, "ari_at_polis_k", float(np.mean(forced)))
    return rows
