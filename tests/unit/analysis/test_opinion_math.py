"""Pol.is's opinion-group math: each step does what Pol.is's published source does."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import opinion_math as om


def table_from(matrix: np.ndarray, *, zeroed: int = 0, extra_votes: np.ndarray | None = None) -> om.VoteTable:
    """A VoteTable from a dense people x statements matrix with NaN for "not voted"."""
    person, statement = np.nonzero(~np.isnan(matrix))
    votes = np.bincount(person, minlength=matrix.shape[0]) + zeroed
    if extra_votes is not None:
        votes = votes + extra_votes
    return om.VoteTable(person=person, statement=statement, value=matrix[person, statement],
                        people=matrix.shape[0], statements=matrix.shape[1], zeroed=zeroed,
                        votes_per_person=votes)


def random_votes(people: int = 60, statements: int = 12, seed: int = 0, missing: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.choice([-1.0, 0.0, 1.0], size=(people, statements))
    matrix[rng.random(matrix.shape) < missing] = np.nan
    return matrix


def test_components_are_those_of_the_mean_imputed_matrix():
    matrix = random_votes()
    means = np.nanmean(matrix, axis=0)
    imputed = np.where(np.isnan(matrix), means, matrix)
    centred = imputed - imputed.mean(axis=0)
    _, values, axes = np.linalg.svd(centred, full_matrices=False)
    pca = om.principal_components(table_from(matrix))
    assert pca is not None
    np.testing.assert_allclose(pca.centre, means, atol=1e-12)
    np.testing.assert_allclose(pca.explained, values[:2] ** 2 / np.sum(values**2), rtol=1e-6)
    for ours, theirs in zip(pca.axes, axes[:2], strict=True):
        assert abs(ours @ theirs) == pytest.approx(1.0, abs=1e-6)  # the same axis, up to its sign


def test_components_of_unanimous_votes_are_none():
    assert om.principal_components(table_from(np.ones((10, 5)))) is None


def test_projection_uses_only_cast_votes_and_pushes_sparse_voters_out():
    matrix = random_votes(seed=1)
    table = table_from(matrix)
    pca = om.principal_components(table)
    assert pca is not None
    points = om.project(table, pca)
    person = 3
    cast = ~np.isnan(matrix[person])
    raw = (matrix[person, cast] - pca.centre[cast]) @ pca.axes[:, cast].T
    np.testing.assert_allclose(points[person], raw * np.sqrt(matrix.shape[1] / cast.sum()))


def test_projection_counts_zeroed_statements_as_answered_as_pol_is_does():
    # Pol.is sets a moderated-out column to 0 for everyone: a sparse voter is pushed out less.
    matrix = random_votes(seed=2)
    plain, zeroed = table_from(matrix), table_from(matrix, zeroed=10)
    pca = om.principal_components(plain)
    assert pca is not None
    cast = (~np.isnan(matrix)).sum(axis=1)
    scale = np.linalg.norm(om.project(zeroed, pca), axis=1) / np.linalg.norm(om.project(plain, pca), axis=1)
    np.testing.assert_allclose(scale, np.sqrt((22 / (cast + 10)) / (12 / cast)))


def test_zeroed_statements_shape_no_component():
    matrix = random_votes(seed=3)
    with_column = np.column_stack([matrix, np.zeros(matrix.shape[0])])  # a statement zeroed for everyone
    a = om.principal_components(table_from(matrix))
    b = om.principal_components(table_from(with_column))
    assert a is not None and b is not None
    np.testing.assert_allclose(b.axes[:, -1], 0.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(a.axes @ b.axes[:, :-1].T), np.eye(2), atol=1e-6)


def test_grouped_people_need_seven_votes_or_every_statement():
    matrix = np.full((60, 20), np.nan)
    for p in range(60):
        matrix[p, : p % 10] = 1.0  # person p voted on p % 10 statements
    kept = om.in_conversation(table_from(matrix))
    assert set(kept.tolist()) == {p for p in range(60) if p % 10 >= 7}
    # With four statements, voting on all four is enough.
    small = np.ones((20, 4))
    small[:5, 0] = np.nan
    assert om.in_conversation(table_from(small)).size == 15


def test_tiny_conversations_take_the_keenest_voters_up_to_fifteen():
    matrix = np.full((20, 10), np.nan)
    for p in range(20):
        matrix[p, : 1 + p % 5] = 1.0  # nobody reaches seven votes
    kept = om.in_conversation(table_from(matrix))
    assert kept.size == 15
    counts = (~np.isnan(matrix)).sum(axis=1)
    assert counts[kept].min() >= counts[np.setdiff1d(np.arange(20), kept)].max()


def test_votes_on_moderated_out_statements_count_towards_the_threshold():
    matrix = np.full((3, 10), np.nan)
    matrix[:, :5] = 1.0
    assert om.in_conversation(table_from(matrix, extra_votes=np.array([2, 1, 0]))).tolist() == [0, 1, 2]
    big = np.full((20, 10), np.nan)
    big[:, :5] = 1.0
    kept = om.in_conversation(table_from(big, extra_votes=np.array([2] * 16 + [0] * 4)))
    assert kept.tolist() == list(range(16))


def test_kmeans_starts_from_the_first_distinct_points_and_drops_empty_clusters():
    points = np.array([[0.0, 0.0], [0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 9.0]])
    np.testing.assert_array_equal(om.first_distinct(points, 3), points[[0, 2, 3]])
    labels, centres = om.kmeans(points, np.array([[0.0, 0.0], [50.0, 50.0], [5.0, 5.0]]))
    assert centres.shape == (2, 2)  # nobody was nearest the centre at (50, 50)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_kmeans_weights_move_the_centre():
    points = np.array([[0.0, 0.0], [1.0, 0.0]])
    _, centres = om.kmeans(points, np.array([[0.5, 0.0]]), weights=np.array([3.0, 1.0]))
    np.testing.assert_allclose(centres, [[0.25, 0.0]])


@pytest.mark.parametrize(("base", "ks"), [(3, [2]), (12, [2, 3]), (30, [2, 3, 4]), (100, [2, 3, 4, 5])])
def test_group_counts_tried_grow_with_the_base_clusters_up_to_five(base, ks):
    assert list(om.group_range(base)) == ks


def test_groups_of_two_clear_camps_are_found_with_a_high_silhouette():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(-3, 0.3, (60, 2)), rng.normal(3, 0.3, (40, 2))])
    base, centres, sizes = om.base_clusters(points)
    assert centres.shape[0] <= om.BASE_K and sizes.sum() == 100
    found = om.group_clusterings(centres, sizes)
    silhouettes = {k: score for k, (_, score) in found.items()}
    assert om.best_k(silhouettes) == 2 and silhouettes[2] > 0.8
    labels = found[2][0][base]
    assert len(set(labels[:60].tolist())) == 1 and len(set(labels[60:].tolist())) == 1
    assert labels[0] != labels[-1]


def test_best_k_prefers_fewer_groups_on_a_tie():
    assert om.best_k({2: 0.5, 3: 0.5, 4: 0.4}) == 2
    assert om.best_k({2: 0.4, 3: 0.5}) == 3


def test_two_clear_camps_win_every_resample_so_k_is_two():
    rng = np.random.default_rng(3)
    camps = np.vstack([rng.normal((-2.0, 0.0), 0.3, size=(150, 2)), rng.normal((2.0, 0.0), 0.3, size=(150, 2))])
    wins = om.steady_k(camps, seed=0, resamples=20)
    assert wins == {2: 20}
    assert om.modal_k(wins, fallback=5) == 2


def test_the_k_that_wins_most_resamples_is_chosen_and_fewer_groups_win_a_tie():
    assert om.modal_k({2: 40, 3: 45, 5: 15}, fallback=2) == 3
    assert om.modal_k({2: 30, 4: 30}, fallback=4) == 2
    assert om.modal_k({}, fallback=4) == 4


def test_resampling_is_repeatable_for_a_seed_and_bounded_in_size():
    points = np.random.default_rng(5).normal(size=(3_000, 2))
    assert om.steady_k(points, seed=7, resamples=5) == om.steady_k(points, seed=7, resamples=5)
    assert om.RESAMPLE_MAX < points.shape[0]  # a large conversation is resampled at RESAMPLE_MAX people
