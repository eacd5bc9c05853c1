"""Saturation: whether reading more contributions still turns up new themes."""

from __future__ import annotations

from analysis.saturation import saturation_curve

from . import idea


def stream(themes: list[int | None]) -> tuple[list, dict[str, int]]:
    """Contributions an hour apart, the i-th in theme ``themes[i]`` (None: no theme)."""
    contributions = [idea(f"c{i:03d}", i) for i in range(len(themes))]
    primary = {c.id: t for c, t in zip(contributions, themes, strict=True) if t is not None}
    return contributions, primary


def test_saturation_is_reached_when_late_contributions_bring_no_new_theme():
    contributions, primary = stream([0, 1, 2] * 3 + [0, 1, 2, None] * 10)
    result = saturation_curve(contributions, primary)
    assert result["saturated"] is True
    assert result["themes_found"] == 3
    assert result["last_new_theme_at"] == 9
    assert result["statement"].startswith("Saturation reached")
    assert "9 of 49" in result["statement"]


def test_saturation_is_not_reached_when_a_theme_appears_late():
    contributions, primary = stream([0, 1] * 20 + [5, 5, 5])
    result = saturation_curve(contributions, primary)
    assert result["saturated"] is False
    assert result["last_new_theme_at"] == 43
    assert result["statement"].startswith("Not saturated")


def test_saturation_needs_three_contributions_before_a_theme_counts_as_found():
    contributions, primary = stream([0, 0, 0, 7, 7] + [0] * 20)
    result = saturation_curve(contributions, primary)
    assert result["themes_found"] == 1


def test_saturation_reads_contributions_in_time_order():
    contributions, primary = stream([0, 0, 0] * 10 + [1, 1, 1])
    shuffled = contributions[::-1]
    assert saturation_curve(shuffled, primary) == saturation_curve(contributions, primary)
    assert saturation_curve(shuffled, primary)["saturated"] is False


def test_saturation_curve_rises_to_the_themes_found_and_is_bounded_in_size():
    contributions, primary = stream([i % 40 for i in range(2000)])
    result = saturation_curve(contributions, primary, points=50)
    curve = result["curve"]
    assert curve[-1] == [2000, 40]
    assert all(a[0] < b[0] and a[1] <= b[1] for a, b in zip(curve, curve[1:], strict=False))
    assert len(curve) <= 50 + 40


def test_saturation_cannot_be_judged_without_themes():
    contributions, primary = stream([None, None, 1])
    result = saturation_curve(contributions, primary)
    assert result["saturated"] is False and "cannot be judged" in result["statement"]
