"""No public page, API response or export contains any individual's equality answer."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from consult.demo import DEMO_PASSWORD, seed_demo
from consult.extensions import db
from consult.models import Consultation, Phase, User
from consult.services import equality
from consult.services.analysis_runs import build_dataset
from consult.services.contributions import post_idea, recount
from tests.conftest import make_app
from tests.integration.test_anonymity import _urls

pytestmark = pytest.mark.xdist_group("demo")

# Distinctive answers: outward codes and categories nothing else on the site would print.
SEEDED = [
    {"postcode_district": "TR21", "ethnic_group": "gypsy_traveller", "religion": "buddhist", "age_band": "75_plus",
     "disability": "limited_a_lot", "sexual_orientation": "other", "gender_same": "no"},
    {"postcode_district": "ZE3", "ethnic_group": "white_black_african", "religion": "jewish",
     "disability": "prefer_not_to_say", "sexual_orientation": "bisexual", "unpaid_carer": "yes"},
]
NEEDLES = ("TR21", "ZE3", "gypsy_traveller", "Gypsy or Irish Traveller", "white_black_african",
           "White and Black African", "limited_a_lot", "prefer_not_to_say", "sexual_orientation", "gender_same",
           "respondent_key")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = make_app(tmp_path_factory.mktemp("equality-privacy"))
    with app.app_context():
        seed_demo(db.session, scale=0.3, now=datetime(2021, 6, 15, 12, 0))
        recount(db.session)
        secret = app.config["PSEUDONYM_KEY"]
        open_phase = db.session.scalars(select(Phase).where(Phase.state == "open")).first()
        people = db.session.scalars(select(User).where(User.role == "participant").order_by(User.id)).all()[:40]
        for i, person in enumerate(people):
            answers = SEEDED[i % len(SEEDED)]
            equality.save_answers(db.session, user_id=person.id, secret=secret, category=person.profile.category,
                                  values=answers, consent=True)
            if open_phase is not None and i < 10:
                # People with distinctive answers also post, so a join would show on their ideas.
                post_idea(db.session, person, open_phase.topics[0], f"Seeded idea {i}", "Seeded body text",
                          now=datetime(2021, 6, 15, 13, 0))
        db.session.commit()
    return app


def test_equality_seeded_answers_on_no_public_page_api_or_export(demo_app: Flask, promise) -> None:
    with demo_app.app_context():
        participant = db.session.scalar(select(User.email).where(User.email.like("public@%")))
        seeded = 40 * 6
    visitor, member = demo_app.test_client(), demo_app.test_client()
    assert member.post("/login", data={"email": participant, "password": DEMO_PASSWORD}).status_code == 302
    found, checked = [], 0
    urls = _urls(demo_app) + ["/privacy"]
    for url in urls:
        for client in (visitor, member):
            response = client.get(url)
            assert response.status_code in (200, 404), (url, response.status_code)
            body = response.get_data(as_text=True)
            found += [(url, n) for n in NEEDLES if n in body]
            checked += 1
    # The analyst export (pseudonymous records the analysis reads) carries no equality answer either.
    with demo_app.app_context():
        key = demo_app.config["PSEUDONYM_KEY"]
        for consultation in db.session.scalars(select(Consultation)):
            for phase in [None, *consultation.phases]:
                text = repr(build_dataset(db.session, consultation, phase, key))
                found += [(f"export {consultation.slug}/{phase.id if phase else 'all'}", n) for n in NEEDLES
                          if n in text]
                checked += 1
    assert checked > 200
    assert found == []
    promise(f"equality: {seeded} seeded answers, {checked} public pages, API responses and exports checked, "
            f"{len(found)} found")


def test_equality_inclusion_page_lists_no_postcode_districts(demo_app: Flask) -> None:
    with demo_app.app_context():
        facilitator = db.session.scalar(select(User.email).where(User.role == "facilitator"))
        consultation_id = db.session.scalar(select(Consultation.id).order_by(Consultation.id))
    client = demo_app.test_client()
    assert client.post("/login", data={"email": facilitator, "password": DEMO_PASSWORD}).status_code == 302
    page = client.get(f"/facilitate/consultations/{consultation_id}/inclusion").get_data(as_text=True)
    assert "Who is being heard" in page
    assert "TR21" not in page and "ZE3" not in page
