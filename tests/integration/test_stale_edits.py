"""Two tabs on one theme or one "What we heard" page: a save from the older tab never silently undoes the newer one."""

from __future__ import annotations

import html
import re
import threading

from sqlalchemy import select

from consult.extensions import db, write_intent
from consult.models import Codebook, CodebookTheme, ConsultationAssignment, User
from consult.services import challenge
from consult.services import codebook as cb
from tests.conftest import login
from tests.integration.workspace_data import finished_run, seed
from tests.support.race import race


def _adopted(make) -> dict:
    """A consultation with an adopted codebook, an analyst and a facilitator assigned to it."""
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    facilitator = make.user(role="facilitator", category="staff", email="facilitator.stale@example.net")
    db.session.add(ConsultationAssignment(consultation_id=data["consultation"].id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    return {**data, "book": book, "facilitator": facilitator}


def _tabs(app, user) -> tuple:
    """Two logged-in clients: two browser tabs of the same analyst."""
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    return first, second


def _seen(page: str) -> str:
    """The hidden "seen" field of the page's first form."""
    found = re.search(r'name="seen" value="([^"]*)"', page)
    assert found, "the page has no seen field"
    return html.unescape(found.group(1))


def _box(page: str, name: str) -> str:
    """What a text box (input or textarea) of the page holds."""
    found = (re.search(rf'<textarea[^>]* name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
             or re.search(rf'<input[^>]* name="{name}" type="text" value="([^"]*)"', page))
    assert found, f"no box {name}"
    return html.unescape(found.group(1))


def _theme(theme_id: int) -> CodebookTheme:
    db.session.expire_all()
    return db.session.get(CodebookTheme, theme_id)


def _version() -> int:
    db.session.expire_all()
    return db.session.scalar(select(Codebook.version))


# ------------------------------------------------------------------------------------------ the codebook


def _both_open(app, make, theme_index: int = 0):
    """An adopted codebook and one theme's page open in two tabs of the same analyst."""
    data = _adopted(make)
    theme = data["book"].themes[theme_index]
    a, b = _tabs(app, data["analyst"])
    url = f"/workspace/{data['consultation'].id}/themes/{theme.id}"
    return data, theme, a, b, url, a.get(url).get_data(as_text=True), b.get(url).get_data(as_text=True)


def test_a_stale_save_that_would_overwrite_a_newer_summary_is_refused_and_the_typed_text_kept(app, make) -> None:
    data, theme, a, b, url, page_a, page_b = _both_open(app, make)
    old_summary = _box(page_b, "summary")
    saved = a.post(f"{url}/edit", data={"label": "Waiting times", "summary": "People wait months for therapy.",
                                        "seen": _seen(page_a)})
    assert saved.status_code == 302 and _version() == 2

    # Tab B renames only, but its form still holds the old summary: that would undo A's summary.
    refused = b.post(f"{url}/edit", data={"label": "Long waits", "summary": old_summary, "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "This theme was changed by someone else since you opened this page (now version 2:" in text
    assert "Renamed" in text and "Your text is below" in text
    assert _box(text, "label") == "Long waits"  # the typed name is shown back ...
    assert _box(text, "summary") == "People wait months for therapy."  # ... with A's summary, which B left alone
    assert "People wait months for therapy." in text[text.index('id="stale"'):]  # the current version is shown
    kept = _theme(theme.id)
    assert (kept.label, kept.summary, _version()) == ("Waiting times", "People wait months for therapy.", 2)

    # Saving again from the refusal page is deliberate: it goes through and keeps A's summary.
    again = b.post(f"{url}/edit", data={"label": _box(text, "label"), "summary": _box(text, "summary"),
                                        "seen": _seen(text)})
    assert again.status_code == 302
    final = _theme(theme.id)
    assert (final.label, final.summary, _version()) == ("Long waits", "People wait months for therapy.", 3)


def test_a_stale_rename_that_leaves_the_summary_alone_goes_through_and_keeps_the_newer_summary(app, make) -> None:
    data, theme, a, b, url, page_a, page_b = _both_open(app, make)
    label = _box(page_a, "label")
    assert a.post(f"{url}/edit", data={"label": label, "summary": "Rewritten by A.",
                                       "seen": _seen(page_a)}).status_code == 302
    done = b.post(f"{url}/edit", data={"label": "Renamed by B", "summary": _box(page_b, "summary"),
                                       "seen": _seen(page_b)}, follow_redirects=True)
    assert done.status_code == 200
    assert "Someone else had changed the summary since you opened the page; theirs was kept." in \
        done.get_data(as_text=True)
    final = _theme(theme.id)
    assert (final.label, final.summary, _version()) == ("Renamed by B", "Rewritten by A.", 3)


def test_a_save_without_the_hidden_field_is_not_taken_on_trust(app, make, client) -> None:
    data = _adopted(make)
    cid, theme = data["consultation"].id, data["book"].themes[0]
    login(client, data["analyst"])
    refused = client.post(f"/workspace/{cid}/themes/{theme.id}/edit", data={"label": "No stamp", "summary": ""})
    assert refused.status_code == 409 and "may be out of date" in refused.get_data(as_text=True)
    assert "No stamp" in refused.get_data(as_text=True) and _version() == 1


def test_a_stale_rename_of_a_theme_merged_meanwhile_is_refused_with_where_its_contributions_went(app, make) -> None:
    data = _adopted(make)
    cid = data["consultation"].id
    merged, target = data["book"].themes[0], data["book"].themes[1]
    a, b = _tabs(app, data["analyst"])
    page_b = b.get(f"/workspace/{cid}/themes/{merged.id}").get_data(as_text=True)
    page_a = a.get(f"/workspace/{cid}/themes/{target.id}").get_data(as_text=True)
    assert a.post(f"/workspace/{cid}/themes/{target.id}/merge",
                  data={"other": merged.id, "seen": _seen(page_a)}).status_code == 302
    old_label = _theme(merged.id).label
    refused = b.post(f"/workspace/{cid}/themes/{merged.id}/edit",
                     data={"label": "A careful new name", "summary": "A careful summary", "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert f"“{html.escape(old_label, quote=False)}” was merged into another theme (version 2)" in text
    assert f"Its contributions are now in “{html.escape(_theme(target.id).label, quote=False)}”" in text
    assert f'href="/workspace/{cid}/themes/{target.id}"' in text
    assert "A careful new name" in text and "A careful summary" in text
    assert _theme(merged.id).label == old_label and _version() == 2
    # Nor can the stale page split, move or take out its (former) contributions, or change its scope.
    member = next(m.contribution for m in _theme(target.id).members)
    for action, extra in (("split", {"new_label": "Split off"}), ("remove", {}), ("scope", {})):
        response = b.post(f"/workspace/{cid}/themes/{merged.id}/{action}",
                          data={"contributions": [member], "seen": _seen(page_b), **extra})
        assert response.status_code == 409 and "was merged into another theme" in response.get_data(as_text=True)
    assert _version() == 2


def test_stale_member_changes_are_refused_only_when_they_touch_what_changed(app, make) -> None:
    data, source, a, b, url, page_a, page_b = _both_open(app, make)
    other = data["book"].themes[1]
    members = [m.contribution for m in source.members]
    gone, staying = members[0], members[1]
    assert a.post(f"{url}/move", data={"contributions": [gone], "target": other.id,
                                       "seen": _seen(page_a)}).status_code == 302
    # B ticked the contribution A moved away: refused, with B's new theme's name kept.
    refused = b.post(f"{url}/split", data={"contributions": [gone], "new_label": "Typed by B", "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and f"{gone} is no longer in this theme" in text
    assert "now version 2: Moved" in text and _box(text, "new_label") == "Typed by B" and _version() == 2
    # A contribution still in the theme: nothing it depends on changed, so the stale page's split goes through.
    assert b.post(f"{url}/split", data={"contributions": [staying], "new_label": "Typed by B",
                                        "seen": _seen(page_b)}).status_code == 302
    assert _version() == 3


def test_a_stale_scope_change_is_refused_but_one_on_a_theme_changed_back_goes_through(app, make) -> None:
    data, theme, a, b, url, page_a, page_b = _both_open(app, make)
    assert a.post(f"{url}/scope", data={"seen": _seen(page_a)}).status_code == 302  # out of scope
    refused = b.post(f"{url}/scope", data={"in_scope": "", "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "(now version 2: Marked" in text and "Bring back into scope" in text
    assert _theme(theme.id).state == "out_of_scope" and _version() == 2
    # Back in scope: the theme is as B's page showed it again, so B's choice applies to what B saw.
    assert a.post(f"{url}/scope", data={"in_scope": "y", "seen": _seen(a.get(url).get_data(as_text=True))}
                  ).status_code == 302
    assert b.post(f"{url}/scope", data={"seen": _seen(page_b)}).status_code == 302
    assert _theme(theme.id).state == "out_of_scope" and _version() == 4


def test_a_theme_whose_split_was_undone_says_where_its_contributions_went(app, make) -> None:
    data = _adopted(make)
    cid, source = data["consultation"].id, data["book"].themes[0]
    created = cb.split(db.session, actor=data["analyst"], theme=source,
                       contributions=[source.members[0].contribution], label="Short lived")
    db.session.commit()
    a, b = _tabs(app, data["analyst"])
    page_b = b.get(f"/workspace/{cid}/themes/{created.id}").get_data(as_text=True)
    assert a.post(f"/workspace/{cid}/undo", data={"version": 2}).status_code == 302
    refused = b.post(f"/workspace/{cid}/themes/{created.id}/edit",
                     data={"label": "Named too late", "summary": "", "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "This theme no longer exists: version 3 undid the split" in text
    assert f'href="/workspace/{cid}/themes/{source.id}"' in text and "Named too late" in text
    assert b.get(f"/workspace/{cid}/themes/{created.id}").status_code == 404


def test_two_saves_from_the_same_version_at_the_same_moment_queue_and_the_second_is_refused(app, make) -> None:
    """The check and the write are one transaction: the second save waits for the first, then sees its change."""
    data = _adopted(make)
    theme_id, user_id = data["book"].themes[0].id, data["analyst"].id
    seen = cb.stamp(db.session.get(CodebookTheme, theme_id))
    db.session.commit()
    read, outcome = threading.Event(), {}

    def second() -> None:
        with write_intent(), db.new_session() as session:
            theme = session.get(CodebookTheme, theme_id)  # read before the first save commits (PostgreSQL)
            read.set()
            try:
                cb.edit(session, actor=session.get(User, user_id), theme=theme, label="Second",
                        summary="Second summary", seen=seen)
                session.commit()
                outcome["result"] = "saved"
            except cb.Stale as exc:
                outcome["result"] = exc.message

    with write_intent(), db.new_session() as first:
        cb.edit(first, actor=first.get(User, user_id), theme=first.get(CodebookTheme, theme_id), label="First",
                summary="First summary", seen=seen)  # holds the codebook's lock until it commits
        race(second, first.commit, read=read)  # SQLite: the second waits at BEGIN, before reading
    assert str(outcome.get("result", "")).startswith("This theme was changed by someone else")
    final = _theme(theme_id)
    assert (final.label, final.summary, _version()) == ("First", "First summary", 2)


# ---------------------------------------------------------------------------------------- what we heard


def _heard_tabs(app, make) -> tuple:
    data = _adopted(make)
    a, b = _tabs(app, data["facilitator"])
    url = f"/facilitate/phases/{data['phase'].id}/what-we-heard"
    return data, a, b, url


def test_a_stale_what_we_heard_save_keeps_the_newer_tick_and_text_and_shows_the_typed_text(app, make) -> None:
    data, a, b, url = _heard_tabs(app, make)
    theme = data["book"].themes[0]
    a.post(url, data={"introduction": "First intro", "seen": _seen(a.get(url).get_data(as_text=True))})
    page_a, page_b = a.get(url).get_data(as_text=True), b.get(url).get_data(as_text=True)
    assert a.post(url, data={"introduction": "Intro by A", "themes": [theme.id],
                             f"action_{theme.id}": "Action by A", "seen": _seen(page_a)}).status_code == 302
    refused = b.post(url, data={"introduction": "Intro by B", "seen": _seen(page_b)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "This page was changed by someone else since you opened it (last saved by facilitator.stale@" in text
    assert _box(text, "introduction") == "Intro by B" and "Intro by A" in text  # theirs is shown above the box
    assert _box(text, f"action_{theme.id}") == "Action by A"  # B left the theme alone: A's tick and text stay
    assert re.search(rf'name="themes" type="checkbox" value="{theme.id}"[^>]* checked', text)
    db.session.expire_all()
    page = challenge.heard_page(db.session, data["phase"])
    assert page.introduction == "Intro by A" and [(t.theme_id, t.action) for t in page.themes] == \
        [(theme.id, "Action by A")]
    # Saving again from the refusal page keeps both: B's introduction, A's tick and action.
    again = b.post(url, data={"introduction": _box(text, "introduction"), "themes": [theme.id],
                              f"action_{theme.id}": _box(text, f"action_{theme.id}"), "seen": _seen(text)})
    assert again.status_code == 302
    db.session.expire_all()
    page = challenge.heard_page(db.session, data["phase"])
    assert page.introduction == "Intro by B" and [(t.theme_id, t.action) for t in page.themes] == \
        [(theme.id, "Action by A")]


def test_a_stale_what_we_heard_save_of_other_parts_goes_through_and_keeps_the_newer_ones(app, make) -> None:
    data, a, b, url = _heard_tabs(app, make)
    theme = data["book"].themes[0]
    page_a, page_b = a.get(url).get_data(as_text=True), b.get(url).get_data(as_text=True)
    assert a.post(url, data={"introduction": "Intro by A", "themes": [theme.id],
                             f"action_{theme.id}": "Action by A", "seen": _seen(page_a)}).status_code == 302
    done = b.post(url, data={"introduction": "", "outcome": "Outcome by B", "seen": _seen(page_b)},
                  follow_redirects=True)
    assert done.status_code == 200 and "theirs was kept" in done.get_data(as_text=True)
    db.session.expire_all()
    page = challenge.heard_page(db.session, data["phase"])
    assert (page.introduction, page.outcome) == ("Intro by A", "Outcome by B")
    assert [(t.theme_id, t.action) for t in page.themes] == [(theme.id, "Action by A")]


def test_a_what_we_heard_save_without_the_hidden_field_is_not_taken_on_trust(app, make) -> None:
    data, a, _, url = _heard_tabs(app, make)
    a.post(url, data={"introduction": "Saved first", "seen": _seen(a.get(url).get_data(as_text=True))})
    refused = a.post(url, data={"introduction": "No stamp"})
    assert refused.status_code == 409 and "may be out of date" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert challenge.heard_page(db.session, data["phase"]).introduction == "Saved first"


def test_proposals_chosen_for_a_theme_merged_meanwhile_are_given_back_moved_to_where_it_went(app, make) -> None:
    from consult.services import contributions

    data = _adopted(make)
    cid = data["consultation"].id
    author, topic = data["authors"][0], data["phase"].topics[0]
    waits, _ = contributions.post_idea(db.session, author, topic, "Waits for physio",
                                       "The waiting list for physio appointments is far too long")
    video, _ = contributions.post_idea(db.session, author, topic, "Video calls", "Video calls for follow ups")
    db.session.commit()
    finished_run(cid, data["analyst"])
    merged, target, third = data["book"].themes[0], data["book"].themes[1], data["book"].themes[2]
    a, b = _tabs(app, data["analyst"])
    assert f"choice_i{waits.id}" in b.get(f"/workspace/{cid}/proposals").get_data(as_text=True)
    page_a = a.get(f"/workspace/{cid}/themes/{target.id}").get_data(as_text=True)
    assert a.post(f"/workspace/{cid}/themes/{target.id}/merge",
                  data={"other": merged.id, "seen": _seen(page_a)}).status_code == 302
    old_label, new_label = _theme(merged.id).label, _theme(target.id).label
    refused = b.post(f"/workspace/{cid}/proposals",
                     data={f"choice_i{waits.id}": str(merged.id), f"choice_i{video.id}": str(third.id)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and _version() == 2
    assert html.escape(f"“{old_label}” was merged into “{new_label}”", quote=False) in text
    # Both choices are on the page again: the merged theme's moved to where its contributions went.
    for item, theme in ((waits, target), (video, third)):
        select_box = re.search(rf'<select[^>]*name="choice_i{item.id}".*?</select>', text, re.S).group(0)
        assert re.search(rf'<option value="{theme.id}" selected', select_box), select_box
    done = b.post(f"/workspace/{cid}/proposals",
                  data={f"choice_i{waits.id}": str(target.id), f"choice_i{video.id}": str(third.id)})
    assert done.status_code == 302 and _version() == 3
    assert f"i{waits.id}" in {m.contribution for m in _theme(target.id).members}


def test_proposals_coded_by_someone_else_meanwhile_keep_their_coding_and_the_analyst_is_told(app, make) -> None:
    from consult.services import contributions

    data = _adopted(make)
    cid = data["consultation"].id
    waits, _ = contributions.post_idea(db.session, data["authors"][0], data["phase"].topics[0], "Waits for physio",
                                       "The waiting list for physio appointments is far too long")
    db.session.commit()
    finished_run(cid, data["analyst"])
    first, second = data["book"].themes[0], data["book"].themes[1]
    a, b = _tabs(app, data["analyst"])
    assert a.post(f"/workspace/{cid}/proposals", data={f"choice_i{waits.id}": str(first.id)}).status_code == 302
    told = b.post(f"/workspace/{cid}/proposals", data={f"choice_i{waits.id}": str(second.id)},
                  follow_redirects=True).get_data(as_text=True)
    assert "1 contribution you chose for had been coded by someone else meanwhile; their coding was kept." in told
    assert f"i{waits.id}" in {m.contribution for m in _theme(first.id).members}
    assert f"i{waits.id}" not in {m.contribution for m in _theme(second.id).members}
