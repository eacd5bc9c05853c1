"""Blueprints: thin views that parse the request, call a service and render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app."""
    from . import (account, admin, analysis, api, auth, equality, facilitate, inclusion, moderation, participate,
                   public, rights)

    for module in (public, participate, auth, account, facilitate, admin, api, analysis, moderation, equality,
                   rights, inclusion):
        app.register_blueprint(module.bp)
