"""Accounts: registration and reset that give nothing away, confirmation, emailed links, sessions, back-off."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import g
from sqlalchemy import select, update

from consult.extensions import db
from consult.models import AccountToken, Idea, LoginSession, User, utcnow
from consult.services import accounts, mail
from tests.conftest import PASSWORD, login
from tests.support.publicids import vote_form

NEW_PASSWORD = "violet lantern meadow"


def _fresh(app):
    """A new client with nobody remembered from the last request (requests share the test's app context)."""
    g.pop("_login_user", None)
    return app.test_client()


def _link(path_prefix: str) -> str:
    """The path of the last emailed link that starts with path_prefix."""
    for message in reversed(mail.outbox()):
        match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]+)", message.body)
        if match:
            return match.group(1)
    raise AssertionError(f"no {path_prefix} link in {[m.subject for m in mail.outbox()]}")


def _register(client, email: str, password: str = NEW_PASSWORD, category: str = "public", **extra):
    """Post the registration form."""
    return client.post("/register", data={"email": email, "password": password, "category": category, **extra})


def test_registration_answers_the_same_whether_or_not_the_email_is_taken(app, make) -> None:
    make.user(email="taken@example.org")
    new, taken = _register(_fresh(app), "new@example.org"), _register(_fresh(app), "taken@example.org")
    assert (new.status_code, new.headers["Location"]) == (taken.status_code, taken.headers["Location"]) == (
        302, "/register/check-email")
    # Nobody is logged in either way, so the cookie tells nothing either.
    assert "_user_id" not in str(new.headers.getlist("Set-Cookie")) + str(taken.headers.getlist("Set-Cookie"))
    subjects = {m.to[0]: m.subject for m in mail.outbox()}
    assert subjects["new@example.org"].startswith("Confirm your email address")
    assert subjects["taken@example.org"].startswith("Someone tried to create")
    assert db.session.scalar(select(User).where(User.email == "taken@example.org")).password_hash != ""


def test_a_participant_confirms_their_email_before_their_first_contribution(app, make) -> None:
    phase = make.phase()
    client = _fresh(app)
    _register(client, "newcomer@example.org")
    client.post("/login", data={"email": "newcomer@example.org", "password": NEW_PASSWORD})
    refused = client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "Evening clinics", "body": "x"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Confirm your email address" in page and "/account" in page
    vote = client.post("/vote", data=vote_form("idea", 1, 1, app), headers={"Accept": "application/json"})
    assert vote.status_code in (403, 404)
    assert db.session.scalar(select(Idea.id)) is None

    link = _link("/confirm/")
    assert "Confirm my email address" in client.get(link).get_data(as_text=True)  # a GET spends nothing
    confirmed = client.post(link)
    # Confirming leads on to the optional questions about you (issue 7), when that page exists.
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/me/about-you"
    posted = client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "Evening clinics", "body": "x"})
    assert posted.status_code == 302 and db.session.scalar(select(Idea.title)) == "Evening clinics"
    again = client.post(link)
    assert again.status_code == 404 and "expired or has already been used" in again.get_data(as_text=True)


def test_confirming_a_work_address_verifies_a_staff_claim(tmp_path) -> None:
    from tests.conftest import make_app

    app = make_app(tmp_path, VERIFIED_STAFF_DOMAINS="nhs.net")
    with app.app_context():
        client = app.test_client()
        _register(client, "ahp@trust.nhs.net", category="staff", profession="physiotherapist")
        _register(client, "ahp@example.org", category="staff", profession="physiotherapist")
        for address in ("ahp@trust.nhs.net", "ahp@example.org"):
            message = next(m for m in mail.outbox() if m.to == [address])
            path = re.search(r"https?://[^/\s]+(/confirm/\S+)", message.body).group(1)
            g.pop("_login_user", None)
            app.test_client().post(path)
        users = {u.email: u for u in db.session.scalars(select(User))}
        assert users["ahp@trust.nhs.net"].profile.claim_verified_via == "email_domain"
        assert users["ahp@example.org"].profile.claim_verified_via is None
        assert all(u.email_confirmed_at for u in users.values())
    db.dispose()


