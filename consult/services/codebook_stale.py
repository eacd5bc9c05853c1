"""Stale pages in the codebook: a form carries the version it was drawn from ("seen"); a save that would overwrite
or miss someone else's change since is refused (``Stale``), with what changed and the person's text kept."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Codebook, CodebookChange, CodebookTheme
from .errors import Conflict
from .text import plural


class Stale(Conflict):
    """A page drawn from an older version would overwrite or miss someone else's change, so nothing was saved."""

    # fields: form field -> what clashed there. values: what to put back in the form (the person's text where it
    # clashed, the current text where they left a field alone). seen: the current stamp, so saving again from the
    # refusal page, which shows the current version, goes through. moved_to: where the theme's contributions went.
    # gone: the theme the page showed no longer exists. headline: the message in a line, for the error summary.
    def __init__(self, message: str, *, fields: dict[str, str] | None = None, values: dict[str, str] | None = None,
                 seen: str = "", moved_to: CodebookTheme | None = None, gone: bool = False, headline: str = "") -> None:
        super().__init__(message)
        self.fields, self.values, self.seen = fields or {}, values or {}, seen
        self.moved_to, self.gone, self.headline = moved_to, gone, headline or message


def fingerprint(text: str | None) -> str:
    """A short fingerprint of a text, to tell whether it changed without carrying it in the page."""
    return hashlib.sha256((text or "").replace("\r\n", "\n").strip().encode()).hexdigest()[:12]


def stamp(theme: CodebookTheme) -> str:
    """What a theme page is drawn from, for its forms' hidden "seen" field: version, state, name and summary."""
    return f"{theme.codebook.version}.{theme.state}.{fingerprint(theme.label)}.{fingerprint(theme.summary)}"


def _read_stamp(seen: str | None) -> tuple[int, str, str, str] | None:
    """The version, state and fingerprints a form was drawn from, or None when it does not say (or is garbled)."""
    parts = (seen or "").split(".")
    if len(parts) != 4 or not (parts[0].isascii() and parts[0].isdigit()) or len(parts[0]) > 18:
        return None
    return int(parts[0]), parts[1], parts[2], parts[3]


def lock(session: Session, codebook: Codebook, *themes: CodebookTheme) -> None:
    """Queue behind any other change to this codebook, then read it and these themes afresh."""
    # On PostgreSQL two saves could otherwise both compare with the old version and both write; SQLite's writers
    # already queue (BEGIN IMMEDIATE), and there the row lock is left out.
    session.execute(select(Codebook.id).where(Codebook.id == codebook.id).with_for_update())
    for item in (codebook, *themes):
        session.expire(item)


def _touched(change: CodebookChange) -> set[int]:
    """The themes a change touched."""
    before, detail = change.before or {}, change.detail or {}
    ids = {row["id"] for row in before.get("themes", [])} | set(before.get("created") or [])
    return ids | {v for k, v in detail.items() if k in ("theme", "merged", "source", "target", "new_theme")
                  and isinstance(v, int)}


def _what_changed(session: Session, theme: CodebookTheme, since: int) -> str:
    """The changes to this theme after version `since`, in the words of the history page."""
    rows = list(session.scalars(select(CodebookChange).where(
        CodebookChange.codebook_id == theme.codebook_id, CodebookChange.version > since)
        .order_by(CodebookChange.version.desc()).limit(200)))
    undid = {c.detail.get("undid") for c in rows if c.action == "undo" and c.detail}
    originals = {c.version: c for c in session.scalars(select(CodebookChange).where(
        CodebookChange.codebook_id == theme.codebook_id, CodebookChange.version.in_(undid)))} if undid else {}
    found = [c.description for c in reversed(rows)
             if theme.id in _touched(originals.get(c.detail.get("undid"), c) if c.action == "undo" else c)]
    if not found:
        return "see the history of changes"
    return (f"{len(found) - 3} earlier changes, then " if len(found) > 3 else "") + "; ".join(found[-3:])


def stale(session: Session, theme: CodebookTheme, drawn: tuple[int, str, str, str] | None,
           ending: str = "Your text is below: check it against the current version and save again.",
           **kwargs: Any) -> Stale:
    """The refusal for a page drawn before someone else changed this theme."""
    opening = ("This theme was changed by someone else since you opened this page" if drawn else
               "This page did not say which version of the theme it showed, so it may be out of date")
    what = _what_changed(session, theme, drawn[0] if drawn else theme.codebook.version - 3)
    return Stale(f"{opening} (now version {theme.codebook.version}: {what}). {ending}", seen=stamp(theme),
                 headline=f"{opening}: nothing was saved", **kwargs)


def destination(session: Session, theme: CodebookTheme) -> CodebookTheme | None:
    """Where a merged theme's contributions are now (following merges of merges), or None if unknown."""
    dest, passed = theme, set()
    while dest.state == "merged" and dest.merged_into_id and dest.id not in passed:
        passed.add(dest.id)
        dest = session.get(CodebookTheme, dest.merged_into_id) or dest
    return dest if dest.id != theme.id else None


