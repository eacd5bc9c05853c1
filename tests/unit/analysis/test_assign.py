"""Proposals for new contributions keep "fits none of these" apart from "not sure"."""

from __future__ import annotations

from analysis.assign import propose

THEMES = {
    1: ["Waiting times for physio are far too long", "Six months wait for a hip appointment",
        "The waiting list for speech therapy is too long", "Long waits for podiatry appointments"],
    2: ["Video appointments saved me a long drive", "Online booking for physio would help",
        "Let me book appointments online", "An app to book and change appointments"],
    3: [],
}


def test_propose_puts_a_clear_contribution_in_its_theme() -> None:
    [proposal] = propose(THEMES, {"i9": "The wait for an appointment with speech therapy was too long"})
    assert proposal.theme == 1 and proposal.verdict == "fits"
    assert 0 < proposal.confidence <= 1 and proposal.runner_up == 2


def test_propose_says_none_for_an_unrelated_contribution() -> None:
    [proposal] = propose(THEMES, {"c4": "Parking charges at the hospital are unfair"})
    assert proposal.verdict == "none" and proposal.theme is None


def test_propose_is_unsure_between_two_close_themes() -> None:
    [proposal] = propose(THEMES, {"i5": "Long waits to book appointments online"})
    assert proposal.verdict == "unsure" and proposal.theme in (1, 2)


def test_propose_without_themes_or_items() -> None:
    assert propose(THEMES, {}) == []
    assert [p.verdict for p in propose({1: []}, {"i1": "anything"})] == ["none"]


def test_cohen_kappa_matches_the_textbook_example() -> None:
    from analysis.assign import cohen_kappa

    # 50 items: both say yes 20, both no 15, first yes/second no 5, first no/second yes 10: kappa = 0.4.
    first = ["y"] * 25 + ["n"] * 25
    second = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(first, second) == 0.4
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert cohen_kappa([], []) is None and cohen_kappa(["a"], ["a"]) is None
