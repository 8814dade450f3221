"""The session cookie and the sign-in and sign-out forms' protection against other sites.

The cookie is HttpOnly and SameSite=Strict, and Secure whenever the browser reached us over
HTTPS: ``request.url.scheme``, or the proxy's X-Forwarded-Proto when the operator says to
trust it (``RECTRACK_TRUST_FORWARDED_PROTO``). The sign-in form carries a random token that
must match a cookie set with the form; the sign-out form carries a token bound to the session.
"""

import hmac
import secrets
from datetime import timedelta

from fastapi import Request, Response

from app.config import Settings
from app.services import sessions

SIGN_IN_COOKIE = "rectrack_sign_in"  # the sign-in form's token, double-submitted


def _secure(request: Request, settings: Settings) -> bool:
    if settings.trust_forwarded_proto:
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if forwarded:
            return forwarded == "https"
    return request.url.scheme == "https"


def _set(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )


def lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.session_hours)


def start_session(response: Response, request: Request, settings: Settings, token: str) -> None:
    _set(response, request, settings, sessions.SESSION_COOKIE, token, int(lifetime(settings).total_seconds()))
    response.delete_cookie(SIGN_IN_COOKIE, path="/", httponly=True, samesite="strict")


def end_session(response: Response) -> None:
    response.delete_cookie(sessions.SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the one this browser holds already, or a new one."""
    held = request.cookies.get(SIGN_IN_COOKIE)
    return held if held and len(held) <= 64 else secrets.token_urlsafe(24)


def remember_sign_in_token(response: Response, request: Request, settings: Settings, token: str) -> None:
    """The form's token in a cookie too: another site can neither read it nor set it."""
    _set(response, request, settings, SIGN_IN_COOKIE, token, 3600)


def sign_in_token_matches(request: Request, presented: str) -> bool:
    expected = request.cookies.get(SIGN_IN_COOKIE)
    return bool(expected) and hmac.compare_digest(expected.encode(), presented.encode())


def sign_out_token_matches(session: sessions.SessionToken, presented: str, settings: Settings) -> bool:
    expected = sessions.sign_out_token(session, settings.key_secret)
    return hmac.compare_digest(expected.encode(), presented.encode())
