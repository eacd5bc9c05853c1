"""Plain-text input rules."""

from __future__ import annotations

import pytest

from consult.services.errors import Invalid
from consult.services.text import TITLE_MESSAGE, clean_text, require_text, require_title, word_count


def test_clean_text_strips_html_but_keeps_the_words() -> None:
    assert clean_text("<script>alert(1)</script>More <b>evening</b> clinics") == "alert(1)More evening clinics"


def test_clean_text_keeps_line_breaks_and_unicode() -> None:
    text = "Diolch yn fawr 🙏\r\nZoë said: café & crème <3"
    assert clean_text(text) == "Diolch yn fawr 🙏\nZoë said: café & crème <3"


def test_clean_text_collapses_runs_of_blank_lines_and_control_characters() -> None:
    assert clean_text("one\n\n\n\n\ntwo\x00\x07") == "one\n\ntwo"


def test_clean_text_single_line_joins_whitespace() -> None:
    assert clean_text("  a\n title \t here ", single_line=True) == "a title here"


@pytest.mark.parametrize("value", ["", "   ", "\n\t\n", None])
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


@pytest.mark.parametrize("value", [
    "&lt;img src=x onerror=alert(1)&gt;Title",
    "&#60;img src=x onerror=alert(1)&#62;Title",
    "&#x3c;img src=x onerror=alert(1)&#x3e;Title",
    "&amp;lt;img src=x onerror=alert(1)&amp;gt;Title",
    "&amp;amp;lt;script&amp;amp;gt;alert(1)&amp;amp;lt;/script&amp;amp;gt;Title",
    "<<script>script>alert(1)<</script>/script>Title",
    "&lt;<b>img src=x onerror=alert(1)</b>&gt;Title",
])
def test_clean_text_decodes_entities_before_stripping_so_encoded_markup_is_not_stored(value: str) -> None:
    cleaned = clean_text(value, single_line=True)
    assert "<" not in cleaned and ">" not in cleaned, cleaned
    assert cleaned.endswith("Title")


def test_clean_text_is_stable_when_cleaned_again() -> None:
    for value in ("a < b and c > d", "Fish &amp; chips", "&lt;3 the staff", "<i>x</i> &lt;b&gt;y&lt;/b&gt;"):
        once = clean_text(value)
        assert clean_text(once) == once, value


def test_clean_text_keeps_plain_less_than_and_ampersands() -> None:
    assert clean_text("Fish &amp; chips, x < 3") == "Fish & chips, x < 3"


@pytest.mark.parametrize("value", [
    "\u200b", "\u200b\u200c\u200d", "\ufeff \u2060", "\u00ad\u00ad", "\u3164", "\u2800\u2800", "\u200e\u202e",
    " \u200b\n\u200b ", "&#8203;&#x200b;",
])
def test_require_text_refuses_text_made_only_of_invisible_characters(value: str) -> None:
    with pytest.raises(Invalid) as raised:
        require_text(value, field="title", label="a title", max_length=150)
    assert raised.value.field_errors == {"title": "Enter a title"}


def test_invisible_joiners_inside_real_text_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert require_text(f"Support for {family}", field="body", label="x", max_length=100) == f"Support for {family}"


@pytest.mark.parametrize("value", [
    "the ratio of staff<patients matters. Use <email> or <name> placeholders.", "a<b and c>d", "<p> </p>",
    "<b>\u200b</b>", "<only tags here>", "&lt;b&gt;bold&lt;/b&gt;", "<script>alert(1)</script>More clinics",
])
def test_require_text_refuses_markup_instead_of_silently_cutting_the_text(value: str) -> None:
    # Stripping "staff<patients ... <email>" used to store "staff or placeholders." without a word.
    with pytest.raises(Invalid) as raised:
        require_text(value, field="body", label="your idea", max_length=5000)
    assert "Remove the angle brackets" in raised.value.field_errors["body"]


@pytest.mark.parametrize("value", ["a < b and c > d", "x<y", "<3 the staff", "Fish &amp; chips", "a<2 and b>3",
                                   "Zoë said: café & crème <3"])
def test_require_text_keeps_angle_brackets_and_ampersands_that_are_not_markup(value: str) -> None:
    assert "<" in require_text(value, field="body", label="your idea", max_length=5000) or "&" in value


@pytest.mark.parametrize("value", [".", "...", "!!!", "?", "- - -", "👍", "❤️❤️", "¿¡", "«»", "* * *", "&amp;"])
def test_require_text_refuses_text_of_only_punctuation_or_symbols(value: str) -> None:
    with pytest.raises(Invalid) as raised:
        require_text(value, field="body", label="a comment", max_length=100)
    assert raised.value.field_errors == {
        "body": "Enter a comment in words: it has no letters or numbers, only punctuation or symbols"}


@pytest.mark.parametrize("value", ["Yes", "Agree", "No.", "+1", "10/10!", "Ok 👍", "是", "نعم", "Oui!"])
def test_short_comments_with_a_letter_or_number_are_kept(value: str) -> None:
    assert require_text(value, field="body", label="a comment", max_length=100) == value


@pytest.mark.parametrize("value", ["a", "A.", "Hi", "No", "Wait", "...a...", "x!", "1", "CPD", "排"])
def test_an_idea_title_of_one_short_word_is_refused_with_the_rule(value: str) -> None:
    with pytest.raises(Invalid) as raised:
        require_title(value, max_length=150)
    assert raised.value.field_errors == {"title": TITLE_MESSAGE}
    assert "at least 2 words, or one word of 5 letters or more" in TITLE_MESSAGE


@pytest.mark.parametrize("value", [
    # The shortest titles in the demo and the Pol.is conversations, and other real short ones.
    "Unpaid carers", "Safe caseloads", "Go Tops!", "BAN TEN80", "I am male", "Parking", "Respite", "Long COVID",
    "No ID", "10/10 care", "Wi-Fi", "排队", "Iechyd", "Cost of parking",
])
def test_real_short_idea_titles_are_accepted(value: str) -> None:
    assert require_title(value, max_length=150) == value


def test_an_idea_title_of_only_punctuation_gets_the_words_message_not_the_length_one() -> None:
    with pytest.raises(Invalid) as raised:
        require_title("?!", max_length=150)
    assert "no letters or numbers" in raised.value.field_errors["title"]


def test_words_are_counted_in_scripts_with_and_without_spaces() -> None:
    assert [word_count(t) for t in ("Evening clinics", "well-being", "排队时间", "a.b", "...")] == [2, 2, 4, 2, 0]
