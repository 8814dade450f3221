"""make bench: portfolios at scale, the real server under wrk, beside the framework's ceilings.

One module per concern:

- ``cli``: the command line (``python -m bench``, ``bench/run.py``, ``make bench``)
- ``cell``: one engine × scale: generate, start the API, preflight, every scenario, the ceilings
- ``scenarios``: what each scenario asks, its wrk plan and its unloaded probe
- ``preflight``: one request of each kind before the load
- ``api_server``: the real server, restarted when abandoned work would skew the next run
- ``processes``: start, wait for and stop servers (shared with the end-to-end tests)
- ``procfs``: CPU and memory of a process tree, from ``/proc``
- ``load``: wrk, its settings and its results
- ``databases``: SQLite files and PostgreSQL schemas, row counts, server state
- ``ceilings``: the bare FastAPI apps (read and write) measured by the same wrk
- ``targets``: the targets (data in ``targets.toml``) and their verdicts
- ``report``: the markdown report
"""

from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
