"""The whole analysis in one call: result shape, ordering, progress, scope and files written."""

from __future__ import annotations

import csv
import json

import pytest

from analysis.pipeline import run_analysis
from analysis.records import Dataset, InputError, Vote
from analysis.result_files import write_results

from . import at, fake_engines, idea, views_for, votes_for

KEYWORDS = ["staff", "parking", "training"]


def consultation() -> Dataset:
    """Two phases: staffing and parking ideas in phase 1, training ideas in phase 2, with votes and views."""
    texts = ["good staff levels", "bad staff rota", "parking is bad", "good parking", "training budget"]
    contributions, votes, views = [], [], []
    for i in range(30):
        text = texts[i % len(texts)]
        phase = "2" if "training" in text else "1"
        item = f"c{i}"
        profession = "nurse" if i % 2 else "physio"
        contributions.append(idea(item, i * 3, text=f"{text} {i}", phase=phase, author=f"p{i % 12}",
                                  groups={"profession": profession}))
        votes += votes_for(item, up=(i * 7) % 11, down=i % 3, hours=i * 3 + 1)
        views += views_for(item, 25, hours=i * 3 + 1)
    votes.append(Vote("c0", "vc0-u0", -1, at(500)))  # a change of mind, later
    return Dataset(contributions, votes, views, {"name": "ward test"})


@pytest.fixture(scope="module")
def run() -> tuple[dict, list[tuple[float, str]]]:
    calls: list[tuple[float, str]] = []
    result = run_analysis(consultation(), engines=fake_engines(KEYWORDS),
                          progress=lambda f, m: calls.append((f, m)))
    return result, calls


def test_pipeline_result_is_plain_json(run):
    result, _ = run
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    assert set(result) == {"meta", "contributions", "themes", "groups", "opinion", "saturation", "time_bias"}


def test_pipeline_reports_progress_from_start_to_finish(run):
    _, calls = run
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert any("Finding themes: clustering" in m for _, m in calls), "the theme stage's own progress shows"


def test_pipeline_times_every_stage(run):
    timings = run[0]["meta"]["timings"]
    assert set(timings) == {"index", "support", "sentiment", "themes", "groups", "opinion", "saturation",
                            "total"}
    assert timings["total"] >= sum(v for k, v in timings.items() if k != "total") - 1e-3


def test_pipeline_summarises_each_theme(run):
    result, _ = run
    themes = {t["label"]: t for t in result["themes"]["themes"]}
    staff = themes["staff"]
    assert staff["size"] == 12
    assert staff["participants"] == len({f"p{i % 12}" for i in range(30) if i % 5 in (0, 1)})
    assert staff["sentiment"]["positive"] == staff["sentiment"]["negative"] == 6
    assert staff["sentiment"]["mean"] == pytest.approx(0.0)
    assert staff["quotes"][0]["text"].startswith(("good staff", "bad staff"))
    members = [c for c in result["contributions"] if c["theme"] == staff["id"]]
    assert staff["support"]["mean"] == pytest.approx(sum(c["support"] for c in members) / 12, abs=1e-4)


def test_pipeline_orders_each_themes_contributions_by_support(run):
    result, _ = run
    support = {c["id"]: c["support"] for c in result["contributions"]}
    for theme in result["themes"]["themes"]:
        values = [support[i] for i in theme["contributions"]]
        assert values == sorted(values, reverse=True)


def test_pipeline_reports_support_with_raw_counts_per_contribution(run):
    result, _ = run
    c0 = next(c for c in result["contributions"] if c["id"] == "c0")
    assert (c0["up"], c0["down"], c0["impressions"]) == (0, 1, 25)
    assert c0["low"] <= c0["support"] <= c0["high"]
    assert result["meta"]["support"]["method"] == "impressions"


def test_pipeline_includes_groups_opinion_saturation_and_time_bias(run):
    result, _ = run
    assert result["groups"]["dimensions"] == ["role", "profession"]
    assert {t["phase"] for t in result["groups"]["tables"]} == {None, "1", "2"}
    assert "statement" in result["saturation"]["all"]
    assert set(result["saturation"]["phases"]) == {"1", "2"}
    assert result["time_bias"]["items"] == 30
    assert -1 <= result["time_bias"]["support"] <= 1
    assert "participants" in result["opinion"]


def test_pipeline_scope_limits_the_analysis_to_a_phase():
    result = run_analysis(consultation(), engines=fake_engines(KEYWORDS), scope="2")
    assert {c["phase"] for c in result["contributions"]} == {"2"}
    assert [t["label"] for t in result["themes"]["themes"]] == ["training"]
    assert result["meta"]["scope"] == ["2"]
    with pytest.raises(InputError, match="no contributions in phase"):
        run_analysis(consultation(), engines=fake_engines(KEYWORDS), scope="9")


def test_pipeline_writes_json_and_csv_files(run, tmp_path):
    result, _ = run
    paths = write_results(result, tmp_path / "out")
    assert [p.name for p in paths] == ["results.json", "support.csv", "themes.csv", "theme_members.csv",
                                       "groups.csv"]
    assert json.loads(paths[0].read_text(encoding="utf-8"))["meta"]["name"] == "ward test"
    with paths[1].open(encoding="utf-8") as handle:
        support = list(csv.DictReader(handle))
    assert len(support) == 30
    values = [float(r["support"]) for r in support]
    assert values == sorted(values, reverse=True)
    with paths[3].open(encoding="utf-8") as handle:
        members = list(csv.DictReader(handle))
    assert len(members) == 30 and {"theme", "rank", "text", "support"} <= set(members[0])
    with paths[4].open(encoding="utf-8") as handle:
        groups = list(csv.DictReader(handle))
    assert {"dimension", "group", "share", "ratio", "z", "support", "suppressed"} <= set(groups[0])


def test_pipeline_brief_comments_are_themed_with_their_idea_and_quoted_last() -> None:
    from datetime import UTC, datetime

    from analysis.pipeline import quote_weight, theme_text
    from analysis.records import Contribution

    at = datetime(2021, 6, 1, tzinfo=UTC)
    idea = Contribution(id="i1", kind="idea", parent=None, text="Shorter waits for physio appointments",
                        phase="1", topic="t", question="q", visible_from=at, author="a", author_role="public")
    brief = Contribution(id="c1", kind="comment", parent="i1", text="Couldn't agree more.", phase="1", topic="t",
                         question="q", visible_from=at, author="b", author_role="carer")
    full = Contribution(id="c2", kind="comment", parent="i1", phase="1", topic="t", question="q", visible_from=at,
                        text="My mother waited five months for a physio appointment after her hip operation.",
                        author="c", author_role="carer")
    by_id = {c.id: c for c in (idea, brief, full)}
    assert theme_text(brief, by_id) == "Couldn't agree more.\nShorter waits for physio appointments"
    assert theme_text(full, by_id) == full.text
    assert quote_weight(brief, 0.9) < quote_weight(full, 0.1)
