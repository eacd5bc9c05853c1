"""The world the security probes attack: every role, and objects in every visibility state.

Personas: a visitor, participants A and B (B wrote the contributions), a moderator and an analyst assigned to
the consultations, a facilitator assigned to them, a facilitator assigned only elsewhere, and an admin.
Objects: a published and an unpublished consultation, open and draft phases, ideas and comments that are
published, held, hidden (and withdrawn once the model has that state), analysis runs, accounts.

Every non-public object carries a token ("tok" + its key) in its text, so a probe can tell when a page shows
something its viewer may not see. Routes come from the app's URL map; each URL parameter name is filled from
PARAMS, and a route with a parameter the probes do not know fails with a message naming it.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consult import analysis_job, authz, publicids
from consult.extensions import db
from consult.models import (
    AnalysisRun,
    AnomalyFlag,
    Codebook,
    Comment,
    Consultation,
    ConsultationAssignment,
    HeardPage,
    Idea,
    ModerationCase,
    OfflineEvent,
    Phase,
    Topic,
    User,
    utcnow,
)
from consult.models.contributions import MODERATION_STATES
from consult.services import accounts, codebook, codebook_blind, contributions, equality
from tests.conftest import PASSWORD, Factory, make_app

PERSONAS = ("anonymous", "participant_a", "participant_b", "moderator", "facilitator_assigned",
            "facilitator_unassigned", "analyst", "admin")
# The moderation states the model can hold now; "withdrawn" joins the probes as soon as the model has it.
CONTRIBUTION_STATES = tuple(s for s in ("published", "held", "hidden", "withdrawn") if s in MODERATION_STATES)

# What a staff blueprint's routes need on the consultation an object belongs to (authz.CAPABILITIES keys);
# None means the route's declared audience is the whole rule. Public blueprints use the visibility rules.
STAFF_BLUEPRINTS: dict[str, str | None] = {"facilitate": "facilitate", "analyse": "analyse", "admin": None,
                                           "moderate": "moderate", "moderation": "moderate",
                                           "safeguarding": "safeguard", "heard": "facilitate",
                                           "inclusion": "facilitate", "workspace": "analyse"}
# Blueprints whose objects follow the public visibility rules for the person asking ("api": for a visitor,
# since the open data API is the same for everyone).
PUBLIC_BLUEPRINTS = {"public": "viewer", "participate": "viewer", "auth": "viewer", "api": "visitor",
                     "account": "viewer", "ops": "viewer", "equality": "viewer", "rights": "viewer"}
# Endpoints whose rule differs from their blueprint's: a capability (staff), "viewer" (the public visibility
# rules) or "author" (the visibility rules, and only the contribution's author).
ENDPOINT_RULES: dict[str, str | None] = {
    "moderation.report": "viewer", "moderation.edit": "author", "moderation.withdraw": "author",
    "moderation.policy": "viewer", "moderation.log": "viewer", "moderation.index": None,
    "moderation.safeguarding": "safeguard", "moderation.premoderation": "facilitate",
    "moderation.anomaly_list": "facilitate", "moderation.anomaly_decide": "facilitate",
    "moderation.anomaly_look": "facilitate",
    "heard.show": "viewer",
}
# URL parameters whose name means another kind of object in one blueprint: (blueprint, name) -> objects key.
PARAM_ALIASES = {("workspace", "theme_id"): "codebook_theme_id"}
# Workspace pages that answer 404 until the consultation has adopted a codebook.
CODEBOOK_ENDPOINTS = {f"workspace.{name}" for name in (
    "theme", "edit", "merge", "split", "move", "remove", "scope", "undo", "history", "proposals", "blind",
    "blind_start", "blind_code", "blind_discard")}
# Pages that give a person their own data (a subject access download): their own posts, in any state, and the
# names of the places they posted them are theirs to see.
OWN_DATA_ENDPOINTS = {"rights.download"}
# Single-use links: the purpose each link route accepts (a link for another purpose is a 404 there).
LINK_ENDPOINTS = {"auth.confirm": "confirm", "auth.confirm_post": "confirm", "auth.reset_password": "reset",
                  "account.confirm_email": "change_email", "account.confirm_email_post": "change_email"}

# How far the probes raise every rate limit (CONSULT_RATE_LIMIT_SCALE) in their apps and live servers.
RATE_LIMIT_SCALE = 1000.0
LIVE_ENV = {"CONSULT_RATE_LIMIT_SCALE": str(RATE_LIMIT_SCALE)}

ANALYSIS_TEXTS = [
    "Waiting times for physio are far too long", "Six months wait for a hip appointment",
    "The waiting list for speech therapy is too long", "Long waits for podiatry appointments",
    "Shorter waiting lists for therapy please", "I waited months for my first appointment",
    "Video appointments saved me a long drive", "Online booking for physio would help",
    "Phone calls with the dietitian worked well", "Let me book appointments online",
    "Video calls are fine for follow ups", "An app to book and change appointments",
]


@dataclass
class Obj:
    """One object a URL parameter can name: its label, the value in the URL, and what it is."""

    label: str
    value: Any
    kind: str
    row_id: int
    consultation_id: int | None


@dataclass
class World:
    """A built world: the app, its database file and a pristine copy, personas and objects."""

    app: Flask
    database: Path
    pristine: Path
    users: dict[str, int]
    objects: dict[str, list[Obj]]
    tokens: dict[str, tuple[str, int]]  # token -> (kind, row id) of the object whose text carries it
    sessions: dict[str, str] = field(default_factory=dict)  # persona -> session cookie value
    tokens_for_csrf: dict[str, str] = field(default_factory=dict)  # persona -> a valid CSRF token
    _secret_cache: dict[str, list[str]] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------ requests

    def client(self, persona: str) -> FlaskClient:
        """A fresh client logged in as the persona (the session saved at build time), or a visitor."""
        client = self.app.test_client()
        if persona != "anonymous":
            client.set_cookie("session", self.sessions[persona], domain="localhost")
        return client

    def restore(self) -> None:
        """Put the database back as it was built (after a request that may have changed it)."""
        db.dispose()
        source = sqlite3.connect(self.pristine)
        target = sqlite3.connect(self.database)
        with target:
            source.backup(target)
        source.close()
        target.close()

    def fingerprint(self) -> str:
        """A hash of every row of every table: equal fingerprints mean nothing was stored or changed."""
        db.remove()
        digest = hashlib.sha256()
        connection = sqlite3.connect(self.database)
        try:
            tables = [r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for table in tables:
                digest.update(table.encode())
                # A session's idle clock moves when it is used (any GET, once a minute): use, not a change.
                columns = "id, key_hash, user_id, created_at" if table == "login_session" else "*"
                for row in sorted(repr(r) for r in connection.execute(f'SELECT {columns} FROM "{table}"')):
                    digest.update(row.encode())
        finally:
            connection.close()
        return digest.hexdigest()

    def author_of(self, kind: str, row_id: int) -> int | None:
        """The author's user id of an idea or comment."""
        with self.app.test_request_context():
            item = db.session.get(Idea if kind == "idea" else Comment, row_id)
            return item.author_id if item is not None else None

    def has_codebook(self, consultation_id: int | None) -> bool:
        """Whether the consultation has adopted a codebook (the workspace's pages need one)."""
        with self.app.test_request_context():
            return db.session.scalar(select(Codebook.id).where(Codebook.consultation_id == consultation_id)) \
                is not None

    def has_heard_page(self, phase_id: int | None) -> bool:
        """Whether the phase has a "What we heard" page (the spare phase has none, so it can be deleted)."""
        with self.app.test_request_context():
            return db.session.scalar(select(HeardPage.id).where(HeardPage.phase_id == phase_id)) is not None

    def own_tokens(self, persona: str) -> set[str]:
        """Tokens of the persona's own posts and of the places they posted them (their data download has them)."""
        with self.app.test_request_context():
            mine: set[str] = set()
            places: set[int] = set()
            for token, (kind, row_id) in self.tokens.items():
                if kind in ("idea", "comment"):
                    item = db.session.get(Idea if kind == "idea" else Comment, row_id)
                    if item.author_id == self.users.get(persona):
                        mine.add(token)
                        places.add(db.session.get(Phase, item.phase_id).consultation_id)
            for token, (kind, row_id) in self.tokens.items():
                consultation_id = row_id if kind == "consultation" else \
                    db.session.get(Phase, row_id).consultation_id if kind == "phase" else \
                    db.session.get(Topic, row_id).phase.consultation_id if kind == "topic" else None
                if consultation_id in places:
                    mine.add(token)
            return mine

    def user(self, persona: str) -> User | None:
        """The persona's user row (None for a visitor)."""
        return None if persona == "anonymous" else db.session.get(User, self.users[persona])

    # ------------------------------------------------------------------------------------- oracle

    def visible(self, persona: str, kind: str, row_id: int) -> bool:
        """Whether the visibility rules in consult/authz.py let this persona see the object."""
        with self.app.test_request_context():
            user = self.user(persona)
            if kind == "consultation":
                return authz.consultation_visible(db.session.get(Consultation, row_id), user) \
                    if user else db.session.get(Consultation, row_id).is_published
            if kind == "phase":
                return _phase_visible(db.session.get(Phase, row_id), user)
            if kind == "topic":
                return _phase_visible(db.session.get(Topic, row_id).phase, user)
            if kind == "idea":
                return _idea_visible(db.session.get(Idea, row_id), user)
            if kind == "comment":
                comment = db.session.get(Comment, row_id)
                return _idea_visible(comment.idea, user) and _contribution_visible(
                    comment, comment.idea.topic.phase.consultation_id, user)
            if kind == "codebook-theme":
                return authz.can(user, row_id, "analyse") if user else False
            if kind in ("run", "theme"):
                run = db.session.get(AnalysisRun, row_id)
                return authz.can(user, run.consultation_id, "analyse") if user else False
            if kind == "user":
                return user is not None and user.role == "admin"
            if kind in ("case", "case-restricted"):
                case = db.session.get(ModerationCase, row_id)
                capability = "safeguard" if case.restricted else "moderate"
                return authz.can(user, case.consultation_id, capability) if user else False
            if kind == "flag":
                flag = db.session.get(AnomalyFlag, row_id)
                return authz.can(user, flag.consultation_id, "facilitate") if user else False
            if kind in ("kind", "link"):
                return True
            if kind == "slug-missing":
                return False
        raise AssertionError(f"the probes have no visibility rule for objects of kind {kind!r}")

    def staff_allowed(self, persona: str, capability: str, consultation_id: int | None) -> bool:
        """Whether the persona has `capability` on the object's consultation (admins everywhere)."""
        with self.app.test_request_context():
            user = self.user(persona)
            if consultation_id is None:
                return user is not None and user.role == "admin"
            return authz.can(user, consultation_id, capability)

    def secret_tokens(self, persona: str) -> list[str]:
        """Tokens of objects this persona may not see (none of them may appear on any page they get)."""
        if persona not in self._secret_cache:
            self._secret_cache[persona] = [token for token, (kind, row_id) in self.tokens.items()
                                           if not self.visible(persona, kind, row_id)]
        return self._secret_cache[persona]


