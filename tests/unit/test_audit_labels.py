"""Every action the code records in the audit log has a label in words on the audit page."""

from __future__ import annotations

import ast
from pathlib import Path

from consult.services import codebook, moderation
from consult.views.admin import ACTION_LABELS

ROOT = Path(__file__).resolve().parents[2] / "consult"
# Action names built from a variable: the prefix and the values the service accepts.
DYNAMIC = {"moderation.": moderation.ACTIONS, "anomaly.": ("exclude", "dismiss"), "codebook.": codebook.CHANGES}


def recorded_actions() -> set[str]:
    """Every action name passed to audit.record(...), or written as an audit row, anywhere in the app."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            # Bulk loads (the demo) write audit rows as dicts with an "action" key.
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (isinstance(key, ast.Constant) and key.value == "action" and isinstance(value, ast.Constant)
                            and isinstance(value.value, str) and "." in value.value):
                        found.add(value.value)
                continue
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit" and len(node.args) >= 3):
                continue
            action = node.args[2]
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                found.add(action.value)
            elif isinstance(action, ast.JoinedStr) and isinstance(action.values[0], ast.Constant):
                prefix = action.values[0].value
                assert prefix in DYNAMIC, f"{path}: audit action built from a variable after {prefix!r}"
                found.update(prefix + value for value in DYNAMIC[prefix])
            else:
                raise AssertionError(f"{path}:{node.lineno}: audit action is not a plain string")
    return found


def test_every_recorded_action_has_a_label() -> None:
    actions = recorded_actions()
    assert len(actions) > 20  # the scan really found the calls
    assert sorted(actions - ACTION_LABELS.keys()) == []


def test_audit_details_read_as_words_with_uk_times() -> None:
    from consult.audit_words import key_words, value_words

    # Found by a facilitator: "case id: 8", "from status: open", "reasons: email, phone, named_person", ISO UTC
    # times under a "UK time" heading.
    assert (key_words("case_id"), value_words("case_id", 8)) == ("Moderation case", "8")
    assert value_words("reasons", ["email", "phone", "named_person"]) == "Email address, Phone number, Names a person"
    assert value_words("opens_at", {"from": None, "to": "2026-06-07T12:25:00"}) == "not set → 7 June 2026, 1:25pm"
    assert value_words("restricted", False) == "no" and value_words("changed", ["closes_at"]) == "closing time"
    # Unusual-activity decisions: "Kind: near-identical texts", "Was: votes left out", not the stored codes.
    assert value_words("kind", "duplicate_text") == "near-identical texts"
    assert value_words("from_status", "excluded") == "votes left out"
