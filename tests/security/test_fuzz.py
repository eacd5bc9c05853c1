"""Malformed requests generated from the URL map: none of them is answered with a server error.

Three families, each built from every route the app has: bad values in each URL parameter (ids past 64 bits,
Unicode digits, negatives, floats, long strings, NUL), bad query parameters on every page (?page=², ?order=...,
duplicates), and for every POST route its working form with one field broken at a time (25-digit numbers,
Unicode digits, NUL, 100,000 characters, the field sent twice or left out), plus wrong content types, an
oversized body and the phase form's date boxes. Each request is sent as a person the route is for, so it reaches
the view rather than stopping at the login check.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.datastructures import MultiDict

from consult import publicids
from consult.authz import PublicIdConverter
from tests.security.test_csrf_probe import VALID
from tests.security.world import Route, World, build_url, instances, public_id, routes

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.xdist_group("security-fuzz")]

BAD_PATH = ["9223372036854775808", "99999999999999999999999", "-1", "1.5", "\u00b2", "\u0663", "%00", "a" * 300,
            "%ED%A0%80"]
# Sent together: request i carries the i-th bad value of every parameter (the shorter lists wrap round).
BAD_QUERY = {
    "page": ["\u00b2", "-1", "99999999999999999999999", "1.5", "\u0663", "0"],
    "per_page": ["\u00b2", "0", "99999999999999999999999"],
    "order": ["x", "a" * 500],
    "kind": ["\u00b2", "x" * 300],
    "q": ["%", "\x00", "a" * 1000],
    "phase": ["\u00b2", "999999999999999999999"],
    "role": ["root"],
    "action": ["\x00"],
    "next": ["//evil.example", "javascript:alert(1)", "\\\\evil.example"],
    "scope": ["\u00b2"],
    "channel": ["\u00b2"],
    "category": ["\u00b2"],
    "profession": ["\u00b2"],
}
BAD_FIELD = ["", "9" * 25, "\u00b2", "\u0663\u0663", "\x00", "a" * 100_000]
DATE_FIELDS = ["opens_at_day", "opens_at_month", "opens_at_year", "opens_at_time", "closes_at_month"]
# Known bugs, each a strict xfail below until fixed: (endpoint, what the request was, reason).
KNOWN: list[tuple[str, str, str]] = [
]


def _converter(world: World, route: Route, name: str) -> Any:
    """The URL converter of one parameter of the route's rule (None when the rule fixes the value itself)."""
    rule = next(r for r in world.app.url_map._rules_by_endpoint[route.endpoint] if r.rule == route.rule)
    return rule._converters.get(name)


def _bad_public_ids(world: World, kind: str, row_id: int) -> list[str]:
    """Public ids that name nothing: tampered, cut, lengthened, upper case, the other kind's, another key's,
    beyond 64 bits, and the old integer address."""
    real = public_id(world.app, kind, row_id)
    other = "comment" if kind == "idea" else "idea"
    return [real[:-1] + ("b" if real[-1] == "a" else "a"), "b" + real[1:] if real[0] != "b" else "c" + real[1:],
            real.upper(), real[:-1], real + "a", "zzzzzzzzzzzzz", "paaaaaaaaaaa7", "aaaaaaaaaaaaa",
            public_id(world.app, other, row_id), publicids.encode(kind, row_id, key="another key entirely"),
            str(row_id), real[:6] + "=" * 7]


def _persona_for(route: Route) -> str:
    """A persona the route is for (so the request reaches the view): its working persona, else the admin."""
    if route.endpoint in VALID:
        return VALID[route.endpoint][0]
    if "anyone" in route.audience:
        return "anonymous"
    return "admin"


def _form(world: World, route: Route) -> dict[str, Any]:
    """The route's working form (empty when the probes have none)."""
    if route.endpoint not in VALID:
        return {}
    data = VALID[route.endpoint][2]
    form = dict(data(world) if callable(data) else data)
    # An upload is kept as its bytes and made a fresh stream for each request (a sent stream is closed).
    return {k: (v[0].getvalue(), v[1]) if isinstance(v, tuple) else v for k, v in form.items()}


