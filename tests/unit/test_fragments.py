"""The vote buttons written in Python (consult/fragments.py) and the fixed-length IN lists of the page queries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from consult import publicids
from consult.fragments import vote_buttons
from consult.services.queries import fill_in, in_size

VOTING = {"action": "/vote", "token": "tok"}


def item(channel: str | None = "online") -> SimpleNamespace:
    """An idea or comment row as the pages read it."""
    return SimpleNamespace(id=7, up_count=3, down_count=1, channel=channel)


def test_text_from_people_is_escaped_everywhere_it_appears() -> None:
    """A title with markup shows as text in the counts and both buttons, and the return address stays one value."""
    html = vote_buttons("k", "idea", item(), None, VOTING, '/topics/1?a=1&b="2"', 'idea: <script>alert(1)</script>')
    assert "<script>" not in html
    assert html.count("idea: &lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert html.count('name="next" value="/topics/1?a=1&amp;b=&#34;2&#34;"') == 2


def test_a_vote_shows_as_pressed_and_sending_it_again_withdraws_it() -> None:
    """Support pressed: its form sends 0 (withdraw), Against stays secondary and sends -1; the hint shows."""
    html = vote_buttons("k", "idea", item(), 1, VOTING, "/t", "this idea")
    assert "(you support this)" in html
    assert 'value="0" data-vote-value="1"' in html and 'value="-1" data-vote-value="-1"' in html
    assert html.count('aria-pressed="true"') == 1
    assert "data-vote-hint>" in html
    against = vote_buttons("k", "idea", item(), -1, VOTING, "/t", "this idea")
    assert "(you are against this)" in against and 'value="1" data-vote-value="1"' in against
    none = vote_buttons("k", "idea", item(), None, VOTING, "/t", "this idea")
    assert 'aria-pressed="true"' not in none and "data-vote-hint hidden>" in none


def test_someone_who_cannot_vote_sees_the_counts_without_forms() -> None:
    """No voting details: the counts and this item's public id, no form and no CSRF token."""
    html = vote_buttons("k", "comment", item(), None, None, "/t", "comment")
    assert "<form" not in html and "csrf_token" not in html
    assert '<span data-vote-up>3</span> support' in html and '<span data-vote-down>1</span> against' in html
    assert f'data-vote-id="{publicids.encode("comment", 7, key="k")}"' in html


def test_contributions_gathered_offline_have_no_votes() -> None:
    """A workshop idea says where it was gathered and has no counts or forms; a row without a channel votes."""
    html = vote_buttons("k", "idea", item("workshop"), None, VOTING, "/t", "idea")
    assert "Workshop contribution" in html and "Gathered at a workshop" in html
    assert "<form" not in html and "data-vote-up" not in html
    assert "<form" in vote_buttons("k", "comment", SimpleNamespace(id=2, up_count=0, down_count=0), None, VOTING,
                                   "/t", "reply")


@pytest.mark.parametrize(("count", "size"), [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (20, 32), (33, 64)])
def test_fixed_length_in_lists_come_in_powers_of_two_filled_with_the_last_value(count: int, size: int) -> None:
    """The statements for a page's votes and replies are built per list length; the values fill every slot."""
    assert in_size(count) == size
    values = list(range(100, 100 + count))
    filled = fill_in("idea", size, values)
    assert len(filled) == size and set(filled.values()) == set(values)
    assert filled[f"idea{size - 1}"] == values[-1]
