"""Per-theme group and phase figures: rounded, small groups withheld, nothing recoverable by subtraction."""

from __future__ import annotations

from analysis.intervals import wilson
from analysis.stance import phase_comparison
from analysis.theme_differences import NOT_ANSWERED, differs, group_differences, phase_shares


def _people(prefix: str, n: int, each: int) -> dict[str, int]:
    return {f"{prefix}{i}": each for i in range(n)}


def test_phase_shares_give_the_share_and_its_wilson_interval() -> None:
    [first, second] = phase_shares({1: 30}, {1: 100, 2: 50})
    assert first["share"] == 0.3 and (first["low"], first["high"]) == wilson(30, 100)
    assert second["n"] == 0 and second["share"] == 0.0 and second["low"] == 0.0


def test_group_differences_round_withhold_small_groups_and_say_who_differs() -> None:
    older, younger, few = _people("o", 30, 2), _people("y", 60, 2), _people("f", 6, 1)
    totals = {**older, **younger, **few}
    groups = {**{p: "75_plus" for p in older}, **{p: "35_44" for p in younger}, **{p: "carer" for p in few}}
    # The theme: every older person twice, 10 younger people once, 3 of the small group.
    theme = {**older, **{f"y{i}": 1 for i in range(10)}, **{f"f{i}": 1 for i in range(3)}}
    [cells] = group_differences({7: theme}, groups, totals).values()
    by = {c.group: c for c in cells}
    assert by["75_plus"].theme_n == "60" and by["75_plus"].share == 1.0 and differs(by["75_plus"]) == "more"
    assert by["35_44"].theme_n == "10" and differs(by["35_44"]) == "less"
    # Six people: no breakdown, and the count cannot be worked out from the theme's published size.
    assert by["carer"].theme_n == "withheld" and by["carer"].share is None
    assert by["carer"].reason.startswith("not broken down")
    assert by[NOT_ANSWERED].share is None and differs(by[NOT_ANSWERED]) is None
    assert by["35_44"].people == "60" and by["carer"].people == "<10"


def test_a_theme_cell_of_fewer_than_ten_people_is_withheld() -> None:
    everyone = _people("a", 40, 1)
    [cells] = group_differences({1: {f"a{i}": 1 for i in range(4)}}, {p: "public" for p in everyone},
                                everyone).values()
    public = next(c for c in cells if c.group == "public")
    assert public.theme_people == "<10" and public.theme_n == "withheld" and public.share is None


def test_phase_comparison_names_new_and_faded_themes_and_support_moving_ten_points() -> None:
    def row(phase: str, count: int, total: int, support: float | None, voted: int = 10) -> dict[str, object]:
        low, high = wilson(count, total)
        return {"phase": phase, "count": count, "total": total, "share": count / total, "low": low, "high": high,
                "support": support, "voted": voted if support is not None else 0}

    themes = [
        {"id": 0, "phase_shares": [row("one", 0, 400, None), row("two", 80, 400, 0.5)]},  # new in phase two
        {"id": 1, "phase_shares": [row("one", 120, 400, 0.30), row("two", 20, 400, 0.45)]},  # faded, support up
        {"id": 2, "phase_shares": [row("one", 100, 400, 0.40), row("two", 100, 400, 0.45)]},  # no change
    ]
    [first, second] = phase_comparison(themes, ["one", "two"])
    assert first == {"phase": "one", "new": [], "faded": [], "support_shifts": []}
    assert second["new"] == [0] and second["faded"] == [1]
    assert second["support_shifts"] == [{"theme": 1, "change": 0.15, "from": 0.30, "to": 0.45}]


def test_a_theme_is_new_once_only_when_it_was_almost_absent_and_shifts_need_several_voted_items() -> None:
    # Found on the demo: a theme growing 0% -> 3% -> 10% was "new" in phases two and three; one at 2% in both
    # earlier phases was "new" in the third; a support "rise" rested on 2 voted contributions.
    def row(phase: str, count: int, support: float | None = None, voted: int = 0) -> dict[str, object]:
        low, high = wilson(count, 400)
        return {"phase": phase, "count": count, "total": 400, "share": count / 400, "low": low, "high": high,
                "support": support, "voted": voted}

    themes = [
        {"id": 0, "phase_shares": [row("one", 0), row("two", 12), row("three", 40)]},
        {"id": 1, "phase_shares": [row("one", 8), row("two", 8), row("three", 40)]},
        {"id": 2, "phase_shares": [row("one", 50, 0.26, 2), row("two", 50, 0.37, 2), row("three", 50, 0.5, 9)]},
    ]
    [_, second, third] = phase_comparison(themes, ["one", "two", "three"])
    assert second["new"] == [0] and third["new"] == []
    assert second["support_shifts"] == [] and third["support_shifts"] == []
