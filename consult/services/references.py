"""Reference populations for the inclusion checks: the dimensions compared, the shipped Census 2021 and HCPC
figures, and a facilitator's own figures uploaded as a CSV (checked row by row)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import AHP_PROFESSIONS, ReferenceShare
from . import equality
from .errors import Invalid

CENSUS = "England, Census 2021 (ONS, Census Day 21 March 2021; Open Government Licence v3.0)"
HCPC = "HCPC Register snapshot, 1 January 2025 (UK-wide), and General Osteopathic Council, 1 January 2020"
ARTS = ("art_therapist", "drama_therapist", "music_therapist")


@dataclass(frozen=True)
class Dimension:
    """One comparison: where its answers come from, its categories, and its reference."""

    key: str
    title: str
    question: str  # the equality question it reads ("" = derived)
    categories: tuple[tuple[str, str], ...]
    file: str
    reference: dict[str, str]  # our category -> the reference file's category
    plural: dict[str, str] = field(default_factory=dict)  # how a flag names a group
    source: str = CENSUS


def _labels(key: str) -> tuple[tuple[str, str], ...]:
    return equality.BY_KEY[key].options


def _mid_sentence(label: str) -> str:
    """An answer's label inside a sentence: "any other White background", but "Indian" keeps its capital."""
    return label[0].lower() + label[1:] if label.split()[0] in ("Any", "Other") else label


ETHNIC_HIGH_CODES = tuple((g, g) for g, _ in equality.ETHNIC_GROUPS)
DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("age_band", "Age", "age_band", _labels("age_band"), "age.csv",
              {"under_18": "Under 18", "18_24": "18-24", "25_34": "25-34", "35_44": "35-44", "45_54": "45-54",
               "55_64": "55-64", "65_74": "65-74", "75_plus": "75 and over"},
              {"under_18": "people under 18", "75_plus": "people aged 75 and over",
               **{c: f"people aged {t.replace(' to ', ' to ')}" for c, t in _labels("age_band")[1:-1]}}),
    Dimension("sex", "Sex", "sex", _labels("sex"), "sex.csv", {"female": "Female", "male": "Male"},
              {"female": "women", "male": "men"}),
    Dimension("gender_same", "Gender identity the same as sex registered at birth", "gender_same",
              _labels("gender_same"), "gender_identity.csv",
              {"yes": "Gender identity the same as sex registered at birth",
               "no": "Gender identity different from sex registered at birth (any category)"},
              {"no": "people whose gender identity differs from their sex registered at birth"}),
    Dimension("ethnic_high", "Ethnic group (5 groups)", "ethnic_group", ETHNIC_HIGH_CODES, "ethnic_group.csv",
              {g: f"{g} (high-level group total)" for g, _ in equality.ETHNIC_GROUPS},
              {g: f"people in the {g}" if g.endswith(("group", "groups")) else f"people in the {g} group"
               for g, _ in equality.ETHNIC_GROUPS}),
    Dimension("ethnic_group", "Ethnic group (19 categories)", "ethnic_group", _labels("ethnic_group"),
              "ethnic_group.csv",
              {"bangladeshi": "Bangladeshi", "chinese": "Chinese", "indian": "Indian", "pakistani": "Pakistani",
               "other_asian": "Other Asian", "african": "African", "caribbean": "Caribbean",
               "other_black": "Other Black", "white_asian": "White and Asian",
               "white_black_african": "White and Black African", "white_black_caribbean": "White and Black Caribbean",
               "other_mixed": "Other Mixed or Multiple ethnic groups",
               "white_british": "English, Welsh, Scottish, Northern Irish or British", "irish": "Irish",
               "gypsy_traveller": "Gypsy or Irish Traveller", "roma": "Roma", "other_white": "Other White",
               "arab": "Arab", "any_other": "Any other ethnic group"},
              {code: f"people who gave their ethnic group as {_mid_sentence(label)}"
               for code, label in _labels("ethnic_group")}),
    Dimension("disability", "Disability (Equality Act)", "disability", _labels("disability"), "disability.csv",
              {"limited_a_lot": "Day-to-day activities limited a lot",
               "limited_a_little": "Day-to-day activities limited a little",
               "no": "Not disabled under the Equality Act"},
              {"limited_a_lot": "disabled people whose activities are limited a lot",
               "limited_a_little": "disabled people whose activities are limited a little",
               "no": "people who are not disabled"}),
    Dimension("sexual_orientation", "Sexual orientation", "sexual_orientation", _labels("sexual_orientation"),
              "sexual_orientation.csv",
              {"straight": "Straight or Heterosexual", "gay_lesbian": "Gay or Lesbian", "bisexual": "Bisexual",
               "other": "All other sexual orientations (total)"},
              {"gay_lesbian": "gay or lesbian people", "bisexual": "bisexual people",
               "other": "people of another sexual orientation", "straight": "straight people"}),
    Dimension("religion", "Religion", "religion", _labels("religion"), "religion.csv",
              {"none": "No religion", "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu",
               "jewish": "Jewish", "muslim": "Muslim", "sikh": "Sikh", "other": "Other religion"},
              {"none": "people with no religion", **{c: f"{t} people" for c, t in _labels("religion")[1:-1]},
               "other": "people of another religion"}),
    Dimension("unpaid_carer", "Unpaid carers", "unpaid_carer", _labels("unpaid_carer"), "unpaid_care.csv",
              {"yes": "Provides unpaid care (any amount)", "no": "Provides no unpaid care"},
              {"yes": "unpaid carers", "no": "people who are not unpaid carers"}),
    Dimension("region", "Region (from postcode district)", "region",
              tuple((r, r) for r in ("North East", "North West", "Yorkshire and The Humber", "East Midlands",
                                     "West Midlands", "East of England", "London", "South East", "South West")),
              "region.csv", {r: r for r in ("North East", "North West", "Yorkshire and The Humber",
                                            "East Midlands", "West Midlands", "East of England", "London",
                                            "South East", "South West")},
              {r: f"people in {r}" if r in ("London", "Yorkshire and The Humber") else f"people in the {r}"
               for r in ("North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
                         "East of England", "London", "South East", "South West")}),
    Dimension("profession", "Allied health profession (staff and students)", "profession",
              (("arts_therapist", "Art, drama or music therapist"),
               *[(c, t) for c, t in AHP_PROFESSIONS if c not in ARTS]), "ahp_register.csv",
              {"arts_therapist": "Art therapists / drama therapists / music therapists (HCPC profession "
                                 "'Arts therapists', code AS)",
               "podiatrist": "Chiropodists / podiatrists (CH)", "dietitian": "Dietitians (DT)",
               "occupational_therapist": "Occupational therapists (OT)",
               "operating_department_practitioner": "Operating department practitioners (ODP)",
               "orthoptist": "Orthoptists (OR)", "osteopath": "Osteopaths", "paramedic": "Paramedics (PA)",
               "physiotherapist": "Physiotherapists (PH)", "prosthetist_orthotist": "Prosthetists / orthotists (PO)",
               "radiographer": "Radiographers (RA)",
               "speech_language_therapist": "Speech and language therapists (SL)"},
              {"arts_therapist": "art, drama and music therapists", "podiatrist": "chiropodists and podiatrists",
               "prosthetist_orthotist": "prosthetists and orthotists", "radiographer": "radiographers",
               **{c: f"{t[0].lower()}{t[1:]}s" for c, t in AHP_PROFESSIONS
                  if c not in ARTS and " or " not in t and "(" not in t}},
              source=HCPC),
)
BY_DIMENSION = {d.key: d for d in DIMENSIONS}


