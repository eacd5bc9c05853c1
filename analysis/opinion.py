"""Opinion groups from the vote matrix, found with Pol.is's own math (``analysis.opinion_math``).

The rating matrix has one row per voter and one column per statement anyone voted on (+1 agree, -1 disagree,
0 pass or withdrawn). Its two principal components (missing votes imputed with the column mean) place every
voter; each position is scaled by ``sqrt(statements / statements answered)`` so sparse voters are not all
pulled to the centre. Voters with at least ``MIN_VOTES`` votes are grouped: k-means into up to 100 base
clusters, then the base clusters into k = 2..5 groups by silhouette, as Pol.is does; k is the one that wins
the silhouette most often over resamples of the voters (Pol.is changes k only when a new k keeps winning).

Meta statements (about the speaker, "I am over 55"; see ``analysis.meta``) and statements moderators took out
after people voted on them (``Dataset.meta["moderated_out"]``, from a Pol.is export) are treated as Pol.is
treats them: their column is set to 0 for everyone, so they shape no component but count as answered.

For each group: its size and the items that distinguish it (repness: the group agrees, or disagrees, much
more than everyone else, with a two-proportion z above ``Z_90``), and, across groups, consensus items that
every group agrees (or disagrees) with: ``prod_g (A_g+1)/(S_g+2)``. Meta statements are left out of both;
``meta_statements`` reports them apart, with how each group answered them (shares withheld for groups with
fewer than ``MIN_CELL`` votes on one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from analysis import opinion_math as om
from analysis.groups import MIN_CELL, two_proportion_z
from analysis.meta import meta_statements
from analysis.records import Dataset, Interactions, distinct, index_interactions

MIN_VOTES = om.MIN_VOTES
Z_90 = 1.2816
TOP = 5


def _round(value: float) -> float:
    return round(float(value), 4)


@dataclass(frozen=True)
class _Votes:
    """The vote matrix of a dataset: all current votes, the opinion columns, and Pol.is's table of them."""

    full: sparse.csr_matrix  # people x contributions, every current vote (explicit 0 = pass)
    opinions: np.ndarray  # contribution index of each opinion statement with votes (the table's columns)
    meta: frozenset[str]
    found: str
    table: om.VoteTable


def _votes(dataset: Dataset, seen: Interactions) -> _Votes:
    """Current votes as a sparse matrix and as Pol.is's rating matrix (meta and moderated-out columns zeroed)."""
    people, n_items = len(seen.people), len(dataset.contributions)
    full = sparse.csr_matrix((seen.vote_value.astype(np.float64), (seen.vote_person, seen.vote_item)),
                             shape=(people, n_items))
    meta, found = meta_statements(dataset)
    is_meta = np.array([c.id in meta for c in dataset.contributions], dtype=bool)
    voted_on = np.bincount(seen.vote_item, minlength=n_items) > 0
    opinions = np.flatnonzero(voted_on & ~is_meta)
    column = np.full(n_items, -1)
    column[opinions] = np.arange(opinions.size)
    use = column[seen.vote_item] >= 0
    moderated = dataset.meta.get("moderated_out") or {}
    by_voter = moderated.get("votes", {})
    votes_per_person = np.bincount(seen.vote_person, minlength=people)
    if by_voter:
        votes_per_person += np.array([int(by_voter.get(p, 0)) for p in seen.people], dtype=np.int64)
    table = om.VoteTable(
        person=seen.vote_person[use], statement=column[seen.vote_item[use]],
        value=seen.vote_value[use].astype(np.float64), people=people, statements=int(opinions.size),
        zeroed=int((voted_on & is_meta).sum()) + int(moderated.get("statements", 0)),
        votes_per_person=votes_per_person,
    )
    return _Votes(full, opinions, meta, found, table)


@dataclass(frozen=True)
class _Groups:
    """People grouped (indices into ``seen.people``), their group, and how the grouping was chosen."""

    people: np.ndarray
    labels: np.ndarray
    k: int
    silhouettes: dict[int, float]
    explained: list[float]
    base_clusters: int
    k_wins: dict[int, int]


