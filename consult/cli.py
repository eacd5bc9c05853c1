"""Operator commands: flask --app wsgi init-db | serve | seed-demo | create-user | tick | recount | analyse | worker |
backup | restore."""

from __future__ import annotations

import getpass
import signal
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import func, select

from .extensions import db, write_intent
from .models import STAFF_ROLES, Consultation, utcnow
from .services import accounts, contributions, phases
from .services.errors import Invalid


def init_app(app: Flask) -> None:
    """Register the commands on the app."""

    @app.cli.command("init-db")
    @click.option("--demo-if-empty", is_flag=True,
                  help="Then load the demo when the database is empty (make run: one start-up instead of two).")
    @click.pass_context
    def init_db(ctx: click.Context, demo_if_empty: bool) -> None:
        """Create or upgrade the database schema to the newest migration."""
        from . import migrate  # alembic is slow to import; only this command needs it

        assert db.engine is not None
        before = migrate.current_revision(db.engine)
        migrate.upgrade(db.engine)
        after = migrate.current_revision(db.engine)
        click.echo(f"Database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
        if demo_if_empty:
            ctx.invoke(seed_demo, if_empty=True, scale=1.0)

    @app.cli.command("serve")
    @click.option("--bind", default="127.0.0.1:5000", show_default=True, help="Address and port to listen on.")
    @click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
    @click.option("--threads", default=4, show_default=True, help="Threads per worker.")
    @click.option("--demo-if-empty", is_flag=True, help="Load the demo first when the database is empty.")
    @click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log each request.")
    @click.pass_context
    def serve(ctx: click.Context, bind: str, workers: int, threads: int, demo_if_empty: bool,
              access_log: bool) -> None:
        """Upgrade the database, then serve with gunicorn from this process (make run: one app import)."""
        from .serve import serve as run_server

        ctx.invoke(init_db, demo_if_empty=demo_if_empty)
        click.echo(f"\nServing consult on http://{bind}  (Ctrl+C to stop)")
        run_server(app, bind=bind, workers=workers, threads=threads, access_log=access_log)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has data.")
    @click.option("--scale", default=1.0, show_default=True, help="Multiply the demo's size.")
    @click.option("--feedback/--no-feedback", default=True, show_default=True,
                  help="Also analyse phase 1 and publish its themes to check in phase 3, and What we heard.")
    def seed_demo(if_empty: bool, scale: float, feedback: bool) -> None:
        """Load the demo consultation, registrants, ideas, comments and votes, and the themes sent back to check."""
        from .demo import DEMO_LOGINS, DEMO_PASSWORD, DemoDataError
        from .demo import seed_demo as seed

        with write_intent(), db.new_session() as session:
            if session.scalar(select(func.count()).select_from(Consultation)):
                if if_empty:
                    click.echo("The database already has data; demo not loaded.")
                    _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
                    return
                raise click.ClickException("The database already has consultations; use an empty database.")
            try:
                counts = seed(session, scale=scale, progress=lambda line: click.echo(f"  {line}"), feedback=feedback)
            except DemoDataError as exc:
                raise click.ClickException(str(exc)) from exc
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


    @app.cli.command("analyse")
    @click.argument("consultation")
    @click.option("--phase", "phase_position", type=int, help="Analyse only this phase (1, 2, ...).")
    @click.option("--k", type=int, help="Number of themes (default: chosen automatically).")
    def analyse(consultation: str, phase_position: int | None, k: int | None) -> None:
        """Analyse a consultation (by slug) now, with a progress bar, and store the result for the site."""
        from . import analysis_job
        from .models import AnalysisRun
        from .services import audit

        with write_intent(), db.new_session() as session:
            item = session.scalar(select(Consultation).where(Consultation.slug == consultation))
            if item is None:
                raise click.ClickException(f"No consultation with the slug {consultation!r}")
            phase = None
            if phase_position is not None:
                phase = next((p for p in item.phases if p.position == phase_position), None)
                if phase is None:
                    raise click.ClickException(f"{item.title} has no phase {phase_position}")
            # Leased to this command for a long time, so no worker takes it over while it computes.
            run = AnalysisRun(consultation_id=item.id, phase_id=phase.id if phase else None, params={"k": k},
                              state="running", started_at=utcnow(), heartbeat_at=utcnow(), message="Starting",
                              worker="command line", attempts=1, lease_expires_at=utcnow() + timedelta(hours=12))
            session.add(run)
            session.flush()
            audit.record(session, None, "analysis.request", "analysis_run", run.id, via="command line", k=k)
            session.commit()
            run_id = run.id
        with click.progressbar(length=100, label="Analysing", show_percent=True) as bar:
            done = {"n": 0}

            def show(fraction: float, _message: str) -> None:
                target = int(fraction * 100)
                if target > done["n"]:
                    bar.update(target - done["n"])
                    done["n"] = target

            ok = analysis_job.run(run_id, on_progress=show)
        with db.new_session() as session:
            stored = session.get(AnalysisRun, run_id)
            assert stored is not None
            if not ok:
                raise click.ClickException(f"Analysis failed: {stored.error}")
            themes = (stored.result or {}).get("themes", {})
            click.echo(f"Analysis {run_id} finished: {len(themes.get('themes', []))} themes. "
                       f"See it at /analyse/runs/{run_id}")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True,
                  help="Run the analyses waiting now and look for unusual activity once, then exit.")
    def worker_command(once: bool) -> None:
        """Run queued analyses and look for unusual activity (beside web servers with CONSULT_ANALYSIS_WORKER=false)."""
        from .worker import Worker

        worker = Worker(app)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.terminate())
        click.echo(f"Analysis worker {worker.owner} started")
        if once:
            while not worker.stop.is_set() and worker.poll_once() is not None:
                pass
            worker.anomaly_tick()
        else:
            worker.loop()
        click.echo("Analysis worker stopped")

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Back up the database to a new file while the site keeps running."""
        from .backup import BackupError, backup

        try:
            click.echo(backup(app.config["DATABASE_URL"], target))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def restore_command(source: Path, yes: bool) -> None:
        """Replace everything in the database with a backup made by `backup`."""
        from .backup import BackupError, restore

        if not yes:
            click.confirm(f"Replace everything in the database with {source}?", abort=True)
        db.dispose()  # no pooled connection of ours holds a lock during the restore
        try:
            click.echo(restore(app.config["DATABASE_URL"], source))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    _register_export(app)


def _register_export(app: Flask) -> None:
    """The export command (the strategy team's exports, from the command line)."""
    from pathlib import Path

    from .services import exports

    @app.cli.command("export")
    @click.argument("consultation")
    @click.option("--format", "fmt", type=click.Choice(list(exports.FORMATS)), required=True)
    @click.option("--out", "out", type=click.Path(dir_okay=True, path_type=Path), required=True,
                  help="The file to write (for polis: a folder, or a file ending .zip).")
    def export(consultation: str, fmt: str, out: Path) -> None:
        """Export a consultation (by slug) as xlsx, docx, csv, json or Pol.is open data, with a progress bar."""
        with db.new_session() as session:
            item = session.scalar(select(Consultation).where(Consultation.slug == consultation))
            if item is None:
                raise click.ClickException(f"No consultation with the slug {consultation!r}")
            slug, title = item.slug, item.title
        with write_intent(), db.new_session() as session:
            item = session.scalar(select(Consultation).where(Consultation.slug == slug))
            exports.record(session, actor=None, consultation=item, fmt=fmt, via="command line")
            session.commit()
        with db.new_session() as session:
            item = session.scalar(select(Consultation).where(Consultation.slug == slug))
            ctx = exports.build_context(session, item, app.config["PSEUDONYM_KEY"])
            with click.progressbar(length=max(ctx.total, 1), label=f"Exporting {title}", show_pos=True) as bar:
                exports.write(session, consultation=item, fmt=fmt, key=app.config["PSEUDONYM_KEY"], out=out,
                              progress=bar.update, ctx=ctx)
        click.echo(f"Wrote {ctx.total:,} contributions to {out}")


def _print_logins(logins: list[tuple[str, str, str]], password: str) -> None:
    """Print the demo accounts for the person who ran make run."""
    click.echo(f"\nDemo logins (password for all: {password})")
    for email, role, what in logins:
        click.echo(f"  {email:<40} {role:<12} {what}")
