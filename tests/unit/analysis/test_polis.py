"""Reading Pol.is export folders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.polis import read_polis
from analysis.records import InputError, timestamps
from analysis.support import compute_support

from . import POLIS_DIR

COMMENTS = """timestamp,comment-id,author-id,agrees,disagrees,moderated,is-meta,is-seed,comment-body
1500000000000,0,0,1,0,1,false,true,Keep the library open late
1500003600000,1,4,0,1,1,false,false,"More buses, please"
1500007200000,2,5,0,0,-1,false,false,Rejected by moderators
"""
VOTES = """timestamp,datetime,comment-id,voter-id,vote
1500000100000,x,0,7,-1
1500000000500,x,0,7,1
1500000200000,x,0,8,1
1500000300000,x,0,8,1
1500003700000,x,1,7,0
1500003800000,x,1,8,-1
1500007300000,x,2,8,1
"""
SUMMARY = """topic,Our town
url,https://pol.is/abc
conversation-description,"What should change?

Tell us."
"""
CONVERSATIONS = ["bg2050-volunteers", "brexit-consensus", "canadian-electoral-reform",
                 "scoop-hivemind.biodiversity"]


def write_folder(folder: Path, *, comments: str = COMMENTS, votes: str | None = VOTES) -> Path:
    folder.mkdir()
    (folder / "comments.csv").write_text(comments, encoding="utf-8")
    (folder / "summary.csv").write_text(SUMMARY, encoding="utf-8")
    if votes is not None:
        (folder / "votes.csv").write_text(votes, encoding="utf-8")
    return folder


def test_polis_reads_comments_votes_and_summary(tmp_path):
    dataset = read_polis(write_folder(tmp_path / "town"))
    assert [c.id for c in dataset.contributions] == ["0", "1"]
    first = dataset.contributions[0]
    assert first.kind == "comment" and first.text == "Keep the library open late"
    assert first.visible_from == datetime.fromtimestamp(1_500_000_000, tz=UTC)
    assert first.topic == "Our town" and first.question == "What should change?\n\nTell us."
    assert dataset.impressions == []
    assert dataset.meta["name"] == "town" and "CC BY 4.0" in dataset.meta["source"]


def test_polis_keeps_each_voters_last_vote_by_time(tmp_path):
    # Voter 7's agree on comment 0 came before the disagree, although it is later in the file.
    scores = compute_support(read_polis(write_folder(tmp_path / "town")))
    assert (scores["0"].up, scores["0"].down) == (1, 1)
    assert (scores["1"].up, scores["1"].down) == (0, 1)
    assert scores["0"].method == "exposure"


def test_polis_leaves_out_rejected_comments_and_their_votes(tmp_path):
    dataset = read_polis(write_folder(tmp_path / "town"))
    assert "2" not in {c.id for c in dataset.contributions}
    assert all(v.item != "2" for v in dataset.votes)
    assert dataset.meta["rejected_comments"] == 1
    assert len(read_polis(tmp_path / "town", include_rejected=True).contributions) == 3


def test_polis_keeps_what_its_grouping_uses_of_rejected_comments(tmp_path):
    # Pol.is still counts the rejected comment as a column everyone answered, and voter 8's vote on it.
    dataset = read_polis(write_folder(tmp_path / "town"))
    assert dataset.meta["moderated_out"] == {"statements": 1, "votes": {"8": 1}}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "no such folder"),
        (lambda d: write_folder(d, votes=None), "no votes.csv"),
        (lambda d: write_folder(d, comments="timestamp,comment-id\n1,2\n"), "missing columns"),
        (lambda d: write_folder(d, votes=VOTES.replace("1500000200000", "soon")), "unreadable value"),
    ],
    ids=["missing-folder", "missing-votes", "missing-columns", "bad-timestamp"],
)
def test_polis_rejects_a_folder_that_is_not_an_export_with_a_clear_message(tmp_path, make, message):
    with pytest.raises(InputError, match=message):
        read_polis(make(tmp_path / "town"))


@pytest.mark.skipif(not POLIS_DIR.is_dir(), reason="shared Pol.is data absent")
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_polis_real_conversations_show_the_time_bias_analysis_md_reports(name):
    dataset = read_polis(POLIS_DIR / name)
    scores = compute_support(dataset)
    posted = timestamps(c.visible_from for c in dataset.contributions)
    up = np.array([scores[c.id].up for c in dataset.contributions])
    # ANALYSIS.md: raw agree counts correlate -0.44 to -0.80 with posting time on these conversations.
    assert -0.81 <= stats.spearmanr(up, posted).statistic <= -0.43
