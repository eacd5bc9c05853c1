"""Anomalies flagged to facilitators: bursts of votes or posts from new accounts or one network, and
near-identical texts from many accounts. Nothing is deleted: a facilitator decides, with a recorded reason.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, delete, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from ..models import (
    AnomalyFlag,
    Comment,
    Idea,
    ModerationCase,
    NetworkSighting,
    Phase,
    User,
    VoteEvent,
    VoteExclusion,
    utcnow,
)
from . import audit
from .errors import Conflict, Invalid

# The longest reason a decision keeps (the column's length).
REASON_MAX = 500


@dataclass(frozen=True)
class Thresholds:
    """When a pattern is worth a facilitator's look."""

    window: timedelta = timedelta(minutes=10)
    new_account: timedelta = timedelta(hours=24)
    votes: int = 10  # votes on one item inside the window from new accounts, or from one network
    posts: int = 5  # posts in one phase inside the window from new accounts, or from one network
    duplicate_accounts: int = 3  # distinct accounts posting near-identical text
    similarity: float = 0.8


@dataclass(frozen=True)
class _Event:
    """One vote or post: who, when, from which networks, and whether the account was new then."""

    user_id: int
    at: datetime
    new: bool
    networks: frozenset[str]


def _bursts(events: list[_Event], t: Thresholds, minimum: int) -> list[tuple[str, list[_Event]]]:
    """Runs of events inside the window with at least `minimum` new accounts, or accounts from one network."""
    events = sorted(events, key=lambda e: e.at)
    found: list[tuple[str, list[_Event]]] = []
    start = 0
    i = 0
    while i < len(events):
        while events[i].at - events[start].at > t.window:
            start += 1
        window = events[start:i + 1]
        why = _why(window, minimum)
        if why:
            # Extend to the end of the burst, then look for the next one after it.
            end = i + 1
            while end < len(events) and events[end].at - events[end - 1].at <= t.window:
                end += 1
            found.append((why, events[start:end]))
            start = i = end
            continue
        i += 1
    return found


def _why(window: list[_Event], minimum: int) -> str:
    """ "new_accounts" or "one_network" when this window is a burst, else ""."""
    if len({e.user_id for e in window if e.new}) >= minimum:
        return "new_accounts"
    per_network: dict[str, set[int]] = defaultdict(set)
    for e in window:
        for key in e.networks:
            per_network[key].add(e.user_id)
    if any(len(users) >= minimum for users in per_network.values()):
        return "one_network"
    return ""


def _summary(why: str, events: list[_Event]) -> dict[str, Any]:
    """Counts for the page and the internal ids for a decision."""
    users = sorted({e.user_id for e in events})
    per_network: dict[str, set[int]] = defaultdict(set)
    for e in events:
        for key in e.networks:
            per_network[key].add(e.user_id)
    return {"why": why, "events": len(events), "accounts": len(users),
            "new_accounts": len({e.user_id for e in events if e.new}),
            "one_network": max((len(u) for u in per_network.values()), default=0), "user_ids": users}


def _digest(signature: str) -> str:
    """What a pattern is stored under, so a later scan knows it was flagged already."""
    return hashlib.sha256(signature.encode()).hexdigest()[:64]


