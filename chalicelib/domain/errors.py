"""Errors the domain and services raise. Each knows its HTTP meaning; `api/problems.py` turns it into ProblemDetails."""

from __future__ import annotations

from typing import ClassVar


class NetweaveError(Exception):
    """Base of every error a client may see. `detail` is safe to show: it never carries secrets or stack traces."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(NetweaveError):
    status = 400
    title = "Bad Request"
    slug = "bad-request"


class InvalidQuery(BadRequest):
    """A filter, selector or paging parameter the O2 query language rejects."""

    slug = "invalid-query"


class Unauthorized(NetweaveError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="netweave"'})


class Forbidden(NetweaveError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(NetweaveError):
    status = 404
    title = "Not Found"
    slug = "not-found"


class MethodNotAllowed(NetweaveError):
    status = 405
    title = "Method Not Allowed"
    slug = "method-not-allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"{method} is not supported here; allowed: {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )


class Conflict(NetweaveError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class UnprocessableContent(NetweaveError):
    """Well formed, but this gateway will not carry it out (a rule, a limit, a reference that does not resolve)."""

    status = 422
    title = "Unprocessable Content"


class UnsupportedMediaType(NetweaveError):
    status = 415
    title = "Unsupported Media Type"
    slug = "unsupported-media-type"


class CapabilityNotSupported(NetweaveError):
    """The backend chosen for this request cannot do what was asked (docs/architecture.md §3: 501)."""

    status = 501
    title = "Not Implemented"
    slug = "not-implemented"


class BackendUnavailable(NetweaveError):
    status = 503
    title = "Service Unavailable"
    slug = "backend-unavailable"


class ServiceUnavailable(NetweaveError):
    """A service the gateway itself depends on (the identity provider's keys) cannot be reached: the request may
    succeed later, so it is not the caller's fault (401) and not a bug (500)."""

    status = 503
    title = "Service Unavailable"
    slug = "service-unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int = 30) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class ConfigurationError(Exception):
    """The gateway configuration is wrong: raised at load time, never shown to an API client verbatim."""
