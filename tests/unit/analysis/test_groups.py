"""Who says what: shares, representativeness, group support, consensus, division and disclosure control."""

from __future__ import annotations

import pytest

from analysis.groups import group_breakdown, two_proportion_z
from analysis.records import Dataset, Vote

from . import at, idea

STAFF, PARKING = 0, 1


def ward() -> tuple[Dataset, dict[str, int]]:
    """Six nurses write about staffing, six physios about parking, two dietitians one of each, and five
    people who declared no profession about parking.

    Ten nurse and ten physio voters: everyone up-votes parking ideas; nurses up-vote staffing ideas and
    physios down-vote them.
    """
    contributions, primary = [], {}
    for n in range(6):
        contributions.append(idea(f"n{n}", n, author=f"nurse{n}", groups={"profession": "nurse"}))
        primary[f"n{n}"] = STAFF
        contributions.append(idea(f"p{n}", n, author=f"physio{n}", groups={"profession": "physio"}))
        primary[f"p{n}"] = PARKING
    contributions.append(idea("d0", 1, author="diet0", groups={"profession": "dietitian"}))
    contributions.append(idea("d1", 2, author="diet1", groups={"profession": "dietitian"}))
    primary.update({"d0": STAFF, "d1": PARKING})
    for n in range(5):
        contributions.append(idea(f"u{n}", n, author=f"anon{n}"))
        primary[f"u{n}"] = PARKING
    voters = {f"nv{i}": {"profession": "nurse"} for i in range(10)}
    voters.update({f"pv{i}": {"profession": "physio"} for i in range(10)})
    votes = []
    for c in contributions:
        for voter, declared in voters.items():
            if primary[c.id] == PARKING:
                value = 1
            else:
                value = 1 if declared["profession"] == "nurse" else -1
            votes.append(Vote(c.id, voter, value, at(10)))
    return Dataset(contributions, votes, [], {"voters": voters}), primary


def table(result, dimension="profession", phase=None):
    return next(t for t in result["tables"] if t["dimension"] == dimension and t["phase"] == phase)


def cell(tab, theme, group):
    row = next(r for r in tab["themes"] if r["theme"] == theme)
    return next(c for c in row["cells"] if c["group"] == group)


@pytest.fixture(scope="module")
def result():
    dataset, primary = ward()
    return group_breakdown(dataset, primary, [STAFF, PARKING])


def test_groups_lists_role_then_declared_dimensions(result):
    assert result["dimensions"] == ["role", "profession"]
    assert result["min_cell"] == 5


def test_groups_share_and_representativeness_show_who_raises_a_theme(result):
    nurses = cell(table(result), STAFF, "nurse")
    assert (nurses["contributors"], nurses["contributions"], nurses["share"]) == (6, 6, 1.0)
    # ((6+1)/(6+2)) / ((1+1)/(13+2)): nurses raise staffing far more than everyone else.
    assert nurses["ratio"] == pytest.approx((7 / 8) / (2 / 15), abs=1e-4)
    assert nurses["z"] > 2


def test_groups_support_within_a_group_comes_from_its_voters(result):
    nurses, physios = cell(table(result), STAFF, "nurse"), cell(table(result), STAFF, "physio")
    # Seven staffing ideas x ten voters per group: nurses all up (70 of 70), physios none.
    assert nurses["voters"] == physios["voters"] == 10
    assert nurses["support"] == pytest.approx(71 / 72, abs=1e-4)
    assert physios["support"] == pytest.approx(1 / 72, abs=1e-4)


def test_groups_consensus_is_high_only_where_every_group_agrees(result):
    rows = {r["theme"]: r for r in table(result)["themes"]}
    # Twelve parking ideas x ten voters in each group, all up.
    assert rows[PARKING]["consensus"] == pytest.approx((121 / 122) ** 2, abs=1e-4)
    assert rows[STAFF]["consensus"] < 0.05
    assert rows[STAFF]["division"]["range"] > 0.9
    assert rows[PARKING]["division"]["range"] == pytest.approx(0.0)
    assert table(result)["consensus_items"][0]["item"].startswith(("p", "d1"))
    assert table(result)["divisive_items"][0]["support_by_group"].keys() == {"nurse", "physio"}


