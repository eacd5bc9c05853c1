"""Every POST route x five forgeries: none of them changes anything.

For each POST route in the URL map the probe sends, as a person the route is for, the request that works
(checked: it must change the database or the session, or the forgeries would prove nothing), then five forged
copies: no token, a made-up token, another session's token, the token in the query string instead of the form,
and the same request as a GET. A forgery is accepted if it changes any row of any table, or who the session
belongs to, or (as a POST) is answered with anything but an error.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import Codebook, CodebookMember, CodebookSample, CodebookTheme, ConsultationAssignment, Phase
from consult.services import challenge, codebook, inclusion, workshops
from tests.conftest import PASSWORD
from tests.security.world import Route, World, build_url, objects_key, public_id, routes

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.xdist_group("security-csrf")]

Data = dict[str, Any] | Callable[[World], dict[str, Any]]


def _id(param: str, label: str) -> Callable[[World], Any]:
    """The URL value of a world object, found by parameter name and label."""
    return lambda world: next(o.value for o in world.objects[param] if o.label == label)


def _assignment(world: World) -> int:
    """The id of one staff assignment on the published consultation."""
    consultation_id = _id("consultation_id", "published")(world)
    with world.app.app_context():
        found = db.session.scalar(select(ConsultationAssignment.id).where(
            ConsultationAssignment.consultation_id == consultation_id).order_by(ConsultationAssignment.id))
        db.remove()
    return int(found)


def _query(world: World, read: Callable[[], Any]) -> Any:
    """A value read from the world's database (outside any request)."""
    with world.app.app_context():
        try:
            return read()
        finally:
            db.remove()


def _book(world: World) -> Codebook:
    """The published consultation's codebook."""
    return db.session.scalar(select(Codebook).where(Codebook.consultation_id == _id("consultation_id",
                                                                                    "published")(world)))


def _member(world: World) -> str:
    """A contribution in the first codebook theme."""
    theme_id = _id("codebook_theme_id", "first")(world)
    return _query(world, lambda: db.session.scalar(select(CodebookMember.contribution).where(
        CodebookMember.theme_id == theme_id).order_by(CodebookMember.id)))


def _seen(world: World) -> str:
    """The first codebook theme's stamp, as its page's forms carry it (the hidden "seen" field)."""
    theme_id = _id("codebook_theme_id", "first")(world)
    return _query(world, lambda: codebook.stamp(db.session.get(CodebookTheme, theme_id)))


def _heard_seen(world: World) -> str:
    """The open phase's "What we heard" stamp, as its editor carries it (the hidden "seen" field)."""
    phase_id = _id("phase_id", "open")(world)
    return _query(world, lambda: challenge.heard_stamp(challenge.heard_page(db.session,
                                                                           db.session.get(Phase, phase_id))))


def _blind(world: World) -> dict[str, Any]:
    """The next contribution of the analyst's blind sample, coded into the first theme."""
    def read() -> str:
        return db.session.scalar(select(CodebookSample.contribution).where(
            CodebookSample.codebook_id == _book(world).id).order_by(CodebookSample.id))
    return {"contribution": _query(world, read), "theme": str(_id("codebook_theme_id", "first")(world))}


def _quoted(world: World) -> dict[str, Any]:
    """A contribution of the first theme, quoted for the strategy (so stopping quoting it changes something)."""
    from consult.models import User
    from consult.services import codebook_quotes

    member = _member(world)

    def choose() -> str:
        theme = db.session.get(CodebookTheme, _id("codebook_theme_id", "first")(world))
        analyst = db.session.scalar(select(User).where(User.role == "analyst").order_by(User.id))
        if codebook_quotes.choose(db.session, actor=analyst, theme=theme, contributions=[member],
                                  seen=codebook.stamp(theme)):
            db.session.commit()
        return member
    return {"contribution": _query(world, choose)}


