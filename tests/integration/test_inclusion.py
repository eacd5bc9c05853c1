"""The facilitator's inclusion page: live figures against the reference, flags, disclosure control."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask, g
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import ConsultationAssignment, Idea, OfflineContribution, User, utcnow
from consult.services import equality
from tests.conftest import Factory, login

AGES = ["18_24"] * 10 + ["25_34"] * 30 + ["35_44"] * 30 + ["45_54"] * 25 + ["55_64"] * 20 + ["65_74"] * 8 + \
    ["75_plus"] * 2


def upload(text: str, **fields: str) -> MultiDict:
    """Form data with a CSV file (a MultiDict keeps the (file, name) pair together)."""
    return MultiDict([*fields.items(), ("file", (io.BytesIO(text.encode()), "upload.csv"))])


def seed_people(app: Flask, make: Factory, n: int = 125) -> list[User]:
    """n registrants with a realistic skew: few older people, mostly White British, some prefer not to say."""
    people = []
    secret = app.config["PSEUDONYM_KEY"]
    for i in range(n):
        user = make.user(category="staff" if i % 3 == 0 else "public",
                         profession="physiotherapist" if i % 3 == 0 else None)
        values = {"age_band": AGES[i % len(AGES)], "sex": "female" if i % 4 else "male",
                  "ethnic_group": "white_british" if i % 10 else "indian",
                  "disability": "prefer_not_to_say" if i % 7 == 0 else ("limited_a_little" if i % 9 == 0 else "no"),
                  "postcode_district": ["SO16", "M1", "LS6", "B15"][i % 4], "unpaid_carer": "no"}
        equality.save_answers(db.session, user_id=user.id, secret=secret, category=user.profile.category,
                              values=values, consent=True)
        people.append(user)
    db.session.commit()
    return people


@pytest.fixture()
def setup(app: Flask, make: Factory):
    phase = make.phase()
    facilitator = make.user(role="facilitator", category="staff")
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    return phase, facilitator


def test_inclusion_page_flags_under_represented_groups_with_source(client, app, make, setup) -> None:
    phase, facilitator = setup
    seed_people(app, make, n=250)
    login(client, facilitator)
    response = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    assert "England, Census 2021" in page and "HCPC Register snapshot" in page
    assert "Under-represented: people aged 75 and over" in page
    assert "Under-represented: people aged 65 to 74" in page
    assert "250 registrants" in page
    assert "of those who answered identified as disabled" in page
    assert "Representation score" in page and "Summary to paste" in page
    assert "each postcode area is given to the English region where most of it lies" in page
    assert "Physiotherapist" in page and "Missing:" in page
    # Each ratio's interval says its level, in the narrow layout's cell headings too, and how it differs from the
    # analysis pages' 80% intervals.
    assert page.count('responsive__heading">Ratio (95% interval) </span>') >= 3
    assert "with a 95% interval" in page and "80% intervals" in page
    # Under-represented groups come with what to do about them: outreach typed in where it can be now.
    assert "What you can do about it" in page
    assert f'href="/facilitate/phases/{phase.id}/workshops">workshop, paper and phone input for phase 1</a>' in page
    assert 'href="#over-time">participation over time</a>' in page
    phase.state, phase.closes_at = "closed", utcnow()
    db.session.commit()
    closed = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").get_data(as_text=True)
    assert "No phase takes offline contributions now" in closed


def test_inclusion_page_shows_no_exact_small_counts(client, app, make, setup) -> None:
    phase, facilitator = setup
    seed_people(app, make, n=123)
    login(client, facilitator)
    page = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").get_data(as_text=True)
    cells = re.findall(r'People </span>([^<]+)</td>', page)
    assert cells, "the tables have people columns"
    for cell in cells:
        assert cell in ("&lt;10", "withheld") or int(cell.replace(",", "")) % 5 == 0, cell
    assert "123" not in re.sub(r"<[^>]+>", " ", page).split()  # the exact total never appears


def test_inclusion_page_with_few_people_shows_no_breakdown(client, app, make, setup) -> None:
    phase, facilitator = setup
    seed_people(app, make, n=12)
    login(client, facilitator)
    page = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").get_data(as_text=True)
    assert "no breakdown is shown" in page and "Under-represented" not in page


def test_inclusion_page_for_active_contributors_and_phase(client, app, make, setup) -> None:
    from consult.services.contributions import post_idea

    phase, facilitator = setup
    people = seed_people(app, make, n=60)
    for user in people[:40]:
        post_idea(db.session, user, phase.topics[0], f"Idea from {user.id}", "Some text")
    db.session.commit()
    login(client, facilitator)
    url = f"/facilitate/consultations/{phase.consultation_id}/inclusion?who=contributors&phase={phase.id}"
    page = client.get(url).get_data(as_text=True)
    assert "40 active contributors" in page
    assert "Participation over time" in page


def test_inclusion_page_is_only_for_assigned_facilitators(client, app, make, setup) -> None:
    phase, _ = setup
    other = make.user(role="facilitator", category="staff")
    login(client, other)
    assert client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").status_code == 404
    participant_client = app.test_client()
    login(participant_client, make.user())
    assert participant_client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").status_code == 404


def test_inclusion_questions_can_be_switched_off(client, app, make, setup) -> None:
    phase, facilitator = setup
    seed_people(app, make, n=30)
    login(client, facilitator)
    response = client.post(f"/facilitate/consultations/{phase.consultation_id}/inclusion/questions",
                           data={"questions": ["religion", "sexual_orientation"]})
    assert response.status_code == 302
    assert equality.switched_off(db.session, phase.consultation_id) == {"religion", "sexual_orientation"}
    page = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").get_data(as_text=True)
    assert 'id="dim-religion"' not in page and 'id="dim-age_band"' in page
    participant = make.user()
    member = app.test_client()
    g.pop("_login_user", None)  # the test's app context caches the last logged-in user on g
    login(member, participant)
    slug = phase.consultation.slug
    asked = member.get(f"/me/about-you?for={slug}").get_data(as_text=True)
    assert "What is your religion?" not in asked and "What is your age?" in asked
    # Saving from that page leaves the switched-off answers as they were.
    secret = app.config["PSEUDONYM_KEY"]
    equality.save_answers(db.session, user_id=participant.id, secret=secret, category="public",
                          values={"religion": "hindu", "age_band": "18_24"}, consent=True)
    db.session.commit()
    g.pop("_login_user", None)
    saved = member.post("/me/about-you", data={"for": slug, "age_band": "25_34"})
    assert saved.status_code == 302
    db.session.expire_all()
    row = equality.get_answers(db.session, user_id=participant.id, secret=secret)
    assert row.age_band == "25_34" and row.religion == "hindu" and row.consent_special


def test_inclusion_reference_upload_checks_each_row(client, app, make, setup) -> None:
    phase, facilitator = setup
    seed_people(app, make, n=40)
    login(client, facilitator)
    csv_text = ("dimension,category,count\nsex,female,500\nsex,male,500\nage_band,18_24,100\n"
                "age_band,ancient,5\nnonsense,x,1\nage_band,25_34,abc\n")
    url = f"/facilitate/consultations/{phase.consultation_id}/inclusion/reference"
    response = client.post(url, data=upload(csv_text, source="Test ICS, 2022"),
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, re.sub(r"<[^>]+>", " ", page)[-3000:]
    assert "Replaced: Sex" in page and "Kept as before" in page and "Age" in page
    assert "“ancient” is not a category" in page and "should be a whole number of people, 0 or more" in page
    inclusion_page = client.get(f"/facilitate/consultations/{phase.consultation_id}/inclusion").get_data(as_text=True)
    assert "Test ICS, 2022 (uploaded" in inclusion_page
    missing_source = client.post(url, data=upload(csv_text, source=""),
                                 content_type="multipart/form-data")
    assert missing_source.status_code == 400 and "Say where the figures come from" in missing_source.get_data(True)


# Dated today: a row dated before its phase opened is refused (the test phases opened yesterday).
TODAY = utcnow().date().isoformat()
WORKSHOP_CSV = f"""topic,title,idea,channel,event,date,people,group_profile,category
Topic 1,Buses to clinic,The bus does not reach the clinic.,workshop,Older people's forum,{TODAY},12,\
"older adults, mostly disabled",service_user
Topic 1,Letters are late,Letters arrive after the appointment.,paper,Library drop-in,{TODAY},,,
Topic 9,Nowhere,This topic does not exist.,workshop,Older people's forum,{TODAY},,,
Topic 1,Phone call back,Call me back instead.,phone,Phone line,{TODAY},,,carer
"""


def test_workshop_upload_rejects_only_the_bad_row_and_never_adds_twice(client, app, make, setup, promise) -> None:
    phase, facilitator = setup
    login(client, facilitator)
    url = f"/facilitate/phases/{phase.id}/workshops"
    assert "topic,title,idea" in client.get(url + "/template.csv").get_data(as_text=True)
    response = client.post(url, data=upload(WORKSHOP_CSV),
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "3 rows added" in page and "1 not added" in page
    assert "Row 4" in page and "no topic called “Topic 9”" in page
    assert db.session.scalar(select(func.count()).select_from(OfflineContribution)) == 3
    again = client.post(url, data=upload(WORKSHOP_CSV),
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "0 rows added, 3 already there" in again
    assert db.session.scalar(select(func.count()).select_from(OfflineContribution)) == 3
    ideas = db.session.scalars(select(Idea).where(Idea.channel != "online")).all()
    assert {i.channel for i in ideas} == {"workshop", "paper", "phone"} and all(i.author_id is None for i in ideas)
    events = client.get(url).get_data(as_text=True)
    assert "Older people&#39;s forum" in events and "older adults, mostly disabled" in events
    promise("workshops: 4-row CSV with 1 bad row: 3 added, 1 reported; re-upload added 0")


def test_workshop_upload_after_close_needs_a_deadline(client, app, make, setup) -> None:
    _, facilitator = setup
    closed = make.phase(state="closed", consultation=setup[0].consultation)
    login(client, facilitator)
    url = f"/facilitate/phases/{closed.id}/workshops"
    text = WORKSHOP_CSV.replace("Topic 1", "Topic 1")
    refused = client.post(url, data=upload(text), content_type="multipart/form-data")
    assert refused.status_code == 409 and "Set a deadline" in refused.get_data(as_text=True)
    from datetime import timedelta

    later = utcnow() + timedelta(days=10)
    assert client.post(url + "/deadline", data={"day": later.day, "month": later.month, "year": later.year}
                       ).status_code == 302
    accepted = client.post(url, data=upload(text),
                           content_type="multipart/form-data")
    assert "3 rows added" in accepted.get_data(as_text=True)


def test_uploaded_rows_are_screened_and_dated_within_the_phase(client, app, make, setup) -> None:
    phase, facilitator = setup
    login(client, facilitator)
    url = f"/facilitate/phases/{phase.id}/workshops"
    text = (f"topic,title,idea,channel,event,date\n"
            f"Topic 1,Call back,Call Mrs Brown on 07700 900456 about this,phone,Phone line,{TODAY}\n"
            f"Topic 1,Buses,The bus does not reach the clinic.,workshop,Forum,{TODAY}\n"
            "Topic 1,Old row,From the template.,workshop,Forum,2021-05-14\n")
    page = client.post(url, data=upload(text), content_type="multipart/form-data").get_data(as_text=True)
    assert "2 rows added" in page and "1 not added" in page and "date is before this phase opened" in page
    assert "Row 2 was added but is waiting for a moderator" in page
    states = dict(db.session.execute(select(Idea.title, Idea.moderation_state)).all())
    assert states == {"Call back": "held", "Buses": "published"}
    public = client.get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    assert "Buses" in public and "07700" not in public


def test_inclusion_page_changes_as_soon_as_people_register(client, app, make, setup) -> None:
    # "Updated live": nothing stale is served after a new registrant answers.
    phase, facilitator = setup
    seed_people(app, make, n=100)
    login(client, facilitator)
    url = f"/facilitate/consultations/{phase.consultation_id}/inclusion"
    before = client.get(url).get_data(as_text=True)
    assert "100 registrants" in before and "worked out afresh at" in before
    seed_people(app, make, n=25)
    after = client.get(url).get_data(as_text=True)
    assert "125 registrants" in after


def test_inclusion_page_counts_people_as_they_are_now_and_says_so(client, app, make, setup) -> None:
    # A change of how someone takes part moves them on this page (it is about people now), and the page says
    # so, while their contributions keep the group they posted under.
    from consult.services import participation

    phase, facilitator = setup
    people = seed_people(app, make, n=100)
    physios = [p for p in people if p.profile.category == "staff"]
    login(client, facilitator)
    url = f"/facilitate/consultations/{phase.consultation_id}/inclusion"

    def physio_cell(page: str) -> str:
        row = re.search(r"</span>Physiotherapist</th>\s*<td[^>]*><span[^>]*>People </span>([^<]+)</td>", page)
        assert row, "no physiotherapist row"
        return row.group(1)

    before = client.get(url).get_data(as_text=True)
    assert physio_cell(before) == "35" and "People are counted as they describe themselves now" in before
    for person in physios[:20]:
        participation.change_participation(db.session, person, "public", None, secret=app.config["PSEUDONYM_KEY"])
    db.session.commit()
    assert physio_cell(client.get(url).get_data(as_text=True)) == "15"
