"""What a theme says and how people divide on it: descriptions, stance, phase shares, check-and-challenge.

Everything here is read off the themes, the sentiment and the votes already computed; nothing is fitted.
Shares carry an 80% Wilson interval so a reader can see when two phases' figures are within noise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from analysis import intervals

Z80 = 1.2816
MOSTLY = 0.6  # a share at or above this is "mostly"
DIVIDED_APPROVAL = (0.35, 0.65)  # approval among voters inside this band, with enough votes, is a division
MIN_VOTES_FOR_STANCE = 10
NEW_THEME_SHARE = 0.02  # below this share in every earlier phase, a theme is new in a later one
SUPPORT_SHIFT = 0.1  # a theme's mean support moving this much (10 points) from one phase to the next is reported
MIN_SHIFT_ITEMS = 5  # ...when each phase's mean rests on at least this many voted contributions, not one or two
ALMOST_ABSENT = 2  # a theme with at most this many contributions in a phase was not there yet

_CHECK_QUESTION = re.compile(r"got (?:it|this|these|them) right|check|challenge|agree with|missed|missing"
                             r"|anything (?:we have|we've) missed", re.IGNORECASE)
_ENDORSE = re.compile(r"^\W*(?:yes|yep|agree|i agree|agreed|spot on|absolutely|definitely|exactly|hear,? hear"
                      r"|well done|good|great|excellent|right)\b", re.IGNORECASE)
_CHALLENGE = re.compile(r"^\W*(?:no\b|not\b|disagree|i disagree|i don'?t agree|wrong|but\b|however\b"
                        r"|i'?m not sure|not sure|partly|only partly)", re.IGNORECASE)
_ADD = re.compile(r"\b(?:also|add|missing|missed|forgot|forgotten|nothing about|what about|should include"
                  r"|needs? to include|more on|as well)\b", re.IGNORECASE)


def wilson(successes: int, total: int, z: float = Z80) -> tuple[float, float]:
    """Wilson score interval for a share (80% by default), to four places; (0, 1) when there is no data."""
    low, high = intervals.wilson(successes, total, z)
    return round(low, 4), round(high, 4)


def is_check_question(question: str) -> bool:
    """A check-and-challenge question ("Have we got it right?", "What have we missed?")."""
    return bool(_CHECK_QUESTION.search(question or ""))


def response_kind(text: str) -> str:
    """A check-and-challenge reply read as "endorses", "challenges" or "adds" (not as sentiment)."""
    if _CHALLENGE.match(text):
        return "challenges"
    if _ADD.search(text):
        return "adds"
    if _ENDORSE.match(text):
        return "endorses"
    return "adds"


def tone_word(counts: Mapping[str, int]) -> str:
    """ "mostly negative", "mostly positive", "mostly neutral" or "mixed" from sentiment counts."""
    scored = sum(counts.get(k, 0) for k in ("positive", "neutral", "negative"))
    if not scored:
        return "not scored"
    for name in ("negative", "positive", "neutral"):
        if counts.get(name, 0) / scored >= MOSTLY:
            return f"mostly {name}"
    return "mixed"


def _about(phrases: Sequence[str]) -> str:
    words = [p for p in phrases[:3] if p]
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(size: int, total: int, people: int, counts: Mapping[str, int], phrases: Sequence[str],
             typical: str | None) -> str:
    """One or two extractive sentences with the theme's figures and a typical contribution."""
    share = size / total if total else 0.0
    about = _about(phrases)
    first = (f"{size:,} contribution{'s' if size != 1 else ''} ({share:.0%}) from {people:,} "
             f"{'person' if people == 1 else 'people'}, {tone_word(counts)}"
             + (f", about {about}." if about else "."))
    if typical:
        words = typical.split()
        short = " ".join(words[:30]) + ("…" if len(words) > 30 else "")
        return f"{first} Typical: “{short}”"
    return first


