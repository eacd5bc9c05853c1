"""The analysis theme page's group filter never narrows to fewer contributions than the disclosure rule allows."""

from consult.services.results import filter_contributions, theme_filters

ONE, TWO = "Phase 1: People and communities", "Phase 2: The AHP community"


def _result() -> tuple[dict, dict, dict]:
    """A theme of 30 contributions: 12 by staff (4 of them in phase 1), 18 by carers (all in phase 2)."""
    rows = [{"id": f"i{n}", "phase": ONE if n < 4 else TWO} for n in range(12)]
    rows += [{"id": f"c{n}", "phase": TWO} for n in range(18)]
    theme = {"contributions": [r["id"] for r in rows]}
    categories = {r["id"]: "staff" if r["id"].startswith("i") else "carer" for r in rows}
    return {"contributions": rows}, theme, categories


def test_groups_are_offered_by_their_count_in_the_chosen_phase() -> None:
    result, theme, categories = _result()
    assert theme_filters(result, theme, categories, 10)["groups"] == ["carer", "staff"]
    # In phase 1 staff wrote only 4: filtering by both would show 4 staff contributions, so staff is not offered.
    assert theme_filters(result, theme, categories, 10, ONE)["groups"] == []
    assert theme_filters(result, theme, categories, 10, TWO)["groups"] == ["carer"]
    assert theme_filters(result, theme, categories, 10, ONE)["phases"] == [ONE, TWO]
    assert len(filter_contributions(result, theme, categories, TWO, "carer")) == 18
