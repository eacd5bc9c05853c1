"""Run one queued analysis in its own process: `python -m consult.analysis_job RUN_ID`."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from .extensions import db, write_intent
from .models import AnalysisRun, Consultation, Phase
from .services import analysis_runs

log = logging.getLogger(__name__)


def run(run_id: int, on_progress: Callable[[float, str], None] | None = None, owner: str | None = None) -> bool:
    """Build the dataset, run the pipeline with progress, store the result; True when it succeeded."""
    from flask import current_app

    from analysis.pipeline import run_analysis

    key = current_app.config["PSEUDONYM_KEY"]
    with db.new_session() as session:
        job = session.get(AnalysisRun, run_id)
        if job is None:
            return False
        consultation = session.get(Consultation, job.consultation_id)
        phase = session.get(Phase, job.phase_id) if job.phase_id else None
        assert consultation is not None
        k = (job.params or {}).get("k")

        stored = analysis_runs.progress_reporter(_writer_session, run_id)

        def report(fraction: float, message: str) -> None:
            stored(fraction, message)
            if on_progress is not None:
                on_progress(fraction, message)
        try:
            report(0.01, "Reading contributions, votes and impressions")
            dataset = analysis_runs.build_dataset(session, consultation, phase, key)
            session.rollback()  # end the long read before the long computation
            if not dataset.contributions:
                raise ValueError("There are no published contributions to analyse yet.")
            result = run_analysis(dataset, k=k, progress=lambda f, m: report(0.05 + 0.93 * f, m))
        except MemoryError:
            dataset = result = None  # let go of what we can before writing the reason
            log.error("Analysis %s ran out of memory", run_id)
            with _writer_session() as writer:
                analysis_runs.finish(writer, run_id, None, owner=owner, error=(
                    "The analysis needed more memory than the worker allows. Analyse one phase at a time, "
                    "or ask an administrator to raise CONSULT_WORKER_MEMORY_MB."))
            return False
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run for the analyst
            log.error("Analysis %s failed: %s", run_id, traceback.format_exc())
            with _writer_session() as writer:
                analysis_runs.finish(writer, run_id, None, error=str(exc) or exc.__class__.__name__, owner=owner)
            return False
    with _writer_session() as writer:
        analysis_runs.finish(writer, run_id, result, owner=owner)
    return True


@contextmanager
def _writer_session() -> Iterator[Session]:
    """A short write session (BEGIN IMMEDIATE on SQLite)."""
    with write_intent(), db.new_session() as session:
        yield session


def main(argv: list[str]) -> int:
    """Entry point for the worker subprocess."""
    from . import create_app

    app = create_app({"ANALYSIS_WORKER": False})
    with app.app_context():
        # A failure is recorded on the run itself, so the worker treats any exit code 0 or 1 as recorded.
        return 0 if run(int(argv[1]), owner=argv[2] if len(argv) > 2 else None) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
