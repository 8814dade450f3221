"""Values the server keeps encrypted at rest, under keys derived from RECTRACK_SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key derived by
HKDF from the server secret, one derived key per purpose, so a database dump alone
reads none of them and a value sealed for one purpose cannot be passed off as another.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WEBHOOK_SECRETS = b"rectrack webhook signing secrets"
IDEMPOTENT_ANSWERS = b"rectrack idempotent answers"

__all__ = ["IDEMPOTENT_ANSWERS", "WEBHOOK_SECRETS", "InvalidToken", "cipher"]


@lru_cache
def cipher(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))
