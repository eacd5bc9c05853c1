"""What participants meet on their way: themes to check, not losing their place, and keeping what they typed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from consult.extensions import db
from consult.models import User, utcnow
from consult.services import challenge, contributions
from consult.services.passwords import verify_password
from tests.conftest import PASSWORD, login
from tests.integration.test_accounts import _fresh, _link
from tests.integration.test_check_and_challenge import _setup
from tests.support.publicids import comment_anchor, idea_url


@pytest.fixture()
def steady_clock(monkeypatch):
    """Rate limits count in fixed windows: hold their clock still, mid-window, so a test never straddles two."""
    from consult.services import contributions as posting
    from consult.services import ratelimit

    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    still = hour + timedelta(seconds=150)  # inside the same 5-minute, 10-minute, hour and day windows
    for module in (ratelimit, posting):
        monkeypatch.setattr(module, "utcnow", lambda: still)
    return still


def _card(page: str, title: str) -> str:
    """The topic page's card for the idea with this title."""
    start = page.index(f">{title}</a>", page.index("consult-card-list"))
    return page[start:page.index("</li>", start)]


def test_check_and_challenge_themes_are_shown_as_the_teams_summary_not_as_an_anonymous_idea(client, make) -> None:
    data = _setup(make)
    topic = data["later"].topics[0]
    [statement] = challenge.publish_statements(db.session, actor=data["facilitator"], topic=topic,
                                               theme_ids=[data["book"].themes[0].id])
    idea, _ = contributions.post_idea(db.session, data["authors"][0], topic, "Evening clinics", "Open later please.")
    db.session.commit()
    size = len(data["book"].themes[0].members)

    # A visitor finds the themes to check at the top of the topic, each saying where it came from.
    page = client.get(f"/topics/{topic.id}").get_data(as_text=True)
    themes = page[page.index("Emerging themes to check"):page.index(">Ideas <")]
    assert "Theme number 0</a>" in themes and idea_url(statement.id) in themes
    assert f"from {size} contribution" in themes and "Evening clinics" not in themes
    # In the list, the team's theme is not passed off as something a participant wrote; a participant's idea is.
    card = _card(page, "Theme number 0")
    assert "Emerging theme" in card and "Summarised by the consultation team" in card and "Anon," not in card
    assert "Anon," in _card(page, "Evening clinics") and "Emerging theme" not in _card(page, "Evening clinics")

    # Its own page says the same, with how many contributions it summarises.
    page = client.get(idea_url(statement.id)).get_data(as_text=True)
    meta = re.sub(r"\s+", " ", page[page.index("</h1>"):page.index('id="comments"')])
    assert "Emerging theme" in page[:page.index("</h1>")]
    assert f"Summarised by the consultation team from {size} contributions" in meta and "Anon," not in meta
    ordinary = client.get(idea_url(idea.id)).get_data(as_text=True)
    assert "Emerging theme" not in ordinary and "Summarised by the consultation team" not in ordinary

    # A topic with no themes published shows no empty section.
    assert "Emerging themes to check" not in client.get(f"/topics/{data['phase'].topics[0].id}").get_data(as_text=True)


def _register_from(client, came_from: str, email: str) -> None:
    """Register through the form, as a visitor who followed "create an account" from another page."""
    form = client.get(f"/register?next={came_from}").get_data(as_text=True)
    assert f'name="next" value="{came_from}"' in form
    response = client.post("/register", data={"email": email, "password": "violet lantern meadow",
                                               "category": "public", "next": came_from})
    # The same answer as ever, whether or not the address has an account.
    assert (response.status_code, response.headers["Location"]) == (302, "/register/check-email")


def test_a_visitor_who_registers_from_a_topic_is_taken_back_to_it_after_confirming(app, client, make) -> None:
    topic = make.phase().topics[0]
    here = f"/topics/{topic.id}"
    assert f"/register?next={here}" in client.get(here).get_data(as_text=True)
    _register_from(client, here, "newcomer@example.org")
    waiting = client.get("/register/check-email").get_data(as_text=True)
    assert f'<a href="{here}">Go back to the page you were on</a>' in waiting

    # The emailed link carries the page, so it works from the phone's mail app as well as this browser.
    link = _link("/confirm/")
    other_device = _fresh(app)
    confirm_page = other_device.get(link).get_data(as_text=True)
    action = re.search(r'<form action="([^"]+)"', confirm_page).group(1).replace("&amp;", "&")
    confirmed = other_device.post(action)
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == f"/me/about-you?next={here}"
    # The optional questions lead on to the topic, whether skipped or answered.
    questions = other_device.get(confirmed.headers["Location"]).get_data(as_text=True)
    skip = re.search(r'<a href="(/me/about-you/skip[^"]*)">Skip these questions', questions).group(1)
    assert other_device.get(skip.replace("&amp;", "&")).headers["Location"] == here
    saved = other_device.post("/me/about-you", data={"age_band": "prefer_not_to_say", "next": here})
    assert saved.status_code == 302 and saved.headers["Location"] == here


