"""The development server's secret when none is set: generated once, kept beside the SQLite file.

API keys are hashed with the server secret. In development without
RECTRACK_SECRET_KEY, a secret is generated and kept in "<database>.secret"
(readable by its owner only), so the server and the ``rectrack`` command hash
alike and keys survive restarts. Without a file to keep it beside (PostgreSQL),
the empty secret is used and a warning says so at every start.
"""

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("rectrack.config")


def secret_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}.secret")


@lru_cache
def development_secret(database_url: str) -> str:
    path = secret_file(database_url)
    if path is None:
        log.warning(
            "RECTRACK_SECRET_KEY is not set: API keys are hashed with an empty secret. "
            "Set it (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
        return ""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    log.warning("RECTRACK_SECRET_KEY is not set: generated one and kept it in %s", path)
    return path.read_text(encoding="ascii").strip()