def _phase_visible(phase: Phase, user: User | None) -> bool:
    """authz.phase_visible, for a visitor too (the authz helpers read current_user when given None)."""
    from consult.services.phases import scheduled_state

    if user is None:
        return phase.consultation.is_published and scheduled_state(phase, utcnow()) != "draft"
    return authz.phase_visible(phase, user)


def _contribution_visible(item: Idea | Comment, consultation_id: int, user: User | None) -> bool:
    """authz.contribution_visible, for a visitor too."""
    if user is None:
        return item.moderation_state == "published"
    return authz.contribution_visible(item, consultation_id, user)


def _idea_visible(idea: Idea, user: User | None) -> bool:
    """An idea is visible when its phase is and the moderation rules allow."""
    return _phase_visible(idea.topic.phase, user) and _contribution_visible(
        idea, idea.topic.phase.consultation_id, user)


# ---------------------------------------------------------------------------------------------- build


def build_world(folder: Path, *, analysis: bool = True, **config: Any) -> World:
    """Create the app on a fresh database in folder, fill it, log every persona in, and keep a pristine copy."""
    # The probes send hundreds of requests as one person; the throttles have tests of their own.
    config.setdefault("RATE_LIMIT_SCALE", RATE_LIMIT_SCALE)
    app = make_app(folder, **config)
    make = Factory()
    with app.app_context():
        users = {
            "participant_a": make.user(email="a@example.org").id,
            "participant_b": make.user(email="b@example.org").id,
            "moderator": make.user(role="moderator", category="staff", email="mod@example.org").id,
            "facilitator_assigned": make.user(role="facilitator", category="staff", email="fac@example.org").id,
            "facilitator_unassigned": make.user(role="facilitator", category="staff",
                                                email="fac2@example.org").id,
            "analyst": make.user(role="analyst", category="staff", email="analyst@example.org").id,
            "admin": make.user(role="admin", category="staff", email="admin@example.org").id,
        }
        # Not personas of the matrix: an account waiting for its confirmation link (logged in, for the CSRF
        # probe's resend), and a staff claim a facilitator can verify.
        extra = {"unconfirmed": make.user(email="unconfirmed@example.org", confirmed=False).id,
                 "claimant": make.user(category="staff", email="claim@example.org").id}
        author = db.session.get(User, users["participant_b"])
        objects: dict[str, list[Obj]] = {}
        tokens: dict[str, tuple[str, int]] = {}

        def add(param: str, obj: Obj) -> Obj:
            objects.setdefault(param, []).append(obj)
            return obj

        def token(key: str, kind: str, row_id: int) -> str:
            tokens[f"tok{key}"] = (kind, row_id)
            return f"tok{key}"

        # C1: published, with an open phase (contributions in every state) and a draft phase.
        p_open = make.phase(state="open", topics=2)
        c1 = p_open.consultation
        c1.title, c1.slug = "Published consultation", "published-consultation"
        p_draft = make.phase(state="draft", consultation=c1)
        p_draft.opens_at = utcnow() + timedelta(days=30)
        p_draft.description = "draft description " + token("DRAFTPHASE", "phase", p_draft.id)
        p_draft.topics[0].title = "Draft topic " + token("DRAFTTOPIC", "topic", p_draft.topics[0].id)
        # C2: unpublished. C3: published, run by the other facilitator.
        p_unpub = make.phase(state="open")
        c2 = p_unpub.consultation
        c2.slug, c2.is_published = "unpublished-consultation", False
        c2.title = "Unpublished " + token("C2", "consultation", c2.id)
        c2.summary = "Not public yet " + token("C2SUMMARY", "consultation", c2.id)
        p_unpub.title = "Unpublished phase " + token("C2PHASE", "consultation", c2.id)
        p_other = make.phase(state="open")
        c3 = p_other.consultation
        c3.title, c3.slug = "Another consultation", "another-consultation"
        # C4: set up by mistake (never published, never opened, nothing in it), so its facilitator may delete it.
        p_spare = make.phase(state="draft")
        c4 = p_spare.consultation
        c4.slug, c4.is_published = "spare-consultation", False
        c4.title = "Spare " + token("C4", "consultation", c4.id)
        p_spare.title = "Spare phase " + token("C4PHASE", "consultation", c4.id)
        p_spare.topics[0].title = "Spare topic " + token("C4TOPIC", "consultation", c4.id)
        db.session.commit()
        staff = [(c1, "facilitator_assigned", "facilitator"), (c2, "facilitator_assigned", "facilitator"),
                 (c1, "moderator", "moderator"), (c2, "moderator", "moderator"),
                 (c1, "analyst", "analyst"), (c2, "analyst", "analyst"),
                 (c3, "facilitator_unassigned", "facilitator"), (c4, "facilitator_assigned", "facilitator")]
        for consultation, persona, role in staff:
            db.session.add(ConsultationAssignment(consultation_id=consultation.id, user_id=users[persona], role=role))
        db.session.commit()

        topic = p_open.topics[0]
        ideas: dict[str, Idea] = {}
        for text in ANALYSIS_TEXTS:
            contributions.post_idea(db.session, db.session.get(User, users["participant_a"]), topic, text[:60], text)
        for state in CONTRIBUTION_STATES:
            idea, _ = contributions.post_idea(db.session, author, topic, f"Idea {state}", f"Body of the {state} idea")
            ideas[state] = idea
        db.session.flush()
        comments: dict[str, Comment] = {}
        for state in CONTRIBUTION_STATES:
            comments[state], _ = contributions.post_comment(db.session, author, ideas["published"], f"Comment {state}")
        if "hidden" in ideas:
            comments["on-hidden"], _ = contributions.post_comment(db.session, author, ideas["hidden"], "x")
        db.session.flush()
        for state in CONTRIBUTION_STATES:
            idea, comment = ideas[state], comments[state]
            idea.moderation_state = comment.moderation_state = state
            # A hidden post's reason is shown in its place to everyone (the moderation policy), so only the
            # reasons of held and withdrawn posts are secrets.
            reason_secret = state not in ("published", "hidden")
            if state != "published":
                idea.title = f"Idea {state} " + token(f"IDEA{state.upper()}", "idea", idea.id)
                idea.moderation_reason = "Reason " + (token(f"REASON{state.upper()}", "idea", idea.id)
                                                      if reason_secret else state)
                comment.body = f"Comment {state} " + token(f"COMMENT{state.upper()}", "comment", comment.id)
                comment.moderation_reason = "Reason " + (token(f"CREASON{state.upper()}", "comment", comment.id)
                                                         if reason_secret else state)
        if "on-hidden" in comments:
            under = comments["on-hidden"]
            under.body = "Published comment on a hidden idea " + token("COMMENTONHIDDEN", "comment", under.id)
        db.session.commit()
        # Contributions inside the draft phase and the unpublished consultation (added, then the phase set back).
        draft_idea = _idea_in(p_draft, author, "Idea in a draft phase tokDRAFTIDEA")
        token("DRAFTIDEA", "idea", draft_idea.id)
        unpub_idea = _idea_in(p_unpub, author, "Idea in an unpublished consultation tokC2IDEA")
        token("C2IDEA", "idea", unpub_idea.id)
        other_idea = _idea_in(p_other, author, "Idea in another consultation")
        db.session.commit()
        # Moderation cases: a held idea (moderators), a possible disclosure (safeguarding leads only) and a
        # reported idea in the other consultation; anomaly flags in both consultations.
        safeguarding, _ = contributions.post_idea(db.session, author, topic, "Idea safeguarding", "Body")
        safeguarding.moderation_state = "held"
        safeguarding.title = "Idea safeguarding " + token("IDEASAFEGUARDING", "idea", safeguarding.id)
        ideas_extra = {"safeguarding": safeguarding}
        db.session.flush()
        cases: dict[str, ModerationCase] = {}
        for label, idea, reason, restricted in (("held", ideas.get("held"), "personal", False),
                                                ("restricted", safeguarding, "safeguarding", True),
                                                ("other", other_idea, "spam", False)):
            if idea is None:
                continue
            phase = idea.topic.phase
            cases[label] = ModerationCase(consultation_id=phase.consultation_id, phase_id=phase.id, idea_id=idea.id,
                                          reason=reason, reasons=[reason], restricted=restricted, report_count=1)
            db.session.add(cases[label])
        flags: dict[str, AnomalyFlag] = {}
        for label, consultation in (("assigned", c1), ("other", c3)):
            detail = {"why": "burst", "events": 40, "accounts": 12, "new_accounts": 0, "one_network": 0,
                      "user_ids": []}
            flags[label] = AnomalyFlag(consultation_id=consultation.id, kind="vote_burst", signature=f"probe-{label}",
                                       detail=detail, first_at=utcnow(), last_at=utcnow())
            db.session.add(flags[label])
        # Offline events (with no ideas yet, so a facilitator may delete them) in both consultations.
        offline_events = {label: OfflineEvent(phase_id=phase.id, channel="workshop", name=f"Probe forum {label}",
                                              held_on=utcnow().date())
                          for label, phase in (("assigned", p_open), ("other", p_other))}
        db.session.add_all(offline_events.values())
        # Single-use links, one per purpose (the confirmation one for the account still waiting for it).
        links = {"confirm": accounts.issue_token(db.session, db.session.get(User, extra["unconfirmed"]), "confirm"),
                 "reset": accounts.issue_token(db.session, db.session.get(User, users["participant_a"]), "reset"),
                 "change_email": accounts.issue_token(db.session, db.session.get(User, users["participant_a"]),
                                                      "change_email", new_email="a-new@example.org")}
        db.session.commit()

        for c, label in ((c1, "published"), (c2, "unpublished"), (c3, "other"), (c4, "spare")):
            add("slug", Obj(label, c.slug, "consultation", c.id, c.id))
            add("consultation_id", Obj(label, c.id, "consultation", c.id, c.id))
        add("slug", Obj("missing", "no-such-consultation", "slug-missing", 0, None))
        for p, label in ((p_open, "open"), (p_draft, "draft"), (p_unpub, "unpublished-consultation"),
                         (p_other, "other"), (p_spare, "spare")):
            add("phase_id", Obj(label, p.id, "phase", p.id, p.consultation_id))
            add("topic_id", Obj(label, p.topics[0].id, "topic", p.topics[0].id, p.consultation_id))
        for state, idea in ideas.items():
            add("idea_id", Obj(state, idea.id, "idea", idea.id, c1.id))
        for idea, label in ((draft_idea, "draft-phase"), (unpub_idea, "unpublished-consultation"),
                            (other_idea, "other")):
            add("idea_id", Obj(label, idea.id, "idea", idea.id, idea.topic.phase.consultation_id))
        for state, comment in comments.items():
            add("comment_id", Obj(state, comment.id, "comment", comment.id, c1.id))
        for persona in ("participant_a", "admin"):
            add("user_id", Obj(persona, users[persona], "user", users[persona], None))
        for label, idea in ideas_extra.items():
            add("idea_id", Obj(label, idea.id, "idea", idea.id, c1.id))
        for obj in objects["idea_id"] + objects["comment_id"]:
            add("item_id", obj)
        for name in ("idea", "comment"):
            add("kind", Obj(name, name, "kind", 0, None))
        add("kind", Obj("bogus", "bogus", "slug-missing", 0, None))
        for label, case in cases.items():
            add("case_id", Obj(label, case.id, "case-restricted" if case.restricted else "case", case.id,
                               case.consultation_id))
        for label, flag in flags.items():
            add("flag_id", Obj(label, flag.id, "flag", flag.id, flag.consultation_id))
        for label, event in offline_events.items():
            add("event_id", Obj(label, event.id, "offline_event", event.id, event.phase.consultation_id))
        for purpose, secret in links.items():
            add("token", Obj(purpose, secret, "link", 0, None))
        add("token", Obj("bogus", "not-a-real-link", "slug-missing", 0, None))

        runs = _analysis_runs(users["analyst"], [c1, c3]) if analysis else {}
        for label, run_id, consultation_id in runs.values():
            add("run_id", Obj(label, run_id, "run", run_id, consultation_id))
        if runs:
            _, run_id, consultation_id = runs["assigned"]
            add("theme_id", Obj("first", 0, "theme", run_id, consultation_id))
            # The analysts' codebook for C1, adopted from its run (the workspace's theme ids are its rows).
            book = codebook.adopt(db.session, actor=db.session.get(User, users["analyst"]), consultation=c1,
                                  run=db.session.get(AnalysisRun, run_id))
            db.session.commit()
            themes = sorted(book.themes, key=lambda t: t.id)
            for label, theme in zip(("first", "second"), themes, strict=False):
                add("codebook_theme_id", Obj(label, theme.id, "codebook-theme", c1.id, c1.id))
            # One change to undo, and a blind-coding sample the analyst has started.
            analyst = db.session.get(User, users["analyst"])
            codebook.rename(db.session, actor=analyst, theme=themes[0], label="A renamed theme",
                            summary=themes[0].summary)
            codebook_blind.start(db.session, coder=analyst, codebook=book, size=5)
            # A contribution taken out of a theme is proposed again (the workspace's proposals page).
            codebook.remove_members(db.session, actor=analyst, theme=themes[-1],
                                    contributions=[themes[-1].members[0].contribution])
            db.session.commit()

        # A published "What we heard" page for every phase but the spare one (the page follows its phase's
        # visibility).
        for phase in (p_open, p_draft, p_unpub, p_other):
            db.session.add(HeardPage(phase_id=phase.id, introduction="What we heard", is_published=True))
        # Participant B has answered the equality questions (and can withdraw the answers).
        equality.save_answers(db.session, user_id=users["participant_b"], secret=str(app.config["PSEUDONYM_KEY"]),
                              category="public", values={"sex": "female", "unpaid_carer": "no"}, consent=False,
                              keep=set())
        db.session.commit()
        emails = {persona: db.session.get(User, user_id).email for persona, user_id in (users | extra).items()}
    database = folder / "test.sqlite3"
    world = World(app=app, database=database, pristine=folder / "pristine.sqlite3", users=users | extra,
                  objects=objects, tokens=tokens)
    # Outside any app context: requests that share one would share flask.g, and so the logged-in user.
    for persona in (*PERSONAS[1:], "unconfirmed"):
        client = app.test_client()
        response = client.post("/login", data={"email": emails[persona], "password": PASSWORD})
        assert response.status_code == 302, f"{persona} could not log in"
        world.tokens_for_csrf[persona] = client.csrf_token()
        world.sessions[persona] = client.get_cookie("session", domain="localhost").value
    # Participant A is signed in on a second device too, which "sign out everywhere else" ends.
    assert app.test_client().post("/login", data={"email": emails["participant_a"],
                                                  "password": PASSWORD}).status_code == 302
    db.dispose()
    source = sqlite3.connect(database)
    target = sqlite3.connect(world.pristine)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return world