def unrecorded(session: Session, consultation_id: int, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The patterns ``find`` found that are not flagged yet (once each), read in one query: the worker looks again
    every few minutes, and most of what it finds was flagged by an earlier look."""
    known = set(session.scalars(select(AnomalyFlag.signature).where(AnomalyFlag.consultation_id == consultation_id)))
    fresh: list[dict[str, Any]] = []
    for spec in found:
        digest = _digest(spec["signature"])
        if digest not in known:
            known.add(digest)
            fresh.append(spec)
    return fresh


def _flag(session: Session, consultation_id: int, kind: str, signature: str, *, phase_id: int | None,
          first: datetime, last: datetime, detail: dict[str, Any], **target: int) -> None:
    """Store a new flag."""
    session.add(AnomalyFlag(consultation_id=consultation_id, phase_id=phase_id, kind=kind,
                            signature=_digest(signature), detail=detail, first_at=first, last_at=last,
                            status="open", **target))


def scan(session: Session, consultation_id: int, *, thresholds: Thresholds | None = None) -> int:
    """Look for bursts and near-identical texts in one consultation; returns how many new flags were raised."""
    return record(session, consultation_id, find(session, consultation_id, thresholds=thresholds))


def record(session: Session, consultation_id: int, found: list[dict[str, Any]]) -> int:
    """Raise the flags ``find`` found (each once: a flag already raised is left as it is); how many were new."""
    fresh = unrecorded(session, consultation_id, found)
    for spec in fresh:
        _flag(session, consultation_id, **spec)
    session.flush()
    return len(fresh)


def find(session: Session, consultation_id: int, *, thresholds: Thresholds | None = None) -> list[dict[str, Any]]:
    """The bursts and near-identical texts in one consultation, as flags to raise (reads only, so the worker can
    look without holding the write lock; ``record`` writes them)."""
    t = thresholds or Thresholds()
    phase_ids = list(session.scalars(select(Phase.id).where(Phase.consultation_id == consultation_id)))
    if not phase_ids:
        return []
    joined = dict(session.execute(select(User.id, User.created_at)).all())
    networks: dict[int, set[str]] = defaultdict(set)
    for user_id, key in session.execute(select(NetworkSighting.user_id, NetworkSighting.network_key)):
        networks[user_id].add(key)

    def event(user_id: int, at: datetime) -> _Event:
        created = joined.get(user_id)
        return _Event(user_id, at, created is not None and at - created <= t.new_account,
                      frozenset(networks.get(user_id, ())))

    found: list[dict[str, Any]] = []
    # Votes, per item: the first vote of each person (later changes are not a burst of new support).
    per_item: dict[tuple[str, int], dict[int, _Event]] = defaultdict(dict)
    item_phase: dict[tuple[str, int], int] = {}
    for model, column, kind in ((Idea, VoteEvent.idea_id, "idea"), (Comment, VoteEvent.comment_id, "comment")):
        for voter_id, item_id, at, phase_id in session.execute(
            select(VoteEvent.voter_id, column, VoteEvent.at, model.phase_id).join(model, model.id == column)
            .where(model.phase_id.in_(phase_ids), VoteEvent.value != 0, VoteEvent.voter_id.is_not(None))
            .order_by(VoteEvent.id)
        ):
            per_item[(kind, item_id)].setdefault(voter_id, event(voter_id, at))
            item_phase[(kind, item_id)] = phase_id
    for (kind, item_id), voters in per_item.items():
        for why, burst in _bursts(list(voters.values()), t, t.votes):
            found.append(dict(kind="vote_burst", signature=f"v:{kind}:{item_id}:{burst[0].at.isoformat()}",
                         phase_id=item_phase[(kind, item_id)], first=burst[0].at, last=burst[-1].at,
                         detail=_summary(why, burst), **{f"{kind}_id": item_id}))
    # Posts, per phase.
    posts: dict[int, list[_Event]] = defaultdict(list)
    post_items: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
    texts: list[tuple[str, int, int, int, str, datetime]] = []
    for model, kind in ((Idea, "idea"), (Comment, "comment")):
        text_column = (Idea.title + " " + Idea.body) if model is Idea else Comment.body
        for item_id, author_id, phase_id, at, text in session.execute(
            select(model.id, model.author_id, model.phase_id, model.created_at, text_column)
            .where(model.phase_id.in_(phase_ids), model.author_id.is_not(None),
                   model.moderation_state.in_(("published", "held")))
        ):
            posts[phase_id].append(event(author_id, at))
            post_items[phase_id].append((at, author_id, f"{kind}:{item_id}"))
            texts.append((kind, item_id, author_id, phase_id, text, at))
    for phase_id, events in posts.items():
        for why, burst in _bursts(events, t, t.posts):
            # The posts themselves, so the flag's card can show what was said (internal ids, never shown).
            users = {e.user_id for e in burst}
            items = [item for at, user_id, item in sorted(post_items[phase_id])
                     if user_id in users and burst[0].at <= at <= burst[-1].at]
            found.append(dict(kind="post_burst", signature=f"p:{phase_id}:{burst[0].at.isoformat()}",
                         phase_id=phase_id, first=burst[0].at, last=burst[-1].at,
                         detail={**_summary(why, burst), "items": items}))
    for group in near_duplicates([x[4] for x in texts], t.similarity):
        members = [texts[i] for i in group]
        authors = sorted({m[2] for m in members})
        if len(authors) < t.duplicate_accounts:
            continue
        items = sorted(f"{m[0]}:{m[1]}" for m in members)
        times = sorted(m[5] for m in members)
        found.append(dict(kind="duplicate_text", signature="d:" + ",".join(items), phase_id=members[0][3],
                     first=times[0], last=times[-1],
                     detail={"why": "same_text", "events": len(members), "accounts": len(authors),
                             "items": items, "user_ids": authors}))
    return found


_WORD = re.compile(r"[a-z0-9]+")


def _shingles(text: str) -> set[str]:
    """Word 3-shingles of the lower-cased text (single words for very short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + 3]) for i in range(len(words) - 2)}


