"""HTTP middleware of the API function: request id, authentication, ProblemDetails for every error, logs, metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from chalice.app import ChaliceUnhandledError, Request, Response

from chalicelib.api import auth, problems
from chalicelib.api.routing import spec_for
from chalicelib.domain.errors import NetweaveError
from chalicelib.observability import logger, record_request

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def http_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    request_id = _request_id(event)
    resource_path = event.context.get("resourcePath")
    logger.thread_safe_append_keys(request_id=request_id)
    try:
        response = _authorized_response(event, resource_path, get_response)
    except NetweaveError as error:
        response = problems.from_error(error)
    except Exception as error:
        bug = error.__cause__ if isinstance(error, ChaliceUnhandledError) and error.__cause__ else error
        logger.exception("unhandled error", extra={"path": event.path, "error": type(bug).__name__})
        response = problems.internal_error(request_id)
    finally:
        auth.set_principal(None)
    response = problems.from_chalice_response(response)
    response.headers["X-Request-Id"] = request_id
    latency_ms = (time.perf_counter() - started) * 1000
    route = f"{event.method} {resource_path}"
    record_request(route, response.status_code, latency_ms)
    logger.info(
        "request",
        extra={"route": route, "path": event.path, "status": response.status_code, "latency_ms": round(latency_ms, 2)},
    )
    logger.thread_safe_clear_keys()
    return response


def _authorized_response(
    event: Request, resource_path: str | None, get_response: Callable[[Request], Response]
) -> Response:
    spec = spec_for(resource_path, event.method)
    if spec is None or not spec.public:
        principal = auth.authenticate(auth.bearer_token(event.headers))
        if spec is not None and spec.scope is not None:
            auth.require_scope(principal, spec.scope)
        auth.set_principal(principal)
    return get_response(event)


def _request_id(event: Request) -> str:
    supplied: str | None = event.headers.get("x-request-id") if event.headers else None
    if supplied and _SAFE_REQUEST_ID.fullmatch(supplied):
        return supplied
    return str(event.context.get("requestId") or uuid.uuid4())
