"""Read a Pol.is open-data export folder (comments.csv, votes.csv, summary.csv) into a Dataset.

The Pol.is open data (github.com/compdemocracy/openData) is CC BY 4.0: keep its attribution with any copy.
Every comment is a contribution of kind "comment" in phase "1", answering the conversation's topic. Pol.is
votes are +1 agree, -1 disagree, 0 pass; ``votes.csv`` repeats (comment, voter) rows when people change their
vote and the analysis keeps the last. Pol.is exports no impressions, so support falls back to exposure.
Comments that moderators rejected (``moderated`` = -1) are left out, with their votes, because participants
were not meant to see them; ``meta["rejected_comments"]`` counts them, and ``meta["moderated_out"]`` keeps what
Pol.is's own grouping still uses of them: how many had votes, and how many of those votes each person cast
(see ``analysis.opinion``). Comments the moderators marked
``is-meta`` (statements about the speaker, such as "I am over 55") keep the mark, and ``meta["meta_marked"]``
says the export carried marks (see ``analysis.meta``).
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from analysis.records import Contribution, Dataset, InputError, Vote

REQUIRED_COMMENT_COLUMNS = ("timestamp", "comment-id", "author-id", "comment-body")
REQUIRED_VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")


def _moment(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def read_summary(path: Path) -> dict[str, str]:
    """summary.csv (key,value rows with no header) as a dict; empty if the file is absent."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path.parent}: not a Pol.is export folder (no {path.name})")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: missing columns {', '.join(missing)}")
        return list(reader)


def read_polis(folder: Path | str, *, include_rejected: bool = False) -> Dataset:
    """A Pol.is export folder as a Dataset (no impressions; rejected comments left out by default)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    summary = read_summary(folder / "summary.csv")
    topic = summary.get("topic", folder.name)
    question = summary.get("conversation-description", "") or topic
    contributions: list[Contribution] = []
    rejected_ids: set[str] = set()
    marked = False
    try:
        for row in _rows(folder / "comments.csv", REQUIRED_COMMENT_COLUMNS):
            marked = marked or "is-meta" in row
            if row.get("moderated", "1").strip() == "-1" and not include_rejected:
                rejected_ids.add(row["comment-id"])
                continue
            contributions.append(
                Contribution(
                    id=row["comment-id"], kind="comment", parent=None, text=row["comment-body"], phase="1",
                    topic=topic, question=question, visible_from=_moment(row["timestamp"]),
                    author=row["author-id"], author_role="participant", groups={},
                    meta=row.get("is-meta", "").strip().lower() in ("true", "1", "t", "yes"),
                )
            )
        known = {c.id for c in contributions}
        votes, moderated = [], set()
        for row in _rows(folder / "votes.csv", REQUIRED_VOTE_COLUMNS):
            if row["comment-id"] in known:
                votes.append(Vote(row["comment-id"], row["voter-id"], int(row["vote"]), _moment(row["timestamp"])))
            elif row["comment-id"] in rejected_ids:
                moderated.add((row["comment-id"], row["voter-id"]))
    except ValueError as error:
        raise InputError(f"{folder}: unreadable value ({error})") from None
    if not contributions:
        raise InputError(f"{folder}: comments.csv has no comments")
    contributions.sort(key=lambda c: (c.visible_from, len(c.id), c.id))
    meta = {
        "name": folder.name,
        "source": "Pol.is open data, CC BY 4.0",
        "url": summary.get("url", ""),
        "topic": topic,
        "rejected_comments": len(rejected_ids),
        "meta_marked": marked,
        "moderated_out": {
            "statements": len({comment for comment, _ in moderated}),
            "votes": dict(Counter(voter for _, voter in moderated)),
        },
    }
    return Dataset(contributions, votes, [], meta)