def generate(world: World) -> list[tuple[Route, str, str, dict[str, Any]]]:
    """Every malformed request: (route, description, url, keyword arguments for client.open)."""
    requests: list[tuple[Route, str, str, dict[str, Any]]] = []
    for route in routes(world.app):
        combos = list(instances(route, world.objects))
        if not combos:
            continue
        _, combo = combos[0]
        base = build_url(world.app, route, combo)
        form = _form(world, route)
        # 1. Each URL parameter replaced by bad values, once per rule (built by hand: url_for refuses them).
        first_method = route.method == "GET" or "GET" not in (world.app.url_map._rules_by_endpoint[
            route.endpoint][0].methods or ())
        for name in route.arguments if first_method else ():
            if name in dict(route.defaults):
                continue  # fixed by the rule itself (another value is another rule, or none: a plain 404)
            marker = 987654321987 if isinstance(combo[name].value, int) else "fuzz-marker"
            marked = build_url(world.app, route, {**combo, name: replace(combo[name], value=marker)})
            converter = _converter(world, route, name)
            shown = converter.to_url(marker) if converter is not None else str(marker)
            bads = BAD_PATH
            if isinstance(converter, PublicIdConverter):
                bads = BAD_PATH + _bad_public_ids(world, converter.kind, combo[name].row_id)
            for bad in bads:
                url = marked.replace(shown, quote(bad, safe="%"), 1)
                requests.append((route, f"{name}={bad[:20]!r}", url, {"data": form} if route.method == "POST" else {}))
        if route.method == "GET":
            # 2. Bad query parameters, all at once in rotation, duplicated, and not valid UTF-8.
            for i in range(max(len(v) for v in BAD_QUERY.values())):
                query = {name: values[i % len(values)] for name, values in BAD_QUERY.items()}
                requests.append((route, f"query set {i}", base, {"query_string": query}))
            requests.append((route, "?page=\u00b2", base, {"query_string": {"page": "\u00b2"}}))
            requests.append((route, "?per_page=\u00b2", base, {"query_string": {"per_page": "\u00b2"}}))
            requests.append((route, "?page twice", base + "?page=1&page=%C2%B2", {}))
            requests.append((route, "query not UTF-8", base + "?q=%ED%A0%80&page=%FF%FE&order=%C0", {}))
            continue
        # 3. The working form with one field broken at a time, sent twice, or left out.
        fields = list(form) + (DATE_FIELDS if route.endpoint.endswith("_phase") and "new" in route.endpoint
                               or route.endpoint == "facilitate.edit_phase" else [])
        for name in fields:
            for bad in BAD_FIELD:
                requests.append((route, f"{name}={bad[:20]!r}", base, {"data": {**form, name: bad}}))
            twice = MultiDict(list(form.items()) + [(name, "1"), (name, "\u00b2")])
            requests.append((route, f"{name} twice", base, {"data": twice}))
            requests.append((route, f"{name} missing", base, {"data": {k: v for k, v in form.items() if k != name}}))
        # Wrong content types and an oversized body (the token travels in the header so the view is reached).
        plain = {k: v for k, v in form.items() if not isinstance(v, tuple)}  # an upload has no JSON form
        requests.append((route, "JSON body", base, {"data": json.dumps(plain), "content_type": "application/json",
                                                    "csrf_header": True}))
        requests.append((route, "text/plain body", base, {"data": "a=b&&&=%%%", "content_type": "text/plain",
                                                          "csrf_header": True}))
        requests.append((route, "multipart with a file", base,
                         {"data": {**form, "file": (b"x" * 1000, "x.txt")},
                          "content_type": "multipart/form-data"}))
        requests.append((route, "300 KB body", base, {"data": {**form, "padding": "x" * 300_000}}))
        requests.append((route, "bad percent-encoding", base, {"data": "title=%E0%A4%A&body=%ZZ",
                                                               "content_type": "application/x-www-form-urlencoded",
                                                               "csrf_header": True}))
    return requests


def send(world: World, route: Route, url: str, kwargs: dict[str, Any]) -> int:
    """Send one request as a persona the route is for; a raised exception counts as a 500."""
    persona = _persona_for(route)
    client = world.client(persona)
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("data"), dict):
        kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) and isinstance(v[0], bytes) else v
                          for k, v in kwargs["data"].items()}
    if kwargs.pop("csrf_header", False):
        kwargs["headers"] = {"X-CSRFToken": world.tokens_for_csrf.get(persona) or client.csrf_token()}
        kwargs["csrf"] = False
    try:
        return client.open(url, method=route.method, **kwargs).status_code
    except Exception:  # noqa: BLE001 - an exception escaping the app is exactly what the probe looks for
        return 599


@pytest.fixture(scope="module")
def outcomes(world: World) -> list[tuple[str, str, str, int]]:
    """Every generated request and its status: (endpoint, description, method and url, status)."""
    pristine = world.fingerprint()
    found = []
    for route, description, url, kwargs in generate(world):
        status = send(world, route, url, kwargs)
        found.append((route.endpoint, description, f"{route.method} {url[:120]}", status))
        if route.method == "POST" and world.fingerprint() != pristine:
            world.restore()
    return found


def _known(endpoint: str, description: str) -> str | None:
    """The reason, if this request is a known bug."""
    return next((reason for e, d, reason in KNOWN if e == endpoint and d in ("*", description)), None)


def test_fuzz_no_malformed_request_is_a_server_error(outcomes, promise) -> None:
    errors = [o for o in outcomes if o[3] >= 500 and _known(o[0], o[1]) is None]
    known = [o for o in outcomes if o[3] >= 500 and _known(o[0], o[1]) is not None]
    note = f" ({len(known)} known, xfailed below)" if known else ""
    promise(f"fuzz: {len(outcomes)} malformed requests, {len(errors)} server errors{note}")
    statuses = Counter(o[3] for o in outcomes)
    assert not errors, f"server errors (statuses seen: {dict(statuses)}):\n" + "\n".join(
        f"{o[2]} [{o[1]}] -> {o[3]}" for o in errors[:40])


def test_fuzz_reaches_every_route(world: World, outcomes) -> None:
    probed = {o[0] for o in outcomes}
    missing = sorted({r.endpoint for r in routes(world.app)} - probed)
    assert len(outcomes) >= 500
    assert not missing, f"routes no malformed request reached: {missing}"


if KNOWN:  # a parametrised test with no cases would only show as skipped
    @pytest.mark.parametrize("endpoint,description,reason", [
        pytest.param(*k, marks=pytest.mark.xfail(strict=True, reason=k[2]), id=f"{k[0]}-{k[1]}") for k in KNOWN
    ])
    def test_fuzz_known_bug(outcomes, endpoint: str, description: str, reason: str) -> None:
        bad = [o for o in outcomes if o[0] == endpoint and description in ("*", o[1]) and o[3] >= 500]
        assert not bad, f"{reason}: " + "; ".join(f"{o[2]} [{o[1]}]" for o in bad[:10])
