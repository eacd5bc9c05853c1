"""Flags name groups of people in plain English: "Under-represented: people aged 75 and over"."""

from consult.services.references import DIMENSIONS


def test_ethnic_groups_are_named_as_people_without_a_doubled_word() -> None:
    names = {d.key: d.plural for d in DIMENSIONS}
    high, detailed = names["ethnic_high"], names["ethnic_group"]
    assert high["Mixed or Multiple ethnic groups"] == "people in the Mixed or Multiple ethnic groups"
    assert high["Other ethnic group"] == "people in the Other ethnic group"
    assert all(not name.endswith(("group group", "groups group")) for name in high.values())
    assert len(detailed) == 19 and all(name.startswith("people ") for name in detailed.values())
    assert detailed["indian"] == "people who gave their ethnic group as Indian"
    assert detailed["other_white"] == "people who gave their ethnic group as any other White background"


def test_professions_and_regions_are_named_as_people() -> None:
    names = {d.key: d for d in DIMENSIONS}
    professions, regions = names["profession"], names["region"]
    assert set(professions.plural) == {code for code, _ in professions.categories}
    assert professions.plural["podiatrist"] == "chiropodists and podiatrists"
    assert professions.plural["speech_language_therapist"] == "speech and language therapists"
    assert regions.plural["London"] == "people in London" and regions.plural["North East"] == "people in the North East"


def test_a_flag_never_reads_as_if_the_group_were_on_the_line() -> None:
    from consult.services.inclusion import flag_text

    assert flag_text("men", 0.66, None) == "Under-represented: men, 0.7x"
    assert flag_text("men", 0.78, None) == "Under-represented: men, 0.78x"  # not "0.8x", the line itself
    assert flag_text("men", 0.85, None) is None
    # From a "<10" count only an upper bound is known; it is rounded up so "under" is true.
    assert flag_text("people aged 75 and over", None, 0.74) == "Under-represented: people aged 75 and over, under 0.8x"
    assert flag_text("people under 18", None, 0.01) == "Under-represented: people under 18, under 0.1x"
    from consult.services.inclusion import bound_text, ratio_text

    assert ratio_text(1.04) == "1.0x" and ratio_text(0.79) == "0.79x" and ratio_text(0.8) == "0.8x"
    assert bound_text(3.96) == "under 4.0x" and bound_text(0.7) == "under 0.7x"


def test_analysis_groups_are_named_in_words() -> None:
    from consult.templating import group_label

    assert group_label("undeclared") == "Did not say" and group_label("carer") == "A carer"
    assert group_label("physiotherapist") == "Physiotherapist" and group_label("workshop") == "Gathered at a workshop"
    assert group_label("undeclared", "channel") == "Voted only" and group_label("unknown") == "Group not known"
    assert group_label("self-declared", "claim") == "Said so themselves"
    assert group_label("undeclared", "claim") == "Not staff or students"
