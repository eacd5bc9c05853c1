"""Entry point for gunicorn and the flask command: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from consult import create_app

app = create_app()
# Everything made while importing and building the app lives as long as the process. Moved out of the
# garbage collector's reach, a full collection no longer walks it: on the load benchmark's demo that was a
# ~0.2 s pause, every few thousand requests, for every thread of a worker. With --preload this runs once
# before gunicorn forks, so the workers also keep sharing those pages.
gc.freeze()
# A page builds and drops thousands of objects (rows, template output); at Python's default of 700, eight
# requests in flight per worker set off a young collection every few requests, each walking all eight
# requests' live objects. At 200 simulated people on PostgreSQL the collector took 2-3% of the workers' CPU;
# at 20,000 it took a tenth of that (what can wait for a collection is at most that many objects).
gc.set_threshold(20_000, 20, 20)
