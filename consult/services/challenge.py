"""Check and challenge, and "What we heard": codebook themes go back to participants.

A published statement is an ordinary idea (so its page, votes and comments work unchanged) under a topic of a
later phase, linked to the codebook theme, the codebook version and the contributions it stands for. Per
statement, people *endorse* it (support votes), *challenge* it (votes against) or *add to* it (comments and
replies). "What we heard" pages are written by facilitators per phase, from the codebook's themes, with the
anonymous quotes analysts chose for each theme (codebook_quotes). The editor carries a stamp of
the saved page it was drawn from, so a save from an older tab keeps what others saved since, or is refused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Codebook,
    CodebookMember,
    CodebookTheme,
    Comment,
    HeardPage,
    HeardTheme,
    Idea,
    Phase,
    Statement,
    Topic,
    User,
    utcnow,
)
from . import audit
from .codebook import Stale, contribution_texts, fingerprint, for_consultation
from .errors import Conflict, Invalid, NotFound
from .quotes import same_words

INTRO_MAX = 5000
QUOTES_PER_THEME = 3
INVITATION = ("This is one of the themes from what people said earlier in this consultation. Is it right? "
              "Say whether this summary is right or not, or comment to challenge it or add what is missing.")

# What a vote means, in words: on an idea or comment people support it or are against it; on an emerging theme
# (a statement) they check the team's summary, so the same up and down votes say it is right or not right.
VOTE_WORDS: dict[str, dict[str, dict[int, str]]] = {
    "idea": {"buttons": {1: "Support", -1: "Against"}, "counts": {1: "support", -1: "against"},
             "mine": {1: "(you support this)", -1: "(you are against this)"},
             "saved": {1: "You support this.", -1: "You are against this.", 0: "Your vote has been withdrawn."}},
    "summary": {"buttons": {1: "This is right", -1: "This is not right"},
                "counts": {1: "say this is right", -1: "say it is not right"},
                "mine": {1: "(you said this is right)", -1: "(you said this is not right)"},
                "saved": {1: "You said this summary is right.", -1: "You said this summary is not right.",
                          0: "Your vote has been withdrawn."}},
}


def is_statement(session: Session, kind: str, item_id: int) -> bool:
    """Whether this votable item is an emerging theme the team published (a statement)."""
    return kind == "idea" and session.scalar(select(Statement.idea_id).where(Statement.idea_id == item_id)) is not None


def _themes(session: Session, book: Codebook, theme_ids: list[int]) -> list[CodebookTheme]:
    """The chosen themes of this codebook that are in use, in codebook order; NotFound for any other."""
    themes = {t.id: t for t in book.themes}
    if any(t not in themes for t in theme_ids):
        raise NotFound("One of the chosen themes is not in this codebook.")
    chosen = [themes[t] for t in dict.fromkeys(theme_ids)]
    for theme in chosen:
        if theme.state != "active":
            raise Conflict(f"“{theme.label}” is {theme.state.replace('_', ' ')}, so it cannot be published.")
    return sorted(chosen, key=lambda t: t.position)


def publish_statements(session: Session, *, actor: User, topic: Topic, theme_ids: list[int]) -> list[Idea]:
    """Publish chosen themes (label and summary) as statements under a topic of an open or coming phase."""
    phase = topic.phase
    book = for_consultation(session, phase.consultation_id)
    if book is None:
        raise Conflict("This consultation has no codebook yet, so there are no themes to publish.")
    if phase.state == "closed":
        raise Conflict("That phase is closed: publish statements into an open or coming phase.")
    if not theme_ids:
        raise Invalid("There is a problem", {"themes": "Choose at least one theme to publish"})
    chosen = _themes(session, book, theme_ids)
    for theme in chosen:
        if not theme.summary.strip():
            raise Invalid("There is a problem", {"themes": f"Write a summary for “{theme.label}” before publishing it"})
    already = set(session.scalars(select(Statement.theme_id).join(Idea, Idea.id == Statement.idea_id)
                                  .where(Idea.phase_id == phase.id)))
    repeated = [t.label for t in chosen if t.id in already]
    if repeated:
        raise Conflict(f"“{repeated[0]}” is already a statement in this phase.")
    now = utcnow()
    ideas = []
    for theme in chosen:
        idea = Idea(topic_id=topic.id, phase_id=phase.id, title=theme.label[:150],
                    body=f"{theme.summary}\n\n{INVITATION}", author_id=None, entered_by_id=actor.id,
                    channel="online", author_category=None, created_at=now, visible_from=now,
                    moderation_state="published")
        session.add(idea)
        session.flush()
        session.add(Statement(idea_id=idea.id, theme_id=theme.id, codebook_version=book.version,
                              contributions=[m.contribution for m in theme.members], published_by_id=actor.id))
        audit.record(session, actor, "statement.publish", "idea", idea.id, theme_id=theme.id,
                     codebook_version=book.version, phase_id=phase.id)
        ideas.append(idea)
    return ideas


def statement_results(session: Session, consultation_id: int) -> list[dict[str, Any]]:
    """Per statement: how many endorse (support), challenge (vote against) and add to it (comments)."""
    rows = session.execute(
        select(Statement, Idea, CodebookTheme.label, Phase.position, Phase.title)
        .join(Idea, Idea.id == Statement.idea_id).join(CodebookTheme, CodebookTheme.id == Statement.theme_id)
        .join(Phase, Phase.id == Idea.phase_id).where(Phase.consultation_id == consultation_id)
        .order_by(Phase.position, Idea.id)).all()
    ideas = [idea.id for _, idea, *_ in rows]
    comments = Counter(dict(session.execute(
        select(Comment.idea_id, func.count()).where(Comment.idea_id.in_(ideas), Comment.moderation_state == "published")
        .group_by(Comment.idea_id)).all())) if ideas else Counter()
    people = dict(session.execute(
        select(Comment.idea_id, func.count(func.distinct(Comment.author_id)))
        .where(Comment.idea_id.in_(ideas), Comment.moderation_state == "published").group_by(Comment.idea_id)
    ).all()) if ideas else {}
    return [{"statement": statement, "idea": idea, "label": label, "phase": title,
             "endorse": idea.up_count, "challenge": idea.down_count, "add": comments.get(idea.id, 0),
             "add_people": people.get(idea.id, 0), "seen": idea.impression_count}
            for statement, idea, label, position, title in rows]


# ------------------------------------------------------------------------------------------ what we heard


def heard_page(session: Session, phase: Phase) -> HeardPage | None:
    """A phase's "What we heard" page, published or not."""
    return session.scalar(select(HeardPage).where(HeardPage.phase_id == phase.id))


