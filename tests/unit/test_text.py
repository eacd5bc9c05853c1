"""Plain-text input rules."""

from __future__ import annotations

import pytest

from consult.services.errors import Invalid
from consult.services.text import clean_text, require_text


def test_clean_text_strips_html_but_keeps_the_words() -> None:
    assert clean_text("<script>alert(1)</script>More <b>evening</b> clinics") == "alert(1)More evening clinics"


def test_clean_text_keeps_line_breaks_and_unicode() -> None:
    text = "Diolch yn fawr 🙏\r\nZoë said: café & crème <3"
    assert clean_text(text) == "Diolch yn fawr 🙏\nZoë said: café & crème <3"


def test_clean_text_collapses_runs_of_blank_lines_and_control_characters() -> None:
    assert clean_text("one\n\n\n\n\ntwo\x00\x07") == "one\n\ntwo"


def test_clean_text_single_line_joins_whitespace() -> None:
    assert clean_text("  a\n title \t here ", single_line=True) == "a title here"


@pytest.mark.parametrize("value", ["", "   ", "\n\t\n", "<p> </p>", None])
def test_require_text_refuses_empty_text(value: str | None) -> None:
    with pytest.raises(Invalid) as raised:
        require_text(value, field="body", label="your idea", max_length=10)
    assert raised.value.field_errors == {"body": "Enter your idea"}


def test_require_text_refuses_text_over_the_limit_with_the_numbers() -> None:
    with pytest.raises(Invalid) as raised:
        require_text("x" * 5001, field="body", label="your idea", max_length=5000)
    assert raised.value.field_errors["body"] == "Your idea must be 5,000 characters or fewer (it has 5,001)"


def test_require_text_accepts_text_exactly_at_the_limit() -> None:
    assert require_text("é" * 150, field="title", label="a title", max_length=150) == "é" * 150
