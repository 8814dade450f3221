"""Webhook signing secrets: made, kept encrypted, and used to sign.

Secrets are encrypted (app.services.encryption) under a key derived from
RECTRACK_SECRET_KEY, so a database dump alone cannot sign a delivery. They cannot
be hashed like API keys: the worker needs them back to sign.
"""

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from app.services.encryption import WEBHOOK_SECRETS, cipher

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # within Standard Webhooks' 24-64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def encrypt(secret: str, *, secret_key: str) -> str:
    return cipher(secret_key, WEBHOOK_SECRETS).encrypt(secret.encode()).decode()


def decrypt(token: str, *, secret_key: str) -> str:
    return cipher(secret_key, WEBHOOK_SECRETS).decrypt(token.encode()).decode()


def signature_header(*, secrets_: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<sig>`` for each secret, space-separated (two during a rotation's overlap)."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_)
