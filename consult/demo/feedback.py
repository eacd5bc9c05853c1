"""The demo's check and challenge: phase 1 analysed, its main themes summarised, published and reported back.

A new user of the demo finds phase 3 (check and challenge) with emerging themes to check, each with votes and
comments, and a published "What we heard" page for phase 1. Everything goes through the services staff use:
the analysis engine, adopting its themes as the codebook, renaming and summarising them, choosing quotes,
publishing statements and writing the page. The engine's themes are matched to the demo corpus's themes by
the idea titles they hold, so the labels and summaries written here describe what their members say.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analysis.pipeline import run_analysis

from ..models import (
    AnalysisRun,
    AuditEvent,
    Codebook,
    CodebookChange,
    CodebookTheme,
    Consultation,
    HeardPage,
    Idea,
    Phase,
    Statement,
    User,
    utcnow,
)
from ..services import analysis_runs, challenge, codebook, codebook_quotes, contributions, impressions
from .settings import DEMO_DOMAIN

# Per corpus theme of phase 1: the label and summary the analyst wrote, what the team did, how many of those
# checking it say it is right, two comments from people checking it, and the ideas an analyst may quote: general
# suggestions, not anyone's own story, so no one who posted them could be recognised by what they said.
THEMES = {
    "waiting": {
        "label": "Waiting for care",
        "summary": "People told us the wait is often the hardest part: long waits for a first appointment, not "
                   "knowing how long the wait will be, and no one to contact while on the list. They asked for "
                   "honest waiting times, check-ins and advice while waiting, a quick way back in for anyone "
                   "getting worse, and the same waits wherever you live.",
        "what_we_did": "Access and waiting times are the first priority in the draft strategy.",
        "right": 0.85,
        "comments": ["This matches what I said. Not knowing how long the wait would be was worse than the wait.",
                     "Mostly right, but it should say that people who can pay go private and everyone else waits."],
        "quotable": ["Check in with people while they wait", "Give advice while we wait",
                     "Publish waiting times for each service", "A named contact while on the list",
                     "Urgent slots for people who are getting worse"],
    },
    "listening": {
        "label": "Being listened to and involved",
        "summary": "People want to be asked what matters to them, to decide about their care together with the "
                   "professional, and to be given enough time to explain. Carers asked for what they know to "
                   "count. People asked to be involved in designing services and to hear what changed because of "
                   "what they said.",
        "what_we_did": "Shared decisions and involving people in designing services are part of every section.",
        "right": 0.8,
        "comments": ["Yes. I am glad carers are in this summary.",
                     "Please add having enough time in appointments. Feeling rushed came up a lot."],
        "quotable": ["Involve people in designing services", "Act on feedback and say what changed",
                     "Decide together"],
    },
    "community": {
        "label": "Care closer to home",
        "summary": "People asked for therapy at home, in schools, care homes, GP surgeries and community "
                   "venues, not only in hospital, and for therapists to work with local voluntary groups. Some "
                   "warned that care closer to home must not mean fewer sessions or less expertise.",
        "what_we_did": "",
        "right": 0.75,
        "comments": ["Agree, as long as closer to home does not mean fewer sessions.",
                     "Not quite right: rural areas need saying clearly. Some villages have no service at all."],
        "quotable": ["Clinics in community centres", "Work with local voluntary groups",
                     "Closer to home shouldn't mean less care", "Regular therapy in care homes"],
    },
    "digital": {
        "label": "Digital care as a choice",
        "summary": "Video and phone appointments, reminders and online booking help many people, but others "
                   "cannot or do not want to use them. People asked for digital care to be offered as a choice, "
                   "with face-to-face care always available.",
        "what_we_did": "",
        "right": 0.6,
        "comments": ["Good that it says choice. Not everyone has data or a smartphone.",
                     "I don't think this is right yet. Phone appointments were often the only option offered, "
                     "not a choice."],
        "quotable": ["Text reminders for appointments", "Digital services that work on any phone",
                     "Phone appointments for simple reviews", "Games for children's speech practice",
                     "Help people get online", "Ask people how they want to be seen", "Don't lose the human touch",
                     "Think about people who can't afford data", "Measure who is left out"],
    },
}
INTRODUCTION = ("In the first phase we asked how you want care from allied health professionals to be. People who "
                "use services, carers, families, members of the public and staff shared ideas online, on paper, "
                "by phone and at workshops. These are the main themes we heard, in our words, with some of "
                "yours. You can check each one in phase 3 and tell us if we have got it wrong.")
OUTCOME = ("The themes are in the draft strategy. Phase 3 is open now: say whether each summary is right, and "
           "what is missing.")

# Words that would make an idea someone's own story (family, their condition, their numbers): never quoted.
_PERSONAL = re.compile(r"\b(i|i'm|i've|i'd|me|my|mum|dad|son|daughter|husband|wife|sister|brother|speaking)\b|\d",
                       re.IGNORECASE)


def _staff(session: Session, role: str) -> User:
    """The demo's analyst or facilitator."""
    user = session.scalar(select(User).where(User.email == f"{role}@{DEMO_DOMAIN}"))
    assert user is not None, f"the demo's {role} is loaded first"
    return user


