"""The automatic checks hold personal details, abuse and possible disclosures, and leave ordinary posts alone."""

from __future__ import annotations

import pytest

from consult.services import anomalies, moderation, screening


@pytest.mark.parametrize(("text", "reason"), [
    ("Call me on 07700 900123 any time", "phone"),
    ("ring the ward on 020 7946 0958", "phone"),
    ("my mobile is +44 7700 900 123", "phone"),
    ("Freephone 0800 123 4567", "phone"),
    ("My NHS number is 943 476 5919", "nhs_number"),
    ("nhs no 9434765919", "nhs_number"),
    ("email me at jo.bloggs@example.com", "email"),
    ("jo dot bloggs (at) example (dot) com", "email"),
    ("I live at SW1A 1AA", "postcode"),
    ("near m1 1ae", "postcode"),
    ("Dr Patel was rude to my mum", "named_person"),
    ("nurse Jones was brilliant", "named_person"),
    ("Mrs. O'Brien on reception", "named_person"),
    ("the receptionists are f*cking useless", "abuse"),
    ("I will find you", "abuse"),
    ("I want to kill myself", "self_harm"),
    ("some days I don't want to live any more", "self_harm"),
    ("My husband hits me when he drinks", "abuse_disclosure"),
    ("they gave my dad the wrong medication twice", "patient_safety"),
])
def test_screen_holds_each_kind_of_problem(text: str, reason: str) -> None:
    result = screening.screen(text)
    assert reason in result.reasons
    assert result.held
    assert result.explanation()


@pytest.mark.parametrize("text", [
    "We need better suicide prevention services in the community",
    "Nurse practitioners and Physician Associates should prescribe more",
    "Physio sessions of 45 minutes, 3 times a week, from 2021",
    "Call 111 or 999 in an emergency",
    "The clinic on 12 March 2021 at 10am was running 40 minutes late",
    "A 10-digit number like 9434765918 that fails the check",
    "Advanced Practitioner roles in the NHS",
])
def test_screen_leaves_ordinary_posts_alone(text: str) -> None:
    assert screening.screen(text).reasons == ()


def test_nhs_number_check_uses_modulus_11() -> None:
    assert screening.nhs_number_valid("9434765919")
    assert not screening.nhs_number_valid("9434765918")
    assert not screening.nhs_number_valid("123")


def test_network_key_is_coarse_and_not_the_address() -> None:
    a = moderation.network_key("k", "203.0.113.7")
    assert a == moderation.network_key("k", "203.0.113.200")
    assert a != moderation.network_key("k", "203.0.114.7")
    assert a != moderation.network_key("other", "203.0.113.7")
    assert "203.0.113" not in a
    assert moderation.network_key("k", "2001:db8:1:2::5") == moderation.network_key("k", "2001:db8:1:ffff::9")
    assert moderation.network_key("k", "not an address") is None


def test_near_duplicates_groups_lightly_edited_copies_only() -> None:
    base = "Please fund more community physiotherapy for older people in rural areas now"
    texts = [base, base + "!", "please fund more community physiotherapy for older people in rural areas",
             "Waiting times for speech and language therapy are far too long for children"]
    groups = anomalies.near_duplicates(texts)
    assert [sorted(g) for g in groups] == [[0, 1, 2]]