def test_groups_withholds_cells_of_fewer_than_five_people_and_says_so(result):
    dietitians = cell(table(result), STAFF, "dietitian")
    assert dietitians["contributors"] is None and dietitians["share"] is None and dietitians["ratio"] is None
    assert "fewer" in dietitians["suppressed"] or "under 5" in dietitians["suppressed"]
    group = next(g for g in table(result)["groups"] if g["group"] == "dietitian")
    assert group["contributors"] is None and group["suppressed"]
    assert not group["in_consensus"]
    shown = cell(table(result), STAFF, "nurse")
    assert shown["suppressed"] is None


def test_groups_withholds_a_group_total_that_would_give_a_small_group_away(result):
    # Everyone's total is published, so showing nurses (6), physios (6) and undeclared (5) would reveal
    # the dietitians' 2 by subtraction: the smallest other total is withheld with its shares.
    groups = {g["group"]: g for g in table(result)["groups"]}
    assert groups["undeclared"]["contributors"] is None
    assert groups["nurse"]["contributors"] == groups["physio"]["contributors"] == 6
    undeclared = cell(table(result), PARKING, "undeclared")
    assert undeclared["contributors"] == 5 and undeclared["share"] is None
    assert "protect a small group" in undeclared["suppressed"]


def test_groups_withholds_a_second_cell_so_a_small_one_cannot_be_recovered():
    dataset, primary = ward()
    # Five physios and five undeclared people also write about staffing. Staffing row: nurses 6, physios 5,
    # dietitians 1, undeclared 5. Only the dietitian cell is small, so one more is withheld beside it.
    extra = [idea(f"x{i}", 3, author=f"physio{i}", groups={"profession": "physio"}) for i in range(5)]
    extra += [idea(f"y{i}", 3, author=f"anon{i}") for i in range(5)]
    primary.update({c.id: STAFF for c in extra})
    dataset = Dataset([*dataset.contributions, *extra], dataset.votes, [], dataset.meta)
    tab = table(group_breakdown(dataset, primary, [STAFF, PARKING]))
    groups = ("dietitian", "nurse", "physio", "undeclared")
    staffing = {g: cell(tab, STAFF, g)["contributors"] for g in groups}
    assert staffing["dietitian"] is None
    assert sum(v is None for v in staffing.values()) >= 2, "a complement protects the dietitian cell"
    assert staffing["nurse"] == 6


def test_groups_puts_people_without_a_declared_value_in_undeclared(result):
    assert [g["group"] for g in table(result)["groups"]] == ["dietitian", "nurse", "physio", "undeclared"]
    assert cell(table(result), PARKING, "undeclared")["contributors"] == 5
    assert not next(g for g in table(result)["groups"] if g["group"] == "undeclared")["in_consensus"]


def test_groups_breaks_down_each_phase_separately():
    dataset, primary = ward()
    nurse = {"profession": "nurse"}
    late = [idea(f"l{i}", 50, phase="2", author=f"nurse{i}", groups=nurse) for i in range(5)]
    primary.update({c.id: PARKING for c in late})
    dataset = Dataset([*dataset.contributions, *late], dataset.votes, [], dataset.meta)
    result = group_breakdown(dataset, primary, [STAFF, PARKING])
    assert {t["phase"] for t in result["tables"]} == {None, "1", "2"}
    assert cell(table(result, phase="2"), PARKING, "nurse")["contributors"] == 5
    assert cell(table(result, phase="1"), PARKING, "nurse")["contributors"] is None


def test_groups_two_proportion_z_is_signed_and_zero_when_undefined():
    z = two_proportion_z([30, 10, 0], [50, 50, 0], [10, 30, 5], [50, 50, 10])
    assert z[0] > 3 and z[1] < -3 and z[2] == 0
