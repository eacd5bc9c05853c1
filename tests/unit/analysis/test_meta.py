"""Pol.is-style meta statements ("I am over 55"): marked, left out of opinion groups and consensus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.groups import group_breakdown
from analysis.meta import looks_like_meta, meta_statements
from analysis.opinion import opinion_groups, opinion_labels
from analysis.polis import read_polis
from analysis.records import Dataset, Vote, read_jsonl, write_jsonl

from . import POLIS_DIR, at, idea
from .test_opinion import two_camps


@pytest.mark.parametrize("text", [
    "I am over 55", "I am under 30 years of age", "I am a nurse", "I am female", "I live in Leeds",
    "I have lived in BG/Warren County all my life.", "I work for the NHS", "I have two children",
    "I am of Asian descent", "I live in a NZ town (population less than 50,000)", "I'm a carer",
])
def test_demographic_self_descriptions_are_meta(text: str) -> None:
    assert looks_like_meta(text)


@pytest.mark.parametrize("text", [
    "I am worried about waiting times", "I live in fear of the energy bills", "I think parking is awful",
    "I am a parent and I think schools should open later", "I am pleased with the current system",
    "I am a big fan of the new bike lanes", "More buses, please", "I have never seen a cyclist on that road.",
    "I am a nurse. The rota changes far too often and nobody asks us.", "",
])
def test_opinions_are_not_meta(text: str) -> None:
    assert not looks_like_meta(text)


def _with_meta_item(marked: bool | None) -> Dataset:
    """The two camps plus "I am over 55", which camp A agrees with and camp B rejects (as ages divide)."""
    data = two_camps()
    text = "I am over 55"
    meta = idea("age", 40, text=text)
    if marked is not None:
        meta = replace(meta, meta=marked)
    votes = [Vote("age", f"a{p}", 1, at(41)) for p in range(40)] + [Vote("age", f"b{p}", -1, at(41))
                                                                    for p in range(40)]
    info = {"meta_marked": True} if marked is not None else {}
    return Dataset([*data.contributions, meta], [*data.votes, *votes], [], info)


def test_meta_statements_are_detected_or_taken_from_the_marks() -> None:
    assert meta_statements(_with_meta_item(None)) == (frozenset({"age"}), "detected")
    assert meta_statements(_with_meta_item(True)) == (frozenset({"age"}), "marked in the export")
    # A moderator's decision wins over the classifier: unmarked in marked data is an opinion.
    assert meta_statements(_with_meta_item(False)) == (frozenset(), "marked in the export")


def test_meta_statements_stay_out_of_groups_and_consensus_and_are_reported_apart() -> None:
    result = opinion_groups(_with_meta_item(None))
    listed = {row["item"] for g in result["groups"] for row in g["representative"]}
    listed |= {row["item"] for side in ("agree", "disagree") for row in result["consensus"][side]}
    assert "age" not in listed
    assert result["k"] == 2
    report = result["meta_statements"]
    assert report["count"] == 1 and report["found"] == "detected"
    (row,) = report["items"]
    assert row["item"] == "age" and row["voted"] == 80 and row["agree"] == 40
    assert sorted(g["agree_share"] for g in row["by_group"]) == [0.0, 1.0]


def test_a_meta_statement_does_not_move_the_groups() -> None:
    # Agreeing with "I am over 55" must not pull anyone into a group: the groups are those of the opinions.
    plain = opinion_labels(two_camps())
    with_meta = opinion_labels(_with_meta_item(None))
    people = sorted(plain)
    assert np.array_equal([plain[p] for p in people], [with_meta[p] for p in people])


def test_group_breakdown_leaves_meta_statements_out_of_consensus() -> None:
    data = _with_meta_item(None)
    voters = {f"{c}{p}": {"age": "55+" if c == "a" else "under 55"} for c in "ab" for p in range(40)}
    data = replace(data, meta={"voters": voters})
    breakdown = group_breakdown(data, {c.id: 0 for c in data.contributions}, [0])
    items = {row["item"] for t in breakdown["tables"] for key in ("consensus_items", "divisive_items")
             for row in t[key]}
    assert items and "age" not in items


def test_meta_marks_survive_a_json_lines_round_trip(tmp_path: Path) -> None:
    data = _with_meta_item(True)
    write_jsonl(data, tmp_path / "d.jsonl")
    again = read_jsonl(tmp_path / "d.jsonl")
    assert meta_statements(again) == (frozenset({"age"}), "marked in the export")


BG2050 = POLIS_DIR / "bg2050-volunteers"


@pytest.mark.skipif(not BG2050.is_dir(), reason="shared Pol.is data absent")
def test_polis_is_meta_column_is_read() -> None:
    data = read_polis(BG2050)
    assert data.meta["meta_marked"] is True
    ids, found = meta_statements(data)
    (meta,) = [c for c in data.contributions if c.id in ids]
    assert found == "marked in the export" and "lived in BG" in meta.text
    assert opinion_groups(data)["meta_statements"]["count"] == 1


@pytest.mark.skipif(not (POLIS_DIR / "canadian-electoral-reform").is_dir(), reason="shared Pol.is data absent")
def test_eval_compares_groups_with_polis_own_with_and_without_meta_statements() -> None:
    from analysis.eval_polis import polis_opinion_rows

    rows = polis_opinion_rows(POLIS_DIR.parent, ["canadian-electoral-reform"])
    ari = {r["method"]: r["value"] for r in rows if r["metric"] == "ari_vs_polis"}
    assert set(ari) == {"Pol.is math, meta left out (3 detected)", "Pol.is math, meta kept",
                        "previous method, meta left out"}
    # The clearest conversation reaches issue 9's bar with meta statements left out.
    assert ari["Pol.is math, meta left out (3 detected)"] >= 0.8
    metrics = {r["metric"] for r in rows}
    assert {"real_components", "pc1+pc2_variance", "ari_at_polis_k", "ari_half_range"} <= metrics
