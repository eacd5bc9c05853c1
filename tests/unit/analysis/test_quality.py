"""Agreement of an analysis's themes with a human-coded sample (the quality report's NMI, ARI and kappa)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.quality import agreement, read_codes
from analysis.records import InputError


def test_each_named_bucket_of_set_aside_answers_is_a_group_of_its_own() -> None:
    themes = SimpleNamespace(primary={"p1": 0, "p2": 0, "f1": 1, "f2": 1},
                             set_aside={"nothing": ["n1", "n2"], "praise": ["g1", "g2"]})
    codes = {"p1": "parking", "p2": "parking", "f1": "food", "f2": "food",
             "n1": "could not be improved", "n2": "could not be improved", "g1": "care", "g2": "care"}
    found = agreement(themes, codes)
    # Four groups for four codes, one to one: the two buckets are not merged into one "set aside".
    assert (found["matched"], found["nmi"], found["ari"], found["kappa"]) == (8, 1.0, 1.0, 1.0)


def test_agreement_with_too_few_coded_contributions_says_so() -> None:
    found = agreement(SimpleNamespace(primary={"a": 0}, set_aside={}), {"a": "x", "b": "y"})
    assert found["nmi"] is None and "Fewer than two" in found["note"]


def test_a_coding_file_without_the_needed_columns_is_refused_clearly(tmp_path: Path) -> None:
    wrong = tmp_path / "codes.csv"
    wrong.write_text("contribution_text,theme\nhello,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs columns 'id' and 'code'"):
        read_codes(wrong)
    right = tmp_path / "right.csv"
    right.write_text("\ufeffid,code\n1,parking\n2,\n", encoding="utf-8")
    assert read_codes(right) == {"1": "parking"}