def _proposals(world: World) -> dict[str, Any]:
    """Every proposed contribution left out of the codebook."""
    def read() -> list[str]:
        book = _book(world)
        run = codebook.latest_run(db.session, book.consultation_id)
        return [p.item for p in codebook.proposals(db.session, book, run)] if run else []
    return {f"choice_{item}": "none" for item in _query(world, read)}


def _upload(world: World, kind: str) -> dict[str, Any]:
    """A CSV upload that works: the app's own template for the open phase, or the reference population."""
    def read() -> str:
        if kind == "workshops":
            return workshops.template_csv(db.session.get(Phase, _id("phase_id", "open")(world)))
        return inclusion.reference_template()
    # A MultiDict: a plain dict would read the (stream, name) pair as two values.
    return MultiDict([("file", (io.BytesIO(_query(world, read).encode()), f"{kind}.csv")),
                      ("source", "Our area's figures")])


def _plus(form: Any, **extra: Any) -> MultiDict:
    """The form with more fields (keeping an upload's (stream, name) pair whole)."""
    pairs = list(form.items(multi=True)) if isinstance(form, MultiDict) else list(form.items())
    return MultiDict(pairs + list(extra.items()))


# The working request for each POST route: (persona, {URL parameter: object label}, form data).
VALID: dict[str, tuple[str, dict[str, str], Data]] = {
    "auth.register": ("anonymous", {}, {"email": "new-person@example.org", "password": "a long enough password",
                                        "category": "public"}),
    "auth.login": ("anonymous", {}, {"email": "a@example.org", "password": PASSWORD}),
    "auth.logout": ("participant_a", {}, {}),
    "participate.new_idea": ("participant_a", {"topic_id": "open"}, {"title": "A new idea", "body": "Its body"}),
    # A reply, so the fuzz probe breaks its parent_id (a comment's public id) too.
    "participate.comment": ("participant_a", {"idea_id": "published"}, lambda w: {
        "body": "A new reply", "parent_id": public_id(w.app, "comment", _id("comment_id", "published")(w))}),
    "participate.vote": ("participant_a", {}, lambda w: {
        "kind": "idea", "id": public_id(w.app, "idea", _id("idea_id", "published")(w)), "value": "1"}),
    "facilitate.new_consultation": ("facilitator_assigned", {}, {"title": "A new consultation",
                                                                 "summary": "Its summary", "is_published": "no"}),
    "facilitate.edit_consultation": ("facilitator_assigned", {"consultation_id": "published"},
                                     {"title": "Renamed consultation", "slug": "published-consultation",
                                      "summary": "A new summary", "description": "", "is_published": "yes"}),
    "facilitate.new_phase": ("facilitator_assigned", {"consultation_id": "published"},
                             {"title": "A new phase", "question": "What next?"}),
    "facilitate.edit_phase": ("facilitator_assigned", {"phase_id": "draft"},
                              {"title": "Renamed phase", "question": "A new question?"}),
    "facilitate.open_phase": ("facilitator_assigned", {"phase_id": "draft"}, {"confirmed": "yes"}),
    "facilitate.close_phase": ("facilitator_assigned", {"phase_id": "open"}, {"confirmed": "yes"}),
    "facilitate.new_topic": ("facilitator_assigned", {"phase_id": "open"}, {"title": "A new topic"}),
    "facilitate.edit_topic": ("facilitator_assigned", {"topic_id": "open"}, {"title": "Renamed topic"}),
    "facilitate.move_topic": ("facilitator_assigned", {"topic_id": "open"}, {"direction": "down"}),
    "facilitate.delete_topic": ("facilitator_assigned", {"topic_id": "spare"}, {}),
    "facilitate.delete_phase": ("facilitator_assigned", {"phase_id": "spare"}, {}),
    "facilitate.delete_consultation": ("facilitator_assigned", {"consultation_id": "spare"}, {}),
    "facilitate.on_behalf": ("facilitator_assigned", {"topic_id": "open"},
                             {"title": "From a workshop", "body": "Said at the workshop", "channel": "workshop",
                              "category": "public"}),
    "admin.user": ("admin", {"user_id": "participant_a"}, {"role": "moderator"}),
    "admin.suspension": ("admin", {"user_id": "participant_a"}, {"action": "suspend", "reason": "Abuse"}),
    "admin.erase": ("admin", {"user_id": "participant_a"}, {"contributions": "keep", "typed_email": "a@example.org"}),
    "analyse.start": ("analyst", {}, lambda w: {"consultation_id": _id("consultation_id", "published")(w),
                                                "scope": "all"}),
    "admin.consultation_staff": ("admin", {"consultation_id": "other"},
                                 {"email": "analyst@example.org", "role": "analyst"}),
    "admin.remove_staff": ("admin", {"consultation_id": "published"}, lambda w: {"assignment_id": _assignment(w)}),
    "auth.confirm_post": ("anonymous", {"token": "confirm"}, {}),
    "auth.forgot_password": ("anonymous", {}, {"email": "a@example.org"}),
    "auth.resend_confirmation": ("unconfirmed", {}, {}),
    "auth.reset_password": ("anonymous", {"token": "reset"}, {"password": "a brand new password 42"}),
    "account.change_email": ("participant_a", {}, {"email": "a-changed@example.org", "password": PASSWORD}),
    "account.change_password": ("participant_a", {}, {"current_password": PASSWORD,
                                                      "new_password": "another long password 42"}),
    "account.confirm_email_post": ("participant_a", {"token": "change_email"}, {}),
    "account.logout_everywhere": ("participant_a", {}, {}),
    "account.logout_others": ("participant_a", {}, {}),
    "account.verify_claims": ("facilitator_assigned", {}, {"email": "claim@example.org"}),
    "moderation.report": ("participant_a", {"kind": "idea", "item_id": "published"},
                          {"reason": "spam", "note": "Looks like an advert"}),
    "moderation.edit": ("participant_b", {"kind": "idea", "item_id": "held"},
                        {"title": "Idea held, edited", "body": "Its body, edited"}),
    "moderation.withdraw": ("participant_b", {"kind": "idea", "item_id": "published"}, {}),
    "moderation.bulk": ("moderator", {"consultation_id": "published"},
                        lambda w: {"case_id": _id("case_id", "held")(w), "action": "publish", "reason": ""}),
    "moderation.case": ("moderator", {"case_id": "held"}, {"action": "publish", "reason": ""}),
    "moderation.redact": ("moderator", {"case_id": "held"}, {"title": "Idea held", "body": "Details removed"}),
    "moderation.suspend_author": ("moderator", {"case_id": "held"}, {"reason": "Repeated abuse"}),
    "moderation.premoderation": ("facilitator_assigned", {"phase_id": "open"}, {"premoderated": "on"}),
    "moderation.anomaly_decide": ("facilitator_assigned", {"flag_id": "assigned"},
                                  {"action": "dismiss", "reason": "A workshop voting together"}),
    "moderation.anomaly_look": ("facilitator_assigned", {"consultation_id": "published"}, {}),
    "equality.questions": ("participant_a", {}, {"sex": "female", "unpaid_carer": "no"}),
    "equality.withdraw": ("participant_b", {}, {}),
    "rights.delete_account": ("participant_a", {}, {"contributions": "keep", "password": PASSWORD}),
    "rights.taking_part": ("participant_a", {}, {"category": "carer", "profession": ""}),
    "heard.edit": ("facilitator_assigned", {"phase_id": "open"},
                   lambda w: {"introduction": "What we heard", "outcome": "What we will do",
                              "themes": str(_id("codebook_theme_id", "first")(w)), "publish": "y",
                              "seen": _heard_seen(w)}),
    "heard.publish": ("facilitator_assigned", {"consultation_id": "published"},
                      lambda w: {"phase_id": _id("phase_id", "open")(w), "topic_id": _id("topic_id", "open")(w),
                                 "themes": str(_id("codebook_theme_id", "first")(w))}),
    "inclusion.offline": ("facilitator_assigned", {"phase_id": "open"}, lambda w: _upload(w, "workshops")),
    "inclusion.offline_deadline": ("facilitator_assigned", {"phase_id": "open"},
                                   {"day": "1", "month": "12", "year": "2035"}),
    "inclusion.edit_event": ("facilitator_assigned", {"event_id": "assigned"},
                             lambda w: {"channel": "paper", "event_name": "Probe forum, corrected",
                                        "event_day": str(date.today().day), "event_month": str(date.today().month),
                                        "event_year": str(date.today().year)}),
    "inclusion.delete_event": ("facilitator_assigned", {"event_id": "assigned"}, {}),
    "inclusion.questions_off": ("facilitator_assigned", {"consultation_id": "published"}, {"questions": "religion"}),
    "inclusion.reference": ("facilitator_assigned", {"consultation_id": "published"},
                            lambda w: _upload(w, "reference")),
    "workspace.adopt": ("admin", {"consultation_id": "other"}, lambda w: {"run_id": _id("run_id", "unassigned")(w)}),
    "workspace.edit": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                       lambda w: {"label": "Waiting times", "summary": "People waited too long", "seen": _seen(w)}),
    "workspace.merge": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                        lambda w: {"other": _id("codebook_theme_id", "second")(w), "seen": _seen(w)}),
    "workspace.split": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                        lambda w: {"contributions": _member(w), "new_label": "A split-off theme", "seen": _seen(w)}),
    "workspace.move": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                       lambda w: {"contributions": _member(w), "target": _id("codebook_theme_id", "second")(w),
                                  "seen": _seen(w)}),
    "workspace.remove": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                         lambda w: {"contributions": _member(w), "seen": _seen(w)}),
    "workspace.choose_quotes": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                                lambda w: {"contributions": _member(w), "seen": _seen(w)}),
    "workspace.drop_quote": ("analyst", {"consultation_id": "published", "theme_id": "first"}, _quoted),
    "workspace.scope": ("analyst", {"consultation_id": "published", "theme_id": "first"},
                        lambda w: {"seen": _seen(w)}),
    "workspace.undo": ("analyst", {"consultation_id": "published"},
                       lambda w: {"version": _query(w, lambda: _book(w).version)}),
    "workspace.export": ("analyst", {"consultation_id": "published"}, {"format": "csv"}),
    "workspace.proposals": ("analyst", {"consultation_id": "published"}, _proposals),
    "workspace.blind_start": ("admin", {"consultation_id": "published"}, {"size": "5"}),
    "workspace.blind_code": ("analyst", {"consultation_id": "published"}, _blind),
    "workspace.blind_discard": ("analyst", {"consultation_id": "published"}, {}),
}
FORGERIES = ("no token", "made-up token", "another session's token", "token in the query string", "GET")
# Known bugs, each a strict xfail below until fixed: (endpoint, forgery, reason).
KNOWN: list[tuple[str, str, str]] = []


