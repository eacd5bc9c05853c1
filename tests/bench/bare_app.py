"""A bare Flask app with one JSON endpoint: the ceiling that the vote benchmark is compared with."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/vote")
def vote() -> object:
    """Echo a vote without touching a database."""
    return jsonify(value=int(request.form.get("value", "0")), up=0, down=0, changed=True)


@app.get("/about")
def about() -> str:
    """Readiness probe for the live-server harness."""
    return "ok"
