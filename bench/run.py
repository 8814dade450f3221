"""The same as ``python -m bench``; kept for the commands written in docs/benchmarks.md."""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not bench/: modules by package

from bench.cli import run  # noqa: E402

if __name__ == "__main__":
    run()