def phase_counts(session: Session, themes: list[CodebookTheme], phase_id: int) -> dict[int, int]:
    """How many of each theme's contributions came from this phase (to choose a phase's themes by)."""
    members = session.execute(select(CodebookMember.theme_id, CodebookMember.contribution)
                              .where(CodebookMember.theme_id.in_([t.id for t in themes]))).all()
    texts = contribution_texts(session, {contribution for _, contribution in members})
    counts = Counter(theme for theme, contribution in members
                     if contribution in texts and texts[contribution]["phase_id"] == phase_id)
    return {t.id: counts[t.id] for t in themes}


# A saved page in parts, as the editor's stamp and the merge see it: "i" the introduction, "o" what we did, "p"
# published ("y") or not (""), and "t<theme id>" what was done about each theme shown (absent: not shown).
PART_FIELDS = {"i": "introduction", "o": "outcome", "p": "publish"}


def _parts(page: HeardPage | None) -> dict[str, str]:
    """The saved page in parts (an unsaved page is empty)."""
    if page is None:
        return {"i": "", "o": "", "p": ""}
    parts = {"i": page.introduction, "o": page.outcome, "p": "y" if page.is_published else ""}
    parts.update((f"t{entry.theme_id}", entry.action) for entry in page.themes)
    return parts


def heard_stamp(page: HeardPage | None) -> str:
    """What the editor is drawn from, for its hidden "seen" field: a fingerprint of each saved part."""
    return ".".join(f"{key}={fingerprint(value)}" for key, value in _parts(page).items())


def heard_values(page: HeardPage | None, parts: dict[str, str] | None = None) -> dict[str, Any]:
    """What the editor shows: the saved page's parts (or the given parts) as its boxes and ticks."""
    parts = _parts(page) if parts is None else parts
    actions = {k[1:]: v for k, v in parts.items() if k.startswith("t")}
    return {"introduction": parts.get("i", ""), "outcome": parts.get("o", ""), "themes": list(actions),
            "publish": bool(parts.get("p")), "actions": actions}


def _read_heard_stamp(seen: str | None) -> dict[str, str] | None:
    """The fingerprints an editor was drawn from, or None when it does not say (or is garbled)."""
    pairs = [part.partition("=") for part in (seen or "").split(".")]
    if not seen or len(seen) > 100_000 or any(not key or not sep for key, sep, _ in pairs):
        return None
    return {key: value for key, _, value in pairs}


