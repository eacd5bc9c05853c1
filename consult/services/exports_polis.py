"""Open data in the Pol.is export layout: comments.csv, votes.csv, participants-votes.csv and summary.csv.

Other tools read Pol.is conversations in this layout (and so does ``python -m analysis run FOLDER``). Every
published idea and comment is a Pol.is "comment" with a number of its own in this export (the column
``consult-id`` gives our id); authors and voters are per-export numbers. Votes are the current ones (+1 agree,
-1 disagree), so the totals read back equal the site's.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Comment, Idea, Vote
from .exports import BATCH, ExportContext, Progress, contribution_rows, counted, safe_cell

# The per-comment columns of participants-votes.csv grow with the conversation; above this they are left
# out (votes.csv still has every vote) so the file stays usable.
MATRIX_MAX_COMMENTS = 5000


def _hour(moment: Any) -> Any:
    """The hour a post or vote was made in, never the second: beside a per-export author number, a time to the
    second could be matched with someone seen posting (pages show only the month)."""
    return moment.replace(minute=0, second=0, microsecond=0) if moment else moment


def _ms(moment: Any) -> int:
    """Milliseconds since the epoch of the hour, as Pol.is writes times."""
    from datetime import UTC

    return int(_hour(moment).replace(tzinfo=UTC).timestamp() * 1000) if moment else 0


def _writer(handle: IO[str]) -> Any:
    """An RFC 4180 CSV writer."""
    return csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def _safe(values: list[Any]) -> list[Any]:
    """Formula-safe cells."""
    return [safe_cell(v) for v in values]


@contextmanager
def _files(out: Path, as_zip: bool) -> Iterator[Any]:
    """Open named text files in a folder, or inside one zip file."""
    if as_zip:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            @contextmanager
            def opener(name: str) -> Iterator[IO[str]]:
                with archive.open(name, "w", force_zip64=True) as raw, \
                        io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
                    yield handle
            yield opener
    else:
        out.mkdir(parents=True, exist_ok=True)

        @contextmanager
        def opener(name: str) -> Iterator[IO[str]]:
            with (out / name).open("w", encoding="utf-8", newline="") as handle:
                yield handle
        yield opener


def write_polis(session: Session, ctx: ExportContext, out: Path, progress: Progress | None = None, *,
                as_zip: bool = False) -> None:
    """Write the four Pol.is files (into a folder, or a zip when `as_zip`)."""
    numbers: dict[str, int] = {}
    authored: Counter[int] = Counter()
    with _files(out, as_zip) as open_file:
        with open_file("comments.csv") as handle:
            writer = _writer(handle)
            writer.writerow(["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                             "comment-body", "consult-id"])
            for n, row in enumerate(counted(contribution_rows(session, ctx), progress)):
                numbers[row["id"]] = n
                author = ctx.people.number(row["_author_id"])
                authored[author] += 1
                writer.writerow(_safe([_ms(row["_at"]), _hour(row["_at"]).isoformat() if row["_at"] else "", n, author,
                                       row["up"], row["down"], 1, row["text"], row["id"]]))
        voters: Counter[int] = Counter()
        with open_file("votes.csv") as handle:
            writer = _writer(handle)
            writer.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
            for vote in _votes(session, ctx):
                item = f"i{vote.idea_id}" if vote.idea_id is not None else f"c{vote.comment_id}"
                if item not in numbers:
                    continue
                voter = ctx.people.number(vote.voter_id)
                voters[voter] += 1
                writer.writerow([_ms(vote.updated_at), _hour(vote.updated_at).isoformat(), numbers[item], voter,
                                 vote.value])
        with open_file("participants-votes.csv") as handle:
            _participants(session, ctx, handle, numbers, authored)
        with open_file("summary.csv") as handle:
            writer = _writer(handle)
            question = "; ".join(p.question for p in sorted(ctx.phases.values(), key=lambda p: p.position))
            for key, value in (("topic", ctx.consultation.title), ("url", ""), ("views", ""),
                               ("voters", len(voters)), ("voters-in-conv", len(voters)),
                               ("commenters", len(authored)), ("comments", len(numbers)), ("groups", ""),
                               ("conversation-description", question)):
                writer.writerow(_safe([key, value]))


def _votes(session: Session, ctx: ExportContext, by_voter: bool = False) -> Iterator[Any]:
    """Current votes on the consultation's ideas and comments, in batches."""
    phase_ids = list(ctx.phases)
    order = (Vote.voter_id, Vote.id) if by_voter else (Vote.id,)
    query = (select(Vote.id, Vote.voter_id, Vote.idea_id, Vote.comment_id, Vote.value, Vote.updated_at)
             .outerjoin(Idea, Idea.id == Vote.idea_id).outerjoin(Comment, Comment.id == Vote.comment_id)
             .where(or_(Idea.phase_id.in_(phase_ids), Comment.phase_id.in_(phase_ids))).order_by(*order))
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _participants(session: Session, ctx: ExportContext, handle: IO[str], numbers: dict[str, int],
                  authored: Counter[int]) -> None:
    """participants-votes.csv: one row per person, with their counts and (for smaller conversations) each vote."""
    matrix = len(numbers) <= MATRIX_MAX_COMMENTS
    writer = _writer(handle)
    writer.writerow(["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
                     *([str(n) for n in range(len(numbers))] if matrix else [])])
    seen: set[int] = set()

    def flush(person: int, votes: dict[int, int]) -> None:
        cells = [""] * len(numbers) if matrix else []
        for number, value in votes.items():
            if matrix:
                cells[number] = value
        agree = sum(1 for v in votes.values() if v > 0)
        writer.writerow([person, "", authored.get(person, 0), len(votes), agree, len(votes) - agree, *cells])
        seen.add(person)

    current, votes = None, {}
    for vote in _votes(session, ctx, by_voter=True):
        item = f"i{vote.idea_id}" if vote.idea_id is not None else f"c{vote.comment_id}"
        if item not in numbers:
            continue
        person = ctx.people.number(vote.voter_id)
        if person != current:
            if current is not None:
                flush(current, votes)
            current, votes = person, {}
        votes[numbers[item]] = vote.value
    if current is not None:
        flush(current, votes)
    for person in authored:
        if person not in seen and person != 0:
            flush(person, {})
