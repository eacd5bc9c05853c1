"""Quotes for the strategy: the contributions analysts choose to quote for each codebook theme.

Choosing is a numbered codebook change ("quote") whose detail holds the theme's whole list of quotes after it,
so History shows it, undo takes it back like any other change, and no table of its own is needed: a theme's
quotes are those of its newest change of this kind that is not undone. A merge, split or move carries the quotes
of the contributions it moves to the theme they land in (up to QUOTES_MAX; its description says which were not
kept) in its own detail, so undoing it gives every theme back the quotes it had. Only contributions a person has read
and chosen go on the public "What we heard" page, because no rule can tell that "My neighbour Zoë had this
too" names someone, or that "the only Black AHP in a senior role in my trust" points to one person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Codebook, CodebookChange, CodebookTheme, Phase, User
from .codebook import record_change
from .codebook_stale import lock, still_members
from .contribution_texts import contribution_texts
from .errors import Invalid
from .phase_names import attribution
from .text import plural

QUOTES_MAX = 5
QUOTE_LENGTH = 400


# The changes that can set a theme's quotes: choosing them, and the changes that carry them to another theme.
CARRIERS = ("merge", "split", "move")


def chosen(session: Session, codebook: Codebook) -> dict[int, list[str]]:
    """Each theme's chosen quotes (contribution ids, in the order chosen), as its newest change of them left them."""
    found: dict[int, list[str]] = {}
    for action, detail in session.execute(select(CodebookChange.action, CodebookChange.detail).where(
            CodebookChange.codebook_id == codebook.id, CodebookChange.action.in_(("quote", *CARRIERS)),
            CodebookChange.undone_by_version.is_(None)).order_by(CodebookChange.version.desc())):
        detail = detail or {}
        lists = [detail] if action == "quote" else detail.get("quoted") or []
        for entry in lists:
            theme_id = entry.get("theme")
            if isinstance(theme_id, int) and theme_id not in found:
                found[theme_id] = [str(c) for c in entry.get("quotes") or []]
    return found


@dataclass(frozen=True)
class Carried:
    """Quotes a merge, split or move takes to the theme the contributions land in: stored in the change's detail."""

    quoted: list[dict[str, Any]]
    kept: list[str]
    dropped: list[str]
    note: str


def carry(session: Session, codebook: Codebook, *, target: CodebookTheme | None, label: str,
          sources: list[CodebookTheme], moving: set[str]) -> Carried | None:
    """The quotes of `moving` contributions chosen for `sources` follow them to `target` (None: a theme not made
    yet, added by the caller), after the target's own, up to QUOTES_MAX; None when no quote moves."""
    picked = chosen(session, codebook)
    members = {m.contribution for m in target.members} if target is not None else set()
    have = [c for c in picked.get(target.id, []) if c in members] if target is not None else []
    incoming: list[str] = []
    quoted: list[dict[str, Any]] = []
    for source in sources:
        theirs = picked.get(source.id, [])
        going = [c for c in theirs if c in moving]
        if going:
            quoted.append({"theme": source.id, "quotes": [c for c in theirs if c not in going]})
            incoming += [c for c in going if c not in have and c not in incoming]
    if not incoming:
        return None
    room = max(QUOTES_MAX - len(have), 0)
    kept, dropped = incoming[:room], incoming[room:]
    if target is not None:
        quoted.append({"theme": target.id, "quotes": have + kept})
    note = f"“{label}” now quotes {_ids(have + kept)}" if kept else f"“{label}” keeps its {len(have)} quotes"
    if dropped:
        note += (f"; {_ids(dropped)} {'is' if len(dropped) == 1 else 'are'} no longer quoted, as a theme has up to "
                 f"{QUOTES_MAX}")
    return Carried(quoted=quoted, kept=kept, dropped=dropped, note=note + ".")


def _ids(ids: list[str]) -> str:
    """ "i1, i2 and c3"."""
    return ids[0] if len(ids) == 1 else f"{', '.join(ids[:-1])} and {ids[-1]}"


def quotable(text: dict[str, Any] | None) -> bool:
    """Whether a contribution can be quoted: published, and (a comment) under a published idea."""
    return bool(text and text["published"] and (text["kind"] == "idea" or text["parent_published"]))


