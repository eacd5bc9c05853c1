"""Paged lists on the topic and idea pages: the count, every page, and pages past the end."""

from __future__ import annotations

import re

from consult.extensions import db
from consult.models import Comment, Idea, utcnow
from consult.services import queries


def _ideas(make, phase, count: int) -> list[int]:
    """Published ideas under the phase's first topic, oldest first."""
    author = make.user()
    ideas = [Idea(topic_id=phase.topics[0].id, phase_id=phase.id, author_id=author.id, channel="online",
                  author_category="public", title=f"Idea {n}", body="Body", created_at=utcnow(),
                  visible_from=utcnow()) for n in range(count)]
    db.session.add_all(ideas)
    db.session.commit()
    return [idea.id for idea in ideas]


def test_a_topic_page_counts_its_ideas_and_a_page_past_the_end_shows_the_last_one(client, make, app) -> None:
    per_page = app.config["PAGE_SIZE"]
    phase = make.phase()
    _ideas(make, phase, per_page + 3)
    topic = f"/topics/{phase.topics[0].id}?order=newest"
    first = client.get(topic).get_data(as_text=True)
    assert f"Ideas <span class=\"consult-muted\">({per_page + 3})</span>" in first
    assert len(re.findall(r"nhsuk-card__heading", first)) == per_page and "Page 1 of 2" in first
    for page in (2, 3, 99):
        shown = client.get(f"{topic}&page={page}").get_data(as_text=True)
        assert len(re.findall(r"nhsuk-card__heading", shown)) == 3 and "Page 2 of 2" in shown
        assert f"({per_page + 3})" in shown


def test_an_empty_list_has_no_items_on_any_page(make, app) -> None:
    phase = make.phase()
    for page in (1, 2):
        listed = queries.topic_ideas(db.session, phase.topics[0], order="newest", seed=1, page=page, per_page=5)
        assert (listed.items, listed.total, listed.page) == ([], 0, 1)


def test_comment_pages_count_only_top_level_comments_in_their_states(make, app) -> None:
    phase = make.phase()
    idea = db.session.get(Idea, _ideas(make, phase, 1)[0])
    author = make.user()

    def comment(state: str = "published", parent: Comment | None = None) -> Comment:
        item = Comment(idea_id=idea.id, phase_id=phase.id, author_id=author.id, channel="online",
                       author_category="public", body="A comment", created_at=utcnow(), visible_from=utcnow(),
                       moderation_state=state, parent_id=parent.id if parent else None)
        db.session.add(item)
        db.session.flush()
        return item

    tops = [comment() for _ in range(4)] + [comment("hidden"), comment("held")]
    comment(parent=tops[0])
    db.session.commit()
    for page in (2, 9):
        shown, _ = queries.idea_comments(db.session, idea, page=page, per_page=3, in_place=True)
        assert (shown.total, shown.page, [c.id for c in shown.items]) == (5, 2, [tops[3].id, tops[4].id])
    published, replies = queries.idea_comments(db.session, idea, page=1, per_page=3)
    assert published.total == 4 and [c.id for c in published.items] == [c.id for c in tops[:3]]
    assert [r.parent_id for r in replies[tops[0].id]] == [tops[0].id]
