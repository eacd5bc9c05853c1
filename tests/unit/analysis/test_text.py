"""Tokenising and normalising free text."""

import pytest

from analysis.text import STOP_WORDS, analyse, content_tokens, duplicate_key, normalise, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't think of anything", ["i", "cannot", "think", "of", "anything"]),
        ("I can\u2019t park", ["i", "cannot", "park"]),
        ("Staff don't listen", ["staff", "do", "not", "listen"]),
        ("didnt wait long", ["did", "not", "wait", "long"]),
        ("Won't return", ["will", "not", "return"]),
    ],
)
def test_tokenize_spells_every_negation_the_same_way(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_stop_words_keep_negations_and_quantifiers() -> None:
    for word in ("no", "not", "nothing", "never", "none", "nor", "cannot", "few", "more", "most", "less"):
        assert word not in STOP_WORDS
    assert {"the", "and", "was"} <= STOP_WORDS
    assert content_tokens("Not enough staff and no parking") == ["not", "staff", "no", "parking"]


def test_analyse_stems_so_inflections_share_a_feature() -> None:
    assert analyse("Waiting times for appointments") == analyse("wait time appointment")
    assert analyse("The café was") == ["cafe"]


def test_normalise_folds_case_accents_quotes_and_spacing() -> None:
    assert normalise("  Caf\u00e9\u2019s   GREAT\n") == "cafe's great"


def test_duplicate_key_ignores_case_punctuation_and_spacing() -> None:
    assert duplicate_key("Nothing.") == duplicate_key("  nothing ") == duplicate_key("NOTHING!!")
    assert duplicate_key("Nothing") != duplicate_key("Nothing at all")
