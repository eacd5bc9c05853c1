"""Operator commands: flask --app wsgi init-db | seed-demo | create-user | tick | recount."""

from __future__ import annotations

import getpass
import sys

import click
from flask import Flask
from sqlalchemy import func, select

from . import migrate
from .extensions import db, write_intent
from .models import STAFF_ROLES, Consultation
from .services import accounts, contributions, phases
from .services.errors import Invalid


def init_app(app: Flask) -> None:
    """Register the commands on the app."""

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database schema to the newest migration."""
        assert db.engine is not None
        before = migrate.current_revision(db.engine)
        migrate.upgrade(db.engine)
        after = migrate.current_revision(db.engine)
        click.echo(f"Database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has data.")
    @click.option("--scale", default=1.0, show_default=True, help="Multiply the demo's size.")
    def seed_demo(if_empty: bool, scale: float) -> None:
        """Load the demo consultation, registrants, ideas, comments and votes."""
        from .demo import DEMO_LOGINS, DEMO_PASSWORD
        from .demo import seed_demo as seed

        with write_intent(), db.new_session() as session:
            if session.scalar(select(func.count()).select_from(Consultation)):
                if if_empty:
                    click.echo("The database already has data; demo not loaded.")
                    _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
                    return
                raise click.ClickException("The database already has consultations; use an empty database.")
            counts = seed(session, scale=scale)
            contributions.recount(session)
            session.commit()
        click.echo("Demo loaded: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        _print_logins(DEMO_LOGINS, DEMO_PASSWORD)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice(STAFF_ROLES), default="participant", show_default=True)
    @click.option("--password", envvar="CONSULT_NEW_PASSWORD", help="Read from a prompt when not given.")
    def create_user(email: str, role: str, password: str | None) -> None:
        """Create an account, for example a facilitator, analyst or admin."""
        if not password:
            password = getpass.getpass("Password (10 characters or more): ")
        with write_intent(), db.new_session() as session:
            try:
                user = accounts.create_user(session, email, password, role)
            except Invalid as exc:
                messages = "; ".join(exc.field_errors.values()) or exc.message
                click.echo(f"Error: {messages}", err=True)
                sys.exit(1)
            session.commit()
            click.echo(f"Created {user.email} with role {role}")

    @app.cli.command("tick")
    def tick() -> None:
        """Apply scheduled phase openings and closings that are due."""
        with write_intent(), db.new_session() as session:
            made = phases.tick(session)
            session.commit()
        for t in made:
            click.echo(f"Phase {t.phase_id}: {t.from_state} -> {t.to_state}")
        click.echo(f"{len(made)} scheduled change(s) applied")

    @app.cli.command("recount")
    def recount() -> None:
        """Rebuild vote, comment and impression counts from the rows."""
        with write_intent(), db.new_session() as session:
            contributions.recount(session)
            session.commit()
        click.echo("Counts rebuilt")


def _print_logins(logins: list[tuple[str, str, str]], password: str) -> None:
    """Print the demo accounts for the person who ran make run."""
    click.echo("\nDemo logins (password for all: %s)" % password)
    for email, role, what in logins:
        click.echo(f"  {email:<40} {role:<12} {what}")
