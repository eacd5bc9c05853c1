"""Changing how you take part (/me/how-you-take-part): the rules of registration, and everything the category drives."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import AuditEvent, Idea, User
from consult.services import accounts, contributions, equality
from consult.services.analysis_runs import build_dataset
from consult.services.phases import eligibility
from tests.conftest import login, make_app
from tests.support.race import race

URL = "/me/how-you-take-part"


def _client(app, user):
    """A client logged in as this user."""
    g.pop("_login_user", None)
    client = app.test_client()
    login(client, user)
    return client


def _profile(user_id: int):
    """The stored profile, read afresh."""
    db.session.expire_all()
    return db.session.get(User, user_id).profile


def _audits(user_id: int) -> list[AuditEvent]:
    """Changes of how this person takes part in the audit log."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.change_participation",
                                                            AuditEvent.target_id == user_id)))


def test_taking_part_is_reachable_from_your_account_and_shows_the_current_choice(app, make) -> None:
    person = make.user(category="student", profession="paramedic")
    client = _client(app, person)
    me = client.get("/account").get_data(as_text=True)
    assert URL in me and "A student (Paramedic)" in me
    page = client.get(URL).get_data(as_text=True)
    assert 'value="student" checked' in page and 'value="paramedic" selected' in page


def test_taking_part_checks_the_category_and_profession_as_registration_does(app, make) -> None:
    person = make.user(category="carer")
    client = _client(app, person)
    cases = [({"category": "staff", "profession": ""}, "Select your profession"),
             ({"category": "public", "profession": "dietitian"}, "Only health or care staff and students give"),
             ({"category": "student", "profession": "astronaut"}, "Select the profession you are studying for"),
             ({"category": "", "profession": ""}, "Select which of these best describes you"),
             ({"category": "<b>admin</b>", "profession": ""}, "Select which of these best describes you")]
    for data, message in cases:
        response = client.post(URL, data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page, data
        if data["profession"] == "dietitian":
            # What was chosen is shown again, so nothing has to be chosen twice.
            assert 'value="public" checked' in page and 'value="dietitian" selected' in page
    assert _profile(person.id).category == "carer" and _audits(person.id) == []
    # Students may leave the profession blank; staff give one.
    assert client.post(URL, data={"category": "student", "profession": ""}).status_code == 302
    assert (_profile(person.id).category, _profile(person.id).profession) == ("student", None)
    assert client.post(URL, data={"category": "staff", "profession": "dietitian"}).status_code == 302
    assert (_profile(person.id).category, _profile(person.id).profession) == ("staff", "dietitian")


def test_an_unchanged_submit_says_nothing_changed_and_records_nothing(app, make) -> None:
    person = make.user(category="staff", profession="orthoptist")
    client = _client(app, person)
    response = client.post(URL, data={"category": "staff", "profession": "orthoptist"}, follow_redirects=True)
    assert "Nothing changed" in response.get_data(as_text=True)
    assert _audits(person.id) == []
    # Not counted against the daily limit either: three real changes still go through.
    for category in ("carer", "public", "service_user"):
        assert client.post(URL, data={"category": category}).status_code == 302


def test_a_change_is_audited_without_anything_about_contributions(app, make) -> None:
    phase = make.phase()
    person = make.user(category="carer")
    contributions.post_idea(db.session, person, phase.topics[0], "Respite for carers", "Weekend respite")
    db.session.commit()
    client = _client(app, person)
    response = client.post(URL, data={"category": "service_user"}, follow_redirects=True)
    assert "You now take part as a person who uses health or care services" in response.get_data(as_text=True)
    [event] = _audits(person.id)
    assert event.actor_id == person.id and event.target_type == "user"
    assert event.detail == {"category": {"from": "carer", "to": "service_user"}, "profession_changed": False,
                            "claim_verified": {"from": False, "to": False}}
    admin = make.user(role="admin")
    audit_page = _client(app, admin).get("/admin/audit").get_data(as_text=True)
    assert "Changed how they take part" in audit_page and "A carer → A person who uses health or care services" \
        in audit_page


def test_switching_away_from_verified_staff_drops_the_verification(app, make) -> None:
    phase = make.phase(audience=("staff", "student", "public"))
    phase.requires_verified_staff = True
    person = make.user(category="staff", profession="physiotherapist")
    accounts.verify_claim(db.session, make.user(role="facilitator"), person)
    db.session.commit()
    assert eligibility(phase, person).allowed
    client = _client(app, person)
    # A new profession is a new claim: the facilitator checked a physiotherapist, not a dietitian.
    changed = client.post(URL, data={"category": "staff", "profession": "dietitian"}, follow_redirects=True)
    assert "Your claim is not verified yet" in changed.get_data(as_text=True)
    assert _profile(person.id).claim_verified_via is None
    db.session.expire_all()
    assert not eligibility(phase, db.session.get(User, person.id)).allowed
    # No way round by leaving staff and coming back.
    client.post(URL, data={"category": "public"})
    client.post(URL, data={"category": "staff", "profession": "physiotherapist"})
    db.session.expire_all()
    again = db.session.get(User, person.id)
    assert again.profile.claim_verified_via is None and not eligibility(phase, again).allowed
    assert "verified" in eligibility(phase, again).reason
    assert [e.detail["claim_verified"] for e in _audits(person.id)][0] == {"from": True, "to": False}


def test_a_student_claim_verified_does_not_become_a_verified_staff_claim(app, make) -> None:
    phase = make.phase(audience=("staff",))
    phase.requires_verified_staff = True
    person = make.user(category="student", profession="radiographer")
    accounts.verify_claim(db.session, make.user(role="facilitator"), person)
    db.session.commit()
    _client(app, person).post(URL, data={"category": "staff", "profession": "radiographer"})
    db.session.expire_all()
    qualified = db.session.get(User, person.id)
    assert qualified.profile.claim_verified_via is None and not eligibility(phase, qualified).allowed


def test_a_change_checks_the_claim_again_by_a_confirmed_work_address(tmp_path, make) -> None:
    app = make_app(tmp_path, VERIFIED_STAFF_DOMAINS="nhs.net", VERIFIED_STUDENT_DOMAINS="ac.uk")
    with app.app_context():
        nurse = make.user(category="public", email="nurse@nhs.net")
        student = make.user(category="staff", profession="dietitian", email="learner@uni.ac.uk")
        unconfirmed = make.user(category="public", email="new@nhs.net", confirmed=False)
        _client(app, nurse).post(URL, data={"category": "staff", "profession": "nurse"})
        assert _profile(nurse.id).claim_verified_via == "email_domain"
        page = _client(app, student).post(URL, data={"category": "student", "profession": "dietitian"},
                                           follow_redirects=True).get_data(as_text=True)
        assert _profile(student.id).claim_verified_via == "email_domain" and "so your claim is verified" in page
        # An address nobody has confirmed proves nothing.
        _client(app, unconfirmed).post(URL, data={"category": "staff", "profession": "nurse"})
        assert _profile(unconfirmed.id).claim_verified_via is None
        db.dispose()


def test_answers_to_questions_no_longer_asked_are_cleared(app, make) -> None:
    secret = str(app.config["PSEUDONYM_KEY"])
    staff = make.user(category="staff", profession="paramedic")
    other = make.user(category="staff", profession="podiatrist")
    for person, profession in ((staff, "paramedic"), (other, "osteopath")):
        equality.save_answers(db.session, user_id=person.id, secret=secret, category="staff", consent=False,
                              values={"age_band": "25_34", "profession": profession, "pay_band": "band_6"})
    db.session.commit()
    # Staff to student: the pay band is no longer asked; the profession still is.
    page = _client(app, staff).post(URL, data={"category": "student", "profession": "paramedic"},
                                    follow_redirects=True).get_data(as_text=True)
    row = equality.get_answers(db.session, user_id=staff.id, secret=secret)
    assert (row.age_band, row.profession, row.pay_band) == ("25_34", "paramedic", None)
    assert "We deleted your answer about your pay band" in page
    # To a member of the public: neither is asked, and neither is kept.
    _client(app, staff).post(URL, data={"category": "public"})
    db.session.expire_all()
    row = equality.get_answers(db.session, user_id=staff.id, secret=secret)
    assert (row.age_band, row.profession, row.pay_band) == ("25_34", None, None)
    # A new profession replaces an answer that said the old one; an answer that said something else stays.
    _client(app, other).post(URL, data={"category": "staff", "profession": "dietitian"})
    db.session.expire_all()
    assert equality.get_answers(db.session, user_id=other.id, secret=secret).profession == "osteopath"


def test_a_new_profession_replaces_the_answer_that_named_the_old_one(app, make) -> None:
    secret = str(app.config["PSEUDONYM_KEY"])
    person = make.user(category="staff", profession="paramedic")
    equality.save_answers(db.session, user_id=person.id, secret=secret, category="staff", consent=False,
                          values={"profession": "paramedic", "pay_band": "band_5"})
    db.session.commit()
    _client(app, person).post(URL, data={"category": "staff", "profession": "physiotherapist"})
    db.session.expire_all()
    row = equality.get_answers(db.session, user_id=person.id, secret=secret)
    assert (row.profession, row.pay_band) == ("physiotherapist", "band_5")


def test_phase_audiences_follow_the_new_category_and_old_posts_keep_theirs(app, make) -> None:
    carers_only = make.phase(audience=("carer",))
    person = make.user(category="carer")
    contributions.post_idea(db.session, person, carers_only.topics[0], "Respite for carers", "Weekend respite")
    db.session.commit()
    client = _client(app, person)
    client.post(URL, data={"category": "service_user"})
    refused = client.post(f"/topics/{carers_only.topics[0].id}/ideas/new",
                          data={"title": "Another idea", "body": "From a patient now"})
    assert refused.status_code == 403 and "This phase is for carers" in refused.get_data(as_text=True)
    # What was posted as a carer stays a carer's, in the stored stamp and in the analysis dataset.
    assert db.session.scalar(select(Idea.author_category)) == "carer"
    dataset = build_dataset(db.session, carers_only.consultation, None, "key")
    assert [c.groups["category"] for c in dataset.contributions] == ["carer"]


def test_changing_how_you_take_part_is_limited_to_three_times_a_day(app, make) -> None:
    person = make.user(category="public")
    client = _client(app, person)
    for category in ("carer", "public", "carer"):
        assert client.post(URL, data={"category": category}).status_code == 302
    refused = client.post(URL, data={"category": "student", "profession": "orthoptist"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "3 times today" in page and 'value="student" checked' in page
    assert refused.headers["Retry-After"].isdigit()
    assert _profile(person.id).category == "carer" and len(_audits(person.id)) == 3
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 3


def test_two_identical_changes_at_the_same_moment_make_one_change(app, make) -> None:
    """The second waits for the first (a row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), then changes nothing."""
    import threading

    from consult.extensions import write_intent
    from consult.services import participation

    person = make.user(category="carer")
    user_id, secret = person.id, app.config["PSEUDONYM_KEY"]
    db.session.commit()
    read, outcome = threading.Event(), {}

    def second() -> None:
        with write_intent(), db.new_session() as session:
            user = session.get(User, user_id)
            outcome["read"] = user.profile.category  # before the first commits on PostgreSQL, after on SQLite
            read.set()
            outcome["changed"] = participation.change_participation(session, user, "service_user", None,
                                                                    secret=secret).changed
            session.commit()

    with write_intent(), db.new_session() as first:
        assert participation.change_participation(first, first.get(User, user_id), "service_user", None,
                                                  secret=secret).changed
        race(second, first.commit, read=read)  # SQLite: the second waits at BEGIN, before reading
    assert outcome["changed"] is False
    assert len(_audits(user_id)) == 1


def test_a_verified_claim_stays_verified_on_what_was_said_under_it(app, make) -> None:
    """The analysis reads the claim as it was when each post and vote was made, not the profile as it is now."""
    first, later = make.phase(), make.phase()
    others = {phase.id: contributions.post_idea(db.session, make.user(), phase.topics[0], "Someone else's idea",
                                                "To vote on")[0].id for phase in (first, later)}
    person = make.user(category="staff", profession="physiotherapist")
    facilitator = make.user(role="facilitator")
    # The facilitator is told what verifying does, and when from.
    page = _client(app, facilitator).get("/account/verify-claims").get_data(as_text=True)
    assert "what they post or vote from then on counts as verified in the analysis" in page
    accounts.verify_claim(db.session, facilitator, person)
    db.session.commit()
    old, _ = contributions.post_idea(db.session, person, first.topics[0], "Physio at the GP surgery", "First")
    contributions.post_comment(db.session, person, old, "And at weekends")
    contributions.vote(db.session, person, "idea", others[first.id], 1)
    db.session.commit()
    # A new profession is a new claim, not verified yet (the page says so).
    changed = _client(app, person).post(URL, data={"category": "staff", "profession": "dietitian"},
                                        follow_redirects=True)
    assert "Your claim is not verified yet" in changed.get_data(as_text=True)
    db.session.expire_all()
    person = db.session.get(User, person.id)
    contributions.post_idea(db.session, person, first.topics[0], "Dietitians in care homes", "Second")
    contributions.vote(db.session, person, "idea", others[later.id], 1)
    db.session.commit()
    dataset = build_dataset(db.session, first.consultation, None, "key")
    claims = {c.text.split("\n")[0]: (c.groups.get("claim"), c.groups.get("profession"))
              for c in dataset.contributions if c.groups["category"] == "staff"}
    assert claims == {"Physio at the GP surgery": ("verified", "physiotherapist"),
                      "And at weekends": ("verified", "physiotherapist"),
                      "Dietitians in care homes": ("self-declared", "dietitian")}
    # Votes too: the first phase's vote was a verified physiotherapist's, the later one a self-declared dietitian's.
    [voted_then] = dataset.meta["voters"].values()
    assert voted_then["claim"] == "verified" and voted_then["profession"] == "physiotherapist"
    [voted_now] = build_dataset(db.session, later.consultation, None, "key").meta["voters"].values()
    assert voted_now["claim"] == "self-declared" and voted_now["profession"] == "dietitian"
