"""The one module that turns errors into RFC 9457 ProblemDetails responses (`application/problem+json`).

Three sources reach here: our own `NetweaveError`s raised by views and services, pydantic validation errors from
request parsing, and Chalice's own error responses (415, 500, ...) whose `{"Code","Message"}` body is rewritten.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib.domain.errors import BadRequest, NetweaveError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://netweave.io/problems/"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def problem_body(status: int, detail: str, slug: str | None = None, title: str | None = None) -> dict[str, Any]:
    title = title or _TITLES.get(status, "Error")
    slug = slug or title.lower().replace(" ", "-")
    return {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}


def problem_response(
    status: int,
    detail: str,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> Response:
    """`members` are RFC 9457 extension members: extra facts a client can act on."""
    return Response(
        body=json.dumps({**(members or {}), **problem_body(status, detail, slug)}),
        status_code=status,
        headers={"Content-Type": PROBLEM_MEDIA_TYPE, **(headers or {})},
    )


def internal_error(request_id: str) -> Response:
    """A bug: nothing about it is shown but the request id, under which its traceback is logged."""
    return problem_response(500, "An internal error occurred.", members={"requestId": request_id})


def from_error(error: NetweaveError) -> Response:
    body = problem_body(error.status, error.detail, error.slug, error.title)
    # Each bad parameter (TemplateParametersInvalid, DeploymentParametersInvalid): any error carrying them.
    invalid = getattr(error, "invalid_parameters", None)
    if invalid:
        body["invalidParams"] = invalid  # RFC 9457 §3's example member: [{"name", "reason"}]
    return Response(
        body=json.dumps(body),
        status_code=error.status,
        headers={"Content-Type": PROBLEM_MEDIA_TYPE, **error.headers},
    )


def describe_validation_error(error: ValidationError, where: str) -> str:
    """One readable line naming every offending field, e.g. `body: callback: Field required`."""
    parts = []
    for item in error.errors(include_url=False):
        location = "/".join(str(p) for p in item["loc"]) or where
        parts.append(f"{location}: {item['msg']}")
    return f"invalid {where}: " + "; ".join(parts)


def bad_request_from_validation(error: ValidationError, where: str) -> BadRequest:
    return BadRequest(describe_validation_error(error, where))


def from_chalice_response(response: Response) -> Response:
    """Rewrite Chalice's built-in error bodies (`{"Code","Message"}`) as ProblemDetails; leave others untouched."""
    if response.status_code < 400 or _is_problem(response):
        return response
    detail = "An internal error occurred." if response.status_code >= 500 else _chalice_message(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return problem_response(response.status_code, detail, headers=headers)


def _is_problem(response: Response) -> bool:
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    return isinstance(content_type, str) and content_type.startswith(PROBLEM_MEDIA_TYPE)


def _chalice_message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("Message") or body.get("message") or "request rejected")
    if isinstance(body, (str, bytes)):
        try:
            return _chalice_message(json.loads(body))
        except ValueError:
            return "request rejected"
    return "request rejected"
