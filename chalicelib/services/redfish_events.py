"""Receiving Redfish events (docs/redfish-backend.md "Events"): a BMC's POST to `/ops/redfish-events/<backend>`
asks for an immediate poll of that backend, so alarms and inventory follow from the normal poll path.

The route has no JWT (BMCs cannot mint one): the shared token that the subscription's `HttpHeaders` carry is
compared in constant time. Refusals say nothing that helps guessing: which backends take events is the only
thing a caller learns (404), and backend ids are not secret (every resource names its backend).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Protocol

from pydantic import ValidationError

from chalicelib.domain.errors import BadRequest, NetweaveError, NotFound, ServiceUnavailable, Unauthorized
from chalicelib.domain.redfish_events import MIN_TOKEN_LENGTH, TOKEN_HEADER, EventsOptions, RedfishEvent
from chalicelib.observability import logger
from chalicelib.settings import Settings

MAX_EVENT_BYTES = 64 * 1024  # an Event array of a few dozen records; iDRAC sends one record per event


class EventTooLarge(NetweaveError):
    status = 413
    title = "Content Too Large"
    slug = "event-too-large"


class ReceiverPorts(Protocol):
    settings: Settings

    def secret(self, ssm_parameter: str) -> str: ...

    @property
    def poll_trigger(self) -> Callable[[str], None]: ...


def receive_event(backend_id: str, token: str | None, raw_body: bytes, ports: ReceiverPorts) -> RedfishEvent:
    """Check the token, then the body, then ask for a poll of `backend_id`. The body is read only once the caller
    has shown the token."""
    expected = _expected_token(backend_id, ports)
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(f"a valid event token is required (header {TOKEN_HEADER})")
    if len(raw_body) > MAX_EVENT_BYTES:
        raise EventTooLarge(f"an event body may have at most {MAX_EVENT_BYTES} bytes")
    try:
        event = RedfishEvent.model_validate_json(raw_body)
    except ValidationError as error:
        raise BadRequest(f"not a Redfish Event: {_first_problem(error)}") from None
    ports.poll_trigger(backend_id)
    logger.info("redfish event received", extra={
        "backend": backend_id, "messageIds": [e.message_id for e in event.events][:10],
        "origins": [e.origin_of_condition.odata_id for e in event.events if e.origin_of_condition][:10]})
    return event


def _expected_token(backend_id: str, ports: ReceiverPorts) -> str:
    """The token of a `redfish` backend that takes events. Unknown backend, events off, token unset or too short:
    the same 404, so a misconfigured backend never accepts an empty or guessable token."""
    config = next((a for a in ports.settings.gateway.ims_adapters if a.id == backend_id and a.type == "redfish"), None)
    raw = (config.options.get("events") if config is not None else None) or None
    try:
        options = EventsOptions.model_validate(raw) if raw is not None else None
    except ValidationError:
        options = None  # the adapter refuses this configuration when it is built; here it takes no events
    token = ""
    if options is not None and options.token_ssm_parameter:
        try:
            token = ports.secret(options.token_ssm_parameter)
        except Exception as error:  # SSM unreachable: the BMC retries, and the next scheduled poll comes anyway
            logger.warning("cannot read the event token", extra={"backend": backend_id, "error": type(error).__name__})
            raise ServiceUnavailable("the event token cannot be checked now") from None
    elif options is not None and options.token_env:
        token = os.environ.get(options.token_env, "")
    if len(token) < MIN_TOKEN_LENGTH:
        raise NotFound("no event receiver here")
    return token


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = "/".join(str(part) for part in problem["loc"]) or "body"
    return f"{where}: {problem['msg']}"