def _group(table: om.VoteTable, min_votes: int, seed: int, k: int | None = None) -> _Groups | str:
    """Pol.is's grouping of the table, or a plain reason why there are no groups."""
    people = om.in_conversation(table, min_votes=min_votes)
    if people.size < 4 or table.statements < 3:
        return f"too few people with at least {min_votes} votes, or too few items, to find groups"
    pca = om.principal_components(table, seed=seed)
    if pca is None:
        return "everyone voted the same way on every item, so there are no opinion groups to find"
    # With OpenMP and OpenBLAS threads competing on 2 cores, small k-means runs were measured 100x slower.
    with threadpool_limits(limits=1):
        points = om.project(table, pca)[people]
        base, centres, sizes = om.base_clusters(points)
        found = om.group_clusterings(centres, sizes, seed=seed)
        wins = om.steady_k(points, seed=seed) if found and k not in found else {}
    if not found:
        return "the voters' positions are too alike to split into groups"
    silhouettes = {key: _round(score) for key, (_, score) in found.items()}
    if k not in found:
        k = om.modal_k({key: n for key, n in wins.items() if key in found}, om.best_k(silhouettes))
    labels = found[k][0][base]
    # Number groups by size, largest first, so "group 0" means the same thing across reruns.
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    return _Groups(people, relabel[labels], k, silhouettes, [_round(v) for v in pca.explained],
                   int(centres.shape[0]), wins)


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
    """Pol.is's opinion groups: sizes, the items that distinguish each, and consensus across groups."""
    seen = seen if seen is not None else index_interactions(dataset)
    votes = _votes(dataset, seen)
    found = _group(votes.table, min_votes, seed)
    voters = int(distinct(seen.vote_person).size)
    result: dict[str, Any] = {
        "min_votes": min_votes,
        "participants": 0 if isinstance(found, str) else int(found.people.size),
        "excluded": voters if isinstance(found, str) else voters - int(found.people.size),
        "groups": [],
        "consensus": {"agree": [], "disagree": []},
        "meta_statements": {"found": votes.found, "count": len(votes.meta), "items": []},
    }
    if isinstance(found, str):
        result["note"] = found
        return result
    ids = [dataset.contributions[i].id for i in votes.opinions]
    grouped = votes.full[found.people]
    agree, disagree, voted = _counts_by_group(grouped[:, votes.opinions], found.labels, found.k)
    sizes = np.bincount(found.labels, minlength=found.k)
    result.update({
        "k": found.k,
        "silhouette": found.silhouettes[found.k],
        "silhouettes": {str(key): value for key, value in found.silhouettes.items()},
        "k_wins": {str(key): value for key, value in sorted(found.k_wins.items())},
        "resamples": om.RESAMPLES,
        "explained_variance": found.explained,
        "base_clusters": found.base_clusters,
        "groups": [
            {"id": g, "size": int(sizes[g]),
             "representative": _representative(agree, disagree, voted, ids, g, top)}
            for g in range(found.k)
        ],
        "consensus": {"agree": _consensus(agree, voted, ids, top),
                      "disagree": _consensus(disagree, voted, ids, top)},
    })
    all_ids = [c.id for c in dataset.contributions]
    result["meta_statements"]["items"] = _meta_answers(grouped, found.labels, found.k, all_ids, votes.meta)
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


def opinion_labels(dataset: Dataset, *, min_votes: int = MIN_VOTES, seed: int = 0,
                   k: int | None = None) -> dict[str, int]:
    """Opinion group per person (pseudonym -> group id) for the people grouped; empty if no groups.

    ``k`` forces the number of groups (for evaluation) when the grouping step found one for it.
    """
    seen = index_interactions(dataset)
    found = _group(_votes(dataset, seen).table, min_votes, seed, k)
    if isinstance(found, str):
        return {}
    return {seen.people[p]: int(g) for p, g in zip(found.people, found.labels, strict=True)}
