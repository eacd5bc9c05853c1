"""Counts on pages read as English: one of a thing is singular."""

from consult.templating import plural


def test_a_count_of_one_is_singular_and_others_plural() -> None:
    assert plural(1, "contribution") == "1 contribution"
    assert plural(0, "theme") == "0 themes"
    assert plural(2_500, "reply", "replies") == "2,500 replies"



def test_a_share_that_rounds_to_nothing_is_shown_as_under_one_percent() -> None:
    from consult.services.results import percent

    # "Thanks 7 — 0%" read as none at all; seven answers are not none.
    shown = [percent(v) for v in (None, 0.0, 0.004, 0.005, 0.006, 0.234)]
    assert shown == ["–", "0%", "<1%", "<1%", "1%", "23%"]
