"""Demo equality answers (with a realistic skew) and offline workshops, added after the main demo is built.

The skew follows what consultations like the 2021 AHP one report: staff-heavy, working-age, mostly White
British and mostly not disabled, few people over 75 or under 18, the North East and London thin, so the
inclusion page has groups to flag. Answers are written under the app's pseudonym key like real ones.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..models import (
    PREFER_NOT,
    AuditEvent,
    Consultation,
    ConsultationAssignment,
    EqualityResponse,
    Idea,
    OfflineContribution,
    OfflineEvent,
    ParticipantProfile,
    Phase,
    User,
)
from ..services.equality import region_of, respondent_key

AGE = {"under_18": 0.5, "18_24": 6, "25_34": 20, "35_44": 22, "45_54": 22, "55_64": 17, "65_74": 8, "75_plus": 2}
SEX = {"female": 70, "male": 28}
ETHNIC = {"white_british": 86, "irish": 1, "other_white": 4, "indian": 3, "pakistani": 1, "bangladeshi": 0.3,
          "chinese": 0.5, "other_asian": 1, "african": 1, "caribbean": 0.6, "other_black": 0.2,
          "white_asian": 0.5, "white_black_caribbean": 0.4, "white_black_african": 0.2, "other_mixed": 0.4,
          "arab": 0.2, "any_other": 0.3, "gypsy_traveller": 0.05, "roma": 0.05}
DISABILITY = {"limited_a_lot": 3, "limited_a_little": 7, "no": 90}
ORIENTATION = {"straight": 93, "gay_lesbian": 3, "bisexual": 3, "other": 1}
RELIGION = {"none": 42, "christian": 48, "muslim": 3, "hindu": 2, "sikh": 1, "jewish": 1, "buddhist": 1, "other": 2}
CARER = {"yes": 14, "no": 86}
# Outward codes by region, weighted towards the South East and the North West; the North East is thin.
DISTRICTS = {"SO16": 8, "SO17": 5, "PO1": 4, "RG1": 4, "OX4": 4, "BN1": 4, "GU1": 3, "M1": 5, "M14": 4,
             "L8": 3, "PR1": 2, "LS6": 4, "S10": 3, "HU5": 1, "NG7": 3, "LE2": 2, "B15": 4, "CV4": 2, "ST4": 1,
             "CB2": 3, "NR4": 2, "IP4": 1, "N1": 2, "SE1": 2, "E1": 1, "BS8": 4, "EX4": 3, "PL4": 2,
             "NE1": 1, "DH1": 0.5}
PAY = {"band_5": 25, "band_6": 35, "band_7": 25, "band_8a": 10, "band_8b": 5}

WORKSHOPS = (
    # (phase position, channel, event, days after the phase opened, people, profile, category, ideas)
    (1, "workshop", "Older people's forum, Southampton", 4, 14, "older adults, most aged 75 or over, mostly disabled",
     "service_user", (("Transport to appointments", "Several people said the bus does not reach the clinic, so "
                       "they miss physiotherapy. A community transport link would help."),
                      ("Letters people can read", "Appointment letters are in small print. Large print and a phone "
                       "call the day before would stop missed visits."),
                      ("See the same therapist", "People want to see the same therapist each time so they do not "
                       "repeat their story."))),
    (1, "paper", "Carers' group paper forms, Leeds", 9, 9, "unpaid carers, several caring 50 hours a week", "carer",
     (("Respite while I attend", "I cannot go to my own appointments because nobody can sit with my husband."),
      ("Include carers in plans", "Therapists should ask the carer what happens at home, not only the patient."))),
    (3, "workshop", "Community centre drop-in, Bradford", 3, 11, "South Asian women, several with limited English",
     "public", (("Interpreters for therapy", "Bring interpreters to physiotherapy sessions, not only to the GP."),
                ("Women therapists", "Some women will only attend if a woman therapist is available."))),
    (3, "phone", "Phone line for people without internet", 5, 6, "people without internet at home", "service_user",
     (("Do not make everything online", "Keep phone booking. Not everyone can use an app."),)),
)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    """One key, chosen by weight."""
    return rng.choices(list(weights), list(weights.values()))[0]


def _maybe(rng: random.Random, weights: dict[str, float], prefer: float = 0.06) -> str:
    """An answer, or "prefer not to say" now and then."""
    return PREFER_NOT if rng.random() < prefer else _pick(rng, weights)


def seed_equality(session: Session, *, secret: str, seed: int = 2021) -> dict[str, int]:
    """Give about three in four demo participants equality answers, with the skew described above."""
    rng = random.Random(seed * 7 + 1)
    rows: list[dict[str, Any]] = []
    people = session.execute(select(User.id, ParticipantProfile.category, ParticipantProfile.profession,
                                    User.created_at).join(ParticipantProfile)
                             .where(User.role == "participant").order_by(User.id)).all()
    for user_id, category, profession, created in people:
        if rng.random() > 0.76:
            continue  # skipped the questions
        age = _maybe(rng, AGE if category not in ("staff", "student") else {k: v for k, v in AGE.items()
                                                                             if k not in ("under_18", "75_plus")})
        if category == "student" and rng.random() < 0.6:
            age = "18_24"
        consent = rng.random() < 0.9
        special = (lambda w: _maybe(rng, w)) if consent else (lambda w: None)
        district = _pick(rng, DISTRICTS) if rng.random() < 0.85 else PREFER_NOT
        row = {"respondent_key": respondent_key(user_id, secret), "consent_special": consent,
               "age_band": age, "sex": _maybe(rng, SEX, 0.03), "gender_same": special({"yes": 99, "no": 1}),
               "ethnic_group": special(ETHNIC), "disability": special(DISABILITY),
               "sexual_orientation": special(ORIENTATION), "religion": special(RELIGION),
               "unpaid_carer": "yes" if category == "carer" else _maybe(rng, CARER),
               "postcode_district": district, "region": region_of(district) if district != PREFER_NOT else None,
               "profession": profession if category == "staff" else None, "pay_band": None,
               "updated_on": created.date()}
        if category == "staff":
            row["pay_band"] = _maybe(rng, PAY)
        if category == "student":
            row["profession"] = rng.choice(["physiotherapist", "occupational_therapist", "paramedic",
                                            "radiographer", "speech_language_therapist", "dietitian"])
        rows.append(row)
    if rows:
        session.execute(insert(EqualityResponse.__table__), rows)
    return {"equality_responses": len(rows)}


def seed_workshops(session: Session) -> dict[str, int]:
    """Offline workshops, a paper round and a phone line, with ideas marked by channel."""
    consultation = session.scalar(select(Consultation).order_by(Consultation.id))
    facilitator = session.scalar(select(User.id).where(User.role == "facilitator").order_by(User.id))
    if consultation is None or facilitator is None:
        return {"offline_events": 0, "offline_ideas": 0, "audit_events": 0}
    for role in ("facilitator", "analyst"):
        staff = session.scalar(select(User.id).where(User.role == role).order_by(User.id))
        exists = session.scalar(select(ConsultationAssignment.id).where(
            ConsultationAssignment.consultation_id == consultation.id, ConsultationAssignment.user_id == staff,
            ConsultationAssignment.role == role))
        if staff is not None and exists is None:
            session.add(ConsultationAssignment(consultation_id=consultation.id, user_id=staff, role=role))
    phases = {p.position: p for p in session.scalars(select(Phase).where(Phase.consultation_id == consultation.id))}
    events = ideas = 0
    for position, channel, name, days, people, profile, category, items in WORKSHOPS:
        phase = phases.get(position)
        if phase is None or phase.opens_at is None or not phase.topics:
            continue
        held: datetime = phase.opens_at + timedelta(days=days)
        event = OfflineEvent(phase_id=phase.id, channel=channel, name=name, held_on=held.date(), people=people,
                             profile=profile, created_at=held + timedelta(days=1))
        session.add(event)
        session.flush()
        events += 1
        for index, (title, body) in enumerate(items):
            topic = phase.topics[index % len(phase.topics)]
            at = held + timedelta(days=1, hours=index)
            idea = Idea(topic_id=topic.id, phase_id=phase.id, author_id=None, entered_by_id=facilitator,
                        channel=channel, author_category=category, created_at=at, visible_from=at, title=title,
                        body=body)
            session.add(idea)
            session.flush()
            print_ = hashlib.sha256(f"demo\x1f{name}\x1f{title}".encode()).hexdigest()
            session.add(OfflineContribution(phase_id=phase.id, event_id=event.id, idea_id=idea.id,
                                            fingerprint=print_))
            ideas += 1
        # The audit log shows the upload, as it does for a facilitator's CSV (services/workshops.py).
        session.add(AuditEvent(actor_id=facilitator, action="offline.upload", target_type="phase", target_id=phase.id,
                               detail={"added": len(items), "rejected": 0, "already": 0},
                               at=held + timedelta(days=1)))
    session.flush()
    return {"offline_events": events, "offline_ideas": ideas, "audit_events": events}
