"""Opinion groups from the vote matrix, as Pol.is finds them."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from analysis.opinion import opinion_groups, opinion_labels
from analysis.polis import read_polis
from analysis.records import Dataset, Vote

from . import POLIS_DIR, at, idea


def two_camps(seed: int = 0) -> Dataset:
    """Forty people in each camp: camp A agrees with items 0-9 and rejects 10-19, camp B the reverse;
    nearly everyone agrees with item 20. Three people vote on only three items each."""
    rng = np.random.default_rng(seed)
    contributions = [idea(f"s{i}", i) for i in range(21)]
    votes = []
    for camp, people in (("a", range(40)), ("b", range(40))):
        for p in people:
            for i in range(20):
                if rng.random() < 0.3:
                    continue  # not everyone votes on everything
                agrees = (i < 10) == (camp == "a")
                value = 1 if agrees else -1
                if rng.random() < 0.1:
                    value = -value
                votes.append(Vote(f"s{i}", f"{camp}{p}", value, at(30)))
            votes.append(Vote("s20", f"{camp}{p}", 1 if rng.random() < 0.95 else 0, at(31)))
    votes += [Vote(f"s{i}", f"lurker{p}", 1, at(32)) for p in range(3) for i in range(3)]
    return Dataset(contributions, votes, [])


def test_opinion_finds_the_two_camps():
    result = opinion_groups(two_camps())
    assert result["k"] == 2
    assert sorted(g["size"] for g in result["groups"]) == [40, 40]
    labels = opinion_labels(two_camps())
    assert len({labels[f"a{p}"] for p in range(40)}) == 1
    assert labels["a0"] != labels["b0"]


def test_opinion_leaves_out_people_with_fewer_than_seven_votes():
    result = opinion_groups(two_camps())
    assert result["participants"] == 80
    assert result["excluded"] == 3
    assert "lurker0" not in opinion_labels(two_camps())


def test_opinion_reports_what_distinguishes_each_group():
    result = opinion_groups(two_camps())
    labels = opinion_labels(two_camps())
    for group in result["groups"]:
        camp_a = group["id"] == labels["a0"]
        assert len(group["representative"]) == 5
        for row in group["representative"]:
            item = int(row["item"][1:])
            expected = "agree" if (item < 10) == camp_a else "disagree"
            assert row["direction"] == expected
            assert row["in_group"] > row["others"] and row["z"] > 1.28


def test_opinion_finds_the_item_every_group_agrees_with():
    result = opinion_groups(two_camps())
    assert result["consensus"]["agree"][0]["item"] == "s20"


def test_opinion_is_reproducible_from_its_seed():
    assert opinion_groups(two_camps(), seed=3) == opinion_groups(two_camps(), seed=3)


def test_opinion_says_so_when_too_few_people_voted_enough():
    result = opinion_groups(Dataset([idea("a"), idea("b")], [Vote("a", "x", 1, at(1))], []))
    assert result["groups"] == [] and "too few" in result["note"]


@pytest.mark.parametrize("name", ["canadian-electoral-reform", "scoop-hivemind.biodiversity"])
def test_opinion_agrees_with_polis_own_groups_on_real_conversations(name):
    folder = POLIS_DIR / name
    if not folder.is_dir():
        pytest.skip("shared Pol.is data absent")
    ours = opinion_labels(read_polis(folder))
    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as handle:
        theirs = {r["participant"]: r["group-id"] for r in csv.DictReader(handle) if r["group-id"] != ""}
    common = sorted(set(ours) & set(theirs))
    assert len(common) >= 0.99 * len(theirs)
    assert adjusted_rand_score([theirs[p] for p in common], [ours[p] for p in common]) >= 0.8


def test_opinion_counts_moderated_out_statements_as_pol_is_does():
    # Pol.is zeroes a moderated-out column for everyone: it adds to everyone's answered count, and the
    # votes cast on it count towards the seven needed to be grouped.
    data = two_camps()
    lurker_votes = {"lurker0": 4}
    plain = opinion_groups(data)
    moderated = opinion_groups(replace(data, meta={"moderated_out": {"statements": 2, "votes": lurker_votes}}))
    assert plain["participants"] == 80 and moderated["participants"] == 81
    assert "lurker0" in opinion_labels(replace(data, meta={"moderated_out": {"statements": 2,
                                                                             "votes": lurker_votes}}))
    assert moderated["k"] == 2


def test_opinion_groups_unanimous_votes_give_no_groups_instead_of_failing() -> None:
    from datetime import UTC, datetime

    from analysis.opinion import opinion_groups
    from analysis.records import Contribution, Dataset, Vote

    at = datetime(2021, 6, 1, tzinfo=UTC)
    items = [Contribution(id=f"i{n}", kind="idea", parent=None, text=f"idea {n}", phase="1", topic="t", question="q",
                          visible_from=at, author="a", author_role="public") for n in range(10)]
    votes = [Vote(item=f"i{n}", voter=f"p{v}", value=1, at=at) for n in range(10) for v in range(12)]
    result = opinion_groups(Dataset(contributions=items, votes=votes, impressions=[]))
    assert result["groups"] == []
    assert "no opinion groups" in result["note"]
