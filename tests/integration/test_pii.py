"""Promise: personal details typed into ideas, comments, replies and edits are never published."""

from __future__ import annotations

import random

import pytest
from flask import g
from sqlalchemy import select

from consult.extensions import db
from consult.models import Comment, Idea
from consult.services import contributions
from consult.services.screening import nhs_number_valid
from tests.conftest import login
from tests.support.publicids import idea_url, pid

SURNAMES = ("Okonkwo", "Patel", "Nowak", "Fitzgerald", "Adeyemi", "Lindqvist", "Haddad", "Brennan", "Kowalczyk",
            "Achterberg")
TITLES = ("Dr", "Nurse", "Mr", "Mrs", "Ms", "Sister", "Dr.")
OUTWARD = ("SW1A", "M1", "B33", "LS1", "EH1", "CF10", "BS1", "NE1", "G2", "L3")


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request (several clients)."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _nhs_numbers(rng: random.Random, n: int) -> list[str]:
    """Valid NHS numbers (modulus 11), written 3-3-4."""
    found: list[str] = []
    while len(found) < n:
        digits = str(rng.randrange(400_000_000, 999_999_999))
        for check in "0123456789":
            if nhs_number_valid(digits + check):
                found.append(f"{digits[:3]} {digits[3:6]} {digits[6:]}{check}")
                break
    return found


def _details(per_kind: int) -> list[str]:
    """Distinct personal details of every kind the checks know, in the ways people write them."""
    rng = random.Random(11)
    emails = [f"pii.person{n}@example.net" for n in range(per_kind)]
    phones = [(f"07700 900{n:03d}" if n % 3 == 0 else f"020 7946 0{n:03d}" if n % 3 == 1 else f"+44 7700 900{n:03d}")
              for n in range(per_kind)]
    postcodes = [f"{OUTWARD[n % len(OUTWARD)]} {n % 10}{'ABDEFGHJ'[n % 8]}{'LNPQRSTU'[n // 8 % 8]}"
                 for n in range(per_kind)]
    names = [f"{TITLES[n % len(TITLES)]} {SURNAMES[n % len(SURNAMES)]}{'' if n < len(SURNAMES) else '-Smith'}"
             for n in range(per_kind)]
    return emails + phones + _nhs_numbers(rng, per_kind) + postcodes + names


def test_seeded_personal_details_are_never_published(app, make, promise) -> None:
    # One author posts over a hundred times in a minute here; the posting throttle has its own tests.
    app.config["RATE_LIMIT_SCALE"] = 100.0
    phase = make.phase(topics=2)
    author, reader = make.user(), make.user()
    seed_idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "Shorter waits",
                                           "Waiting lists for physio are too long.")
    db.session.commit()
    client = app.test_client()
    login(client, author)
    details = _details(per_kind=20)
    clean_comment = client.post(f"{idea_url(seed_idea.id)}/comments", data={"body": "A clean comment to reply to"})
    assert clean_comment.status_code == 302
    parent = db.session.scalar(select(Comment.id).where(Comment.moderation_state == "published"))
    for n, detail in enumerate(details):
        where = n % 4
        if where == 0:
            client.post(f"/topics/{phase.topics[n % 2].id}/ideas/new",
                        data={"title": f"Idea {n}", "body": f"You can reach me: {detail}. Thanks."})
        elif where == 1:
            client.post(f"/topics/{phase.topics[0].id}/ideas/new",
                        data={"title": f"About {detail}", "body": f"Body of idea {n}"})
        elif where == 2:
            client.post(f"{idea_url(seed_idea.id)}/comments", data={"body": f"My details are {detail} if needed"})
        else:
            client.post(f"{idea_url(seed_idea.id)}/comments",
                        data={"parent_id": pid("comment", parent), "body": f"Reply {n}: ask for {detail}"})
    # Edits are checked again: a clean comment edited to add a detail goes back to being held.
    edited = details[::10]
    for n, detail in enumerate(edited):
        response = client.post(f"{idea_url(seed_idea.id)}/comments", data={"body": f"Clean comment number {n}"})
        comment_pid = response.headers["Location"].split("#comment-")[1]
        client.post(f"/my/comment/{comment_pid}/edit", data={"body": f"Clean comment number {n}, call {detail}"})
    seeded = len(details) + len(edited)
    held = (len(db.session.scalars(select(Idea.id).where(Idea.moderation_state == "held")).all())
            + len(db.session.scalars(select(Comment.id).where(Comment.moderation_state == "held")).all()))
    assert held == seeded, "every post carrying a personal detail waits for a moderator"

    published = list(db.session.scalars(select(Idea.title + " " + Idea.body)
                                        .where(Idea.moderation_state == "published")))
    published += list(db.session.scalars(select(Comment.body).where(Comment.moderation_state == "published")))
    db_leaks = [d for d in details if any(d in text for text in published)]

    ideas = list(db.session.scalars(select(Idea.id)))
    slug = phase.consultation.slug
    urls = ["/", f"/c/{slug}", f"/phases/{phase.id}", f"/c/{slug}/moderation-log", "/api/v1/consultations",
            f"/api/v1/consultations/{slug}", f"/api/v1/phases/{phase.id}"]
    for topic in phase.topics:
        urls += [f"/topics/{topic.id}?order={o}" for o in ("random", "newest", "discussed", "supported")]
        urls += [f"/api/v1/topics/{topic.id}/ideas"]
    urls += [idea_url(i) for i in ideas] + [f"/api/v1{idea_url(i)}" for i in ideas]
    urls += [f"/api/v1{idea_url(i)}/comments" for i in ideas]
    visitor, other = app.test_client(), app.test_client()
    login(other, reader)
    page_leaks: set[str] = set()
    pages = 0
    for viewer in (visitor, other):
        for url in urls:
            response = viewer.get(url)
            assert response.status_code in (200, 404), url
            text = response.get_data(as_text=True)
            compact = "".join(text.split())
            pages += 1
            page_leaks |= {d for d in details if d in text or "".join(d.split()) in compact}
    leaks = len(set(db_leaks) | page_leaks)
    promise(f"pii: {seeded} seeded personal details, {leaks} published ({pages} pages and API responses checked)")
    assert leaks == 0, sorted(set(db_leaks) | page_leaks)[:10]
