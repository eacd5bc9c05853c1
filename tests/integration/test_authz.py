"""The one authorisation point: every route declares who it is for, and ids in URLs are parsed safely."""

from __future__ import annotations

from consult import authz


def test_every_route_declares_its_audience(app) -> None:
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint != "static" and authz.audience_of(app, rule.endpoint) is None]
    assert missing == [], f"routes with no @allow(...) are refused to everyone: {missing}"


def test_a_route_without_a_declared_audience_is_refused(app, client) -> None:
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    assert client.get("/undeclared").status_code == 404


def test_ids_that_cannot_be_stored_are_not_found_rather_than_errors(client) -> None:
    for path in ("/ideas/99999999999999999999999", "/ideas/9223372036854775808", "/topics/%C2%B2",
                 "/phases/%D9%A3", "/ideas/-1", "/?page=%C2%B2", "/?page=99999999999999999999"):
        assert client.get(path).status_code in (200, 404), path


def test_parse_id_accepts_only_ascii_digits_within_a_stored_id() -> None:
    assert authz.parse_id("42") == 42
    for bad in ("", None, "0", "-3", "²", "٣", "1e3", " 7x", str(2**63), str(2**31)):
        assert authz.parse_id(bad) is None, bad
