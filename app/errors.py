"""The errors services raise: plain exceptions carrying an HTTP status, a stable code and a title.

The api layer (app.api.problems) turns them into RFC 9457 problem documents.
"""

from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extensions = extensions


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(detail, code="invalid_key" if invalid_token else "key_required")
        challenge = 'Bearer realm="rectrack"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class PreconditionRequired(AppError):
    status, code, title = 428, "precondition_required", "Precondition required"


class RuleViolation(AppError):
    """The request is well formed but breaks a rule of the domain."""

    status, code, title = 422, "rule_violation", "Rule violated"


class InvalidInput(AppError):
    status, code, title = 422, "invalid_input", "Invalid input"


class ServiceUnavailable(AppError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    headers = {"Retry-After": "5"}

    def __init__(self) -> None:
        super().__init__("The database is unavailable; try again shortly.")
