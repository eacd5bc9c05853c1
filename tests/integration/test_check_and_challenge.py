"""Facilitators publish codebook themes as statements and write "What we heard"; participants see both."""

from __future__ import annotations

from sqlalchemy import select

from consult.extensions import db
from consult.models import ConsultationAssignment, Idea, Statement
from consult.services import challenge, contributions
from consult.services import codebook as cb
from tests.conftest import login
from tests.integration.workspace_data import closed_phase, finished_run, seed
from tests.support.publicids import idea_url


def _setup(make):
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    for n, theme in enumerate(book.themes[:2]):
        cb.rename(db.session, actor=data["analyst"], theme=theme, label=f"Theme number {n}",
                  summary=f"People said thing {n}.")
    # The engine now describes every theme, and adopting keeps that as a draft summary; the third theme is
    # left without one, to show that a theme nobody has summarised cannot be published.
    cb.rename(db.session, actor=data["analyst"], theme=book.themes[2], label=book.themes[2].label, summary="")
    closed_phase(data["phase"])
    later = make.phase(consultation=data["consultation"])
    facilitator = make.user(role="facilitator", category="staff", email="facilitator.x@example.net")
    db.session.add(ConsultationAssignment(consultation_id=data["consultation"].id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    return {**data, "book": book, "later": later, "facilitator": facilitator}


def _quote(data, theme, contributions_: list[str]) -> None:
    """An analyst chooses these contributions as the theme's quotes (only chosen quotes are published)."""
    from consult.services import codebook_quotes

    assert codebook_quotes.choose(db.session, actor=data["analyst"], theme=theme, contributions=contributions_,
                                  seen=cb.stamp(theme)) == len(contributions_)
    db.session.commit()


def test_statements_are_ideas_linked_to_the_codebook_and_counted(client, make) -> None:
    data = _setup(make)
    cid, book, later = data["consultation"].id, data["book"], data["later"]
    first, second, third = book.themes[:3]
    login(client, data["facilitator"])
    page = client.get(f"/facilitate/consultations/{cid}/feedback").get_data(as_text=True)
    assert "Publish as statements" in page
    refused = client.post(f"/facilitate/consultations/{cid}/statements",
                          data={"topic_id": later.topics[0].id, "themes": [third.id]})
    assert refused.status_code == 400 and "Write a summary" in refused.get_data(as_text=True)
    closed = client.post(f"/facilitate/consultations/{cid}/statements",
                         data={"topic_id": data["phase"].topics[0].id, "themes": [first.id]})
    assert closed.status_code == 400 and "closed" in closed.get_data(as_text=True)
    done = client.post(f"/facilitate/consultations/{cid}/statements",
                       data={"topic_id": later.topics[0].id, "themes": [first.id, second.id]})
    assert done.status_code == 302
    again = client.post(f"/facilitate/consultations/{cid}/statements",
                        data={"topic_id": later.topics[0].id, "themes": [first.id]})
    assert again.status_code == 400 and "already a statement" in again.get_data(as_text=True)
    statements = db.session.scalars(select(Statement)).all()
    assert len(statements) == 2 and {s.codebook_version for s in statements} == {book.version}
    idea = db.session.get(Idea, statements[0].idea_id)
    assert idea.phase_id == later.id and idea.title == "Theme number 0"
    assert set(statements[0].contributions) == {m.contribution for m in first.members}

    # Participants vote and comment as on any idea; the page counts endorse, challenge and add.
    client.post("/logout")
    voter = data["authors"][0]
    contributions.vote(db.session, voter, "idea", idea.id, 1)
    contributions.vote(db.session, data["authors"][1], "idea", idea.id, -1)
    contributions.vote(db.session, data["authors"][2], "idea", idea.id, 1)
    contributions.post_comment(db.session, data["authors"][3], idea, "You missed the waits for children")
    db.session.commit()
    login(client, voter)
    assert client.get(idea_url(idea.id)).status_code == 200
    client.post("/logout")
    login(client, data["facilitator"])
    page = client.get(f"/facilitate/consultations/{cid}/feedback").get_data(as_text=True)
    row = page[page.index("Theme number 0</a>"):][:600]
    assert ">2<" in row and ">1<" in row and "1 from 1 person" in row


def test_what_we_heard_page_is_written_published_and_linked_for_participants(client, make) -> None:
    data = _setup(make)
    phase, book = data["phase"], data["book"]
    first = book.themes[0]
    _quote(data, first, [m.contribution for m in first.members if m.contribution.startswith("i")][:1])
    login(client, data["facilitator"])
    missing = client.post(f"/facilitate/phases/{phase.id}/what-we-heard",
                          data={"introduction": "", "themes": [first.id], "publish": "y"})
    assert missing.status_code == 400 and "Write an introduction" in missing.get_data(as_text=True)
    assert client.get(f"/phases/{phase.id}/what-we-heard").status_code == 404
    draft = client.post(f"/facilitate/phases/{phase.id}/what-we-heard",
                        data={"introduction": "Draft", "themes": [first.id]})
    assert draft.status_code == 302
    assert "This is a preview" in client.get(f"/phases/{phase.id}/what-we-heard").get_data(as_text=True)
    client.post("/logout")
    assert client.get(f"/phases/{phase.id}/what-we-heard").status_code == 404  # drafts are not public
    login(client, data["facilitator"])
    db.session.expire_all()
    seen = challenge.heard_stamp(challenge.heard_page(db.session, phase))  # the editor's hidden field
    saved = client.post(f"/facilitate/phases/{phase.id}/what-we-heard",
                        data={"introduction": "We asked how care could be better.", "themes": [first.id],
                              f"action_{first.id}": "We put this in the strategy.", "publish": "y",
                              "outcome": "The strategy was published.", "seen": seen})
    assert saved.status_code == 302
    client.post("/logout")
    page = client.get(f"/phases/{phase.id}/what-we-heard").get_data(as_text=True)
    assert "Theme number 0" in page and "People said thing 0." in page and "We put this in the strategy." in page
    # The consultation's own page links to it under its phase.
    home = client.get(f"/c/{data['consultation'].slug}").get_data(as_text=True)
    assert f'href="/phases/{phase.id}/what-we-heard">What we heard in phase 1</a>' in home
    month = data["ideas"][0].created_at.strftime("%B %Y")
    assert f"Anon, {month}, {phase.title}" in page
    for author in data["authors"]:
        assert author.email not in page
    assert "What we heard in this conversation" in client.get(f"/phases/{phase.id}").get_data(as_text=True)
    login(client, data["authors"][0])
    mine = client.get("/me/contributions").get_data(as_text=True)
    assert f"/phases/{phase.id}/what-we-heard" in mine


def test_choosing_a_phases_themes_shows_how_many_contributions_each_has_from_that_phase(client, make) -> None:
    data = _setup(make)
    phase, later, book = data["phase"], data["later"], data["book"]
    login(client, data["facilitator"])
    page = client.get(f"/facilitate/phases/{phase.id}/what-we-heard").get_data(as_text=True)
    first = book.themes[0]
    assert f"{len(first.members)} contribution" in page and "from this phase" in page
    # Every contribution came from the first phase, so the later phase's page says so for each theme.
    later_page = client.get(f"/facilitate/phases/{later.id}/what-we-heard").get_data(as_text=True)
    assert later_page.count("None of its contributions came from this phase") == len(book.themes)


def test_what_we_heard_quotes_the_same_words_once(client, make) -> None:
    from consult.models import CodebookMember

    data = _setup(make)
    phase, book = data["phase"], data["book"]
    first = book.themes[0]
    said = "Theme number zero matters more than anything else here, truly."
    phase.state, phase.closes_at = "open", None  # the comments were posted before it closed
    for n in range(3):  # the same comment from three people, each well supported
        comment, _ = contributions.post_comment(db.session, data["authors"][n], data["ideas"][n], said)
        db.session.flush()
        comment.up_count = 50
        first.members.append(CodebookMember(contribution=f"c{comment.id}", source="analyst"))
    db.session.flush()
    _quote(data, first, [m.contribution for m in first.members if m.contribution.startswith("c")][-3:])
    closed_phase(phase)
    db.session.commit()
    login(client, data["facilitator"])
    client.post(f"/facilitate/phases/{phase.id}/what-we-heard",
                data={"introduction": "We asked.", "themes": [first.id], "publish": "y"})
    page = client.get(f"/phases/{phase.id}/what-we-heard").get_data(as_text=True)
    assert page.count(said) == 1


def test_what_we_heard_quotes_a_comment_with_the_idea_it_answers_and_never_one_under_a_hidden_idea(
        client, make) -> None:
    from consult.models import CodebookMember

    data = _setup(make)
    phase, book = data["phase"], data["book"]
    answered, hidden = data["ideas"][0], data["ideas"][1]
    phase.state, phase.closes_at = "open", None
    reply, _ = contributions.post_comment(db.session, data["authors"][4], answered,
                                          "I hadn't thought of this, but it makes a lot of sense.")
    secret, _ = contributions.post_comment(db.session, data["authors"][5], hidden,
                                           "Under an idea the moderators hid, so nobody can read this.")
    db.session.flush()
    theme = book.themes[0]
    theme.members = [CodebookMember(contribution=f"c{reply.id}", source="analyst"),
                     CodebookMember(contribution=f"c{secret.id}", source="analyst")]
    db.session.flush()
    _quote(data, theme, [f"c{reply.id}", f"c{secret.id}"])  # both chosen; then the moderators hide the idea
    hidden.moderation_state = "hidden"
    closed_phase(phase)
    db.session.commit()
    login(client, data["facilitator"])
    client.post(f"/facilitate/phases/{phase.id}/what-we-heard",
                data={"introduction": "We asked.", "themes": [theme.id], "publish": "y"})
    client.post("/logout")
    page = client.get(f"/phases/{phase.id}/what-we-heard").get_data(as_text=True)
    assert "I hadn&#39;t thought of this" in page
    context = page[page.index("In reply to the idea"):page.index("I hadn&#39;t thought of this")]
    assert f"“{answered.title}”" in context
    # The hidden idea's title and the comment under it are not public anywhere else, so not here either.
    assert "nobody can read this" not in page and hidden.title not in page


def test_an_emerging_theme_is_checked_with_this_is_right_or_not_and_ideas_keep_support_and_against(
        client, make) -> None:
    from consult.models import Vote
    from tests.support.publicids import vote_form

    data = _setup(make)
    first = data["book"].themes[0]
    login(client, data["facilitator"])
    client.post(f"/facilitate/consultations/{data['consultation'].id}/statements",
                data={"topic_id": data["later"].topics[0].id, "themes": [first.id]})
    client.post("/logout")
    statement = db.session.scalar(select(Statement.idea_id))
    voter = data["authors"][0]
    login(client, voter)
    url = idea_url(statement)
    page = client.get(url).get_data(as_text=True)
    assert "This is right<span class=\"nhsuk-u-visually-hidden\"> this summary</span>" in page
    assert "This is not right<span" in page and ">Support<" not in page and "Against<span" not in page
    assert "say this is right" in page and "say it is not right" in page
    # Without JavaScript: the form posts, and the message says what was recorded in the same words.
    done = client.post("/vote", data=vote_form("idea", statement, -1, next=url), follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "You said this summary is not right." in text and "(you said this is not right)" in text
    assert db.session.scalar(select(Vote.value).where(Vote.idea_id == statement)) == -1  # stored as any vote
    assert "You said this summary is right." in client.post(
        "/vote", data=vote_form("idea", statement, 1, next=url), follow_redirects=True).get_data(as_text=True)
    # The topic lists it with the same words; an idea a participant wrote keeps Support and Against.
    topic = client.get(f"/topics/{data['later'].topics[0].id}").get_data(as_text=True)
    assert "This is right<span class=\"nhsuk-u-visually-hidden\"> emerging theme: " in topic
    idea_page = client.get(idea_url(data["ideas"][0])).get_data(as_text=True)
    assert "say this is right" not in idea_page and " support," in idea_page
