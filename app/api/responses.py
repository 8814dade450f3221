"""OpenAPI declarations of what each route can answer besides its model: problems, 304s, ETags."""

from typing import Any

from app.api.problems import PROBLEM_MEDIA_TYPE, STATUS_CODES, Problem

_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "There was an error parsing the body"),
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

ETAG_EXAMPLE = '"3.20180702"'
ETAG_HEADER: dict[str, Any] = {
    "ETag": {
        "description": (
            "The version of what was answered (weak for lists and summaries). Send it back in "
            "If-None-Match to poll cheaply, or in If-Match to change the resource safely."
        ),
        "required": True,
        "schema": {"type": "string"},
        "example": ETAG_EXAMPLE,
    }
}

# PATCH reads If-Match itself, so that a missing one is a 428 rather than a validation error.
IF_MATCH: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": (
                "The ETag from your last GET of this resource: the change is made only if the resource "
                "is still at that version (else 412); without it, 428."
            ),
            "schema": {"type": "string"},
            "example": ETAG_EXAMPLE,
        }
    ]
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
                    "example": {
                        "type": "about:blank",
                        "title": title,
                        "status": status,
                        "detail": detail,
                        "code": STATUS_CODES[status],
                    }
                }
            },
        }
    return declared


NEW_ID = "$response.body#/id"
CHANGE = "Change it, with this answer's ETag in If-Match."
AGAIN = "Change it again, with this answer's ETag in If-Match."


def same(parameter: str) -> str:
    """A link parameter: the value of this request's path parameter."""
    return f"$request.path.{parameter}"


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation ``operation_id`` (a route's function name)."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def with_etag(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """A link to a PATCH, with If-Match set from this answer's ETag."""
    described = link(operation_id, description, **parameters)
    described["parameters"]["header.If-Match"] = "$response.header.ETag"
    return described


def created(links: dict[str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The links of a 201, to merge into ``responses=``."""
    return {201: {"links": links}}


def conditional_read(
    *statuses: int, links: dict[str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a GET that answers with an ETag and honours If-None-Match."""
    return {
        200: {"headers": ETAG_HEADER, **({"links": links} if links else {})},
        304: {
            "description": "Not modified: what you hold (the ETag in If-None-Match) is still current.",
            "headers": ETAG_HEADER,
        },
        **problems(*statuses),
    }


def conditional_update(
    *statuses: int, links: dict[str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a PATCH that needs If-Match (pair with ``openapi_extra=IF_MATCH``)."""
    return {
        200: {"headers": ETAG_HEADER, **({"links": links} if links else {})},
        **problems(*statuses, 400, 412, 413, 428),
    }


def problems_as_problem_json(openapi: dict[str, Any]) -> dict[str, Any]:
    """Problems are sent as application/problem+json only: give that media type the schema.

    FastAPI files a response model under the route's own media type (application/json,
    or text/csv for a download); for problem documents, that is a media type the API
    never sends them as.
    """
    reference = {"$ref": "#/components/schemas/Problem"}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE not in content:
                    continue
                for media_type in [m for m in content if m != PROBLEM_MEDIA_TYPE]:
                    if content[media_type].get("schema") == reference:
                        del content[media_type]
                        content[PROBLEM_MEDIA_TYPE]["schema"] = reference
    return openapi
