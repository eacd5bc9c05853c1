"""Issue 9, "themes described for a reader": labels an analyst would write, quotes and typical examples that
say something of their own, on the demo consultation and on slices of the human-coded NHS feedback.

The rules are measured here with lists stated in this file, not with the engine's own word lists, so a
change in the engine cannot redefine what passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lemminflect import getAllLemmas
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from analysis.eval_text import load_phase1, load_v6_single_label
from analysis.text import stem, tokenize
from analysis.themes import ThemeDoc, find_themes
from analysis.words import without_introduction

from . import DATA_DIR

pytestmark = pytest.mark.slow

# Words a label must not end on: they say nothing of what a theme is about (the examples first).
WEAK_ENDINGS = frozenset(
    "worker workers clinical summary survey surveys advice staff people person patient patients service "
    "services care support help experience thing things time times team teams section question questions "
    "comment comments idea ideas point points issue issues area areas sounds goes start end let decide".split()
)
# Adjectives a label must not be on its own ("Helpful", "Professional" on the NHS feedback).
ADJECTIVES = frozenset(
    "helpful professional clinical friendly kind caring polite good great excellent supportive reassuring "
    "attentive efficient knowledgeable informative clear quick mental physical local private small normal "
    "amazing brilliant lovely nice patient understanding permanent specific".split()
)
# Words of a reaction, not of a topic: a quote or typical example needs topical words besides these.
REACTION_WORDS = frozenset(
    "agree agreed disagree good great idea point sorry thanks thank yes yeah well said exactly think thought "
    "know like want better worse best lovely brilliant excellent really important happened happen shouldn "
    "sure right wrong true hope make sense way lot things thing people make work worth trying tried".split()
)
MIN_OWN_WORDS = 3
FALLBACK = re.compile(r"^(?:Other points|Theme \d)|·")
NOW = datetime(2021, 6, 15, 12, 30)


def own_topical_words(text: str) -> list[str]:
    """Words of a text that could say what it is about: not stop words, reaction words or an introduction."""
    return [w for w in tokenize(without_introduction(text))
            if len(w) > 2 and w not in ENGLISH_STOP_WORDS and w not in REACTION_WORDS]


def label_problems(label: str) -> list[str]:
    """What an analyst would reject in a label, by the rules of issue 9."""
    if FALLBACK.search(label):
        return []
    problems = []
    words = [w for w in tokenize(label) if w not in ("and", "of", "for", "to", "in", "at", "on")]
    stems = [stem(w) for w in words]
    if len(set(stems)) < len(stems):
        problems.append("repeats a word")
    # The label's last phrase ("Practice educators and worker" ends on "worker") must say what about;
    # "Friendly staff", "Waiting times" are phrases whose general noun is made specific.
    last_phrase = [w for w in tokenize(re.split(r"\band\b", label)[-1])]
    last = words[-1] if words else ""
    if len(last_phrase) == 1 and last in WEAK_ENDINGS:
        problems.append(f"ends on the weak word {last!r}")
    if len(words) == 1 and (last in ADJECTIVES or set(getAllLemmas(last)) == {"ADJ"}):
        problems.append("is a bare adjective")
    if len(label.split()) > 8:
        problems.append("is longer than a short noun phrase")
    return problems


def example_problems(text: str, label: str) -> list[str]:
    """What is wrong with a quote or typical example: too little of its own, or nothing of its label."""
    problems = []
    words = own_topical_words(text)
    if len(words) < MIN_OWN_WORDS:
        problems.append(f"only {words} of its own")
    if label and not FALLBACK.search(label):
        label_stems = {stem(w) for w in tokenize(label)} - {"and", "of", "for", "to", "in", "at", "on"}
        if not label_stems & {stem(w) for w in tokenize(text)}:
            problems.append(f"shares no word with {label!r}")
    return problems


# ------------------------------------------------------------------------------------------------ demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The demo consultation analysed as the site does: (result, contributions by id)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from analysis.pipeline import run_analysis
    from consult.demo import seed_demo
    from consult.extensions import make_engine
    from consult.migrate import upgrade
    from consult.models import Consultation
    from consult.services.analysis_runs import build_dataset

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('labels') / 'demo.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session:
        seed_demo(session, now=NOW)
        session.commit()
        consultation = session.scalars(select(Consultation).order_by(Consultation.id)).first()
        dataset = build_dataset(session, consultation, None, "key")
    engine.dispose()
    yield run_analysis(dataset, seed=0), {c.id: c for c in dataset.contributions}


def _typical(description: str) -> str:
    found = re.search(r"Typical: “(.*?)(?:…)?”$", description)
    return found.group(1) if found else ""


def test_demo_theme_labels_read_as_an_analysts(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result, _ = demo
    themes = result["themes"]["themes"]
    assert 6 <= len(themes) <= 12
    problems = {t["label"]: label_problems(t["label"]) for t in themes}
    problems.update({f"{t['label']} / {s['label']}": label_problems(s["label"])
                     for t in themes for s in t["sub_themes"]})
    assert not {k: v for k, v in problems.items() if v}
    labels = [t["label"].lower() for t in themes]
    assert len(set(labels)) == len(labels)


def test_demo_quotes_and_typical_examples_say_something_of_their_own(
        demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result, by_id = demo
    bad: dict[str, list[str]] = {}
    for theme in result["themes"]["themes"]:
        assert theme["quotes"], theme["label"]
        own = [by_id[q["id"]].text for q in theme["quotes"]]
        assert len(set(own)) == len(own), f"{theme['label']}: the same words quoted twice"
        for quote in theme["quotes"]:
            # A comment's quote is shown with the idea it answers, and still says something itself.
            assert (quote["context"] is not None) == (by_id[quote["id"]].parent is not None)
            bad[f"{theme['label']}: {quote['text'][:60]}"] = example_problems(quote["text"], "")
        typical = _typical(theme["description"])
        assert typical, f"{theme['label']}: no typical example"
        bad[f"{theme['label']} typical: {typical[:60]}"] = example_problems(typical, theme["label"])
        for sub in theme["sub_themes"]:
            typical = _typical(sub["description"])
            if typical:
                bad[f"{sub['label']} typical: {typical[:60]}"] = example_problems(typical, sub["label"])
    assert not {k: v for k, v in bad.items() if v}


def test_demo_descriptions_keep_their_figures(demo: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result, _ = demo
    for theme in result["themes"]["themes"]:
        assert re.match(r"^\d[\d,]* contributions \(\d+%\) from \d[\d,]* people, (?:mostly \w+|mixed)",
                        theme["description"]), theme["description"]


# --------------------------------------------------------------------------------------- NHS feedback


def _slice(data: Any, every: int) -> list[ThemeDoc]:
    return [ThemeDoc(str(i), t, 0.0, q) for i, (t, q) in enumerate(zip(data.texts, data.questions, strict=True))
            if i % every == 0]


@pytest.fixture(scope="module", params=["phase-1", "v6"])
def feedback(request: pytest.FixtureRequest) -> tuple[Any, dict[str, str]]:
    """Themes of a slice of a human-coded pxtext file, and its texts by id."""
    pxtext: Path = DATA_DIR / "pxtext"
    data = load_phase1(pxtext) if request.param == "phase-1" else load_v6_single_label(pxtext)
    docs = _slice(data, 3 if request.param == "phase-1" else 2)
    return find_themes(docs, seed=0), {d.id: d.text for d in docs}


def test_feedback_labels_are_noun_phrases_not_adjectives(feedback: tuple[Any, dict[str, str]]) -> None:
    result, _ = feedback
    assert result.themes
    problems = {t.label: label_problems(t.label) for t in result.themes}
    problems.update({f"{t.label} / {s['label']}": label_problems(str(s["label"]))
                     for t in result.themes for s in t.sub_themes})
    assert not {k: v for k, v in problems.items() if v}


def test_feedback_quotes_and_typical_examples_carry_their_label(feedback: tuple[Any, dict[str, str]]) -> None:
    result, text = feedback
    bad: dict[str, list[str]] = {}
    for theme in result.themes:
        assert theme.quotes and set(theme.quotes) <= set(theme.members)
        for q in theme.quotes:
            bad[f"{theme.label}: {text[q][:60]}"] = example_problems(text[q], "")
        if theme.typical is not None:
            assert theme.typical in theme.members
            bad[f"{theme.label} typical: {text[theme.typical][:60]}"] = example_problems(text[theme.typical],
                                                                                          theme.label)
        for sub in theme.sub_themes:
            if sub.get("typical"):
                assert sub["typical"] in sub["contributions"]
                bad[f"{sub['label']} typical"] = example_problems(text[str(sub["typical"])], str(sub["label"]))
    assert not {k: v for k, v in bad.items() if v}
    assert sum(t.typical is not None for t in result.themes) >= len(result.themes) - 1


TITLED_NAME = re.compile(r"\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Nurse|Prof|Professor)\.? ([A-Z][a-z]+)")


def test_feedback_labels_name_nobody_and_are_never_word_lists(feedback: tuple[Any, dict[str, str]]) -> None:
    result, text = feedback
    # Names people gave staff after a title, and never wrote in lower case (phase-1 has "Dr Schofield" x6).
    titled = {m.group(1).lower() for t in text.values() for m in TITLED_NAME.finditer(t)}
    names = {n for n in titled if not any(re.search(rf"\b{n}\b", t) for t in text.values())}
    labels = [t.label for t in result.themes] + [str(s["label"]) for t in result.themes for s in t.sub_themes]
    assert not [label for label in labels if set(tokenize(label)) & names]
    assert not [label for label in labels if "·" in label or re.match(r"Theme \d", label)]
    for theme in result.themes:
        subs = [str(s["label"]) for s in theme.sub_themes]
        assert len(set(subs)) == len(subs), f"{theme.label}: {subs}"
        assert not [s for s in subs if re.match(r"Other points \(\d", s)], f"{theme.label}: {subs}"
