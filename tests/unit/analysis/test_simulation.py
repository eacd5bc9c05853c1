"""The seeded simulation of ANALYSIS.md: support must track true quality and ignore posting time."""

from __future__ import annotations

import pytest

from analysis.simulate import DOWN_MODELS, IDEAS, SPECIFIED, simulate, simulation_figures


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    """Means over seeds 0-4, as the bar in ANALYSIS.md is stated."""
    return simulation_figures(range(5))


def test_simulation_support_tracks_true_quality(figures):
    assert figures["support (impressions)"]["spearman_quality"] >= 0.85


def test_simulation_support_ignores_posting_time(figures):
    assert abs(figures["support (impressions)"]["spearman_time"]) <= 0.10
    assert figures["raw up-votes"]["spearman_time"] <= -0.6, "the simulation must carry a real time bias"


def test_simulation_support_beats_raw_up_votes_by_a_wide_margin(figures):
    gain = figures["support (impressions)"]["spearman_quality"] - figures["raw up-votes"]["spearman_quality"]
    assert gain >= 0.3


def test_simulation_support_intervals_cover_true_quality_at_about_80_percent(figures):
    assert 0.70 <= figures["support (impressions)"]["coverage_80"] <= 0.90


def test_simulation_exposure_fallback_also_removes_the_time_bias(figures):
    fallback = figures["support (exposure fallback)"]
    assert fallback["spearman_quality"] >= 0.85
    assert abs(fallback["spearman_time"]) <= 0.10


def test_simulation_is_reproducible_from_its_seed():
    first, second = simulate(3), simulate(3)
    assert first.quality == second.quality
    assert len(first.quality) == IDEAS
    assert [(v.item, v.voter, v.value) for v in first.dataset.votes] == [
        (v.item, v.voter, v.value) for v in second.dataset.votes
    ]
    assert simulate(4).quality != first.quality


@pytest.fixture(scope="module")
def down_models() -> dict[str, dict[str, dict[str, float]]]:
    """Seeds 0-4 under each down-vote model: the one specified and two where down-votes say something."""
    return {model: simulation_figures(range(5), down=model) for model in DOWN_MODELS}


def test_simulation_down_votes_that_say_nothing_leave_support_as_it_was(down_models):
    figures = down_models[SPECIFIED]
    assert figures["support (impressions)"] == figures["support, up-votes only (previous)"]
    # And nothing else in the data could do better: the posterior mean under the true model is level.
    ceiling = figures["ceiling, every signal: true model"]["spearman_quality"]
    assert figures["support (impressions)"]["spearman_quality"] >= ceiling - 0.01


@pytest.mark.parametrize("model", ["informative", "controversial"])
def test_simulation_support_uses_down_votes_where_they_say_something(down_models, model):
    figures = down_models[model]
    new, old = figures["support (impressions)"], figures["support, up-votes only (previous)"]
    assert new["spearman_quality"] >= old["spearman_quality"] + 0.01
    assert new["spearman_quality"] >= figures["ceiling, every signal: true model"]["spearman_quality"] - 0.01
    assert abs(new["spearman_time"]) <= 0.10
    assert 0.70 <= new["coverage_80"] <= 0.90
