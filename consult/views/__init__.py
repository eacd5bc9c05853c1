"""Blueprints: thin views that parse the request, call a service and render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app."""
    from . import account, admin, analysis, api, auth, facilitate, moderation, participate, public

    for module in (public, participate, auth, account, facilitate, admin, api, analysis, moderation):
        app.register_blueprint(module.bp)
