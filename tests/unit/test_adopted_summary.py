"""A theme adopted into the codebook starts with the engine's words about it, never an unchosen quote."""

import pytest

from consult.services.codebook import adopted_summary


@pytest.mark.parametrize(("description", "summary"), [
    ("33 contributions (2%) from 29 people, mixed, about black AHP and staff. Typical: “Agree about diversity. "
     "I'm the only Black AHP in a senior role in my trust.”", "About black AHP and staff."),
    ("364 contributions (25%) from 205 people, mixed, about waiting and phone. Typical: “Same waiting times "
     "wherever you live. My sister…”", "About waiting and phone."),
    ("5 contributions (1%) from 5 people, mostly negative. Typical: “Nobody rang back.”", ""),
    ("Older results: about parking. Typical: “Parking costs £12 a day.”", "Older results: about parking."),
])
def test_adopted_summary_keeps_what_it_is_about_without_figures_or_typical_quote(description: str,
                                                                                   summary: str) -> None:
    assert adopted_summary(description) == summary