def describe(session: Session, keys: list[str]) -> str:
    """Changed parts of a page, in words ("the introduction and the theme “Waiting times”")."""
    ids = {k: int(k[1:]) for k in keys if k.startswith("t") and k[1:].isdigit()}
    labels = dict(session.execute(select(CodebookTheme.id, CodebookTheme.label)
                                  .where(CodebookTheme.id.in_(ids.values()))).all()) if ids else {}
    words = {"i": "the introduction", "o": "what we did", "p": "whether it is published"}
    said = [words.get(k) or f"the theme “{labels.get(ids.get(k, 0), 'no longer in use')}”" for k in keys]
    return ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else "".join(said)


def _clash(session: Session, key: str, now: dict[str, str]) -> tuple[str, str]:
    """The form field where a part clashed, and what to say beside it."""
    if key in PART_FIELDS:
        what = {"i": "the introduction", "o": "what we did", "p": "whether the page is published"}[key]
        return PART_FIELDS[key], f"Someone else changed {what} (saved version shown above the box): check yours"
    theme = session.get(CodebookTheme, int(key[1:])) if key[1:].isdigit() else None
    name = f"“{theme.label}”" if theme else "a theme"
    state = "shows" if key in now else "no longer shows"
    return f"action_{key[1:]}", f"Someone else changed {name}: the saved page {state} it (shown above the box)"


