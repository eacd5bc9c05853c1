"""Issue 9's edge cases: identical, empty, tiny and non-English input, no votes, support capped at 100%."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.aside import classify, is_not_english
from analysis.pipeline import run_analysis
from analysis.records import Dataset
from analysis.sentiment import score_sentiment, sentiment_label
from analysis.support import Prior, gamma_posterior
from analysis.themes import ThemeDoc, embed_texts, find_themes

from . import idea, votes_for

WELSH = [
    "Roedd y staff yn garedig iawn ac roedd y gwasanaeth yn dda iawn",
    "Mae angen mwy o staff ar y ward gyda'r nos",
    "Diolch yn fawr iawn am y gofal a gefais yn yr ysbyty",
]
PARKING = [
    "There is never enough parking at the hospital",
    "Car parking is far too expensive for visitors",
    "Parking spaces are full so I was late for my appointment",
    "The car park needs more disabled parking bays",
    "Finding a parking space took half an hour",
    "Parking charges for patients should be scrapped",
]
FOOD = [
    "The food on the ward was cold and tasteless",
    "Hospital meals need more vegetables and fruit",
    "Food portions were tiny and the menu never changed",
    "Better choice of food for vegetarian patients",
    "The sandwiches and meals were stale",
    "The menu had no gluten free food",
]


def _docs(texts: list[str]) -> list[ThemeDoc]:
    return [ThemeDoc(f"d{i}", t, 0.0, "How could we improve?") for i, t in enumerate(texts)]


def test_identical_texts_form_one_theme() -> None:
    result = find_themes(_docs(["The waiting times for appointments are far too long"] * 50), seed=0)
    assert result.k == 1 and len(result.themes) == 1
    assert result.themes[0].size == 50 and set(result.primary.values()) == {0}


def test_empty_texts_are_counted_not_clustered() -> None:
    result = find_themes(_docs([""] * 12 + ["   ", "...", "!!"]), seed=0)
    assert result.themes == [] and result.primary == {}
    assert len(result.set_aside["empty"]) == 15
    assert "No themes" in result.statement


def test_non_substantive_answers_get_named_buckets() -> None:
    texts = PARKING + FOOD + ["Nothing", "nothing at all", "All good", "Excellent!", "Thank you", "Hear, hear",
                              "xxxx", "n/a"]
    result = find_themes(_docs(texts), k=2, seed=0)
    names = {name: len(ids) for name, ids in result.set_aside.items()}
    assert names == {"nothing": 3, "praise": 2, "thanks": 1, "agreement": 1, "redacted": 1}
    assert result.clustered == 12 and sum(t.size for t in result.themes) == 12


def test_answers_about_how_staff_treat_people_are_themed_not_set_aside() -> None:
    # "Friendly, caring, clear" is about staff manner, a topic coders code; "All good" says nothing specific.
    for text in ("Friendly, caring, clear.", "Very kind and professional.", "The receptionist was rude",
                 "They listened and explained everything"):
        assert classify(text).bucket is None, text
    for text, bucket in (("All good", "praise"), ("Excellent service!", "praise"), ("Everything was fine.", "praise"),
                         ("Nothing, it was perfect.", "nothing"), ("Thank you", "thanks")):
        assert classify(text).bucket == bucket, text
    manner = ["Very kind and patient nurses", "The doctor was rude and dismissive",
              "Staff were friendly and polite", "Reception staff were unhelpful and rude",
              "Kind, gentle and respectful nurses", "Courteous and kind staff"]
    result = find_themes(_docs(PARKING + manner), k=2, seed=0)
    assert {result.primary[f"d{i}"] for i in range(6, 12)} == {result.primary["d6"]} != {result.primary["d0"]}
    assert result.set_aside == {}


def test_tiny_input_gives_a_plain_statement() -> None:
    result = find_themes(_docs(PARKING[:3]), seed=0)
    assert result.themes == [] and "Too few different contributions" in result.statement


def test_sentiment_words_do_not_split_a_topic() -> None:
    # Praise and complaint about the same two topics: themes must follow the topic, not the tone.
    texts = [f"{tone} {text}" for text in PARKING[:5] + FOOD[:5] for tone in ("Great:", "Awful:")]
    result = find_themes(_docs(texts), k=2, seed=0)
    parking = {result.primary[f"d{i}"] for i in range(10)}
    food = {result.primary[f"d{i}"] for i in range(10, 20)}
    assert len(parking) == 1 and len(food) == 1 and parking != food


def test_number_of_themes_is_the_same_on_every_seed() -> None:
    texts = [f"{t} ({n})" for n in range(4) for t in PARKING + FOOD]
    ks = {find_themes(_docs(texts), seed=seed).k for seed in (0, 1, 2)}
    assert len(ks) == 1


def test_non_english_text_is_detected_set_aside_and_not_scored() -> None:
    assert all(is_not_english(t) for t in WELSH)
    assert not any(is_not_english(t) for t in PARKING + FOOD + ["Nothing at all", "No"])
    assert classify(WELSH[0]).bucket == "not_english"
    scores = score_sentiment(WELSH + ["The staff were rude"], ["What was good?"] * 4)
    assert scores[:3] == [None, None, None] and scores[3] < 0
    assert sentiment_label(None) == "not scored"


def test_sentiment_reads_yes_no_questions_by_their_answer() -> None:
    question = "Have we got it right?"
    no, yes, no_more = score_sentiment(["No", "Yes, mostly", "No, you have forgotten carers completely"],
                                       [question] * 3)
    assert no < -0.3 and yes > 0.3 and no_more < -0.3


def test_support_is_capped_at_100_percent() -> None:
    mean, low, high = gamma_posterior(np.array([30.0]), np.array([5.0]), Prior("gamma", 1.0, 1.0, False, 1))
    assert mean[0] <= 1.0 and low[0] <= 1.0 and high[0] <= 1.0


def test_no_votes_shows_no_votes_yet_not_fifty_percent() -> None:
    contributions = [idea(f"i{n}", n, text=text) for n, text in enumerate(PARKING + FOOD)]
    result = run_analysis(Dataset(contributions, [], [], {"name": "no votes"}), k=2)
    assert all(row["support_note"] == "no votes yet" for row in result["contributions"])
    for theme in result["themes"]["themes"]:
        assert theme["support"]["mean"] is None and theme["support"]["note"] == "no votes yet"
        assert "No votes yet" in theme["stance"]["summary"]


def test_pipeline_reports_set_aside_quality_descriptions_and_quote_attribution() -> None:
    texts = PARKING + FOOD + ["Nothing", "Nothing.", "All good"]
    contributions = [idea(f"i{n}", n, text=text, phase="Phase 1: online conversation one")
                     for n, text in enumerate(texts)]
    votes = [v for c in contributions for v in votes_for(c.id, 3, 1)]
    result = json.loads(json.dumps(run_analysis(Dataset(contributions, votes, [], {"name": "t"}), k=2)))
    themes = result["themes"]
    assert [(b["name"], b["count"]) for b in themes["set_aside"]] == [("nothing", 2), ("praise", 1)]
    quality = themes["quality"]
    assert quality["not_clustered"] == 3 and quality["sizes"] == [6, 6]
    assert quality["share_not_clustered"] == pytest.approx(3 / 15, abs=1e-4)
    for theme in themes["themes"]:
        assert theme["description"].startswith("6 contributions (40%) from 6 people")
        assert theme["share_low"] < theme["share"] < theme["share_high"]
        for quote in theme["quotes"]:
            assert quote["attribution"] == "Anon, March 2021, Phase 1: online conversation one"
            assert len(quote["text"].split()) >= 4
        assert {"id", "label", "terms", "size", "participants", "sentiment", "support", "quotes",
                "contributions", "stance", "phase_shares", "sub_themes"} <= set(theme)
    rows = {r["id"]: r for r in result["contributions"]}
    assert rows["i12"]["set_aside"] == "nothing" and rows["i12"]["theme"] is None


def test_embed_texts_returns_unit_rows_for_every_text() -> None:
    vectors = embed_texts(PARKING + ["", "zzzz qqqq"])
    assert vectors.shape[0] == len(PARKING) + 2
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[: len(PARKING)], 1.0, atol=1e-5) and norms[-2] == 0.0
    similar = vectors[0] @ vectors[1]
    assert similar > vectors[0] @ embed_texts(["The food was cold"])[0]