def _session_owner(client: Any) -> str | None:
    """Who the client's session belongs to (a user id), or None."""
    with client.session_transaction() as session:
        return session.get("_user_id")


def probe_route(world: World, route: Route) -> tuple[bool, dict[str, str]]:
    """Send the working request and its forgeries; returns (the working one changed state, {forgery: problem})."""
    persona, labels, data = VALID[route.endpoint]
    combo = {name: next(o for o in world.objects[objects_key(route, name)] if o.label == label)
             for name, label in labels.items()}
    url = build_url(world.app, route, combo)

    def fresh() -> Any:
        """The form, made anew for each request (an uploaded file is read once)."""
        return data(world) if callable(data) else dict(data)

    form = fresh()
    other = "participant_b" if persona != "participant_b" else "participant_a"
    pristine = world.fingerprint()
    problems: dict[str, str] = {}

    def attempt(name: str, send: Callable[[Any], Any]) -> None:
        client = world.client(persona)
        before = _session_owner(client)
        response = send(client)
        changed = world.fingerprint() != pristine
        owner_changed = _session_owner(client) != before
        if changed or owner_changed or (name != "GET" and response.status_code < 400):
            problems[name] = (f"{response.status_code}, database {'changed' if changed else 'unchanged'}, "
                              f"session {'changed hands' if owner_changed else 'unchanged'}")
        if changed:
            world.restore()

    own = world.tokens_for_csrf.get(persona) or world.client(persona).csrf_token()
    attempt("no token", lambda c: c.post(url, data=fresh(), csrf=False))
    attempt("made-up token", lambda c: c.post(url, data=_plus(fresh(), csrf_token="IjEyMzQ1Ig.forged.token"),
                                              csrf=False))
    attempt("another session's token",
            lambda c: c.post(url, data=_plus(fresh(), csrf_token=world.tokens_for_csrf[other]), csrf=False))
    attempt("token in the query string",
            lambda c: c.post(url, query_string={"csrf_token": own}, data=fresh(), csrf=False))
    attempt("GET", lambda c: c.get(url, query_string={k: v for k, v in {**form, "csrf_token": own}.items()
                                                      if not isinstance(v, tuple)}))

    client = world.client(persona)
    before = _session_owner(client)
    response = client.post(url, data=fresh())
    worked = world.fingerprint() != pristine or _session_owner(client) != before
    assert response.status_code < 500
    world.restore()
    return worked, problems