def test_registering_never_takes_anyone_off_the_site(client, make) -> None:
    _register_from(client, "//evil.example/", "visitor@example.org")
    assert "Go back to the page you were on" not in client.get("/register/check-email").get_data(as_text=True)
    link = _link("/confirm/")
    assert "evil" not in link
    confirmed = client.post(link)
    assert confirmed.headers["Location"] == "/me/about-you"


def test_an_idea_refused_for_posting_too_often_keeps_what_was_typed(app, client, make, steady_clock) -> None:
    topic = make.phase().topics[0]
    login(client, make.user())
    app.config["RATE_LIMIT_SCALE"] = 0.1  # one idea in ten minutes
    first = client.post(f"/topics/{topic.id}/ideas/new", data={"title": "Evening clinics", "body": "Open later."})
    assert first.status_code == 302
    second = client.post(f"/topics/{topic.id}/ideas/new",
                         data={"title": "Weekend physio", "body": "A long thought I typed on my phone."})
    page = second.get_data(as_text=True)
    assert second.status_code == 429 and int(second.headers["Retry-After"]) > 0
    assert "too many times" in page and "There is a problem" in page
    # The words are back in the form, with its button, to send again once the wait is over.
    assert 'value="Weekend physio"' in page and ">A long thought I typed on my phone.</textarea>" in page
    assert ">Post idea</button>" in page


def test_a_comment_refused_for_posting_too_often_keeps_what_was_typed(app, client, make, steady_clock) -> None:
    topic = make.phase().topics[0]
    login(client, make.user())
    idea = client.post(f"/topics/{topic.id}/ideas/new", data={"title": "Evening clinics", "body": "Later."})
    idea = idea.headers["Location"]
    app.config["RATE_LIMIT_SCALE"] = 0.1  # three comments in ten minutes
    for n in range(3):
        assert client.post(f"{idea}/comments", data={"body": f"Comment {n}"}).status_code == 302
    refused = client.post(f"{idea}/comments", data={"body": "My fourth thought, kept."})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many times" in page and ">My fourth thought, kept.</textarea>" in page


def test_an_idea_sent_after_its_phase_stopped_being_open_to_you_keeps_what_was_typed(client, make) -> None:
    topic = make.phase(audience=("staff",)).topics[0]
    login(client, make.user(category="public"))
    refused = client.post(f"/topics/{topic.id}/ideas/new", data={"title": "Evening clinics", "body": "Open later."})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "This phase is for" in page
    assert 'value="Evening clinics"' in page and ">Open later.</textarea>" in page


def test_the_add_an_idea_page_of_a_closed_phase_leads_back_to_its_ideas(client, make) -> None:
    topic = make.phase(state="closed").topics[0]
    login(client, make.user())
    response = client.get(f"/topics/{topic.id}/ideas/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "This phase is closed" in page
    assert f'href="/topics/{topic.id}">Read the ideas in “{topic.title}”</a>' in page
    assert "<form" not in page[page.index("<main"):]


def _title(response) -> str:
    """The page's <title>, which a screen reader reads first."""
    return re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1).strip()


def test_a_page_shown_again_with_a_problem_says_error_in_its_title(client, make) -> None:
    topic = make.phase().topics[0]
    login(client, make.user())
    idea = client.post(f"/topics/{topic.id}/ideas/new", data={"title": "Evening clinics", "body": "Later."})
    idea = idea.headers["Location"]
    assert _title(client.get(idea)) == "Evening clinics – consult"
    empty_comment = client.post(f"{idea}/comments", data={"body": "  "})
    assert empty_comment.status_code == 400 and _title(empty_comment) == "Error: Evening clinics – consult"
    public_id = idea.rsplit("/", 1)[1]
    emptied = client.post(f"/my/idea/{public_id}/edit", data={"title": "Evening clinics", "body": ""})
    assert emptied.status_code == 400 and _title(emptied) == "Error: Edit your idea – consult"
    client.post("/logout")
    login(client, make.user(email="someone.else@example.org"))
    report = client.post(f"/report/idea/{public_id}", data={})
    assert report.status_code == 400 and _title(report) == "Error: Report this idea – consult"


FORMS_THAT_ASK_FOR_THE_PASSWORD = {
    "delete account": ("/me/delete", "password", {"contributions": "keep"}),
    "change email": ("/account/email", "password", {"email": "new.address@example.org"}),
    "change password": ("/account/password", "current_password", {"new_password": "violet lantern meadow"}),
}