def merged(session: Session, theme: CodebookTheme, field: str = "", **kwargs: Any) -> Stale:
    """The refusal for a page acting on a theme merged into another meanwhile (this page's, or the `field` one)."""
    dest = destination(session, theme)
    change = next((c for c in session.scalars(select(CodebookChange).where(
        CodebookChange.codebook_id == theme.codebook_id, CodebookChange.action == "merge",
        CodebookChange.undone_by_version.is_(None)).order_by(CodebookChange.version.desc()))
        if (c.detail or {}).get("merged") == theme.id), None)
    when = f" (version {change.version})" if change else ""
    went = f"Its contributions are now in “{dest.label}”." if dest else "Its contributions went to another theme."
    headline = f"“{theme.label}” was merged into another theme since you opened this page: nothing was saved"
    if field:
        return Stale(f"“{theme.label}” was merged into another theme{when} since you opened this page. {went} "
                     "Choose another theme.", fields={field: f"“{theme.label}” is no longer in use: choose another"},
                     moved_to=dest, headline=headline, **kwargs)
    return Stale(f"“{theme.label}” was merged into another theme{when} since you opened this page, so it can no "
                 f"longer be changed. {went} Your text is below, so you can copy it.", moved_to=dest,
                 headline=headline, **kwargs)


def gone(session: Session, codebook: Codebook, theme_id: int, since: int = 0) -> Stale | None:
    """Why a theme of this codebook no longer exists (an undone split made it) if that happened after `since`."""
    for change in session.scalars(select(CodebookChange).where(
            CodebookChange.codebook_id == codebook.id, CodebookChange.action == "split",
            CodebookChange.undone_by_version > since).order_by(CodebookChange.version.desc())):
        if theme_id in ((change.before or {}).get("created") or []):
            source = session.get(CodebookTheme, (change.detail or {}).get("theme"))
            went = f"its contributions went back to “{source.label}”" if source else "its contributions went back"
            return Stale(f"This theme no longer exists: version {change.undone_by_version} undid the split that made "
                         f"it (version {change.version}), and {went}.",
                         moved_to=source, gone=True)
    return None


def fresh(session: Session, theme: CodebookTheme, seen: str | None, *, active: bool = True,
           also: tuple[CodebookTheme, ...] = (), **kwargs: Any) -> tuple[int, str, str, str] | None:
    """Lock and read afresh (with `also`); Stale if the theme was merged, deleted or (`active`) put out of scope."""
    lock(session, theme.codebook, theme, *also)
    drawn = _read_stamp(seen)
    if drawn and (deleted := gone(session, theme.codebook, theme.id, since=drawn[0])):
        raise deleted  # the id was used again for a newer theme: not the one the page showed
    if theme.state == "merged":
        raise merged(session, theme, **kwargs)
    if active and theme.state != "active":
        raise stale(session, theme, drawn, fields={"contributions": "This theme has been marked out of scope: bring "
                                                                      "it back into scope to change it"}, **kwargs)
    return drawn


def still_members(session: Session, theme: CodebookTheme, contributions: list[str], seen: str,
                   also: tuple[CodebookTheme, ...] = ()) -> None:
    """Stale when a page drawn earlier acts on a theme no longer in use, or on contributions no longer in it."""
    drawn = fresh(session, theme, seen, also=also)
    members = {m.contribution for m in theme.members}
    missing = [c for c in dict.fromkeys(contributions) if c not in members]
    if missing:
        named = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise stale(session, theme, drawn, fields={"contributions": f"{named} {'is' if len(missing) == 1 else 'are'}"
                                                                     " no longer in this theme: tick them again"})


def stale_choices(session: Session, gone_themes: list[CodebookTheme], choices: dict[str, str]) -> Stale:
    """The refusal for choices of themes no longer in use: what happened to each, and the choices to show again."""
    kept, said = dict(choices), []
    for theme in gone_themes:
        moved_to = destination(session, theme)
        mine = [c for c, v in choices.items() if v == str(theme.id)]
        if moved_to is not None and moved_to.state == "active":
            said.append(f"“{theme.label}” was merged into “{moved_to.label}”: your "
                        f"{plural(len(mine), 'choice')} of it now {'say' if len(mine) != 1 else 'says'} "
                        f"“{moved_to.label}”")
            kept.update({c: str(moved_to.id) for c in mine})
        else:
            state = "put out of scope" if theme.state == "out_of_scope" else "taken out of use"
            said.append(f"“{theme.label}” was {state}: choose again for {plural(len(mine), 'contribution')}")
            kept.update({c: "" for c in mine})
    message = ("Someone changed the codebook since you opened this page, so nothing was saved. "
               + "; ".join(said) + ". Check the choices below and save again.")
    return Stale(message, values=kept, headline="The codebook changed since you opened this page")