def _save(session: Session, *, actor: User, theme: CodebookTheme, quotes: list[str], description: str) -> None:
    """Record the theme's new list of quotes as a numbered change (undo gives back the list before it)."""
    record_change(session, theme.codebook, actor, "quote", description, {"themes": [], "created": []},
                  theme=theme.id, quotes=quotes)


def choose(session: Session, *, actor: User, theme: CodebookTheme, contributions: list[str], seen: str) -> int:
    """Quote the ticked contributions of a theme for the strategy; returns how many were added."""
    still_members(session, theme, contributions, seen)
    ticked = list(dict.fromkeys(contributions))
    if not ticked:
        raise Invalid("There is a problem", {"contributions": "Tick the contributions to quote"})
    texts = contribution_texts(session, ticked)
    hidden = [c for c in ticked if not quotable(texts.get(c))]
    if hidden:
        raise Invalid("There is a problem", {"contributions": f"{', '.join(hidden[:5])} "
                                                              f"{'is' if len(hidden) == 1 else 'are'} not published "
                                                              "(or answer an idea that is not), so cannot be quoted"})
    now = chosen(session, theme.codebook).get(theme.id, [])
    members = {m.contribution for m in theme.members}
    now = [c for c in now if c in members]  # quotes whose contribution has left the theme no longer count
    new = [c for c in ticked if c not in now]
    if not new:
        return 0
    if len(now) + len(new) > QUOTES_MAX:
        raise Invalid("There is a problem", {"contributions": f"A theme can have up to {QUOTES_MAX} quotes and "
                                                              f"“{theme.label}” has {len(now)}: tick fewer, or stop "
                                                              "quoting one first"})
    _save(session, actor=actor, theme=theme, quotes=now + new,
          description=f"Chose {', '.join(new)} to quote for “{theme.label}” ({plural(len(now) + len(new), 'quote')})")
    return len(new)


def drop(session: Session, *, actor: User, theme: CodebookTheme, contribution: str) -> bool:
    """Stop quoting a contribution for a theme; False when it was not quoted."""
    lock(session, theme.codebook, theme)
    now = chosen(session, theme.codebook).get(theme.id, [])
    if contribution not in now:
        return False
    _save(session, actor=actor, theme=theme, quotes=[c for c in now if c != contribution],
          description=f"Stopped quoting {contribution} for “{theme.label}”")
    return True


def quotes(session: Session, codebook: Codebook, members: dict[int, list[str]]) -> dict[int, list[dict[str, Any]]]:
    """The chosen quotes of themes (id -> its members) as shown: text, the idea a comment answers, and "Anon, June
    2021, <phase>". A quote is left out while its contribution is out of the theme or not public (the choice is
    kept, so it comes back if that is undone)."""
    picked = chosen(session, codebook)
    wanted = {theme_id: [c for c in picked.get(theme_id, []) if c in set(ids)] for theme_id, ids in members.items()}
    texts = contribution_texts(session, [c for ids in wanted.values() for c in ids])
    phases = {p.id: p for p in session.scalars(select(Phase).where(Phase.consultation_id == codebook.consultation_id))}
    shown: dict[int, list[dict[str, Any]]] = {}
    for theme_id, ids in wanted.items():
        shown[theme_id] = []
        for item in ids:
            text = texts.get(item)
            if not quotable(text) or text["phase_id"] not in phases:
                continue
            shown[theme_id].append({"id": item, "text": quote_text(text), "phase_id": text["phase_id"],
                                    "who": attribution(text["at"], phases[text["phase_id"]]),
                                    "context": text["parent_title"] if text["kind"] == "comment" else ""})
    return shown


def quote_text(text: dict[str, Any]) -> str:
    """The words quoted, shortened: an idea's title and body, or its body alone when that repeats the title."""
    body = text["text"]
    if text["kind"] == "idea" and "\n" in body:
        title, rest = body.split("\n", 1)
        body = rest if rest.lower().startswith(title.lower().rstrip(".!?")) else body
    return body if len(body) <= QUOTE_LENGTH else body[:QUOTE_LENGTH - 1].rstrip() + "…"
