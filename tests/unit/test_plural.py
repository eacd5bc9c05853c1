"""Counts on pages read as English: one of a thing is singular."""

from consult.templating import plural


def test_a_count_of_one_is_singular_and_others_plural() -> None:
    assert plural(1, "contribution") == "1 contribution"
    assert plural(0, "theme") == "0 themes"
    assert plural(2_500, "reply", "replies") == "2,500 replies"