def test_passwords_that_are_easy_to_guess_are_refused_with_the_reason(app) -> None:
    client = _fresh(app)
    cases = {"aaaaaaaaaaaa": "repeated", "            ": "only spaces", "password2024": "commonly used",
             "abcdefghijkl": "sequence", "kim.jones.1990": "email address"}
    for password, reason in cases.items():
        response = _register(client, "kim.jones@example.org", password=password)
        assert response.status_code == 400 and reason in response.get_data(as_text=True), password
    assert db.session.scalar(select(User.id)) is None


def test_password_reset_answers_the_same_and_the_link_works_once(app, make) -> None:
    user = make.user(email="forgetful@example.org")
    saved = _fresh(app)
    login(saved, user)
    known = _fresh(app).post("/forgot-password", data={"email": "forgetful@example.org"})
    unknown = _fresh(app).post("/forgot-password", data={"email": "nobody@example.org"})
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert [m.to for m in mail.outbox()] == [["forgetful@example.org"]]

    link = _link("/reset-password/")
    client = _fresh(app)
    weak = client.post(link, data={"password": "forgetful123"})
    assert weak.status_code == 400 and "email address" in weak.get_data(as_text=True)
    done = client.post(link, data={"password": NEW_PASSWORD})
    assert done.status_code == 302
    assert client.post(link, data={"password": "another fine passphrase"}).status_code == 404
    # The old session on another device has ended; the new password works, the old one does not.
    g.pop("_login_user", None)
    assert saved.get("/account").status_code == 302
    assert _fresh(app).post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400
    assert _fresh(app).post("/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_a_reset_link_expires_after_an_hour(app, make) -> None:
    user = make.user()
    secret = accounts.issue_token(db.session, user, "reset", now=utcnow() - timedelta(minutes=61))
    db.session.commit()
    assert _fresh(app).get(f"/reset-password/{secret}").status_code == 404
    assert db.session.scalar(select(AccountToken.used_at)) is None


def test_logout_ends_the_session_on_the_server(app, make) -> None:
    user = make.user()
    client = _fresh(app)
    login(client, user)
    with client.session_transaction() as stored:
        saved = dict(stored)
    client.post("/logout")
    g.pop("_login_user", None)
    with client.session_transaction() as stored:
        stored.update(saved)  # an attacker replays the cookie they copied
    assert client.get("/account").status_code == 302


def test_change_of_password_and_email_from_the_account_page(app, make) -> None:
    user = make.user(email="old@example.org")
    other_device, client = _fresh(app), _fresh(app)
    login(other_device, user)
    g.pop("_login_user", None)
    login(client, user)
    wrong = client.post("/account/password", data={"current_password": "wrong", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    empty = client.post("/account/password", data={"current_password": "", "new_password": NEW_PASSWORD})
    assert empty.status_code == 400 and "Enter your current password" in empty.get_data(as_text=True)
    # Deleting the account: an empty password is asked for, a wrong one is called wrong.
    for typed, said in (("", "Enter your password to confirm"), ("wrong", "Your password is not right")):
        refused = client.post("/me/delete", data={"contributions": "keep", "password": typed})
        assert refused.status_code == 400 and said in refused.get_data(as_text=True)
    assert client.post("/account/password", data={"current_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD}).status_code == 302
    g.pop("_login_user", None)
    assert client.get("/account").status_code == 200  # this browser stays logged in
    g.pop("_login_user", None)
    assert other_device.get("/account").status_code == 302  # the other device does not

    g.pop("_login_user", None)
    client.post("/account/email", data={"email": "new@example.org", "password": NEW_PASSWORD})
    assert db.session.get(User, user.id).email == "old@example.org"  # not until the new address is proved
    assert {m.to[0] for m in mail.outbox()} >= {"new@example.org", "old@example.org"}
    assert client.post(_link("/account/email/confirm/")).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.org"


def test_idle_sessions_end(app, make) -> None:
    client = _fresh(app)
    login(client, make.user())
    # Two hours and a minute without a request, as the server (every server) recorded it.
    db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=121)))
    db.session.commit()
    g.pop("_login_user", None)
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_backs_off_after_repeated_failures(app, make, promise) -> None:
    user = make.user(email="target@example.org")
    client = _fresh(app)
    statuses = [client.post("/login", data={"email": user.email, "password": f"guess {i}"}).status_code
                for i in range(150)]
    during = client.post("/login", data={"email": user.email, "password": PASSWORD})
    unknown = [client.post("/login", data={"email": "ghost@example.org", "password": f"guess {i}"}).status_code
               for i in range(6)]
    checked, refused = statuses.count(400), statuses.count(429)
    successes = statuses.count(302) + (during.status_code == 302)
    promise(f"login: 150 wrong passwords, back-off engaged after {checked}, {successes} successes")
    assert successes == 0 and refused == 150 - checked and 0 < checked <= 5
    assert during.status_code == 429 and "Wait" in during.get_data(as_text=True)
    # An unknown email backs off at the same point, so back-off does not reveal which accounts exist.
    assert unknown == [400] * 5 + [429]
    assert during.headers["Retry-After"].isdigit()


def test_login_back_off_ends_by_itself(app, make) -> None:
    from consult.services import ratelimit

    checks = [(ratelimit.LOGIN_ACCOUNT, "someone@example.org")]
    now = utcnow()
    for _ in range(5):
        ratelimit.hit(db.session, ratelimit.LOGIN_ACCOUNT, "someone@example.org", now=now)
    assert ratelimit.blocked(db.session, checks, now=now) > 0
    assert ratelimit.blocked(db.session, checks, now=now + timedelta(minutes=6)) == 0


def test_a_phase_can_require_verified_staff_and_the_analysis_tells_them_apart(app, make) -> None:
    from consult.services.analysis_runs import build_dataset
    from consult.services.phases import eligibility

    phase = make.phase(audience=("staff",))
    phase.requires_verified_staff = True
    declared = make.user(category="staff", profession="physiotherapist")
    checked = make.user(category="staff", profession="dietitian")
    admin = make.user(role="admin")
    accounts.verify_claim(db.session, admin, checked)
    db.session.commit()
    assert not eligibility(phase, declared).allowed and "verified" in eligibility(phase, declared).reason
    assert eligibility(phase, checked).allowed

    from consult.services import contributions

    phase.requires_verified_staff = False
    for author in (declared, checked):
        contributions.post_idea(db.session, author, phase.topics[0], f"Idea by {author.id}", "Body")
    db.session.commit()
    dataset = build_dataset(db.session, phase.consultation, None, "key")
    assert sorted(c.groups.get("claim") for c in dataset.contributions) == ["self-declared", "verified"]


def test_a_facilitator_verifies_a_staff_claim_and_it_is_audited(app, make) -> None:
    from consult.models import AuditEvent

    facilitator = make.user(role="facilitator")
    physio = make.user(category="staff", profession="physiotherapist", email="physio@example.org")
    participant = _fresh(app)
    login(participant, make.user())
    assert participant.post("/account/verify-claims", data={"email": physio.email}).status_code == 404
    client = _fresh(app)
    login(client, facilitator)
    missing = client.post("/account/verify-claims", data={"email": "nobody@example.org"})
    assert missing.status_code == 400 and "No account uses this email address" in missing.get_data(as_text=True)
    assert client.post("/account/verify-claims", data={"email": physio.email}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, physio.id).profile.claim_verified_via == "facilitator"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.target_id == physio.id)) == "user.verify_claim"


def test_the_phase_form_can_require_verified_staff(app, make) -> None:
    from consult.models import ConsultationAssignment, Phase

    phase = make.phase(state="draft")
    facilitator = make.user(role="facilitator")
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    client = _fresh(app)
    login(client, facilitator)
    form = client.get(f"/facilitate/phases/{phase.id}/edit").get_data(as_text=True)
    assert "Staff must be verified to take part" in form
    data = {"title": phase.title, "question": phase.question, "description": "", "requires_verified_staff": "1"}
    assert client.post(f"/facilitate/phases/{phase.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Phase, phase.id).requires_verified_staff is True