def post_routes(world: World) -> list[Route]:
    """Every POST route of the URL map."""
    return [r for r in routes(world.app, methods=("POST",))]


@pytest.fixture(scope="module")
def results(world: World) -> tuple[list[Route], dict[str, dict[str, str]], list[str], list[str]]:
    """Every POST route probed once: (routes, problems by endpoint, routes without a working request, gaps)."""
    found = post_routes(world)
    gaps = [f"POST {r.rule} ({r.endpoint}): the CSRF probe needs the request that works; add it to VALID in "
            "tests/security/test_csrf_probe.py" for r in found if r.endpoint not in VALID]
    problems: dict[str, dict[str, str]] = {}
    inert: list[str] = []
    for route in found:
        if route.endpoint not in VALID:
            continue
        worked, found_problems = probe_route(world, route)
        if not worked:
            inert.append(f"POST {route.rule} ({route.endpoint}) with its token changed nothing: fix its entry in "
                         "VALID so the forgeries are tested against a request that works")
        if found_problems:
            problems[route.endpoint] = found_problems
    return found, problems, inert, gaps


def _known(endpoint: str, forgery: str) -> str | None:
    """The reason, if this forgery on this route is a known bug."""
    return next((reason for e, f, reason in KNOWN if e == endpoint and f in ("*", forgery)), None)