def _idea_in(phase: Phase, author: User, title: str) -> Idea:
    """A published idea in any phase (the phase is opened for the post and put back)."""
    state, opens = phase.state, phase.opens_at
    phase.state, phase.opens_at = "open", utcnow() - timedelta(days=1)
    db.session.flush()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], title, "Body")
    phase.state, phase.opens_at = state, opens
    db.session.flush()
    return idea


_ANALYSIS_RESULT: dict[str, Any] = {}


def _analysis_runs(analyst_id: int, consultations: list[Consultation]) -> dict[str, tuple[str, int, int]]:
    """A finished analysis run per consultation (one real run, its result copied to the others)."""
    runs: dict[str, tuple[str, int, int]] = {}
    result = _ANALYSIS_RESULT.get("result")
    for consultation, label in zip(consultations, ("assigned", "unassigned"), strict=False):
        run = AnalysisRun(consultation_id=consultation.id, requested_by_id=analyst_id, state="running")
        db.session.add(run)
        db.session.commit()
        if result is None:
            assert analysis_job.run(run.id), "the probes' analysis run failed"
            db.remove()
            result = _ANALYSIS_RESULT["result"] = db.session.get(AnalysisRun, run.id).result
        else:
            run.state, run.result, run.progress = "done", result, 1.0
            db.session.commit()
        runs[label] = (label, run.id, consultation.id)
    return runs


