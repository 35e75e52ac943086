"""Errors the client raises. Every 4xx/5xx answer of the gateway is an RFC 9457 ProblemDetails document; it becomes a
`ProblemError` subclass chosen by status, carrying every member of the problem (extra ones included)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from netweave_client.models import Operation, ProblemDetails, ProvisioningRequestInfo, ResourcePool


class NetweaveError(Exception):
    """Base of every error this library raises."""


@dataclass(frozen=True)
class InvalidParam:
    """One refused parameter of a 400 (RFC 9457's `invalidParams`): `templateParameters.size`, `parameters.site`."""

    name: str
    reason: str


class ProblemError(NetweaveError):
    """The gateway answered a ProblemDetails document (or an error without one, described the same way)."""

    def __init__(self, problem: ProblemDetails, response: httpx.Response | None = None) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        self.response = response

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def type(self) -> str:
        return self.problem.type

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def request_id(self) -> str | None:
        return self.problem.request_id

    @property
    def extra(self) -> dict[str, Any]:
        """Members beyond type, title, status, detail and requestId (a readiness check's `checks`, ...)."""
        return dict(self.problem.model_extra or {})

    @property
    def invalid_params(self) -> list[InvalidParam]:
        """Every parameter the gateway refused (bad template or deployment parameters), else empty."""
        given = getattr(self.problem, "invalid_params", None) or self.extra.get("invalidParams")
        if not isinstance(given, list):
            return []
        found = [item if isinstance(item, dict) else _as_dict(item) for item in given]
        return [InvalidParam(str(item.get("name", "")), str(item.get("reason", ""))) for item in found]

    def to_dict(self) -> dict[str, Any]:
        return self.problem.model_dump(by_alias=True, exclude_none=True)


def _as_dict(item: Any) -> dict[str, Any]:
    """An entry of a generated model (once the gateway's ProblemDetails schema names `invalidParams`)."""
    dump = getattr(item, "model_dump", None)
    return dict(dump(by_alias=True)) if callable(dump) else {}


class BadRequest(ProblemError):
    """400: bad filter, selector, body or marker."""


class Unauthorized(ProblemError):
    """401: missing, invalid or expired token."""


class Forbidden(ProblemError):
    """403: the token lacks the route's scope, or a quota is exhausted."""


class NotFound(ProblemError):
    """404: unknown id (or another tenant's)."""


class Conflict(ProblemError):
    """409: duplicate, operation in progress, package in use, not owned."""


class Unprocessable(ProblemError):
    """422: the request cannot be carried out as asked (unknown package, placement not possible, ...)."""


class RateLimited(ProblemError):
    """429, after the client's retries ran out."""


class ServerError(ProblemError):
    """5xx; `request_id` is the key of the gateway's logged traceback for a 500."""


class NotSupported(ServerError):
    """501: the backend lacks the capability."""


class ServiceUnavailable(ServerError):
    """503, after the client's retries ran out."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 422: Unprocessable,
    429: RateLimited, 501: NotSupported, 503: ServiceUnavailable,
}


def problem_error(response: httpx.Response) -> ProblemError:
    """The typed error of a failed response; an answer without a ProblemDetails body still gives one."""
    body: Any = None
    with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
        body = response.json()
    fallback = {"type": "about:blank", "title": response.reason_phrase or "error", "status": response.status_code,
                "detail": response.text[:500]}
    document = {**fallback, **body} if isinstance(body, dict) else fallback
    try:
        problem = ProblemDetails.model_validate(document)
    except ValueError:
        problem = ProblemDetails.model_validate(fallback)
    status = response.status_code
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ProblemError)
    return kind(problem, response)


class OperationFailed(NetweaveError):
    """A DMS operation ended `failed`; `operation.error` holds the problem in ProblemDetails terms."""

    def __init__(self, operation: Operation) -> None:
        error = operation.error
        reason = f"{error.status} {error.title}: {error.detail}" if error else "no error recorded"
        super().__init__(f"operation {operation.operation_id} ({operation.operation_type.value}) failed: {reason}")
        self.operation = operation


class PoolFailed(NetweaveError):
    """A resource pool reached `extensions.status: failed` (its `statusReason` says why)."""

    def __init__(self, pool: ResourcePool) -> None:
        reason = (pool.extensions or {}).get("statusReason", "no reason given")
        super().__init__(f"resource pool {pool.resource_pool_id} failed: {reason}")
        self.pool = pool


class ProvisioningFailed(NetweaveError):
    """A provisioning request reached FAILED; its `status.message` says why (and that a PUT retries it)."""

    def __init__(self, request: ProvisioningRequestInfo) -> None:
        super().__init__(f"provisioning request {request.provisioning_request_id} failed: {request.status.message}")
        self.request = request


class WaitTimeout(NetweaveError):
    """`wait` gave up; `last` is the last state seen (None if the object never appeared)."""

    def __init__(self, what: str, timeout: float, last: object) -> None:
        super().__init__(f"{what} not finished after {timeout:g} s")
        self.last = last


class SignatureError(NetweaveError):
    """A notification whose Standard Webhooks signature does not verify with any known secret."""