def test_csrf_no_forged_request_changes_anything(results, promise) -> None:
    found, problems, inert, gaps = results
    assert not gaps, "\n".join(gaps)
    accepted = [f"{endpoint} / {forgery}: {detail}" for endpoint, by in problems.items()
                for forgery, detail in by.items() if _known(endpoint, forgery) is None]
    known = sum(1 for endpoint, by in problems.items() for forgery in by if _known(endpoint, forgery))
    note = f" ({known} known, xfailed below)" if known else ""
    promise(f"csrf: {len(found)} routes x {len(FORGERIES)}, {len(accepted)} accepted{note}")
    assert not inert, "\n".join(inert)
    assert not accepted, "forgeries accepted:\n" + "\n".join(accepted)


if KNOWN:  # a parametrised test with no cases would only show as skipped
    @pytest.mark.parametrize("endpoint,forgery,reason", [
        pytest.param(*k, marks=pytest.mark.xfail(strict=True, reason=k[2]), id=f"{k[0]}-{k[1]}") for k in KNOWN
    ])
    def test_csrf_known_bug(results, endpoint: str, forgery: str, reason: str) -> None:
        _, problems, _, _ = results
        bad = {f: d for f, d in problems.get(endpoint, {}).items() if forgery in ("*", f)}
        assert not bad, f"{reason}: {bad}"
