"""The codebook rules: adopt a run's themes, curate them, number every change, undo (proposals: codebook_proposals).

Every change goes through ``record_change``: it bumps the codebook's version, stores who, when and what, and a
snapshot of the themes it touched (their fields and members) so ``undo`` can put them back exactly. Undo
takes back the newest change not yet undone (and is itself a numbered change), so history stays linear.
Theme pages carry a ``stamp`` of what they were drawn from, so an edit from a stale page never silently undoes
someone else's (``Stale``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import (
    AnalysisRun,
    Codebook,
    CodebookChange,
    CodebookMember,
    CodebookReviewed,
    CodebookTheme,
    Consultation,
    HeardTheme,
    Phase,
    Statement,
    User,
)
from ..models.codebook import LABEL_MAX, SUMMARY_MAX
from . import audit

# Stale, fingerprint and gone are also read from here by the pages and the What we heard service.
from .codebook_stale import Stale, fingerprint, fresh, gone, merged, stale, stamp, still_members  # noqa: F401
from .contribution_texts import contribution_texts  # noqa: F401  (read from here by the pages)
from .errors import Conflict, Invalid, NotFound
from .text import plural

# Every kind of numbered codebook change; each is audited as "codebook.<kind>".
CHANGES = ("edit", "merge", "split", "add", "move", "remove", "scope", "undo", "code", "quote")


def for_consultation(session: Session, consultation_id: int) -> Codebook | None:
    """The consultation's codebook, or None before one is adopted."""
    return session.scalar(select(Codebook).where(Codebook.consultation_id == consultation_id))


def theme_in(session: Session, codebook: Codebook, theme_id: int | None) -> CodebookTheme:
    """A theme of this codebook, or NotFound."""
    theme = session.get(CodebookTheme, theme_id) if theme_id is not None else None
    if theme is None or theme.codebook_id != codebook.id:
        raise NotFound("That theme is not in this codebook.")
    return theme


def _clean_label(label: str | None, field: str = "label") -> str:
    """A theme label, trimmed, or Invalid."""
    text = " ".join((label or "").split())
    if not text:
        raise Invalid("There is a problem", {field: "Enter a name for the theme"})
    if len(text) > LABEL_MAX:
        raise Invalid("There is a problem", {field: f"The name must be {LABEL_MAX} characters or fewer"})
    return text


def _unused_label(session: Session, codebook_id: int, label: str, field: str, *, theme_id: int | None = None) -> None:
    """Invalid when another theme in use in this codebook already has this name (any capitals).

    Two themes of one name cannot be told apart where the codebook is used: the lists a facilitator ticks to
    publish statements or write "What we heard", the export's Themes sheet, the evidence pack.
    """
    taken = session.scalar(select(CodebookTheme.id).where(
        CodebookTheme.codebook_id == codebook_id, CodebookTheme.state == "active",
        func.lower(CodebookTheme.label) == label.lower(),
        CodebookTheme.id != (theme_id if theme_id is not None else -1)).limit(1))
    if taken is not None:
        raise Invalid("There is a problem", {field: f"Another theme is already called “{label}”: choose a "
                                                    "different name, or merge the two themes"})


def _clean_summary(summary: str | None, field: str = "summary") -> str:
    """A theme summary, trimmed (may be empty), or Invalid."""
    text = (summary or "").strip().replace("\r\n", "\n")
    if len(text) > SUMMARY_MAX:
        raise Invalid("There is a problem", {field: f"The summary must be {SUMMARY_MAX:,} characters or fewer"})
    return text


# ------------------------------------------------------------------------------------------- adopting


# The engine's description opens with its figures ("47 contributions (3%) from 38 people, mostly negative, about
# X."): true of the engine's theme, stale once a merge, split or move changes the members, and the pages show the
# codebook's own live counts beside the summary anyway.
_FIGURES = re.compile(r"^[\d,]+ contributions? \(\d+%\) from [\d,]+ (?:people|person), [^,.]+"
                      r"(?:, about (?P<about>.+?))?\.(?:\s+|$)")


# ... and it ends with a typical example ("Typical: “...”"): one person's words, chosen by no one, without the
# month and conversation a quote carries. The summary is published on What we heard and as a statement, where
# only quotes an analyst chose may appear (codebook_quotes); the example stays on the analysis's theme page.
_TYPICAL = re.compile(r"\s*Typical: “[^”]*”\.?")


