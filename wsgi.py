"""Entry point for gunicorn and the flask command: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from consult import create_app

app = create_app()
# Everything made while importing and building the app lives as long as the process. Moved out of the
# garbage collector's reach, a full collection no longer walks it: on the load benchmark's demo that was a
# ~0.2 s pause, every few thousand requests, for every thread of a worker. With --preload this runs once
# before gunicorn forks, so the workers also keep sharing those pages.
gc.freeze()
