"""The analysis engine: plain records in, plain JSON-serialisable results out.

Never imports Flask, SQLAlchemy or ``consult``, so it runs as a batch job on any machine:
``python -m analysis run INPUT --out DIR``. Modules:

- ``records``: the input records and the JSON-lines export format; ``polis``: Pol.is export folders.
- ``support``: time-adjusted support; ``simulate``: the simulation that validates it.
- ``text``, ``themes``, ``sentiment``: themes and question-aware sentiment; ``eval_text``: their quality.
- ``groups``: who says what, with disclosure control; ``opinion``: Pol.is-style opinion groups;
  ``saturation``: whether new themes stopped appearing.
- ``pipeline``: all of it in one run, ``run_analysis``; ``result_files``: its JSON and CSV files, ``write_results``;
  ``bench``: speed and memory.
"""