@pytest.mark.parametrize("form", FORMS_THAT_ASK_FOR_THE_PASSWORD)
def test_a_form_that_asks_for_your_password_cannot_be_used_to_guess_it(client, make, form, steady_clock) -> None:
    path, field, rest = FORMS_THAT_ASK_FOR_THE_PASSWORD[form]
    person = make.user(email="guessed@example.org")
    login(client, person)  # a session left open on a shared computer, say
    for n in range(5):
        wrong = client.post(path, data={field: f"wrong guess {n}", **rest})
        assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    # The login back-off now holds here too, even for the right password, and it says how long to wait.
    held = client.post(path, data={field: PASSWORD, **rest})
    page = held.get_data(as_text=True)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in page and "Wait" in page
    db.session.expire_all()
    kept = db.session.get(User, person.id)
    assert kept is not None and kept.email == "guessed@example.org" and verify_password(kept.password_hash, PASSWORD)


def test_someone_in_the_wrong_group_for_an_open_phase_is_shown_how_to_change_it_and_comes_back(client, make) -> None:
    phase = make.phase(audience=("staff", "student"))
    topic = phase.topics[0]
    login(client, make.user(category="public"))
    page = client.get(f"/topics/{topic.id}").get_data(as_text=True)
    assert "This phase is for" in page
    link = re.search(r'<a href="(/me/how-you-take-part[^"]*)">change how you take part</a>', page).group(1)
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="next" value="/topics/{topic.id}"' in form
    changed = client.post("/me/how-you-take-part", data={"category": "student", "profession": "physiotherapist",
                                                          "next": f"/topics/{topic.id}"})
    assert changed.status_code == 302 and changed.headers["Location"] == f"/topics/{topic.id}"
    assert ">Add an idea</a>" in client.get(f"/topics/{topic.id}").get_data(as_text=True)
    # Someone the phase is open to, or a phase that is closed, gets no such link.
    assert "change how you take part" not in client.get(f"/topics/{topic.id}").get_data(as_text=True)
    closed = make.phase(state="closed", audience=("carer",))
    assert "change how you take part" not in client.get(f"/topics/{closed.topics[0].id}").get_data(as_text=True)


def test_every_link_called_your_account_leads_to_the_page_called_your_account(client, make) -> None:
    login(client, make.user())
    assert "<h1>Your account</h1>" in client.get("/account").get_data(as_text=True)
    for path in ("/", "/account", "/me/about-you", "/privacy", "/me/contributions", "/me/delete"):
        page = client.get(path).get_data(as_text=True)
        targets = set(re.findall(r'<a [^>]*href="([^"]+)"[^>]*>\s*Your account\s*</a>', page))
        assert targets == {"/account"}, (path, targets)


def test_the_delete_account_page_says_how_much_each_choice_keeps_or_removes(client, make) -> None:
    topic = make.phase().topics[0]
    person, other = make.user(), make.user(email="other.person@example.org")
    first, _ = contributions.post_idea(db.session, person, topic, "Evening clinics", "Open later.")
    contributions.post_idea(db.session, person, topic, "Weekend physio", "Saturdays too.")
    contributions.post_comment(db.session, person, first, "And Sundays.")
    contributions.post_comment(db.session, other, first, "Yes please.")
    contributions.post_comment(db.session, other, first, "Agreed.")
    db.session.commit()
    login(client, person)
    page = re.sub(r"\s+", " ", client.get("/me/delete").get_data(as_text=True))
    assert ("You have posted 2 ideas and 1 comment or reply. Other people wrote 2 comments under your ideas."
            in page)
    refused = re.sub(r"\s+", " ", client.post("/me/delete", data={"contributions": "delete"}).get_data(as_text=True))
    assert "Enter your password to confirm" in refused and "You have posted 2 ideas" in refused


@pytest.mark.parametrize("path, field", [("/register", "password"), ("/account/password", "new_password")])
def test_an_empty_new_password_is_asked_for_not_called_too_short(client, make, path, field) -> None:
    if path.startswith("/account"):
        login(client, make.user())
    page = client.post(path, data={"email": "someone@example.org", "category": "public", "current_password": PASSWORD,
                                   field: ""}).get_data(as_text=True)
    assert "Enter a password of 10 characters or more" in page and "Password must be" not in page


def test_log_in_and_register_links_carry_the_page_without_a_stray_question_mark(client, make) -> None:
    phase = make.phase()
    topic = phase.topics[0]
    page = client.get(f"/topics/{topic.id}").get_data(as_text=True)
    nexts = re.findall(r'href="/(?:login|register)\?next=([^"]+)"', page)
    assert nexts and all(n == f"/topics/{topic.id}" for n in {n.replace("%2F", "/") for n in nexts}), nexts


