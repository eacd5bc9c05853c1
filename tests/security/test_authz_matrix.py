"""Every route x every role x every object: the response matches what consult/authz.py says the role may see.

Routes come from the app's URL map, so a new route is probed as soon as it exists (or the test names what the
probe needs for it). For each route, method, persona and object, the expected outcome follows from the route's
declared audience (``authz.route_allowed``: a visitor outside it is sent to log in, anyone else gets 404), then
from the object: public pages follow the visibility rules (published consultation, phase past draft, published
contribution or your own), staff pages the persona's assignment to the object's consultation. POSTs send an
empty form with a valid token, so validation and error pages are probed too (an empty comment on a hidden idea
must be a 404, not a page that shows the idea). No response may carry the text of an object the persona may
not see, whatever its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from consult import authz
from tests.security.world import (
    CODEBOOK_ENDPOINTS,
    ENDPOINT_RULES,
    LINK_ENDPOINTS,
    OWN_DATA_ENDPOINTS,
    PERSONAS,
    PUBLIC_BLUEPRINTS,
    STAFF_BLUEPRINTS,
    Obj,
    Route,
    World,
    build_url,
    instances,
    objects_key,
    routes,
    unknown_parameters,
)

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.xdist_group("security-authz")]

# Known bugs, each a strict xfail below until fixed: (endpoint, persona or "*", object label or "*", reason).
KNOWN: list[tuple[str, str, str, str]] = []


@dataclass(frozen=True)
class Case:
    """One request of the matrix and how it went."""

    endpoint: str
    method: str
    url: str
    persona: str
    objects: str
    expected: str
    observed: str
    status: int
    leaked: tuple[str, ...]
    changed: bool = False  # a POST that stored something (so a redirect to log in was not a refusal)

    @property
    def mismatch(self) -> bool:
        """Whether the response differs from what the rules say, or shows something it must not."""
        if self.leaked or self.observed == "error":
            return True
        if self.expected == "ok" and self.method == "POST":
            # An empty form may name nothing (a 404 for a missing id is fine); refusals are what matter. A POST
            # that changed something and then sends you to log in (logging out everywhere, a new email address
            # confirmed by a visitor) did its job.
            return self.observed == "login" and not self.changed
        return self.expected != self.observed

    def __str__(self) -> str:
        leaked = f", shows {', '.join(self.leaked)}" if self.leaked else ""
        return (f"{self.method} {self.url} as {self.persona}: expected {self.expected}, got {self.observed} "
                f"({self.status}){leaked}")


class ProbeGap(Exception):
    """The probe does not know how to judge a route; the message says what to add."""


def expected_outcome(world: World, route: Route, persona: str, combo: dict[str, Obj]) -> str:
    """What the declared audience and the visibility rules say: "login", "hidden" (404) or "ok"."""
    with world.app.test_request_context():
        allowed = authz.route_allowed(route.audience, world.user(persona))
    if not allowed:
        return "login" if persona == "anonymous" else "hidden"
    for obj in combo.values():
        if obj.kind == "link" and LINK_ENDPOINTS.get(route.endpoint) != obj.label:
            return "hidden"  # a link for another purpose, or on a route that takes none
    if route.endpoint in ENDPOINT_RULES:
        rule = ENDPOINT_RULES[route.endpoint]
        mode, capability = (rule, None) if rule in ("viewer", "author") else ("staff", rule)
    elif route.blueprint in STAFF_BLUEPRINTS:
        mode, capability = "staff", STAFF_BLUEPRINTS[route.blueprint]
    elif route.blueprint in PUBLIC_BLUEPRINTS:
        mode, capability = PUBLIC_BLUEPRINTS[route.blueprint], None
    else:
        raise ProbeGap(f"{route.endpoint}: the authz probe does not know blueprint {route.blueprint!r}; add it to "
                       "STAFF_BLUEPRINTS (with the capability its routes need) or PUBLIC_BLUEPRINTS in "
                       "tests/security/world.py (or the endpoint to ENDPOINT_RULES)")
    if mode == "staff":
        if route.endpoint in CODEBOOK_ENDPOINTS and "consultation_id" in combo \
                and not world.has_codebook(combo["consultation_id"].row_id):
            return "hidden"
        for obj in combo.values():
            if obj.kind == "slug-missing":
                return "hidden"
            # A case's own kind decides: safeguarding cases need the safeguarding assignment.
            needed = "safeguard" if obj.kind == "case-restricted" else capability
            if needed is not None and obj.kind not in ("user", "kind", "link") \
                    and not world.staff_allowed(persona, needed, obj.consultation_id):
                return "hidden"
        return "ok"
    viewer = "anonymous" if mode == "visitor" else persona
    if route.endpoint == "heard.show" and not world.has_heard_page(combo["phase_id"].row_id):
        return "hidden"
    for obj in combo.values():
        if not world.visible(viewer, obj.kind, obj.row_id):
            return "hidden"
    if mode == "author":
        item = combo["item_id"]
        if world.author_of(item.kind, item.row_id) != world.users.get(persona):
            return "hidden"
    return "ok"


def observed_outcome(status: int, location: str | None) -> str:
    """How the response reads: "error" (5xx), "login" (sent to log in), "hidden" (404) or "ok"."""
    if status >= 500:
        return "error"
    if status in (301, 302, 303, 307, 308) and urlsplit(location or "").path == "/login":
        return "login"
    if status == 401:  # a form sent while logged out: the page asks to log in (and shows the typed text back)
        return "login"
    return "hidden" if status == 404 else "ok"


def run_matrix(world: World) -> tuple[list[Route], list[Case], list[str]]:
    """Send every request of the matrix; returns the routes, the cases and any gaps in the probe."""
    gaps = unknown_parameters(world.app, world.objects)
    pristine = world.fingerprint()
    all_routes = routes(world.app)
    cases: list[Case] = []
    for route in all_routes:
        if any(objects_key(route, name) not in world.objects for name in route.arguments):
            continue
        for label, combo in instances(route, world.objects):
            url = build_url(world.app, route, combo)
            for persona in PERSONAS:
                try:
                    expected = expected_outcome(world, route, persona, combo)
                except ProbeGap as gap:
                    gaps.append(str(gap))
                    break
                client = world.client(persona)
                response = client.open(url, method=route.method, data={} if route.method == "POST" else None)
                body = response.get_data(as_text=True)
                allowed = world.own_tokens(persona) if route.endpoint in OWN_DATA_ENDPOINTS else set()
                leaked = tuple(t for t in world.secret_tokens(persona) if t in body and t not in allowed)
                changed = route.method == "POST" and world.fingerprint() != pristine
                cases.append(Case(route.endpoint, route.method, url, persona, label, expected,
                                  observed_outcome(response.status_code, response.headers.get("Location")),
                                  response.status_code, leaked, changed))
                if changed:
                    world.restore()
    return all_routes, cases, sorted(set(gaps))


@pytest.fixture(scope="module")
def matrix(world: World) -> tuple[list[Route], list[Case], list[str]]:
    """The matrix, run once for the module's tests."""
    return run_matrix(world)


