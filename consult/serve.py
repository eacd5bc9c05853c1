"""`flask --app wsgi serve`: migrate, load the demo when asked, then serve this same app with gunicorn.

One process imports the app once: gunicorn's workers are forked from it (as with --preload), so `make run`
pays for one app import instead of two (a `flask init-db` process, then gunicorn's own).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn serving an app already built in this process."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Take the options given, as gunicorn's command line would."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The app, already imported and configured."""
        return self.application


def serve(app: Flask, *, bind: str, workers: int, threads: int, access_log: bool) -> None:
    """Serve the app until stopped (Ctrl+C), with the database connections of this process closed first."""
    from .extensions import db

    # Connections opened while migrating must not be shared by the forked workers.
    if db.engine is not None:
        db.engine.dispose()
    options: dict[str, Any] = {"bind": bind, "workers": workers, "threads": threads, "preload_app": True}
    if access_log:
        options["accesslog"] = "-"
    Server(app, options).run()