# ---------------------------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """One URL rule and method, with the audience it declares."""

    endpoint: str
    rule: str
    method: str
    arguments: tuple[str, ...]
    audience: frozenset[str]
    # Values the rule fixes itself (the report, edit and withdraw rules have one per kind: {"kind": "idea"}).
    defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def blueprint(self) -> str:
        """The blueprint name ("" for app-level routes)."""
        return self.endpoint.rpartition(".")[0]


def routes(app: Flask, methods: tuple[str, ...] = ("GET", "POST")) -> list[Route]:
    """Every route of the app's URL map (but static files), once per method."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        audience = authz.audience_of(app, rule.endpoint)
        assert audience is not None, f"{rule.endpoint} ({rule.rule}) declares no audience with @allow(...)"
        for method in sorted((rule.methods or set()) & set(methods)):
            found.append(Route(rule.endpoint, rule.rule, method, tuple(sorted(rule.arguments)), audience,
                               tuple(sorted((rule.defaults or {}).items()))))
    return found


def unknown_parameters(app: Flask, world_objects: dict[str, list[Obj]]) -> list[str]:
    """Routes whose URL parameters the probes cannot fill, as messages for a failing test."""
    problems = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        for name in sorted({PARAM_ALIASES.get((blueprint, n), n) for n in rule.arguments} - set(world_objects)):
            if rule.endpoint != "static":
                problems.append(f"{rule.endpoint} ({rule.rule}): URL parameter {name!r} has no objects; add them "
                                f"to build_world() in tests/security/world.py (objects[{name!r}])")
    return problems


def objects_key(route: Route, name: str) -> str:
    """Where the world keeps the objects for this route's URL parameter."""
    return PARAM_ALIASES.get((route.blueprint, name), name)


