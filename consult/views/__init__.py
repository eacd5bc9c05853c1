"""Blueprints: thin views that parse the request, call a service and render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to the app."""
    from . import (
        account,
        admin,
        analysis,
        api,
        auth,
        equality,
        facilitate,
        heard,
        inclusion,
        moderation,
        participate,
        public,
        rights,
        workspace,
    )

    for module in (public, participate, auth, account, facilitate, admin, api, analysis, moderation, equality,
                   rights, inclusion, workspace, heard):
        app.register_blueprint(module.bp)