def _analyse(session: Session, consultation: Consultation, phase: Phase, analyst: User, key: str) -> AnalysisRun:
    """Run the analysis engine on one phase, as the worker does, and store the finished run."""
    run = AnalysisRun(consultation_id=consultation.id, phase_id=phase.id, requested_by_id=analyst.id,
                      params={"k": None}, state="running", started_at=utcnow(), heartbeat_at=utcnow(),
                      message="Starting", worker="demo", attempts=1)
    session.add(run)
    session.flush()
    dataset = analysis_runs.build_dataset(session, consultation, phase, key)
    analysis_runs.finish(session, run.id, run_analysis(dataset), owner="demo")
    session.flush()
    session.refresh(run)
    return run


def _match(session: Session, book: Codebook, corpus: dict[str, dict]) -> dict[str, CodebookTheme]:
    """Each wanted corpus theme's codebook theme: the one holding most of its ideas (at least 3), each used once."""
    titles = {key: {re.sub(r"^\[[^]]*\]\s*", "", title) for title, _ in corpus[key]["ideas"]} for key in THEMES}
    members = {t.id: [int(m.contribution[1:]) for m in t.members if m.contribution.startswith("i")]
               for t in book.themes}
    names = dict(session.execute(select(Idea.id, Idea.title).where(
        Idea.id.in_([i for ids in members.values() for i in ids]))).all())
    scores = sorted(((sum(names.get(i) in titles[key] for i in ids), key, theme_id)
                     for key in THEMES for theme_id, ids in members.items()), key=lambda s: (-s[0], s[1], s[2]))
    matched: dict[str, CodebookTheme] = {}
    used: set[int] = set()
    themes = {t.id: t for t in book.themes}
    for score, key, theme_id in scores:
        if score >= 3 and key not in matched and theme_id not in used:
            matched[key] = themes[theme_id]
            used.add(theme_id)
    return {key: matched[key] for key in THEMES if key in matched}


def _quotes(session: Session, theme: CodebookTheme, allowed: list[str]) -> list[str]:
    """Up to two of the theme's ideas an analyst would quote: on the list, posted online, nothing personal."""
    ids = [int(m.contribution[1:]) for m in theme.members if m.contribution.startswith("i")]
    rows = session.execute(select(Idea.id, Idea.title, Idea.body).where(
        Idea.id.in_(ids), Idea.channel == "online", Idea.moderation_state == "published",
        Idea.title.in_(allowed)).order_by(Idea.up_count.desc(), Idea.id)).all()
    picked: dict[str, str] = {}
    for idea_id, title, body in rows:
        if title not in picked and not _PERSONAL.search(f"{title} {body}"):
            picked[title] = f"i{idea_id}"
    return list(picked.values())[:2]


def _backdate(session: Session, since: datetime, moment: datetime) -> None:
    """Put what this step wrote at the demo's own times (its clock stops at the start of the day it was seeded)."""
    for column in (Codebook.created_at, CodebookChange.at, AuditEvent.at, HeardPage.updated_at, Statement.created_at):
        table = column.class_
        session.execute(update(table).where(column >= since).values({column.key: moment}))


