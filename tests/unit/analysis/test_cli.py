"""The command line, ``python -m analysis``, and the JSON-lines export format it reads."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import pipeline
from analysis.__main__ import format_table, main, polis_time_bias_rows
from analysis.records import Dataset, Impression, InputError, Vote, read_jsonl, write_jsonl

from . import DATA_DIR, POLIS_DIR, at, fake_engines, idea

REPO = Path(__file__).resolve().parents[3]


def export() -> Dataset:
    """A small export: ideas and a comment in two phases, votes (one changed), impressions, voter groups."""
    contributions = [
        idea("i1", 0, text="More staff on the wards", groups={"profession": "nurse"}),
        idea("i2", 5, text="Free parking for staff", phase="2", role="facilitator"),
        idea("c1", 6, text="Yes, parking is hard", kind="comment"),
    ]
    votes = [Vote("i1", "p1", 1, at(1)), Vote("i1", "p1", -1, at(2)), Vote("i2", "p2", 1, at(7))]
    impressions = [Impression("i1", "p1", at(1)), Impression("i2", "p3", at(8))]
    meta = {"name": "tiny", "voters": {"p1": {"profession": "nurse"}}}
    return Dataset(contributions, votes, impressions, meta)


def test_cli_export_format_round_trips(tmp_path):
    path = tmp_path / "export.jsonl"
    write_jsonl(export(), path)
    assert read_jsonl(path) == export()
    kinds = [json.loads(line)["type"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["meta", "contribution", "contribution", "contribution", "vote", "vote", "vote",
                     "impression", "impression"]


def test_cli_export_times_without_offset_are_utc(tmp_path):
    path = tmp_path / "export.jsonl"
    line = {"type": "contribution", "id": "a", "visible_from": "2021-03-01T09:00:00"}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert read_jsonl(path).contributions[0].visible_from == at(0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1|:1: not valid JSON"),
        ('{"type": "vote", "item": "a", "voter": "p", "value": 2, "at": "2021-03-01T09:00:00Z"}',
         ":1: vote value must be 1, -1 or 0"),
        ('{"type": "contribution", "id": "a"}', ":1: contribution line lacks 'visible_from'"),
        ('{"type": "poll"}', ":1: unknown type 'poll'"),
        ("", "no contribution lines"),
    ],
    ids=["bad-json", "bad-vote", "missing-field", "unknown-type", "empty"],
)
def test_cli_export_errors_name_the_line_and_the_problem(tmp_path, line, message):
    path = tmp_path / "export.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_jsonl(path)


def test_cli_run_writes_results_and_shows_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "default_engines", lambda: fake_engines(["staff", "parking"]))
    write_jsonl(export(), tmp_path / "export.jsonl")
    code = main(["run", str(tmp_path / "export.jsonl"), "--out", str(tmp_path / "out"), "--seed", "2"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Analysed 3 contributions" in out and "results.json" in out
    assert "Finding themes" in err and "100%" in err
    result = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert result["meta"]["seed"] == 2
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"results.json", "support.csv", "themes.csv",
                                                               "theme_members.csv", "groups.csv"}


def test_cli_run_can_analyse_one_phase(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "default_engines", lambda: fake_engines(["staff", "parking"]))
    write_jsonl(export(), tmp_path / "export.jsonl")
    assert main(["run", str(tmp_path / "export.jsonl"), "--out", str(tmp_path / "out"), "--phase", "2"]) == 0
    result = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in result["contributions"]] == ["i2"]


def test_cli_run_reports_agreement_with_human_codes_counting_each_set_aside_bucket_apart(tmp_path, capsys):
    # The real engines: "Nothing" and bare praise go to two buckets, which the coders also kept apart.
    texts = ["Nothing", "Nothing at all", "Nothing."] + ["All good", "Very good", "Great"]
    texts += [f"{place} parking {problem}" for place in ("Car", "Hospital", "Visitor")
              for problem in ("is too expensive", "spaces were full")]
    texts += [f"The {meal} food was {how}" for meal in ("ward", "hospital", "canteen") for how in ("cold", "bland")]
    codes = ["improve"] * 3 + ["care"] * 3 + ["parking"] * 6 + ["food"] * 6
    write_jsonl(Dataset([idea(f"t{i}", i, text=t) for i, t in enumerate(texts)], [], [], {}),
                tmp_path / "export.jsonl")
    (tmp_path / "codes.csv").write_text("id,code\n" + "".join(f"t{i},{c}\n" for i, c in enumerate(codes)),
                                        encoding="utf-8")
    code = main(["run", str(tmp_path / "export.jsonl"), "--out", str(tmp_path / "out"),
                 "--codes", str(tmp_path / "codes.csv")])
    out = capsys.readouterr().out
    assert code == 0
    assert "set aside: Nothing to add or change: 3" in out and "set aside: General praise, nothing specific: 3" in out
    assert "Agreement with the human codes (18 coded): NMI 1.000, ARI 1.000, Cohen's kappa 1.000" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.jsonl", "--out", "out"], "no such file or folder"),
        (["run", "{tmp}/bad.jsonl", "--out", "out"], "bad.jsonl:1: not valid JSON"),
        (["run", "{tmp}/export.jsonl", "--out", "out", "--k", "1"], "--k must be at least 2"),
        (["run", "{tmp}/export.jsonl", "--out", "out", "--phase", "9"], "no contributions in phase(s) 9"),
        (["eval", "--data", "{tmp}/nowhere"], "data folder not found"),
    ],
    ids=["missing", "bad-json", "bad-k", "bad-phase", "no-data"],
)
def test_cli_exits_non_zero_with_a_clear_message_on_bad_input(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline, "default_engines", lambda: fake_engines(["staff"]))
    (tmp_path / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    write_jsonl(export(), tmp_path / "export.jsonl")
    code = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_cli_table_lines_up_columns():
    table = format_table([{"data": "x", "method": "ours", "metric": "NMI", "value": 0.12345},
                          {"data": "longer name", "method": "k-means", "metric": "ARI", "value": None}])
    lines = table.splitlines()
    assert lines[0].split() == ["data", "method", "metric", "value"]
    assert lines[2].split() == ["x", "ours", "NMI", "0.123"]
    assert lines[3].endswith("-")
    assert lines[2].index("ours") == lines[3].index("k-means") == lines[0].index("method")


@pytest.mark.skipif(not POLIS_DIR.is_dir(), reason="shared Pol.is data absent")
def test_cli_eval_time_bias_rows_show_raw_counts_favour_early_comments():
    rows = polis_time_bias_rows(DATA_DIR)
    raw = [r for r in rows if r["method"] == "raw agree count"]
    assert len(raw) == 4
    assert all(r["value"] <= -0.4 for r in raw)
    # Without impressions, the exposure fallback should rank comments as scoring per person shown does.
    reference = [r for r in rows if r["metric"] == "Spearman with reference support"]
    assert len(reference) == 4 and all(r["value"] >= 0.85 for r in reference)


@pytest.mark.skipif(
    importlib.util.find_spec("analysis.themes") is None or not (POLIS_DIR / "brexit-consensus").is_dir(),
    reason="theme engine or shared Pol.is data absent",
)
def test_cli_run_analyses_a_polis_conversation_end_to_end(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", str(POLIS_DIR / "brexit-consensus"),
         "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert result["meta"]["counts"]["contributions"] == 50
    assert result["meta"]["support"]["method"] == "exposure"
    assert result["themes"]["themes"] and result["opinion"]["groups"]