def adopted_summary(description: str) -> str:
    """A theme's starting summary from the engine's description, without its figures or example: "About X."."""
    found = _FIGURES.match(description)
    if found:
        about = found.group("about")
        description = (f"About {about}. " if about else "") + description[found.end():]
    return _TYPICAL.sub("", description).strip()


def adopt(session: Session, *, actor: User, consultation: Consultation, run: AnalysisRun) -> Codebook:
    """Make a finished run's themes the consultation's codebook (version 1), with their members."""
    if run.consultation_id != consultation.id or run.state != "done" or not run.result:
        raise Conflict("Only a finished analysis of this consultation can be adopted.")
    if for_consultation(session, consultation.id) is not None:
        raise Conflict("This consultation already has a codebook. Re-run the analysis and review the proposals "
                       "for new contributions instead.")
    codebook = Codebook(consultation_id=consultation.id, source_run_id=run.id, version=1, created_by_id=actor.id)
    session.add(codebook)
    engine_themes = run.result["themes"]["themes"]
    for position, found in enumerate(engine_themes, start=1):
        theme = CodebookTheme(position=position, label=_clean_label(found.get("label") or f"Theme {position}"),
                              summary=adopted_summary(found.get("description") or "")[:SUMMARY_MAX], state="active",
                              origin_run_id=run.id, origin_theme=int(found["id"]),
                              terms=list(found.get("terms") or [])[:12])
        theme.members = [CodebookMember(contribution=c, source="engine") for c in dict.fromkeys(found["contributions"])]
        codebook.themes.append(theme)
    # What the analysis set aside as saying nothing specific is adopted with its themes, as reviewed and fitting
    # none: it is not new, so it is not offered again as "new contributions to code".
    themed = {c for found in engine_themes for c in found["contributions"]}
    aside = dict.fromkeys(c for bucket in run.result["themes"].get("set_aside") or []
                          for c in bucket.get("contributions", []) if c not in themed)
    session.flush()
    session.add_all(CodebookReviewed(codebook_id=codebook.id, contribution=c) for c in aside)
    description = f"Adopted {len(engine_themes)} themes from analysis {run.id}"
    if aside:
        description += (f"; the {plural(len(aside), 'contribution')} it set aside as saying nothing specific "
                        "fit none of them")
    session.add(CodebookChange(codebook_id=codebook.id, version=1, actor_id=actor.id, action="adopt",
                               description=description,
                               detail={"run": run.id, "themes": len(engine_themes), "set_aside": len(aside)},
                               before=None))
    audit.record(session, actor, "codebook.adopt", "codebook", codebook.id, consultation_id=consultation.id,
                 run_id=run.id, version=1)
    return codebook


# ------------------------------------------------------------------------------------------- recording


def snapshot(themes: Iterable[CodebookTheme]) -> dict[str, Any]:
    """The fields and members of these themes, as undo restores them."""
    return {"themes": [{"id": t.id, "label": t.label, "summary": t.summary, "state": t.state,
                        "merged_into_id": t.merged_into_id, "position": t.position,
                        "members": [[m.contribution, m.source] for m in t.members]} for t in themes],
            "created": []}


def record_change(session: Session, codebook: Codebook, actor: User, action: str, description: str,
                  before: dict[str, Any] | None, **detail: Any) -> CodebookChange:
    """Number and store one change (and audit it)."""
    assert action in CHANGES, action
    codebook.version += 1
    change = CodebookChange(codebook_id=codebook.id, version=codebook.version, actor_id=actor.id, action=action,
                            description=description[:500], detail=detail, before=before)
    session.add(change)
    session.flush()
    audit.record(session, actor, f"codebook.{action}", "codebook", codebook.id, version=codebook.version, **detail)
    return change


def _set_members(theme: CodebookTheme, members: list[list[str]]) -> None:
    """Replace a theme's members (keeping the rows that stay, so ids and sources survive)."""
    wanted = {c: s for c, s in members}
    theme.members = [m for m in theme.members if m.contribution in wanted]
    have = {m.contribution for m in theme.members}
    theme.members.extend(CodebookMember(contribution=c, source=s) for c, s in members if c not in have)


def _carry(session: Session, codebook: Codebook, **where: Any) -> Any:
    """The chosen quotes that follow contributions a change moves (codebook_quotes.carry), or None."""
    from .codebook_quotes import carry  # it records its own changes through this module

    return carry(session, codebook, **where)