def _merge_heard(session: Session, page: HeardPage | None, seen: str | None,
                 typed: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The typed parts merged with what was saved since the editor was drawn, and the parts kept from that."""
    # A part saved since that the editor left alone is kept; a part both changed differently refuses the save
    # (Stale) with the typed text to show back. Nothing saved yet: nothing to lose.
    if page is None:
        return typed, []
    drawn = _read_heard_stamp(seen)
    now = _parts(page)
    merged, clashes, kept = {}, [], []
    for key in dict.fromkeys([*now, *typed, *(drawn or {})]):
        old = (drawn or {}).get(key) if drawn is not None else "?"  # "?": not known, so any difference clashes
        mine, theirs = typed.get(key), now.get(key)
        fp_mine, fp_theirs = (fingerprint(v) if v is not None else None for v in (mine, theirs))
        if fp_theirs == old or fp_mine == fp_theirs:
            value = mine  # nobody else changed it, or they made the same change
        elif fp_mine == old:
            value = theirs  # only they changed it: keep theirs
            kept.append(key)
        else:
            value = mine
            clashes.append(key)
        if value is not None:
            merged[key] = value
    if clashes:
        changed = [k for k in dict.fromkeys([*now, *(drawn or {})])
                   if drawn is not None and (fingerprint(now[k]) if k in now else None) != drawn.get(k)]
        who = session.get(User, page.updated_by_id) if page.updated_by_id else None
        by = f"last saved by {who.email}" if who else "last saved by someone else"
        opening = ("This page was changed by someone else since you opened it" if drawn is not None else
                   "This page did not say which version it was drawn from, so it may be out of date")
        what = f": they changed {describe(session, changed)}" if changed else ""
        raise Stale(f"{opening} ({by}{what}). Your text is below: check it against the saved version and save "
                    "again.", values=merged, seen=heard_stamp(page), headline=f"{opening}: nothing was saved",
                    fields=dict(_clash(session, k, now) for k in clashes))
    return merged, kept


def save_heard(session: Session, *, actor: User, phase: Phase, introduction: str | None, outcome: str | None,
               theme_ids: list[int], actions: dict[int, str], publish: bool,
               seen: str | None = None) -> tuple[HeardPage, list[str]]:
    """Write a phase's "What we heard" page from an editor drawn at `seen`; returns it and the parts kept."""
    book = for_consultation(session, phase.consultation_id)
    if book is None:
        raise Conflict("This consultation has no codebook yet, so there are no themes to report.")
    kept_parts: list[str] = []
    if seen is not None:
        # Queue behind another save of this page (PostgreSQL; SQLite's writers already queue), then read it afresh.
        session.execute(select(Phase.id).where(Phase.id == phase.id).with_for_update())
        for item in [o for o in session.identity_map.values() if isinstance(o, HeardPage | HeardTheme)]:
            session.expire(item)
        typed = {"i": introduction or "", "o": outcome or "", "p": "y" if publish else ""}
        typed.update((f"t{i}", actions.get(i) or "") for i in theme_ids)
        merged, kept_parts = _merge_heard(session, heard_page(session, phase), seen, typed)
        introduction, outcome, publish = merged["i"], merged["o"], bool(merged["p"])
        actions = {int(k[1:]): v for k, v in merged.items() if k.startswith("t")}
        theme_ids = list(actions)
    intro = (introduction or "").strip()
    done = (outcome or "").strip()
    errors = {}
    if len(intro) > INTRO_MAX:
        errors["introduction"] = f"The introduction must be {INTRO_MAX:,} characters or fewer"
    if len(done) > INTRO_MAX:
        errors["outcome"] = f"What was done must be {INTRO_MAX:,} characters or fewer"
    if publish and not theme_ids:
        errors["themes"] = "Choose at least one theme to show"
    if publish and not intro:
        errors["introduction"] = "Write an introduction before publishing the page"
    if errors:
        raise Invalid("There is a problem", errors)
    chosen = _themes(session, book, theme_ids)
    page = heard_page(session, phase)
    if page is None:
        page = HeardPage(phase_id=phase.id)
        session.add(page)
    page.introduction, page.outcome, page.is_published = intro, done, publish
    page.codebook_version, page.updated_by_id, page.updated_at = book.version, actor.id, utcnow()
    # Keep the rows of themes that stay (a unique key on page and theme), drop the rest, then add new ones.
    kept = {entry.theme_id: entry for entry in page.themes if entry.theme_id in {t.id for t in chosen}}
    page.themes = list(kept.values())
    session.flush()
    for n, theme in enumerate(chosen, start=1):
        entry = kept.get(theme.id)
        if entry is None:
            entry = HeardTheme(theme_id=theme.id)
            page.themes.append(entry)
        entry.position, entry.action = n, (actions.get(theme.id) or "").strip()[:INTRO_MAX]
    session.flush()
    detail = {"themes": [t.id for t in chosen], "codebook_version": book.version}
    if publish:
        audit.record(session, actor, "heard.publish", "phase", phase.id, **detail)
    else:
        audit.record(session, actor, "heard.save", "phase", phase.id, **detail)
    return page, kept_parts


def heard_view(session: Session, page: HeardPage) -> list[dict[str, Any]]:
    """The page's themes with summaries, the quotes analysts chose ("Anon, June 2021, <phase>") and statements."""
    from .codebook_quotes import quotes as chosen_quotes

    entries = list(page.themes)
    book = entries[0].theme.codebook if entries else None
    # Only quotes a person chose: no rule can tell that a reply names a neighbour or points to the one person
    # in a role. This page's conversation first (it reports that one), each set of words once.
    picked = chosen_quotes(session, book, {e.theme.id: [m.contribution for m in e.theme.members]
                                           for e in entries}) if book is not None else {}
    shown = []
    for entry in entries:
        theme = entry.theme
        ranked = sorted(enumerate(picked.get(theme.id, [])), key=lambda q: (q[1]["phase_id"] != page.phase_id, q[0]))
        quotes: dict[str, dict[str, Any]] = {}
        for _, quote in ranked:
            if len(quotes) < QUOTES_PER_THEME:
                quotes.setdefault(same_words(quote["text"]), quote)
        statements = session.execute(
            select(Idea.id, Idea.up_count, Idea.down_count, Phase.title)
            .join(Statement, Statement.idea_id == Idea.id).join(Phase, Phase.id == Idea.phase_id)
            .where(Statement.theme_id == theme.id, Idea.moderation_state == "published")).all()
        shown.append({"label": theme.label, "summary": theme.summary, "action": entry.action,
                      "quotes": list(quotes.values()), "size": len(theme.members), "statements": statements})
    return shown


def published_pages(session: Session, consultation_id: int | None = None) -> list[tuple[HeardPage, Phase]]:
    """Published "What we heard" pages (of one consultation, or all), in phase order."""
    query = select(HeardPage, Phase).join(Phase, Phase.id == HeardPage.phase_id).where(HeardPage.is_published)
    if consultation_id is not None:
        query = query.where(Phase.consultation_id == consultation_id)
    return [tuple(row) for row in session.execute(query.order_by(Phase.consultation_id, Phase.position))]  # type: ignore[misc]


def pages_for_participant(session: Session, user: User) -> list[tuple[HeardPage, Phase]]:
    """Published pages of the phases this person contributed to or voted in."""
    from ..models import Vote

    phase_ids = set(session.scalars(select(Idea.phase_id).where(Idea.author_id == user.id).distinct()))
    phase_ids |= set(session.scalars(select(Comment.phase_id).where(Comment.author_id == user.id).distinct()))
    phase_ids |= set(session.scalars(select(Idea.phase_id).join(Vote, Vote.idea_id == Idea.id)
                                     .where(Vote.voter_id == user.id).distinct()))
    if not phase_ids:
        return []
    return [(page, phase) for page, phase in published_pages(session) if phase.id in phase_ids]
