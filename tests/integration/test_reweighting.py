"""Theme shares reweighted to the reference population, inside the analysis, under disclosure control."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from analysis.group_disclosure import reweighted_theme_shares
from consult.extensions import db
from consult.models import AnalysisRun, utcnow
from consult.services import contributions, disclosure, equality, inclusion, reweighting
from tests.conftest import login
from tests.integration.workspace_data import finished_run, seed

# (age band, theme, people): one idea each. 75 and over has 5 people: under 20, so never broken down.
DESIGN = [("25_34", 0, 20), ("25_34", 1, 10), ("45_54", 0, 10), ("45_54", 1, 20), ("75_plus", 0, 5)]


@pytest.fixture()
def world(app, make):
    """A consultation whose contributions fall in two themes, by age band, and a finished run over them."""
    app.config["RATE_LIMIT_SCALE"] = 100
    phase = make.phase()
    analyst = make.user(role="analyst", category="staff")
    make.assign(analyst, phase.consultation, "analyst")
    secret = app.config["PSEUDONYM_KEY"]
    rows = []
    for band, theme, people in DESIGN:
        for i in range(people):
            user = make.user()
            equality.save_answers(db.session, user_id=user.id, secret=secret, category=user.profile.category,
                                  values={"age_band": band}, consent=True)
            idea, _ = contributions.post_idea(db.session, user, phase.topics[0], f"{band} idea {theme} {i}",
                                              "Some words about it")
            rows.append({"id": f"i{idea.id}", "theme": theme})
    run = AnalysisRun(consultation_id=phase.consultation_id, requested_by_id=analyst.id, params={}, state="done",
                      finished_at=utcnow(), result={"contributions": rows, "themes": {"themes": [
                          {"id": t, "label": label, "contributions": [r["id"] for r in rows if r["theme"] == t]}
                          for t, label in ((0, "Waiting times"), (1, "Booking online"))]}})
    db.session.add(run)
    db.session.commit()
    return run, analyst


def test_reweighted_shares_equal_the_pure_function_on_a_seeded_world(app, world) -> None:
    run, _ = world
    report = reweighting.theme_shares(db.session, run, dimension="age_band", secret=app.config["PSEUDONYM_KEY"],
                                      policy=disclosure.policy_from(app.config))
    counts: dict[str, dict[int, int]] = {}
    for band, theme, people in DESIGN:
        counts.setdefault(band, {})[theme] = people
    reference, _ = inclusion.reference_shares(db.session, run.consultation_id, inclusion.BY_DIMENSION["age_band"])
    expected = reweighted_theme_shares(counts, {b: sum(t.values()) for b, t in counts.items()}, reference)
    assert expected["groups_used"] == ["25_34", "45_54"] and expected["groups_left_out"] == ["75_plus"]
    for got, want in zip(report["themes"], expected["themes"], strict=True):
        assert got["raw_share"] == want["raw_share"]
        assert got["reweighted"] == (want["reweighted_share"], want["reweighted_share"]) and got["exact"]
    # 25-34s and 45-54s are nearly equal in England, so the reweighted shares come close to a half each.
    assert abs(report["themes"][0]["reweighted"][0] - 0.5) < 0.05
    assert report["themes"][0]["raw_share"] == round(35 / 65, 4)


def test_a_group_under_20_people_is_withheld(app, world) -> None:
    run, _ = world
    report = reweighting.theme_shares(db.session, run, dimension="age_band", secret=app.config["PSEUDONYM_KEY"],
                                      policy=disclosure.policy_from(app.config))
    old = next(g for g in report["groups"] if g["code"] == "75_plus")
    assert not old["used"] and old["why"] == "no breakdown: fewer than 20 people" and old["people"] == "<10"
    used = {g["code"] for g in report["groups"] if g["used"]}
    assert used == {"25_34", "45_54"}


def test_analysis_page_shows_raw_and_reweighted_shares_in_a_scrolling_table(client, app, make, world) -> None:
    run, analyst = world
    # The page needs a whole result: a real run over another small world supplies one, given our rows.
    other = seed(make)
    real = finished_run(other["consultation"].id, other["analyst"])
    first = real.result["themes"]["themes"][0]
    real.result = {**real.result, "contributions": run.result["contributions"],
                   "themes": {**real.result["themes"], "themes": [{**first, "id": 0, "label": "Waiting times"},
                                                                  {**first, "id": 1, "label": "Booking online"}]}}
    real.consultation_id = run.consultation_id
    db.session.commit()
    login(client, analyst)
    page = client.get(f"/analyse/runs/{real.id}").get_data(as_text=True)
    assert "what a sample shaped like England&#39;s population would have said" in page.replace("’", "&#39;") or \
        "what a sample shaped like England's population would have said" in page
    block = page[page.index('id="reweighted"'):]
    assert 'class="nhsuk-table-container consult-table-scroll" role="region" aria-label="Theme shares' in block
    assert "no breakdown: fewer than 20 people" in block
    assert block.count("<td>Yes</td>") == 2  # 25 to 34 and 45 to 54 are reweighted
    assert "withheld" not in block.split("Groups used")[0]  # every theme has its reweighted share
    text = re.sub(r"<[^>]+>", " ", block)
    assert " 5 " not in text  # the 75-and-over group's exact size never appears
    by_region = client.get(f"/analyse/runs/{real.id}?reweight=region").get_data(as_text=True)
    assert "No group of region" in by_region
    assert client.get(f"/analyse/runs/{real.id}?reweight=nonsense").status_code == 200


def test_workbook_has_the_reweighted_shares_the_page_shows(client, app, world) -> None:
    run, analyst = world
    login(client, analyst)
    response = client.post(f"/workspace/{run.consultation_id}/export", data={"format": "xlsx"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = list(load_workbook(io.BytesIO(response.data), read_only=True)["Reweighted"].values)
    header, body = rows[0], rows[1:]
    report = reweighting.theme_shares(db.session, run, dimension="age_band", secret=app.config["PSEUDONYM_KEY"],
                                      policy=disclosure.policy_from(app.config))
    assert [(r[header.index("label")], r[header.index("raw_share")], r[header.index("reweighted_share_low")])
            for r in body] == [(t["label"], t["raw_share"], t["reweighted"][0]) for t in report["themes"]]
    assert "75 and over (no breakdown: fewer than 20 people)" in body[0][header.index("groups_left_out")]


def test_analysis_page_with_few_people_says_no_group_can_be_reweighted(client, app, make) -> None:
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    login(client, data["analyst"])
    page = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert 'id="reweighted"' in page and "No group of age" in page
