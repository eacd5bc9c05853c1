"""Time-adjusted support: the properties ANALYSIS.md section 1 asks for, and the counting rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from analysis.records import Dataset, Impression, Vote
from analysis.support import (
    MIN_ITEMS_FOR_FIT,
    WEAK_PRIOR_STRENGTH,
    fit_beta_prior,
    support_report,
)

from . import at, idea, views_for, votes_for


def consultation(counts: list[tuple[int, int]], *, spacing_hours: float = 5.0) -> Dataset:
    """One idea per (up-votes, people shown) pair, posted ``spacing_hours`` apart, with impressions logged."""
    contributions, votes, impressions = [], [], []
    for i, (up, shown) in enumerate(counts):
        item = f"c{i}"
        contributions.append(idea(item, i * spacing_hours))
        votes += votes_for(item, up, hours=i * spacing_hours + 1)
        impressions += views_for(item, shown, hours=i * spacing_hours + 1)
    return Dataset(contributions, votes, impressions)


def varied() -> Dataset:
    """Thirty ideas with varied support, enough to fit the prior from the data."""
    rng = np.random.default_rng(4)
    shown = rng.integers(5, 80, size=30)
    up = rng.binomial(shown, rng.beta(2, 6, size=30))
    return consultation(list(zip(up.tolist(), shown.tolist(), strict=True)))


def test_support_increases_with_up_votes_at_fixed_impressions():
    data = consultation([(u, 40) for u in range(0, 40, 2)] + [(5, 20)] * 5)
    support = [support_report(data).scores[f"c{i}"].support for i in range(20)]
    assert all(a < b for a, b in zip(support, support[1:], strict=False))


def test_support_decreases_with_impressions_at_fixed_up_votes():
    data = consultation([(10, n) for n in range(10, 70, 3)] + [(3, 30)] * 5)
    support = [support_report(data).scores[f"c{i}"].support for i in range(20)]
    assert all(a > b for a, b in zip(support, support[1:], strict=False))


@pytest.mark.parametrize("impressions", [True, False], ids=["impressions", "exposure"])
def test_support_is_unchanged_when_every_timestamp_shifts(impressions):
    data = varied() if impressions else replace(varied(), impressions=[])
    shift = timedelta(days=400, hours=7, minutes=13)
    moved = Dataset(
        [replace(c, visible_from=c.visible_from + shift) for c in data.contributions],
        [replace(v, at=v.at + shift) for v in data.votes],
        [replace(i, first_seen=i.first_seen + shift) for i in data.impressions],
    )
    before, after = support_report(data).scores, support_report(moved).scores
    for item, score in before.items():
        assert after[item].support == pytest.approx(score.support, rel=1e-9)
        assert after[item].low == pytest.approx(score.low, rel=1e-9)


def test_support_gives_equal_scores_to_equal_counts_whatever_the_posting_time():
    data = varied()
    early, late = idea("early", 0.5), idea("late", 600)
    data = Dataset(
        [*data.contributions, early, late],
        [*data.votes, *votes_for("early", 7, 2, hours=1), *votes_for("late", 7, 2, hours=601)],
        [*data.impressions, *views_for("early", 25, hours=1), *views_for("late", 25, hours=601)],
    )
    scores = support_report(data).scores
    assert scores["early"].support == scores["late"].support
    assert (scores["early"].low, scores["early"].high) == (scores["late"].low, scores["late"].high)


def test_support_of_an_unseen_item_is_the_prior_mean():
    data = varied()
    data = Dataset([*data.contributions, idea("unseen", 10)], data.votes, data.impressions)
    report = support_report(data)
    assert report.prior.fitted
    assert report.scores["unseen"].impressions == 0
    assert report.scores["unseen"].support == pytest.approx(report.prior.mean)


def test_support_is_deterministic():
    first, second = support_report(varied()).scores, support_report(varied()).scores
    assert first == second


def test_support_keeps_each_persons_last_vote_and_drops_withdrawn_ones():
    data = consultation([(0, 1)] * 3)
    data = replace(data, votes=[
        Vote("c0", "ann", 1, at(1)), Vote("c0", "ann", -1, at(2)),  # changed her mind: down
        Vote("c0", "bob", -1, at(5)), Vote("c0", "bob", 1, at(3)),  # file order is not time order: down
        Vote("c1", "cat", 1, at(1)), Vote("c1", "cat", 0, at(2)),  # withdrawn: no vote, but she saw it
        Vote("c2", "dan", 1, at(1)), Vote("c2", "dan", 1, at(1)),  # repeated: one vote
    ])
    scores = support_report(data).scores
    assert (scores["c0"].up, scores["c0"].down) == (0, 2)
    assert (scores["c1"].up, scores["c1"].down, scores["c1"].impressions) == (0, 0, 2)
    assert (scores["c2"].up, scores["c2"].voters) == (1, 1)


def test_support_counts_each_viewer_once_including_voters_and_previews():
    data = Dataset(
        [idea("a", 10)],
        [Vote("a", "voter-without-impression", 1, at(11))],
        [
            Impression("a", "moderator", at(9)),  # seen before it was visible: still counted, once
            Impression("a", "reader", at(12)),
            Impression("a", "reader", at(13)),
            Impression("elsewhere", "reader", at(13)),  # an unknown item is ignored
        ],
    )
    score = support_report(data).scores["a"]
    assert score.impressions == 3
    assert score.method == "impressions"


def test_support_falls_back_to_exposure_without_impressions():
    data = replace(varied(), impressions=[])
    report = support_report(data)
    scores = [report.scores[f"c{i}"] for i in range(30)]
    assert report.method == "exposure" and report.prior.family == "gamma"
    assert all(s.impressions is None and s.exposure is not None for s in scores)
    exposure = [s.exposure for s in scores]
    assert all(a >= b for a, b in zip(exposure, exposure[1:], strict=False)), "earlier items: more exposure"
    # Exposure is put on the scale of people shown: its total equals the (item, person) votes.
    assert sum(exposure) == pytest.approx(len({(v.item, v.voter) for v in data.votes}))
    assert all(s.low <= s.support <= s.high for s in scores)


def test_support_exposure_fallback_credits_a_late_item_for_its_shorter_exposure():
    # Two items with the same up-votes: the one posted late was seen by fewer people, so it ranks higher.
    contributions = [idea(f"c{i}", i) for i in range(25)] + [idea("early", 0), idea("late", 200)]
    votes = [v for i in range(25) for v in votes_for(f"c{i}", 3, 1, hours=i + 1)]
    votes += votes_for("early", 6, hours=2) + votes_for("late", 6, hours=201)
    # Steady activity all along, so hours after "late" still have people about.
    votes += [Vote(f"c{h % 25}", f"walker{h}", 0, at(h)) for h in range(0, 240, 2)]
    scores = support_report(Dataset(contributions, votes, [])).scores
    assert scores["late"].exposure < scores["early"].exposure
    assert scores["late"].support > scores["early"].support


def test_support_uses_a_weak_prior_when_there_are_few_items():
    report = support_report(consultation([(3, 10), (1, 10), (8, 12)]))
    assert not report.prior.fitted and report.prior.items == 3 < MIN_ITEMS_FOR_FIT
    assert report.prior.a + report.prior.b == pytest.approx(WEAK_PRIOR_STRENGTH)
    assert report.prior.mean == pytest.approx((12 + 0.5) / (32 + 1))


def test_support_prior_fit_recovers_the_true_spread_of_appeal():
    rng = np.random.default_rng(0)
    shown = rng.integers(10, 200, size=4000)
    up = rng.binomial(shown, rng.beta(2, 8, size=4000))
    prior = fit_beta_prior(up, shown)
    assert prior.fitted
    assert prior.mean == pytest.approx(0.2, abs=0.01)
    assert prior.a + prior.b == pytest.approx(10, rel=0.15)


def test_support_reports_raw_counts_and_approval_among_voters():
    data = varied()
    data = Dataset([*data.contributions, idea("x", 3)], [*data.votes, *votes_for("x", 9, 1)],
                   [*data.impressions, *views_for("x", 40)])
    score = support_report(data).scores["x"]
    # 40 logged impressions, plus the down-voter, whose view was not logged but is implied by the vote.
    assert (score.up, score.down, score.voters, score.impressions) == (9, 1, 10, 41)
    assert score.approval_low <= score.approval <= score.approval_high
    assert score.approval > score.support, "most voters approved, but most people shown did not vote"
    assert score.to_dict()["method"] == "impressions"


def with_down_votes(triples: list[tuple[int, int, int]], *, spacing_hours: float = 5.0) -> Dataset:
    """One idea per (up-votes, down-votes, people shown), with impressions logged."""
    contributions, votes, impressions = [], [], []
    for i, (up, down, shown) in enumerate(triples):
        item = f"c{i}"
        contributions.append(idea(item, i * spacing_hours))
        votes += votes_for(item, up, down, hours=i * spacing_hours + 1)
        # Views by the up-voters and by those who passed; the down-voters' views are implied by their votes.
        impressions += views_for(item, shown - down, hours=i * spacing_hours + 1)
    return Dataset(contributions, votes, impressions)


def drawn(down_share, items: int = 200, seed: int = 0) -> list[tuple[int, int, int]]:
    """Items with appeal q ~ Beta(2, 8); of those shown who do not up-vote, ``down_share(q)`` down-vote."""
    rng = np.random.default_rng(seed)
    q = rng.beta(2, 8, size=items)
    shown = rng.integers(10, 150, size=items)
    up = rng.binomial(shown, q)
    down = rng.binomial(shown - up, down_share(q))
    return list(zip(up.tolist(), down.tolist(), shown.tolist(), strict=True))


def test_support_ignores_down_votes_that_say_nothing_about_appeal():
    # As in ANALYSIS.md's simulation: whoever does not up-vote down-votes with probability 0.3, whatever q.
    triples = drawn(lambda q: np.full(q.shape, 0.3))
    report = support_report(with_down_votes(triples))
    assert report.side.covariance == 0.0
    plain = support_report(consultation([(u, n) for u, _, n in triples])).scores
    for i in range(len(triples)):
        assert report.scores[f"c{i}"].support == plain[f"c{i}"].support


def test_support_reads_down_votes_where_they_track_appeal():
    # The less appealing an idea, the more of those who do not support it oppose it.
    triples = drawn(lambda q: 0.9 * (1 - q) ** 2) + [(10, 2, 60), (10, 40, 60)]
    report = support_report(with_down_votes(triples))
    assert report.side.covariance < 0 and report.to_dict()["down_share_evidence"]["covariance"] < 0
    few, many = report.scores[f"c{len(triples) - 2}"], report.scores[f"c{len(triples) - 1}"]
    assert (few.up, few.impressions) == (many.up, many.impressions)
    assert many.support < few.support, "40 of the 50 who did not support it opposed it"
    for score in report.scores.values():
        assert 0 <= score.low <= score.support <= score.high <= 1


@pytest.mark.parametrize("share", [lambda q: 0.9 * (1 - q) ** 2, lambda q: 0.1 + 0.8 * q],
                         ids=["opposition-marks-weak-ideas", "opposition-marks-popular-ideas"])
def test_support_from_every_signal_still_rises_with_up_votes(share):
    base = drawn(share)
    probes = [(u, 20, 80) for u in range(0, 61, 3)] + [(u, 0, 30) for u in range(0, 31, 2)]
    scores = support_report(with_down_votes(base + probes)).scores
    support = [scores[f"c{len(base) + j}"].support for j in range(len(probes))]
    first = [u for u, _, _ in probes].index(0, 1)
    for run in (support[:first], support[first:]):
        assert all(a < b for a, b in zip(run, run[1:], strict=False)), "more up-votes, same people shown"


def test_support_exposure_fallback_reads_disagreement_among_voters():
    # Pol.is-style data: no impressions; disagree and pass are both recorded votes.
    triples = drawn(lambda q: 0.9 * (1 - q) ** 2, items=300)
    votes = []
    for i, (up, down, shown) in enumerate(triples):
        votes += votes_for(f"c{i}", up, down, hours=i * 5 + 1)
        votes += [Vote(f"c{i}", f"pass-c{i}-{j}", 0, at(i * 5 + 1)) for j in range(shown - up - down)]
    data = Dataset([idea(f"c{i}", i * 5) for i in range(len(triples))], votes, [])
    report = support_report(data)
    assert report.method == "exposure" and report.side.covariance < 0
    assert all(0 <= s.low <= s.support <= s.high <= 1 for s in report.scores.values())