def known_reason(case: Case) -> str | None:
    """The known bug this mismatch is, if it is one."""
    for endpoint, persona, objects, reason in KNOWN:
        if case.endpoint == endpoint and persona in ("*", case.persona) and objects in ("*", case.objects):
            return reason
    return None


def test_authz_every_route_role_and_object_gets_what_the_rules_say(matrix, promise) -> None:
    all_routes, cases, gaps = matrix
    assert not gaps, "the authz probe cannot cover every route yet:\n" + "\n".join(gaps)
    objects = len({(c.endpoint, c.method, c.objects) for c in cases})
    mismatches = [c for c in cases if c.mismatch and known_reason(c) is None]
    known = [c for c in cases if c.mismatch and known_reason(c) is not None]
    note = f" ({len(known)} known, xfailed below)" if known else ""
    promise(f"authz: {len(all_routes)} routes x {len(PERSONAS) - 1} roles x objects ({objects} route-object pairs, "
            f"{len(cases)} requests), {len(mismatches)} mismatches{note}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(str(c) for c in mismatches[:40])


if KNOWN:  # a parametrised test with no cases would only show as skipped
    @pytest.mark.parametrize("endpoint,persona,objects,reason", [
        pytest.param(*k, marks=pytest.mark.xfail(strict=True, reason=k[3]), id=f"{k[0]}-{k[1]}-{k[2]}")
        for k in KNOWN
    ])
    def test_authz_known_bug(matrix, endpoint: str, persona: str, objects: str, reason: str) -> None:
        _, cases, _ = matrix
        bad = [c for c in cases if c.mismatch and c.endpoint == endpoint and persona in ("*", c.persona)
               and objects in ("*", c.objects)]
        assert not bad, f"{reason}:\n" + "\n".join(str(c) for c in bad[:20])


def test_authz_matrix_covers_every_persona_on_every_route(matrix) -> None:
    all_routes, cases, _ = matrix
    covered = {(c.endpoint, c.method) for c in cases}
    missing = [f"{r.method} {r.rule}" for r in all_routes if (r.endpoint, r.method) not in covered]
    assert not missing, f"routes the matrix never requested: {missing}"