def stance(counts: Mapping[str, int], approvals: Sequence[tuple[float, int]], examples: Mapping[str, str],
           responses: Mapping[str, int]) -> dict[str, Any]:
    """Where people agree and where they divide within a theme, from sentiment and votes."""
    scored = sum(counts.get(k, 0) for k in ("positive", "neutral", "negative"))
    shares = {k: round(counts.get(k, 0) / scored, 4) if scored else None for k in ("positive", "neutral", "negative")}
    votes = sum(v for _, v in approvals)
    approval = round(sum(a * v for a, v in approvals) / votes, 4) if votes else None
    divided_items = sum(1 for a, v in approvals if v >= MIN_VOTES_FOR_STANCE
                        and DIVIDED_APPROVAL[0] <= a <= DIVIDED_APPROVAL[1])
    parts: list[str] = []
    if scored:
        ranked = sorted(("positive", "negative", "neutral"), key=lambda k: -counts.get(k, 0))
        main, minor = ranked[0], ranked[1]
        main_share, minor_share = counts.get(main, 0) / scored, counts.get(minor, 0) / scored
        text = (f"Most ({main_share:.0%}) are {main}" if main_share > 0.5
                else f"The largest share ({main_share:.0%}) are {main}")
        if examples.get(main):
            text += f", for example “{examples[main]}”"
        if minor_share >= 0.1 and counts.get(minor, 0) >= 2:
            text += f"; a minority ({minor_share:.0%}) are {minor}"
            if examples.get(minor):
                text += f", for example “{examples[minor]}”"
        parts.append(text + ".")
    if votes >= MIN_VOTES_FOR_STANCE and approval is not None:
        if DIVIDED_APPROVAL[0] <= approval <= DIVIDED_APPROVAL[1]:
            parts.append(f"Voters divide: {approval:.0%} of {votes:,} votes are in favour.")
        else:
            side = "agree with" if approval > DIVIDED_APPROVAL[1] else "disagree with"
            parts.append(f"Voters mostly {side} these points ({approval:.0%} of {votes:,} votes in favour).")
    elif votes:
        parts.append(f"Too few votes ({votes}) to say whether voters agree.")
    else:
        parts.append("No votes yet.")
    if sum(responses.values()):
        total = sum(responses.values())
        parts.append("Replies to the check-and-challenge question: " + ", ".join(
            f"{n} {kind} ({n / total:.0%})" for kind, n in responses.items() if n) + ".")
    return {"summary": " ".join(parts), **shares, "approval": approval, "votes": votes,
            "divided": bool(votes >= MIN_VOTES_FOR_STANCE and approval is not None
                            and DIVIDED_APPROVAL[0] <= approval <= DIVIDED_APPROVAL[1]),
            "divisive_items": divided_items, "responses": dict(responses)}


def phase_shares(members: Sequence[str], phase_of: Mapping[str, str], phase_totals: Mapping[str, int],
                 support_of: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """A theme's share of each phase's contributions, with an 80% interval and the phase's mean support."""
    rows = []
    for phase, total in phase_totals.items():
        inside = [m for m in members if phase_of.get(m) == phase]
        low, high = wilson(len(inside), total)
        voted = [support_of[m] for m in inside if support_of.get(m) is not None]
        rows.append({"phase": phase, "count": len(inside), "total": total,
                     "share": round(len(inside) / total, 4) if total else 0.0, "low": low, "high": high,
                     "support": round(sum(voted) / len(voted), 4) if voted else None, "voted": len(voted)})
    return rows


def phase_comparison(themes: Sequence[Mapping[str, Any]], phases: Sequence[str]) -> list[dict[str, Any]]:
    """Per phase after the first: themes new in it, themes that faded, and support shifts beyond noise.

    A theme is new in a phase when it was almost absent from every earlier one (at most ALMOST_ABSENT
    contributions, or under half of NEW_THEME_SHARE) and its share now is above their intervals; it is new once,
    in the first phase where that holds. A support shift needs MIN_SHIFT_ITEMS voted contributions on each side.
    """
    out = []
    already_new: set[Any] = set()
    for index, phase in enumerate(phases):
        new, faded, shifts = [], [], []
        for theme in themes:
            rows = {r["phase"]: r for r in theme.get("phase_shares", [])}
            now = rows.get(phase)
            if now is None or index == 0:
                continue
            before = [rows[p] for p in phases[:index] if p in rows]
            absent = all(r["count"] <= ALMOST_ABSENT or r["share"] < NEW_THEME_SHARE / 2 for r in before)
            if before and absent and theme["id"] not in already_new and now["low"] > max(r["high"] for r in before):
                new.append(theme["id"])
                already_new.add(theme["id"])
            previous = rows.get(phases[index - 1])
            if previous and previous["low"] > now["high"]:
                faded.append(theme["id"])
            if previous and previous.get("support") is not None and now.get("support") is not None \
                    and min(previous.get("voted", 0), now.get("voted", 0)) >= MIN_SHIFT_ITEMS:
                change = now["support"] - previous["support"]
                if abs(change) >= SUPPORT_SHIFT:
                    shifts.append({"theme": theme["id"], "change": round(change, 4),
                                   "from": previous["support"], "to": now["support"]})
        out.append({"phase": phase, "new": new, "faded": faded, "support_shifts": shifts})
    return out