def instances(route: Route, objects: dict[str, list[Obj]]) -> Iterator[tuple[str, dict[str, Obj]]]:
    """Every way to fill the route's parameters from the world: (label, {parameter: object})."""
    if not route.arguments:
        yield "-", {}
        return
    combos: list[dict[str, Obj]] = [{}]
    for name in route.arguments:
        combos = [dict(c, **{name: o}) for c in combos for o in objects[objects_key(route, name)]]
    if {"theme_id", "consultation_id"} <= set(route.arguments) and objects_key(route, "theme_id") != "theme_id":
        # A codebook theme is looked up in its consultation's codebook: pair each with its own consultation.
        combos = [c for c in combos if c["theme_id"].consultation_id == c["consultation_id"].row_id]
    fixed = dict(route.defaults)
    # A rule that fixes a parameter (the report, edit and withdraw rules fix their kind) is only that value.
    combos = [c for c in combos if all(c[name].value == value for name, value in fixed.items())]
    if "kind" in route.arguments and "item_id" in route.arguments:
        # An item id means the idea or comment its kind names; an unknown kind is tried with one id only.
        first = objects["item_id"][0]
        combos = [c for c in combos if c["item_id"].kind == c["kind"].value
                  or (c["kind"].kind == "slug-missing" and c["item_id"] is first)]
    for combo in combos:
        yield ",".join(f"{k}={v.label}" for k, v in combo.items()), combo


def public_id(app: Flask, kind: str, row_id: int) -> str:
    """The public id of an idea or comment in this app (what its pages, forms and API show)."""
    return publicids.encode(kind, row_id, key=str(app.config["PUBLIC_ID_KEY"]))


def build_url(app: Flask, route: Route, combo: dict[str, Obj], **query: Any) -> str:
    """The route's path with the objects' values in it (ids of ideas and comments become public ids)."""
    adapter = app.url_map.bind("localhost")
    return adapter.build(route.endpoint, {k: v.value for k, v in combo.items()} | query, method=route.method)


def copy_world(world: World, folder: Path) -> Path:
    """A copy of the pristine database file (for a live server on the same data)."""
    target = folder / "copy.sqlite3"
    shutil.copy(world.pristine, target)
    return target

