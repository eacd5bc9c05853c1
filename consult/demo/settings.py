"""The demo's fixed settings: its logins, its sizes at scale 1.0 and how its registrants take part."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data"
_UK = ZoneInfo("Europe/London")
DEMO_DOMAIN = "demo.consult.test"
DEMO_PASSWORD = "ahp-demo-2021"


@dataclass(frozen=True)
class DemoAccount:
    """A named demo login with a known password."""

    email: str
    role: str
    category: str
    profession: str | None
    description: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(f"admin@{DEMO_DOMAIN}", "admin", "staff", "manager",
                "administrator: accounts and staff roles"),
    DemoAccount(f"facilitator@{DEMO_DOMAIN}", "facilitator", "staff", "manager",
                "facilitator: runs consultations, opens and closes phases"),
    DemoAccount(f"analyst@{DEMO_DOMAIN}", "analyst", "staff", "other_staff",
                "analyst: themes, support and exports"),
    DemoAccount(f"service-user@{DEMO_DOMAIN}", "participant", "service_user", None,
                "participant: a person who uses services"),
    DemoAccount(f"carer@{DEMO_DOMAIN}", "participant", "carer", None, "participant: a carer"),
    DemoAccount(f"public@{DEMO_DOMAIN}", "participant", "public", None,
                "participant: a member of the public"),
    DemoAccount(f"physio@{DEMO_DOMAIN}", "participant", "staff", "physiotherapist",
                "participant: staff, physiotherapist (phase 2 is for staff and students)"),
    DemoAccount(f"student@{DEMO_DOMAIN}", "participant", "student", None, "participant: a student"),
)
# (email, role, what they are), for `make run` to print beside DEMO_PASSWORD.
DEMO_LOGINS: list[tuple[str, str, str]] = [(a.email, a.role, a.description) for a in DEMO_ACCOUNTS]

# Sizes at scale 1.0; the comment and vote figures are targets the random draws land close to.
BASE_PARTICIPANTS = 600
BASE_IDEAS = 320
BASE_COMMENTS = 1150
BASE_VOTES = 11500
COMMENT_VOTE_SHARE = 0.22

PEOPLE = ("service_user", "carer", "public")
CATEGORY_MIX = {"service_user": 0.19, "carer": 0.10, "public": 0.12, "staff": 0.45, "student": 0.14}
PROFESSION_MIX = {
    "physiotherapist": 14, "occupational_therapist": 13, "radiographer": 9, "paramedic": 9,
    "speech_language_therapist": 8, "dietitian": 6, "podiatrist": 5, "operating_department_practitioner": 4,
    "orthoptist": 2, "osteopath": 1.5, "prosthetist_orthotist": 1.5, "art_therapist": 2, "drama_therapist": 1,
    "music_therapist": 1, "ahp_support_worker": 9, "nurse": 4, "doctor": 1.5, "pharmacist": 1,
    "healthcare_scientist": 1, "social_care": 2.5, "manager": 3, "other_staff": 2,
}
# When registrants joined: before phase 1 opened, or during phase 1, 2 or 3.
REGISTRATION = {"people": (0.10, 0.60, 0.05, 0.25), "staff": (0.10, 0.30, 0.40, 0.20)}
# How much more (or less) each group takes part in each phase, beyond being in its audience.
ENGAGEMENT: tuple[dict[str, float], ...] = (
    {"service_user": 1.6, "carer": 1.6, "public": 1.4, "staff": 0.7, "student": 0.6},
    {"staff": 1.0, "student": 0.8},
    {},
)
# Visits by hour of day: quiet overnight, a lunchtime bump and an evening peak.
DIURNAL = (0.30, 0.15, 0.10, 0.08, 0.08, 0.15, 0.40, 0.80, 1.00, 1.10, 1.00, 1.00,
           1.20, 1.10, 0.90, 0.90, 1.00, 1.20, 1.50, 1.90, 2.10, 1.90, 1.30, 0.70)
CHANGED_VOTE_SHARE = 0.03
# Most people who are shown something they don't like just move on; some vote against it.
OPPOSE = 0.2
REPLY_SHARE = 0.3



class DemoDataError(RuntimeError):
    """The database is not empty enough to hold the demo dataset."""
