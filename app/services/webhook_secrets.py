"""Webhook signing secrets: made, kept encrypted, and used to sign.

Secrets are encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from
``cryptography``) under a key derived by HKDF from RECTRACK_SECRET_KEY, so a
database dump alone cannot sign a delivery. They cannot be hashed like API
keys: the worker needs them back to sign.
"""

import base64
import secrets
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # within Standard Webhooks' 24-64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"rectrack webhook signing secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt(token: str, *, secret_key: str) -> str:
    return _fernet(secret_key).decrypt(token.encode()).decode()


def signature_header(*, secrets_: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<sig>`` for each secret, space-separated (two during a rotation's overlap)."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_)
