"""Redfish EventService subscriptions of the `redfish` backend (docs/redfish-backend.md "Events").

During each poll, every reachable BMC whose service root links an enabled EventService gets one netweave
subscription (Context `netweave:<backend>` + the configured Destination); polling stays the source of truth, an
event only asks for an immediate poll. Cost per BMC and poll, once the subscription is known to this process: one
GET of the Subscriptions collection (more only if it pages). Nothing at all on a BMC without EventService. When this
process first sees a BMC (or its subscription is gone) it reads the EventService and the collection, deletes any
subscription of ours it finds and creates one: `HttpHeaders` (the shared token) are write-only (DSP0268: null or
empty in responses), so re-creating is the only way to know the BMC holds the current token after a rotation.

sushy's connector (given by the adapter) does every request, with its session handling, retries and error classes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib.adapters.ims.redfish_components import odata_id
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.redfish_events import MIN_TOKEN_LENGTH, TOKEN_HEADER, EventsOptions, subscription_context
from chalicelib.observability import logger

Doc = dict[str, Any]
SecretReader = Callable[[str], str]
# What netweave asks for where the service still takes EventTypes: health changes come as Alert (older iDRAC
# firmware sends nothing else) or StatusChange; parts added or removed change the inventory.
_WANTED_TYPES = ("Alert", "StatusChange", "ResourceAdded", "ResourceRemoved", "ResourceUpdated")
_MAX_PAGES = 100


class Connector(Protocol):
    """sushy.connector.Connector, as far as subscriptions need it: each call answers a requests.Response."""

    def get(self, path: str = "", **kwargs: Any) -> Any: ...

    def post(self, path: str = "", data: Any = None, **kwargs: Any) -> Any: ...

    def delete(self, path: str = "", **kwargs: Any) -> Any: ...


class Members(Protocol):
    """Reads every member document of a collection (the adapter's RedfishReader: paging, `$expand` where offered)."""

    def collection(self, path: str) -> list[Doc]: ...


@dataclass
class _Service:
    subscriptions: str  # the Subscriptions collection's URI
    filters: Doc  # EventTypes, as the service advertises them (empty: every event)
    subscription: str | None = None  # ours, once created or found by this process


class EventSubscriptions:
    """One netweave subscription per BMC that offers events, kept across polls (docs/redfish-backend.md "Events")."""

    def __init__(self, backend_id: str, options: EventsOptions, secret: SecretReader | None) -> None:
        self.backend_id, self.options, self._secret = backend_id, options, secret
        self.context = subscription_context(backend_id)
        self._lock = threading.Lock()
        self._services: dict[str, _Service | None] = {}  # endpoint -> its EventService (None: disabled)
        self._sent_token = ""  # kept out of the logs: a BMC's error message may quote what it was sent

    def ensure(self, endpoint: str, root: Doc, connector: Connector, members: Members) -> str:
        """Make sure `endpoint` holds our subscription. Never raises: a refusal (a full BMC, an unreadable token)
        is logged and the poll goes on. Answers what happened: `unsupported`, `disabled`, `kept`, `created`,
        `refused`."""
        import sushy.exceptions

        if not odata_id(root.get("EventService")):
            return "unsupported"  # no request spent
        try:
            return self._ensure(endpoint, root, connector, members)
        except (sushy.exceptions.SushyError, BackendUnavailable, OSError, ValueError, LookupError) as error:
            why = _why(error).replace(self._sent_token, "<token>") if self._sent_token else _why(error)
            logger.warning("redfish event subscription refused; polling continues",
                           extra={"backend": self.backend_id, "endpoint": endpoint, "error": why})
            return "refused"

    def _ensure(self, endpoint: str, root: Doc, connector: Connector, members: Members) -> str:
        with self._lock:
            known = endpoint in self._services
            service = self._services.get(endpoint)
        if not known:
            service = self._read_service(odata_id(root.get("EventService")), connector)
            with self._lock:
                self._services[endpoint] = service
        if service is None:
            return "disabled"
        if service.subscription and service.subscription in self._member_ids(service.subscriptions, connector):
            return "kept"
        service.subscription = None
        for doc in members.collection(service.subscriptions):  # ours from an earlier process, or duplicates
            if doc.get("Context") == self.context and doc.get("Destination") == self.options.destination:
                connector.delete(odata_id(doc))
        service.subscription = self._create(service, connector)
        logger.info("redfish event subscription created", extra={"backend": self.backend_id, "endpoint": endpoint})
        return "created"

    def _read_service(self, path: str, connector: Connector) -> _Service | None:
        document: Doc = connector.get(path).json()
        collection = odata_id(document.get("Subscriptions"))
        if document.get("ServiceEnabled") is False or not collection:
            return None
        offered = [t for t in document.get("EventTypesForSubscription") or [] if isinstance(t, str)]
        wanted = [t for t in _WANTED_TYPES if t in offered]
        # Services that still list EventTypes get the ones we want; others (EventTypes deprecated since
        # EventDestination v1.5) get no filter, which DSP0268 defines as every event.
        return _Service(collection, {"EventTypes": wanted} if wanted else {})

    def _member_ids(self, path: str, connector: Connector) -> set[str]:
        """The members' URIs, without a trailing slash (services differ in whether they write one)."""
        ids: set[str] = set()
        next_url: str | None = path
        for _ in range(_MAX_PAGES):
            if not next_url:
                break
            page: Doc = connector.get(next_url).json()
            ids |= {odata_id(m).rstrip("/") for m in page.get("Members") or [] if isinstance(m, dict)}
            next_url = page.get("Members@odata.nextLink")
        return ids

    def _create(self, service: _Service, connector: Connector) -> str:
        body = {"Destination": self.options.destination, "Protocol": "Redfish", "Context": self.context,
                **service.filters, "HttpHeaders": [{TOKEN_HEADER: self._token()}]}
        response = connector.post(service.subscriptions, data=body)
        location = str(response.headers.get("Location") or "")
        if not location and response.content:  # some services answer the new EventDestination without Location
            location = odata_id(response.json())
        if not location:
            raise LookupError("the service created a subscription but did not say where")
        return urlsplit(location).path.rstrip("/")  # Location may be absolute; the connector takes paths

    def _token(self) -> str:
        """Read when a subscription is made, not at every poll."""
        if self.options.token_ssm_parameter:
            if self._secret is None:
                raise LookupError("tokenSsmParameter needs the gateway's SSM access")
            token = self._secret(self.options.token_ssm_parameter)
        else:
            token = os.environ.get(self.options.token_env or "", "")
        if len(token) < MIN_TOKEN_LENGTH:
            raise LookupError(f"the event token is unset or shorter than {MIN_TOKEN_LENGTH} characters")
        self._sent_token = token
        return token


def _why(error: BaseException) -> str:
    """The refusal as the BMC phrased it (iDRAC's limit of 20 subscriptions comes back as a 4xx MessageId)."""
    import sushy.exceptions

    if isinstance(error, sushy.exceptions.HTTPError):
        return f"HTTP {error.status_code} ({error.code}: {error.detail})"
    return f"{type(error).__name__}: {error}"
