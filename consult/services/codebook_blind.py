"""Second-analyst blind coding: a random sample of coded contributions, coded again without seeing the codebook's
choice, then Cohen's kappa and the contributions the two disagree on.

The codebook's code for a contribution is its first active theme (in codebook order), or "none" when it is in no
active theme. A contribution may be in two themes; the second coder agrees when they chose either of them.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Codebook, CodebookMember, CodebookReviewed, CodebookSample, CodebookTheme, User, utcnow
from . import audit
from .codebook import contribution_texts
from .errors import Conflict, Invalid, NotFound

SAMPLE_SIZE = 30
NONE = "none"


def _codes(session: Session, codebook: Codebook) -> dict[str, list[int]]:
    """Every coded contribution and its active themes in codebook order (empty: reviewed as fitting none)."""
    codes: dict[str, list[int]] = {}
    for contribution, theme_id in session.execute(
            select(CodebookMember.contribution, CodebookTheme.id).join(CodebookTheme)
            .where(CodebookTheme.codebook_id == codebook.id, CodebookTheme.state == "active")
            .order_by(CodebookTheme.position)):
        codes.setdefault(contribution, []).append(theme_id)
    for contribution in session.scalars(select(CodebookReviewed.contribution)
                                        .where(CodebookReviewed.codebook_id == codebook.id)):
        codes.setdefault(contribution, [])
    return codes


def sample(session: Session, codebook: Codebook, coder: User) -> list[CodebookSample]:
    """This coder's sample, in order."""
    return list(session.scalars(select(CodebookSample).where(
        CodebookSample.codebook_id == codebook.id, CodebookSample.coder_id == coder.id)
        .order_by(CodebookSample.position)))


def start(session: Session, *, coder: User, codebook: Codebook, size: int = SAMPLE_SIZE,
          rng: random.Random | None = None) -> list[CodebookSample]:
    """Draw a random sample of coded contributions for this coder (refused if they already have one)."""
    if sample(session, codebook, coder):
        raise Conflict("You already have a sample. Finish it, or discard it to start again.")
    if not 5 <= size <= 500:
        raise Invalid("There is a problem", {"size": "Choose a sample of 5 to 500 contributions"})
    pool = sorted(_codes(session, codebook))
    if len(pool) < 5:
        raise Conflict("The codebook has fewer than 5 coded contributions to sample.")
    chosen = (rng or random.SystemRandom()).sample(pool, min(size, len(pool)))
    rows = [CodebookSample(codebook_id=codebook.id, coder_id=coder.id, contribution=c, position=n, coded=False)
            for n, c in enumerate(chosen, start=1)]
    session.add_all(rows)
    audit.record(session, coder, "codebook.blind_sample", "codebook", codebook.id, size=len(rows))
    return rows


def code(session: Session, *, coder: User, codebook: Codebook, contribution: str, theme_id: int | None) -> None:
    """Record the coder's theme (None: fits none) for one contribution of their sample."""
    row = session.scalar(select(CodebookSample).where(
        CodebookSample.codebook_id == codebook.id, CodebookSample.coder_id == coder.id,
        CodebookSample.contribution == contribution))
    if row is None:
        raise NotFound("That contribution is not in your sample.")
    if theme_id is not None:
        theme = session.get(CodebookTheme, theme_id)
        if theme is None or theme.codebook_id != codebook.id or theme.state != "active":
            raise Invalid("There is a problem", {"theme": "Choose one of the themes"})
    row.theme_id, row.coded, row.coded_at = theme_id, True, utcnow()


def discard(session: Session, *, coder: User, codebook: Codebook) -> None:
    """Throw away this coder's sample."""
    session.execute(delete(CodebookSample).where(CodebookSample.codebook_id == codebook.id,
                                                 CodebookSample.coder_id == coder.id))


def agreement(session: Session, codebook: Codebook, coder: User) -> dict[str, Any]:
    """Cohen's kappa between the codebook and this coder over their coded sample, and the disagreements."""
    rows = [r for r in sample(session, codebook, coder) if r.coded]
    codes = _codes(session, codebook)
    labels = {t.id: t.label for t in codebook.themes}
    first, second, disagreements = [], [], []
    for row in rows:
        book_themes = codes.get(row.contribution, [])
        mine = str(row.theme_id) if row.theme_id is not None else NONE
        agreed = (row.theme_id in book_themes) if row.theme_id is not None else not book_themes
        book = mine if agreed else (str(book_themes[0]) if book_themes else NONE)
        first.append(book)
        second.append(mine)
        if not agreed:
            disagreements.append({"contribution": row.contribution,
                                  "codebook": [labels[t] for t in book_themes] or ["none of the themes"],
                                  "coder": labels.get(row.theme_id, "none of the themes")})
    texts = contribution_texts(session, [d["contribution"] for d in disagreements])
    for item in disagreements:
        item["text"] = texts.get(item["contribution"], {}).get("text", "")
    from analysis.assign import cohen_kappa  # scikit-learn comes with it: not at start-up

    return {"coded": len(rows), "agreed": len(rows) - len(disagreements), "kappa": cohen_kappa(first, second),
            "disagreements": disagreements}