def _said(quotes: Any) -> str:
    """What became of the quotes, for the change's description (History, and the page's message)."""
    return f". Quotes: {quotes.note}" if quotes is not None else ""


def _stored(quotes: Any) -> dict[str, Any]:
    """The themes' quotes after the change, kept in its detail (undo drops them with it)."""
    return {"quoted": quotes.quoted, "quote_note": quotes.note, "quotes_dropped": quotes.dropped} \
        if quotes is not None else {}


def _next_position(session: Session, codebook: Codebook) -> int:
    """The position after the last theme."""
    return (session.scalar(select(func.max(CodebookTheme.position))
                           .where(CodebookTheme.codebook_id == codebook.id)) or 0) + 1


def edit(session: Session, *, actor: User, theme: CodebookTheme, label: str | None, summary: str | None,
         seen: str | None) -> tuple[bool, list[str]]:
    """Save a theme's name and summary from a page drawn at `seen`; returns (changed, fields kept from others)."""
    # Field by field: one someone else changed since is kept when this page left it alone; one both changed
    # differently refuses the save (Stale), so neither person's text is lost.
    new = {"label": _clean_label(label), "summary": _clean_summary(summary)}
    drawn = fresh(session, theme, seen, active=False, values=new)
    wanted, clashes, kept = dict(new), {}, []
    for n, field in enumerate(("label", "summary")):
        now, old = getattr(theme, field), drawn[2 + n] if drawn else None
        if fingerprint(now) == old or new[field] == now:
            continue  # nobody else changed it, or they made the same change
        if fingerprint(new[field]) == old:
            wanted[field] = now  # only they changed it: keep theirs
            kept.append(field)
        else:
            clashes[field] = (f"Someone else renamed this theme to “{now}”: choose the name and save again"
                              if field == "label" else
                              "Someone else rewrote the summary (shown above): check yours against it and save again")
    if clashes:
        raise stale(session, theme, drawn, fields=clashes, values=wanted)
    return rename(session, actor=actor, theme=theme, label=wanted["label"], summary=wanted["summary"]), kept


# ---------------------------------------------------------------------------------------------- changes


def rename(session: Session, *, actor: User, theme: CodebookTheme, label: str | None, summary: str | None) -> bool:
    """Change a theme's name and summary; False when nothing changed."""
    new_label, new_summary = _clean_label(label), _clean_summary(summary)
    if new_label == theme.label and new_summary == theme.summary:
        return False
    if new_label.lower() != theme.label.lower():
        _unused_label(session, theme.codebook_id, new_label, "label", theme_id=theme.id)
    before = snapshot([theme])
    what = []
    if new_label != theme.label:
        what.append(f"renamed “{theme.label}” to “{new_label}”")
    if new_summary != theme.summary:
        what.append(f"{'rewrote' if theme.summary else 'wrote'} the summary of “{new_label}”")
    old_label = theme.label
    theme.label, theme.summary = new_label, new_summary
    description = "; ".join(what)
    record_change(session, theme.codebook, actor, "edit", description[0].upper() + description[1:], before,
                  theme=theme.id, old_label=old_label, label=new_label)
    return True


def merge(session: Session, *, actor: User, target: CodebookTheme, other: CodebookTheme,
          seen: str | None = None) -> None:
    """Merge `other` into `target`: its members join the target, and it is kept as "merged into"."""
    if target.id == other.id:
        raise Invalid("There is a problem", {"other": "Choose a different theme to merge with"})
    if seen is not None:  # from a page: say what happened to either theme since it was drawn
        fresh(session, target, seen, also=(other,))
        if other.state == "merged":
            raise merged(session, other, "other", seen=stamp(target))
    if other.state != "active" or target.state != "active":
        raise Conflict("Only themes in use can be merged.")
    before = snapshot([target, other])
    quotes = _carry(session, target.codebook, target=target, label=target.label, sources=[other],
                    moving={m.contribution for m in other.members})
    members = [[m.contribution, m.source] for m in target.members]
    have = {c for c, _ in members}
    members += [[m.contribution, m.source] for m in other.members if m.contribution not in have]
    _set_members(target, members)
    _set_members(other, [])
    other.state, other.merged_into_id = "merged", target.id
    record_change(session, target.codebook, actor, "merge",
                  f"Merged “{other.label}” into “{target.label}”{_said(quotes)}", before,
                  theme=target.id, merged=other.id, **_stored(quotes))