@cache
def census_counts(file: str) -> dict[str, int]:
    """A shipped reference file as {category: count}."""
    with (equality.REFERENCE_DIR / "census2021" / file).open(newline="", encoding="utf-8") as handle:
        return {row["category"]: int(row["count"]) for row in csv.DictReader(handle)}


def reference_shares(session: Session, consultation_id: int, dim: Dimension) -> tuple[dict[str, float], str]:
    """The reference shares for a dimension (a facilitator's upload if any, else the shipped one) and source."""
    uploaded = session.scalars(select(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id,
                                                            ReferenceShare.dimension == dim.key)).all()
    if uploaded:
        counts = {r.category: r.count for r in uploaded}
        source = f"{uploaded[0].source} (uploaded {uploaded[0].uploaded_at:%d %B %Y})"
    else:
        raw = census_counts(dim.file)
        counts = {code: raw.get(label, 0) for code, label in dim.reference.items()}
        source = dim.source
    total = sum(counts.values())
    return ({code: counts.get(code, 0) / total for code, _ in dim.categories} if total else {}), source


REFERENCE_COLUMNS = ("dimension", "category", "count")


def reference_template() -> str:
    """A CSV a facilitator fills in to replace a reference: every dimension and category, with England's counts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REFERENCE_COLUMNS)
    for dim in DIMENSIONS:
        raw = census_counts(dim.file)
        for code, _ in dim.categories:
            writer.writerow([dim.key, code, raw.get(dim.reference.get(code, ""), 0)])
    return out.getvalue()


def upload_reference(session: Session, *, consultation_id: int, text: str, source: str) -> dict[str, Any]:
    """Replace references from a CSV, checked row by row; a dimension with any bad row is left unchanged."""
    source = (source or "").strip()
    if not source:
        raise Invalid("There is a problem", {"source": "Say where the figures come from, and their date"})
    if len(source) > 300:
        raise Invalid("There is a problem", {"source": "Keep the source to 300 characters or fewer"})
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error:
        header = []
    if not set(REFERENCE_COLUMNS) <= set(header):
        raise Invalid("There is a problem", {"file": "The file needs the columns dimension, category and count. "
                                                     "Download the template to start from."})
    problems: list[tuple[int, str]] = []
    good: dict[str, dict[str, int]] = defaultdict(dict)
    bad_dims: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        dim = BY_DIMENSION.get(row.get("dimension", ""))
        if dim is None:
            problems.append((number, f"“{row.get('dimension', '')}” is not a dimension we compare"))
            continue
        category = row.get("category", "")
        if category not in dict(dim.categories):
            problems.append((number, f"“{category}” is not a category of {dim.title.lower()}"))
            bad_dims.add(dim.key)
            continue
        count = row.get("count", "").replace(",", "")
        if not count.isdigit():
            problems.append((number, f"the count “{row.get('count', '')}” should be a whole number of people, "
                                     "0 or more"))
            bad_dims.add(dim.key)
            continue
        if category in good[dim.key]:
            problems.append((number, f"{category} appears twice for {dim.key}"))
            bad_dims.add(dim.key)
            continue
        good[dim.key][category] = int(count)
    replaced = []
    for key, counts in good.items():
        if key in bad_dims or not sum(counts.values()):
            continue
        session.execute(delete(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id,
                                                     ReferenceShare.dimension == key))
        session.add_all(ReferenceShare(consultation_id=consultation_id, dimension=key, category=c, count=v,
                                       source=source) for c, v in counts.items())
        replaced.append(BY_DIMENSION[key].title)
    session.flush()
    return {"replaced": replaced, "problems": problems,
            "kept": sorted(BY_DIMENSION[k].title for k in bad_dims)}


def reset_reference(session: Session, *, consultation_id: int) -> None:
    """Go back to the shipped Census 2021 and HCPC references."""
    session.execute(delete(ReferenceShare).where(ReferenceShare.consultation_id == consultation_id))