def near_duplicates(texts: list[str], similarity: float = 0.8, bands: int = 10, rows: int = 2) -> list[list[int]]:
    """Groups (of two or more) of texts whose word-shingle Jaccard similarity is at least `similarity`.

    MinHash with banding finds candidate pairs without comparing every pair; each pair is then checked exactly.
    """
    sets = [_shingles(t) for t in texts]
    # Each distinct shingle is hashed once; the bands * rows hash functions are that hash XOR a fixed random mask
    # each (vectorised), not a keyed hash per shingle and function: that was 400,000 blake2b calls, 0.7 s, for
    # the demo's 1,400 texts on every visit to the page.
    masks = np.array([int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big")
                      for i in range(bands * rows)], dtype=np.uint64)
    codes: dict[str, int] = {}
    for shingles in sets:
        for shingle in shingles:
            codes.setdefault(shingle, len(codes))
    hashed = np.array([int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big") for s in codes],
                      dtype=np.uint64)
    buckets: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    for index, shingles in enumerate(sets):
        if not shingles:
            continue
        values = hashed[np.fromiter((codes[s] for s in shingles), dtype=np.intp, count=len(shingles))]
        signature = np.bitwise_xor(values[:, None], masks[None, :]).min(axis=0).tolist()
        for band in range(bands):
            buckets[(band, tuple(signature[band * rows:(band + 1) * rows]))].append(index)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in buckets.values():
        first = members[0]
        for other in members[1:]:
            a, b = sets[first], sets[other]
            if root(first) != root(other) and len(a & b) / len(a | b) >= similarity:
                parent[root(other)] = root(first)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        groups[root(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def flags_query(consultation_id: int, *, status: str = "open") -> Select[tuple[AnomalyFlag]]:
    """The statement for a consultation's flags with this status, newest first (for paging)."""
    return (select(AnomalyFlag).where(AnomalyFlag.consultation_id == consultation_id, AnomalyFlag.status == status)
            .order_by(AnomalyFlag.last_at.desc(), AnomalyFlag.id.desc()))


# ------------------------------------------------------------------------------- what the flags are about

EXCERPT_CHARS = 240
EXCERPTS_PER_FLAG = 5


@dataclass(frozen=True)
class Excerpt:
    """The start of a flagged contribution's text, for a facilitator to judge (never who wrote it)."""

    kind: str  # "idea" or "comment"
    item_id: int
    idea_id: int  # the idea page it is on
    title: str  # an idea's title; "" for a comment
    text: str  # "" when only the safeguarding team may read it
    state: str  # published, held, hidden or withdrawn
    case_id: int | None  # its moderation case, if it has one (and the viewer may open it)
    safeguarding: bool  # held for the safeguarding team


@dataclass(frozen=True)
class FlagTexts:
    """The excerpts shown on one flag's card, and how many more contributions it covers."""

    shown: list[Excerpt]
    more: int


def _short(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line, cut at a word boundary with an ellipsis when longer than the limit."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(",.;:") + "…"


def _targets(flag: AnomalyFlag) -> list[tuple[str, int]]:
    """The (kind, id) of every contribution a flag is about, as recorded when it was raised."""
    if flag.kind == "vote_burst":
        return [("idea", flag.idea_id)] if flag.idea_id else [("comment", flag.comment_id)] if flag.comment_id else []
    found = []
    for item in (flag.detail or {}).get("items", []):
        kind, _, number = str(item).partition(":")
        if kind in ("idea", "comment") and number.isdigit():
            found.append((kind, int(number)))
    return found


def flag_texts(session: Session, flags: list[AnomalyFlag], *, safeguard: bool) -> dict[int, FlagTexts]:
    """Excerpts of the contributions behind each flag on a page, read in one query.

    A post burst raised before flags recorded their posts is matched as the scan matched it: its accounts'
    posts in its phase between its first and last time. Text held for the safeguarding team is left out unless
    `safeguard`.
    """
    wanted: dict[int, list[tuple[str, int]]] = {}
    legacy: list[AnomalyFlag] = []
    ids: dict[str, set[int]] = {"idea": set(), "comment": set()}
    for flag in flags:
        if flag.kind == "post_burst" and "items" not in (flag.detail or {}):
            legacy.append(flag)
            continue
        targets = _targets(flag)
        wanted[flag.id] = targets
        for kind, item_id in targets[:EXCERPTS_PER_FLAG]:
            ids[kind].add(item_id)
    selects = []
    for model, kind in ((Idea, "idea"), (Comment, "comment")):
        conditions = [model.id.in_(sorted(ids[kind]))] if ids[kind] else []
        conditions += [and_(model.phase_id == f.phase_id, model.author_id.in_(f.detail.get("user_ids") or [-1]),
                            model.created_at.between(f.first_at, f.last_at)) for f in legacy]
        if not conditions:
            continue
        case_on = ModerationCase.idea_id == Idea.id if model is Idea else ModerationCase.comment_id == Comment.id
        selects.append(
            select(literal(kind).label("kind"), model.id.label("item_id"),
                   (Idea.id if model is Idea else Comment.idea_id).label("idea_id"),
                   (Idea.title if model is Idea else literal("")).label("title"), model.body.label("body"),
                   model.moderation_state.label("state"), model.author_id.label("author_id"),
                   model.phase_id.label("phase_id"), model.created_at.label("created_at"),
                   ModerationCase.id.label("case_id"), ModerationCase.restricted.label("restricted"))
            .outerjoin(ModerationCase, case_on).where(or_(*conditions)))
    rows = session.execute(union_all(*selects).order_by("created_at")).all() if selects else []
    by_target = {(r.kind, r.item_id): r for r in rows}

    def excerpt(row: Any) -> Excerpt:
        restricted = bool(row.restricted)
        hidden = restricted and not safeguard
        return Excerpt(kind=row.kind, item_id=row.item_id, idea_id=row.idea_id,
                       title="" if hidden else _short(row.title or "", 150), text="" if hidden else _short(row.body),
                       state=row.state, case_id=None if hidden else row.case_id, safeguarding=restricted)

    result: dict[int, FlagTexts] = {}
    for flag_id, targets in wanted.items():
        found = sorted((by_target[t] for t in targets[:EXCERPTS_PER_FLAG] if t in by_target),
                       key=lambda r: (r.created_at, r.item_id))
        result[flag_id] = FlagTexts([excerpt(r) for r in found], max(0, len(targets) - EXCERPTS_PER_FLAG))
    for flag in legacy:
        users = set(flag.detail.get("user_ids") or [])
        matched = [r for r in rows if r.phase_id == flag.phase_id and r.author_id in users
                   and flag.first_at <= r.created_at <= flag.last_at]
        result[flag.id] = FlagTexts([excerpt(r) for r in matched[:EXCERPTS_PER_FLAG]],
                                    max(0, len(matched) - EXCERPTS_PER_FLAG))
    return result


def decide(session: Session, actor: User, flag: AnomalyFlag, action: str, reason: str | None,
           *, now: datetime | None = None) -> int:
    """Exclude a flagged burst's votes from the analysis, dismiss the flag, or reopen a decided one (its votes
    count again); returns votes excluded, or for a reopening the votes that count again."""
    now = now or utcnow()
    text = " ".join((reason or "").split())
    errors = {}
    if action not in ("exclude", "dismiss", "reopen"):
        errors["action"] = "Choose what to do"
    if not text:
        errors["reason"] = ("Enter why you are reopening it" if action == "reopen" else
                            "Enter the reason for your decision")
    elif len(text) > REASON_MAX:
        errors["reason"] = f"The reason must be {REASON_MAX} characters or fewer"
    if errors:
        raise Invalid("There is a problem", errors)
    if action == "reopen":
        return _reopen(session, actor, flag, text)
    if flag.status != "open":
        raise Conflict("This flag has already been decided.")
    excluded = 0
    if action == "exclude":
        if flag.kind != "vote_burst":
            raise Conflict("Only flagged votes can be excluded; send posts to the moderation queue instead.")
        target = {"idea_id": flag.idea_id} if flag.idea_id else {"comment_id": flag.comment_id}
        column = VoteExclusion.idea_id if flag.idea_id else VoteExclusion.comment_id
        item_id = flag.idea_id or flag.comment_id
        already = set(session.scalars(select(VoteExclusion.voter_id).where(column == item_id)))
        for voter_id in flag.detail.get("user_ids", []):
            if voter_id not in already:
                session.add(VoteExclusion(flag_id=flag.id, voter_id=voter_id, created_at=now, **target))
                excluded += 1
        flag.status = "excluded"
    else:
        flag.status = "dismissed"
    flag.decision_reason, flag.decided_by_id, flag.decided_at = text, actor.id, now
    audit.record(session, actor, f"anomaly.{action}", "anomaly_flag", flag.id, kind=flag.kind, reason=text,
                 votes_excluded=excluded)
    session.flush()
    return excluded


def _reopen(session: Session, actor: User, flag: AnomalyFlag, text: str) -> int:
    """Put a decided flag back in the waiting list; votes it left out of analyses count again."""
    if flag.status == "open":
        raise Conflict("This flag is already waiting for a decision.")
    restored = session.execute(delete(VoteExclusion).where(VoteExclusion.flag_id == flag.id)).rowcount or 0
    audit.record(session, actor, "anomaly.reopen", "anomaly_flag", flag.id, kind=flag.kind, reason=text,
                 from_status=flag.status, votes_restored=restored)
    flag.status, flag.decision_reason, flag.decided_by_id, flag.decided_at = "open", None, None, None
    session.flush()
    return restored


def excluded_counts(session: Session, flag_ids: list[int]) -> dict[int, int]:
    """How many votes each of these flags leaves out of analyses now."""
    if not flag_ids:
        return {}
    return dict(session.execute(select(VoteExclusion.flag_id, func.count()).where(VoteExclusion.flag_id.in_(flag_ids))
                                .group_by(VoteExclusion.flag_id)).all())


def excluded_votes(session: Session) -> set[tuple[int, str]]:
    """(voter id, "i<id>" or "c<id>") pairs left out of analyses."""
    return {(voter_id, f"i{idea_id}" if idea_id is not None else f"c{comment_id}")
            for voter_id, idea_id, comment_id in session.execute(
                select(VoteExclusion.voter_id, VoteExclusion.idea_id, VoteExclusion.comment_id))}
