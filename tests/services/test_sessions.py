"""Session tokens: signed with the secret, expiring on the app's clock, tamper-evident."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services import sessions

NOW = datetime(2018, 7, 2, 10, 0, tzinfo=UTC)
SECRET = "a-secret-of-at-least-thirty-two-characters"
HOURS = timedelta(hours=8)


def _token(**overrides) -> str:
    return sessions.issue(key_id=overrides.get("key_id", 7), secret=SECRET, now=NOW, lifetime=HOURS)


def _forged(body: dict, signature_from: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{payload}.{signature_from.split('.')[1]}"


def test_a_token_names_its_key_until_it_expires():
    token = _token()
    read = sessions.read(token, secret=SECRET, now=NOW)
    assert read is not None and read.key_id == 7
    assert sessions.read(token, secret=SECRET, now=NOW + HOURS - timedelta(seconds=1)) is not None
    assert sessions.read(token, secret=SECRET, now=NOW + HOURS) is None


def test_each_sign_in_is_a_session_of_its_own():
    first, second = _token(), _token()
    assert first != second
    a = sessions.read(first, secret=SECRET, now=NOW)
    b = sessions.read(second, secret=SECRET, now=NOW)
    assert a.nonce != b.nonce
    assert sessions.sign_out_token(a, SECRET) != sessions.sign_out_token(b, SECRET)


@pytest.mark.parametrize(
    "case",
    [
        "another secret",
        "payload changed",
        "signature changed",
        "no signature",
        "empty",
        "too long",
        "two dots",
        "not base64 json",
    ],
)
def test_anything_but_our_own_token_is_refused(case):
    token = _token()
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    presented = {
        "another secret": token,
        "payload changed": _forged({**body, "k": 1}, token),
        "signature changed": f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "no signature": payload,
        "empty": "",
        "too long": token + "A" * sessions.MAX_TOKEN_LENGTH,
        "two dots": f"{payload}.{signature}.x",
        "not base64 json": "%%%." + signature,
    }[case]
    secret = "another secret, also long enough to be real" if case == "another secret" else SECRET
    assert sessions.read(presented, secret=secret, now=NOW) is None


@given(st.text(max_size=300))
def test_arbitrary_cookies_never_read_as_a_session(text):
    assert sessions.read(text, secret=SECRET, now=NOW) is None