def split(session: Session, *, actor: User, theme: CodebookTheme, contributions: list[str], label: str | None,
          summary: str | None = "", seen: str | None = None) -> CodebookTheme:
    """Move the chosen members of a theme into a new theme; the rest stay."""
    new_label, new_summary = _clean_label(label, "new_label"), _clean_summary(summary, "new_summary")
    if seen is not None:
        still_members(session, theme, contributions, seen)
    members = {m.contribution: m.source for m in theme.members}
    chosen = [c for c in dict.fromkeys(contributions) if c in members]
    if not chosen:
        raise Invalid("There is a problem", {"contributions": "Choose the contributions that go in the new theme"})
    if len(chosen) == len(members):
        raise Invalid("There is a problem",
                      {"contributions": "Leave at least one contribution in the theme (or rename it instead)"})
    _unused_label(session, theme.codebook_id, new_label, "new_label")
    before = snapshot([theme])
    quotes = _carry(session, theme.codebook, target=None, label=new_label, sources=[theme], moving=set(chosen))
    created = CodebookTheme(codebook_id=theme.codebook_id, position=_next_position(session, theme.codebook),
                            label=new_label, summary=new_summary, state="active", terms=[])
    created.members = [CodebookMember(contribution=c, source="analyst") for c in chosen]
    session.add(created)
    _set_members(theme, [[c, s] for c, s in members.items() if c not in set(chosen)])
    session.flush()
    before["created"] = [created.id]
    if quotes is not None:  # the new theme's quotes, now that it has an id
        quotes.quoted.append({"theme": created.id, "quotes": quotes.kept})
    record_change(session, theme.codebook, actor, "split",
                  f"Split {plural(len(chosen), 'contribution')} out of “{theme.label}” into a new theme “{new_label}”"
                  f"{_said(quotes)}", before,
                  theme=theme.id, new_theme=created.id, contributions=chosen, **_stored(quotes))
    return created


def move(session: Session, *, actor: User, contributions: list[str], source: CodebookTheme,
         target: CodebookTheme, keep: bool, seen: str | None = None) -> int:
    """Move contributions from one theme to another, or (keep=True) add them to the other as well."""
    if source.id == target.id:
        raise Invalid("There is a problem", {"target": "Choose a different theme"})
    if seen is not None:
        still_members(session, source, contributions, seen, also=(target,))
        if target.state == "merged":
            raise merged(session, target, "target", seen=stamp(source))
    if target.state != "active":
        raise Conflict("Contributions can only go to themes in use.")
    members = {m.contribution for m in source.members}
    chosen = [c for c in dict.fromkeys(contributions) if c in members]
    if not chosen:
        raise Invalid("There is a problem", {"contributions": "Tick the contributions to move"})
    before = snapshot([source, target])
    # Added as well, a contribution stays quoted where it was chosen; moved, its quote goes with it.
    quotes = None if keep else _carry(session, source.codebook, target=target, label=target.label, sources=[source],
                                      moving=set(chosen))
    have = {m.contribution for m in target.members}
    target.members.extend(CodebookMember(contribution=c, source="analyst") for c in chosen if c not in have)
    if not keep:
        _set_members(source, [[m.contribution, m.source] for m in source.members if m.contribution not in chosen])
    named = ", ".join(chosen[:5]) + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")
    place = f"to “{target.label}” (kept in “{source.label}” too)" if keep else \
        f"from “{source.label}” to “{target.label}”"
    record_change(session, source.codebook, actor, "add" if keep else "move",
                  f"{'Added' if keep else 'Moved'} {named} {place}{_said(quotes)}", before, contributions=chosen,
                  source=source.id, target=target.id, **_stored(quotes))
    return len(chosen)


def remove_members(session: Session, *, actor: User, theme: CodebookTheme, contributions: list[str],
                   seen: str | None = None) -> int:
    """Take contributions out of a theme (they stay in any other theme they belong to)."""
    if seen is not None:
        still_members(session, theme, contributions, seen)
    members = {m.contribution for m in theme.members}
    chosen = [c for c in dict.fromkeys(contributions) if c in members]
    if not chosen:
        raise Invalid("There is a problem", {"contributions": "Tick the contributions to take out"})
    before = snapshot([theme])
    _set_members(theme, [[m.contribution, m.source] for m in theme.members if m.contribution not in chosen])
    named = ", ".join(chosen[:5]) + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")
    record_change(session, theme.codebook, actor, "remove", f"Took {named} out of “{theme.label}”", before,
                  contributions=chosen, theme=theme.id)
    return len(chosen)


