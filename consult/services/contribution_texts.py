"""The texts of contributions by their codebook ids ("i12" an idea, "c7" a comment), in few queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Comment, Idea


def contribution_texts(session: Session, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Text, kind, phase and parent idea (with its title) of contributions by id ("i12", "c7"); unknown ids are
    left out."""
    ideas = [int(i[1:]) for i in ids if i.startswith("i") and i[1:].isdigit()]
    comments = [int(i[1:]) for i in ids if i.startswith("c") and i[1:].isdigit()]
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ideas):
        for row in session.execute(select(Idea.id, Idea.title, Idea.body, Idea.phase_id, Idea.created_at,
                                          Idea.moderation_state).where(Idea.id.in_(chunk))):
            found[f"i{row.id}"] = {"id": f"i{row.id}", "kind": "idea", "text": f"{row.title}\n{row.body}",
                                   "title": row.title, "phase_id": row.phase_id, "parent": None,
                                   "at": row.created_at, "published": row.moderation_state == "published"}
    for chunk in _chunks(comments):
        for row in session.execute(select(Comment.id, Comment.body, Comment.phase_id, Comment.idea_id,
                                          Comment.created_at, Comment.moderation_state)
                                   .where(Comment.id.in_(chunk))):
            found[f"c{row.id}"] = {"id": f"c{row.id}", "kind": "comment", "text": row.body, "title": "",
                                   "phase_id": row.phase_id, "parent": f"i{row.idea_id}", "at": row.created_at,
                                   "published": row.moderation_state == "published", "parent_title": "",
                                   "parent_published": False}
    # A comment is coded with the idea it answers in view: "Agreed, and at weekends" means nothing alone.
    parents = sorted({int(c["parent"][1:]) for c in found.values() if c["kind"] == "comment"})
    titles: dict[str, tuple[str, bool]] = {}
    for chunk in _chunks(parents):
        titles.update((f"i{i}", (title, state == "published")) for i, title, state in session.execute(
            select(Idea.id, Idea.title, Idea.moderation_state).where(Idea.id.in_(chunk))))
    for item in found.values():
        if item["kind"] == "comment":
            # Whether the idea it answers is public too: under a held or hidden idea, nobody sees the comment.
            item["parent_title"], item["parent_published"] = titles.get(item["parent"], ("", False))
    return found


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    """Lists of at most `size` values, so IN clauses stay within database limits."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
