"""OpenAPI declarations of the problem documents each route can answer."""

from typing import Any

from app.errors import PROBLEM_MEDIA_TYPE, Problem

_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Unauthorized", "Send an API key as 'Authorization: Bearer <key>'."),
    403: ("Forbidden", "This key may not do that."),
    404: ("Not found", "Recommendation 999 does not exist."),
    409: ("Conflict", "Report 1 already has a recommendation 4.8."),
    412: ("Precondition failed", 'The recommendation has changed since ETag "3.20180702"; fetch it again.'),
    413: ("Content too large", "The request body is larger than 1048576 bytes."),
    422: ("Invalid request", "body.reported_on: reported_on 2031-01-01 is in the future."),
    428: ("Precondition required", "Send If-Match with the ETag from your last GET of this resource."),
    503: ("Service unavailable", "The database is unavailable; try again shortly."),
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status as an RFC 9457 problem with an example."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 503}):
        title, detail = _EXAMPLES[status]
        declared[status] = {
            "model": Problem,
            "description": title,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "example": {"type": "about:blank", "title": title, "status": status, "detail": detail}
                }
            },
        }
    return declared
