"""Browser sessions: a signed, expiring token that names the API key a person signed in with.

The token is ``<payload>.<signature>``, both base64url: the payload is the key's id, a
random nonce and the expiry (seconds since the epoch); the signature is HMAC-SHA256 with
a key derived from ``RECTRACK_SECRET_KEY``, so changing the secret ends every session as
it invalidates every key. The token never holds the API key itself: each request looks the
key up again by id (through the key cache), so revoking the key ends its sessions.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_COOKIE = "rectrack_session"
_PURPOSE = b"rectrack browser session v1"
_CSRF_PURPOSE = b"rectrack sign-out form v1"
MAX_TOKEN_LENGTH = 400  # a real token is about 120 characters


@dataclass(frozen=True)
class SessionToken:
    key_id: int
    nonce: str
    expires_at: int  # seconds since the epoch


def _signing_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: str) -> str:
    return _b64(hmac.new(_signing_key(secret), payload.encode(), hashlib.sha256).digest())


def issue(*, key_id: int, secret: str, now: datetime, lifetime: timedelta) -> str:
    """A new session token for ``key_id``, valid for ``lifetime`` from ``now``."""
    body = {"k": key_id, "n": secrets.token_urlsafe(16), "e": int((now + lifetime).timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(payload, secret)}"


def read(token: str | None, *, secret: str, now: datetime) -> SessionToken | None:
    """The token's contents when its signature is ours and it has not expired; else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature.encode(), _sign(payload, secret).encode()):
        return None
    try:
        body = json.loads(_unb64(payload))
        parsed = SessionToken(key_id=int(body["k"]), nonce=str(body["n"]), expires_at=int(body["e"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if parsed.expires_at <= now.timestamp():
        return None
    return parsed


def sign_out_token(session: SessionToken, secret: str) -> str:
    """The token the sign-out form carries: bound to this session, unknown to other sites."""
    message = _CSRF_PURPOSE + session.nonce.encode()
    return _b64(hmac.new(_signing_key(secret), message, hashlib.sha256).digest())
