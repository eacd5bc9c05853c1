"""Evaluation against human coding: data selection, metrics, the stored reference and the table."""

import json
from pathlib import Path

import pytest

from analysis import eval_text
from analysis.eval_text import (
    LabelledTexts,
    format_table,
    load_phase1,
    load_v6_sentiment,
    load_v6_single_label,
    npmi_coherence,
    reference_rows,
    topic_diversity,
    without_duplicate_texts,
)

from . import DATA_DIR

DATA = DATA_DIR
needs_data = pytest.mark.skipif(not (DATA / "pxtext").is_dir(), reason="shared pxtext data not present")


@needs_data
def test_loaders_select_the_rows_the_published_baselines_used() -> None:
    phase1 = load_phase1(DATA / "pxtext")
    v6 = load_v6_single_label(DATA / "pxtext")
    texts, questions, human = load_v6_sentiment(DATA / "pxtext")
    assert (len(phase1.texts), phase1.k) == (3095, 9)
    assert (len(v6.texts), v6.k) == (1196, 13)
    assert "Labelling not possible" not in v6.labels
    assert len(texts) == len(questions) == len(human) == 1831 and set(human) <= {1, 2, 3, 4, 5}


def test_without_duplicate_texts_keeps_the_first_of_each_text() -> None:
    data = LabelledTexts(
        "x", ["Nothing", "Nothing ", "Staff kind", "Nothing"], ["a", "b", "c", "d"], ["q"] * 4
    )
    unique = without_duplicate_texts(data)
    assert unique.texts == ["Nothing", "Staff kind"] and unique.labels == ["a", "c"]
    assert unique.name == "x (no duplicate texts)"


def test_npmi_coherence_rewards_terms_that_occur_together() -> None:
    texts = [
        "car parking full",
        "car parking cost",
        "car parking far",
        "food cold",
        "food bland",
        "food late",
    ]
    assert npmi_coherence(texts, [["car", "parking"]]) == pytest.approx(1.0)
    assert npmi_coherence(texts, [["car", "food"]]) == pytest.approx(-1.0)


def test_topic_diversity_counts_repeated_terms() -> None:
    assert topic_diversity([["a", "b"], ["c", "d"]]) == 1.0
    assert topic_diversity([["a", "b"], ["a", "c"]]) == 0.75


def test_reference_rows_are_labelled_as_stored_measurements() -> None:
    rows = reference_rows()
    stored = json.loads(eval_text.REFERENCE_FILE.read_text(encoding="utf-8"))
    assert len(stored["results"]) == 16
    assert rows and all(str(r["method"]).startswith("reference: MiniLM") for r in rows)
    assert {r["metric"] for r in rows} >= {"nmi", "ari", "seconds"}
    assert reference_rows(Path("/nonexistent.json")) == []


def test_format_table_puts_one_line_per_method_and_a_column_per_metric() -> None:
    rows = [
        {"data": "d", "method": "ours", "metric": "nmi", "value": 0.3},
        {"data": "d", "method": "ours", "metric": "ari", "value": 0.2},
        {"data": "d", "method": "baseline", "metric": "nmi", "value": 0.1},
    ]
    lines = format_table(rows).splitlines()
    assert lines[0] == "d" and "nmi" in lines[1] and "ari" in lines[1]
    assert lines[2].startswith("ours") and "0.300" in lines[2] and "0.200" in lines[2]
    assert lines[3].startswith("baseline") and "0.100" in lines[3]




def test_set_aside_answers_are_scored_as_the_buckets_the_page_shows_and_as_one_cluster() -> None:
    # Coders file "Nothing" under "could not be improved" and bare praise under "care received"; the page
    # lists them as two buckets, so the "as shown" scoring keeps them apart and the other merges them.
    texts = ["Nothing", "Nothing at all", "Nothing.", "All good", "Very good", "Great, thanks"]
    texts += ["Car parking is far too expensive", "Parking spaces were all full", "The car park needs more spaces",
              "The food was cold", "Hospital food needs more choice", "Food portions were tiny"]
    codes = ["improve"] * 3 + ["care"] * 3 + ["parking"] * 3 + ["food"] * 3
    data = LabelledTexts("x", texts, codes, ["What could be improved?"] * len(texts))
    run = eval_text._run_ours(data, None, seed=0)
    shown, merged = run.as_shown[:6], run.one_cluster[:6]
    assert len(set(merged)) == 1
    assert len(set(shown[:3])) == 1 and set(shown[:3]).isdisjoint(shown[3:6])
    assert all(label < 0 for label in shown)
    assert run.as_shown[6:] == run.one_cluster[6:]  # the substantive answers score the same either way
