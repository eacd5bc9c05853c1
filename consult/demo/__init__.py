"""The deterministic demo dataset: the AHP strategy consultation, its registrants and what they said.

Shared by `flask --app wsgi seed-demo`, the tests and the benchmarks. Everything comes from one
random.Random(seed) and is timed relative to the start of `now`'s UK day, so the same seed gives the same rows
at any hour of a day, and on another day the same rows moved by whole days (between summer and winter time the
UK clock times of the phases keep their wording, so their UTC times, and the rows, differ).
Traffic follows what real online consultations show (and what the analysis must correct for): most
visits in the first days of a phase and after reminder emails, more in the evening, early ideas seen
by more people. Each idea and comment has a hidden appeal; a participant shown it supports it with
that probability, so "support among those shown" recovers the appeal whatever the posting time.
"""


from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Consultation, User, utcnow
from .corpus import load_corpus
from .seeder import _Seeder
from .settings import (
    BASE_COMMENTS,
    BASE_IDEAS,
    BASE_PARTICIPANTS,
    BASE_VOTES,
    DEMO_ACCOUNTS,
    DEMO_DOMAIN,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DemoAccount,
    DemoDataError,
)

__all__ = ["DEMO_ACCOUNTS", "DEMO_DOMAIN", "DEMO_LOGINS", "DEMO_PASSWORD", "DemoAccount", "DemoDataError",
           "load_corpus", "seed_demo"]


def seed_demo(session: Session, *, scale: float = 1.0, seed: int = 2021, now: datetime | None = None,
              ideas: int | None = None, comments: int | None = None, votes: int | None = None,
              progress: Callable[[str], None] | None = None, secret: str | None = None,
              feedback: bool = False) -> dict[str, int]:
    """Fill an empty database with the demo consultation; return the number of rows of each kind.

    `scale` multiplies participants, ideas, comments and votes (1.0: about 600 participants,
    320 ideas, 1,150 comments and 11,500 votes); `ideas`, `comments` and `votes` override the
    scaled figures (the benchmark uses scale=66, ideas=20_000, votes=200_000). The same seed and
    UK day of `now` give the same data; activity runs up to the start of that day. Commits as it goes.
    `feedback` (the command line's demo) also analyses phase 1 and publishes its themes for checking in phase 3,
    with votes and comments, and a What we heard page (consult/demo/feedback.py; the engine adds ~15 s of CPU).
    """
    if session.scalar(select(func.count()).select_from(Consultation)):
        raise DemoDataError("The database already has a consultation: "
                            "demo data only goes into an empty database.")
    if session.scalar(select(func.count()).select_from(User).where(User.email.like(f"%@{DEMO_DOMAIN}"))):
        raise DemoDataError(f"Accounts @{DEMO_DOMAIN} already exist: "
                            "demo data only goes into an empty database.")
    if scale <= 0:
        raise ValueError("scale must be positive")
    seeder = _Seeder(
        session, rng=random.Random(seed), now=now or utcnow(),
        participants=max(20, round(BASE_PARTICIPANTS * scale)),
        ideas=ideas if ideas is not None else max(10, round(BASE_IDEAS * scale)),
        comments=comments if comments is not None else round(BASE_COMMENTS * scale),
        votes=votes if votes is not None else round(BASE_VOTES * scale),
        progress=progress or (lambda _message: None),
    )
    # Hashing is deliberately slow, so every demo account shares one hash of the demo password.
    counts = seeder.run(PasswordHasher().hash(DEMO_PASSWORD))
    extra = _seed_inclusion(session, seed=seed, secret=secret)
    counts["ideas"] += extra["offline_ideas"]
    for key in ("offline_events", "offline_ideas", "audit_events"):  # the seeder's and the hand-written workshops
        counts[key] = counts.get(key, 0) + extra.pop(key)
    counts.update(extra)
    if feedback:
        from .feedback import seed_feedback

        progress = progress or (lambda _message: None)
        progress("Analysing phase 1 and publishing its themes for checking")
        counts.update(seed_feedback(session, corpus=seeder.corpus, key=_secret(secret), until=seeder.now,
                                    rng=random.Random(seed)))
    return counts


def _secret(secret: str | None) -> str:
    """The pseudonym key: the one given, else the app's, else the demo's own outside an app."""
    from flask import current_app, has_app_context

    if secret is not None:
        return secret
    return str(current_app.config["PSEUDONYM_KEY"]) if has_app_context() else "demo-pseudonym-key"


def _seed_inclusion(session: Session, *, seed: int, secret: str | None) -> dict[str, int]:
    """Equality answers and offline workshops (consult/demo/equality.py), under the app's pseudonym key."""
    from .equality import seed_equality, seed_workshops

    counts = seed_equality(session, secret=_secret(secret), seed=seed)
    offline = seed_workshops(session)
    session.commit()
    counts.update(offline)
    return counts
