"""Progress lines on stderr."""

import sys
from datetime import datetime


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
