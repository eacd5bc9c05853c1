"""A chosen quote reads as the person wrote it: an idea keeps its title unless the body repeats it."""

import pytest

from consult.services.codebook_quotes import QUOTE_LENGTH, quote_text


@pytest.mark.parametrize(("kind", "text", "quoted"), [
    ("idea", "Let people swap appointments online\nCancelling by phone takes half an hour.",
     "Let people swap appointments online\nCancelling by phone takes half an hour."),
    ("idea", "Shorter waits\nShorter waits for physio, please.", "Shorter waits for physio, please."),
    ("comment", "Digital first shouldn't mean digital only.", "Digital first shouldn't mean digital only."),
])
def test_quote_text_keeps_an_ideas_title_unless_its_body_repeats_it(kind: str, text: str, quoted: str) -> None:
    assert quote_text({"kind": kind, "text": text}) == quoted


def test_quote_text_shortens_a_long_contribution_with_an_ellipsis() -> None:
    quoted = quote_text({"kind": "comment", "text": "word " * 200})
    assert len(quoted) == QUOTE_LENGTH and quoted.endswith("…")