def seed_feedback(session: Session, *, corpus: dict, key: str, until: datetime, rng: random.Random) -> dict[str, int]:
    """Analyse phase 1, publish its main themes into phase 3 with votes and comments, and publish What we heard."""
    consultation = session.scalar(select(Consultation).where(Consultation.slug == corpus["consultation"]["slug"]))
    assert consultation is not None
    first, checking = consultation.phases[0], consultation.phases[-1]
    analyst, facilitator = _staff(session, "analyst"), _staff(session, "facilitator")
    since = utcnow() - timedelta(seconds=1)
    book = codebook.adopt(session, actor=analyst, consultation=consultation,
                          run=_analyse(session, consultation, first, analyst, key))
    session.flush()
    chosen = _match(session, book, corpus["themes"])
    if not chosen:  # a demo too small for the engine to find these themes: analysed, nothing to publish
        session.commit()
        return {"statements": 0, "statement_votes": 0, "statement_comments": 0}
    for name, theme in chosen.items():
        codebook.rename(session, actor=analyst, theme=theme, label=THEMES[name]["label"],
                        summary=THEMES[name]["summary"])
        quotes = _quotes(session, theme, THEMES[name]["quotable"])
        if quotes:
            codebook_quotes.choose(session, actor=analyst, theme=theme, contributions=quotes,
                                   seen=codebook.stamp(theme))
    topic = checking.topics[0]  # "Have we heard you right?"
    ideas = challenge.publish_statements(session, actor=facilitator, topic=topic,
                                         theme_ids=[t.id for t in chosen.values()])
    challenge.save_heard(session, actor=facilitator, phase=first, introduction=INTRODUCTION, outcome=OUTCOME,
                         theme_ids=[t.id for t in chosen.values()], publish=True,
                         actions={t.id: THEMES[name]["what_we_did"] for name, t in chosen.items()})
    session.flush()
    # Published the morning phase 3 opened, as its description says; the analysis ran two days before.
    published = checking.opens_at - timedelta(minutes=30)
    _backdate(session, since, published)
    session.execute(update(AnalysisRun).where(AnalysisRun.consultation_id == consultation.id)
                    .values(created_at=published - timedelta(days=2), started_at=published - timedelta(days=2),
                            heartbeat_at=published - timedelta(days=2), finished_at=published - timedelta(days=2)))
    for idea in ideas:
        idea.created_at = idea.visible_from = published
    session.flush()
    counts = {"statements": len(ideas), "statement_votes": 0, "statement_comments": 0}
    people = list(session.scalars(select(User).where(User.email.like(f"participant%@{DEMO_DOMAIN}"),
                                                     User.created_at < checking.opens_at).order_by(User.id)))
    span = (until - checking.opens_at).total_seconds() - 3600
    by_label = {idea.title: idea for idea in ideas}  # published in codebook order, not in THEMES order
    for name in chosen:
        idea = by_label[THEMES[name]["label"]]
        crowd = rng.sample(people, min(len(people), rng.randint(40, 70)))
        moments = sorted(checking.opens_at + timedelta(seconds=int(rng.uniform(600, span))) for _ in crowd)
        impressions.write(session, {("idea", idea.id, p.id): at for p, at in zip(crowd, moments, strict=True)})
        voters = crowd[:int(len(crowd) * rng.uniform(0.45, 0.6))]
        for person, at in zip(voters, moments, strict=False):
            value = 1 if rng.random() < THEMES[name]["right"] else -1
            contributions.vote(session, person, "idea", idea.id, value, now=at + timedelta(minutes=2))
            counts["statement_votes"] += 1
        # Two of those who saw it comment, one in the first days and one later (each their own comment).
        for n, body in zip((len(crowd) // 4, len(crowd) * 3 // 4), THEMES[name]["comments"], strict=True):
            person, at = crowd[n], moments[n]
            contributions.post_comment(session, person, idea, body, now=at + timedelta(minutes=5))
            counts["statement_comments"] += 1
    session.commit()
    return counts