def test_an_idea_page_offers_edit_and_withdraw_on_your_own_posts_and_report_on_others(client, make) -> None:
    phase = make.phase()
    author, reader = make.user(), make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Evening clinics", "Open later please.")
    comment, _ = contributions.post_comment(db.session, reader, idea, "Weekends too, for people who work.")
    db.session.commit()
    idea_pid, comment_pid = idea_url(idea.id).rsplit("/", 1)[1], comment_anchor(comment).split("-", 1)[1]

    login(client, reader)
    page = client.get(idea_url(idea.id)).get_data(as_text=True)
    # Their own comment, just written: edit it (while the window lasts) or withdraw it; the idea: report it.
    assert (f'<a href="/my/comment/{comment_pid}/edit">Edit<span class="nhsuk-u-visually-hidden"> your comment'
            f'</span></a> &middot; ') in page
    assert f'<a href="/my/comment/{comment_pid}/withdraw">Withdraw<span class="nhsuk-u-visually-hidden">' in page
    assert f'<a href="/report/idea/{idea_pid}">Report<span class="nhsuk-u-visually-hidden"> this idea' in page
    assert f"/report/comment/{comment_pid}" not in page and f"/my/idea/{idea_pid}" not in page

    # A visitor gets none of these links.
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    visitor = client.get(idea_url(idea.id)).get_data(as_text=True)
    assert "consult-controls" not in visitor and "/report/" not in visitor


def test_an_idea_page_marks_exactly_the_comments_and_replies_you_voted_on(client, make) -> None:
    """Three comments and five replies (lists of 4 and 8 looked up, the last id repeated): the right ones pressed."""
    phase = make.phase()
    author, voter = make.user(), make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Evening clinics", "Open later please.")
    comments = [contributions.post_comment(db.session, author, idea, f"Comment {n}")[0] for n in range(3)]
    replies = [contributions.post_comment(db.session, author, idea, f"Reply {n}", parent_id=comments[n % 3].id)[0]
               for n in range(5)]
    contributions.vote(db.session, voter, "comment", comments[1].id, 1)
    contributions.vote(db.session, voter, "comment", replies[4].id, -1)
    contributions.vote(db.session, voter, "idea", idea.id, -1)
    db.session.commit()

    login(client, voter)
    page = client.get(idea_url(idea.id)).get_data(as_text=True)
    assert page.count("data-vote-mine>(you support this)") == 1
    assert page.count("data-vote-mine>(you are against this)") == 2

    def mine(item: Any, anchor: str) -> str:
        """The words after the counts in this item's vote box."""
        box = page[page.index(f'data-vote-id="{anchor}"'):]
        start = box.index("data-vote-mine>") + len("data-vote-mine>")
        return box[start:box.index("</span>", start)]

    assert mine(comments[1], comment_anchor(comments[1]).split("-", 1)[1]) == "(you support this)"
    assert mine(replies[4], comment_anchor(replies[4]).split("-", 1)[1]) == "(you are against this)"
    assert mine(comments[0], comment_anchor(comments[0]).split("-", 1)[1]) == ""
    assert mine(replies[3], comment_anchor(replies[3]).split("-", 1)[1]) == ""
    assert mine(idea, idea_url(idea.id).rsplit("/", 1)[1]) == "(you are against this)"


def test_your_account_is_one_page_and_the_old_me_address_moves_there_for_good(client, make) -> None:
    person = make.user(category="carer")
    assert client.get("/me").status_code == 301  # logged out: still moved, then /account asks to log in
    login(client, person)
    client.post("/me/about-you", data={"age_band": "18_24"})
    moved = client.get("/me")
    assert moved.status_code == 301 and moved.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    # What /me showed (how you take part, the answers about you, your data, deleting) beside what /account had.
    for what in ("A carer", 'href="/me/how-you-take-part"', "18 to 24", 'href="/me/about-you/withdraw"',
                 'href="/me/download"', 'href="/privacy"', 'href="/me/delete"', 'href="/me/contributions"',
                 'action="/account/email"', 'action="/account/password"', "Where you are signed in"):
        assert what in page, what
    # Pages that sent people "back to your account" send them to this one page.
    for path in ("/me/delete", "/me/about-you/withdraw", "/me/how-you-take-part"):
        assert 'href="/me"' not in client.get(path).get_data(as_text=True), path
    done = client.post("/me/how-you-take-part", data={"category": "carer", "profession": ""})
    assert done.headers["Location"] == "/account"
