"""Blueprints: thin views that parse the request, call a service and render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app."""
    from . import admin, analysis, api, auth, facilitate, heard, participate, public, workspace

    for module in (public, participate, auth, facilitate, admin, api, analysis, workspace, heard):
        app.register_blueprint(module.bp)
