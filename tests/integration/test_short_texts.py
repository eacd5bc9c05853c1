"""Ideas need a title that says something and text with words in it; short real comments ("Yes") still go in."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from consult.extensions import db
from consult.models import Comment, Idea
from consult.services import contributions, manage
from consult.services.errors import Invalid
from consult.services.text import TITLE_MESSAGE
from tests.conftest import login
from tests.integration.test_inclusion import TODAY, upload
from tests.support.publicids import idea_url, item_url

WORDS = "no letters or numbers, only punctuation or symbols"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_one_letter_title_and_a_full_stop_body_are_refused_and_kept_in_the_form(app, client, make) -> None:
    phase = make.phase()
    login(client, make.user())
    response = client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "a", "body": "."})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert TITLE_MESSAGE in page and f"Enter your idea in words: it has {WORDS}" in page
    # What was typed is in the boxes, to fix rather than type again.
    assert re.search(r'<input[^>]*name="title"[^>]*value="a"', page)
    assert ">.</textarea>" in page
    assert _count(Idea) == 0


def test_titles_of_only_punctuation_or_invisible_characters_are_refused(app, client, make) -> None:
    phase = make.phase()
    login(client, make.user())
    url = f"/topics/{phase.topics[0].id}/ideas/new"
    dots = html.unescape(client.post(url, data={"title": "...", "body": "Evening clinics please"})
                         .get_data(as_text=True))
    assert f"Enter a title in words: it has {WORDS}" in dots and "Evening clinics please" in dots
    blank = html.unescape(client.post(url, data={"title": "\u200b\u200b", "body": "Evening clinics please"})
                          .get_data(as_text=True))
    assert "Enter a title" in blank and "Evening clinics please" in blank
    assert _count(Idea) == 0
    assert client.post(url, data={"title": "Go Tops!", "body": "Evening clinics please"}).status_code == 302


def test_short_comments_are_kept_but_punctuation_only_ones_are_refused(app, client, make) -> None:
    phase = make.phase()
    author = make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Evening clinics", "After work hours")
    db.session.commit()
    login(client, make.user())
    for text in ("Yes", "Agree", "+1"):
        assert client.post(f"{idea_url(idea.id)}/comments", data={"body": text}).status_code == 302, text
    refused = client.post(f"{idea_url(idea.id)}/comments", data={"body": "!!!"})
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 400 and f"Enter a comment in words: it has {WORDS}" in page
    assert ">!!!</textarea>" in page
    assert sorted(db.session.scalars(select(Comment.body))) == ["+1", "Agree", "Yes"]


def test_an_author_cannot_edit_an_idea_down_to_one_letter(app, client, make) -> None:
    phase = make.phase()
    author = make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Evening clinics", "After work hours")
    db.session.commit()
    login(client, author)
    response = client.post(item_url("edit", "idea", idea.id), data={"title": "a", "body": "."})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and TITLE_MESSAGE in page and WORDS in page
    db.session.expire_all()
    assert (db.session.get(Idea, idea.id).title, db.session.get(Idea, idea.id).body) == (
        "Evening clinics", "After work hours")


def test_ideas_entered_on_someones_behalf_follow_the_same_rule(app, make) -> None:
    phase = make.phase()
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, phase.consultation)
    try:
        manage.enter_on_behalf(db.session, facilitator, phase.topics[0], title="a", body=".", channel="paper",
                               category="carer")
    except Invalid as exc:
        assert exc.field_errors["title"] == TITLE_MESSAGE and WORDS in exc.field_errors["body"]
    else:
        raise AssertionError("a one-letter title was entered")
    assert _count(Idea) == 0


def test_a_workshop_upload_reports_wordless_rows_as_not_added_and_adds_the_rest(app, client, make) -> None:
    phase = make.phase()
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, phase.consultation)
    login(client, facilitator)
    text = ("topic,title,idea,channel,event,date\n"
            f"Topic 1,Buses to clinic,The bus does not reach the clinic.,workshop,Forum,{TODAY}\n"
            f"Topic 1,a,.,workshop,Forum,{TODAY}\n"
            f"Topic 1,???,Seen at the forum,paper,Forum,{TODAY}\n"
            f"Topic 1,Parking,Parking costs too much,paper,Forum,{TODAY}\n")
    response = client.post(f"/facilitate/phases/{phase.id}/workshops", data=upload(text),
                           content_type="multipart/form-data")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and "2 rows added" in page and "2 not added" in page
    assert "Row 3" in page and "Row 4" in page and TITLE_MESSAGE in page and WORDS in page
    assert sorted(db.session.scalars(select(Idea.title))) == ["Buses to clinic", "Parking"]


def test_the_api_takes_no_contributions_so_it_cannot_go_round_the_rule(app, client, make) -> None:
    # The API is read-only: every idea and comment comes through the one rule in services/contributions.py.
    phase = make.phase()
    author = make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Evening clinics", "After work hours")
    db.session.commit()
    login(client, author)
    for url in (f"/api/v1/topics/{phase.topics[0].id}/ideas", f"/api/v1{idea_url(idea.id)}/comments"):
        assert client.post(url, data={"title": "a", "body": "."}).status_code == 405, url
    assert (_count(Idea), _count(Comment)) == (1, 0)