def set_scope(session: Session, *, actor: User, theme: CodebookTheme, in_scope: bool,
              seen: str | None = None) -> None:
    """Mark a theme out of scope (kept, but left out of statements, pages and exports' theme lists) or back."""
    wanted = "active" if in_scope else "out_of_scope"
    if seen is not None:
        drawn = fresh(session, theme, seen, active=False)
        if not drawn or drawn[1] != theme.state:
            raise stale(session, theme, drawn,
                         "Nothing was changed: check the current version below and choose again.")
    if theme.state == "merged":
        raise Conflict("This theme has been merged into another; undo the merge to use it again.")
    if theme.state == wanted:
        return
    before = snapshot([theme])
    theme.state = wanted
    record_change(session, theme.codebook, actor, "scope",
                  f"Marked “{theme.label}” {'back in scope' if in_scope else 'out of scope'}", before, theme=theme.id,
                  in_scope=in_scope)


def last_undoable(session: Session, codebook: Codebook) -> CodebookChange | None:
    """The newest change that can still be undone."""
    return session.scalar(select(CodebookChange).where(
        CodebookChange.codebook_id == codebook.id, CodebookChange.undone_by_version.is_(None),
        CodebookChange.before.is_not(None), CodebookChange.action != "undo",
    ).order_by(CodebookChange.version.desc()).limit(1))


def undo(session: Session, *, actor: User, codebook: Codebook, version: int | None = None) -> CodebookChange:
    """Undo the newest change not yet undone (if `version` is given it must be that one)."""
    change = last_undoable(session, codebook)
    if change is None:
        raise Conflict("There is nothing to undo.")
    if version is not None and change.version != version:
        raise Conflict("Only the most recent change can be undone; undo the later changes first.")
    before = change.before or {}
    created = before.get("created") or []
    for theme_id in created:
        used = session.scalar(select(func.count()).select_from(Statement).where(Statement.theme_id == theme_id)) or 0
        used += session.scalar(select(func.count()).select_from(HeardTheme).where(HeardTheme.theme_id == theme_id)) or 0
        if used:
            raise Conflict("This change cannot be undone: the theme it made has been published to participants.")
    for row in before.get("themes", []):
        theme = session.get(CodebookTheme, row["id"])
        if theme is None:
            continue
        theme.label, theme.summary, theme.state = row["label"], row["summary"], row["state"]
        theme.merged_into_id, theme.position = row["merged_into_id"], row["position"]
        _set_members(theme, row["members"])
    if before.get("reviewed"):
        session.execute(delete(CodebookReviewed).where(CodebookReviewed.codebook_id == codebook.id,
                                                       CodebookReviewed.contribution.in_(before["reviewed"])))
    for theme_id in created:
        session.execute(delete(CodebookMember).where(CodebookMember.theme_id == theme_id))
        session.execute(delete(CodebookTheme).where(CodebookTheme.id == theme_id))
    session.flush()
    session.expire_all()
    codebook = session.get(Codebook, change.codebook_id)  # type: ignore[assignment]
    made = record_change(session, codebook, actor, "undo", f"Undid version {change.version}: {change.description}",
                         None, undid=change.version)
    change.undone_by_version = made.version
    return made


# ------------------------------------------------------------------------------------------------ reading


def history(session: Session, codebook: Codebook) -> list[CodebookChange]:
    """Every change, newest first."""
    return list(session.scalars(select(CodebookChange).where(CodebookChange.codebook_id == codebook.id)
                                .order_by(CodebookChange.version.desc())))


def phase_names(session: Session, consultation_id: int) -> dict[int, Phase]:
    """The consultation's phases by id."""
    return {p.id: p for p in session.scalars(select(Phase).where(Phase.consultation_id == consultation_id))}


# Proposals for new contributions live in codebook_proposals; their names are kept here for callers written
# before the split (imported last, as that module builds on the recording above).
from .codebook_proposals import (  # noqa: E402,F401
    apply_proposals,
    latest_run,
    member_ids,
    none_accepted_in_bulk,
    pending_run,
    proposals,
    uncoded_count,
)
