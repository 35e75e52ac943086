"""Managing subscriptions of the three API kinds (inventory, alarm, DMS): create, get, list, delete.

Ports come in as arguments: the store (`SubscriptionStore` or a fake), and for creation the callback policy, a
resolver and an optional reachability prober. The wire form never carries the signing secret; only the creation
answer adds it, once (docs/architecture.md §4: Standard Webhooks, `whsec_` + base64 of 32 random bytes).

Filters as stored (what `fan_out` evaluates):
- inventory: the client's text verbatim, O2 subscription grammar (`|`, `objectType`), attributes of any inventory
  object type; a matching event is NOT reported (docs/o2-conventions.md §4);
- alarm: the client's text verbatim, `|` allowed, attributes of the alarm record (no `objectType`: alarms have none);
- DMS: selects events; AND-only query grammar (`fan_out` parses DMS filters with `parse_filter`), attributes of the
  DMS event view. `eventTypes` has no field of its own in the record, so it is folded into the stored filter as a
  last term `(in,eventType,'A','B')` with quoted values. The client's part is stored in canonical form, which never
  quotes such simple values, so the quoted term can only be ours and the wire form can show both parts unchanged.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.callback_policy import (
    Callback,
    CallbackPolicy,
    IPAddress,
    check_addresses,
    parse_callback,
)
from chalicelib.domain.errors import BadRequest, InvalidQuery, NotFound
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.inventory import SELECTOR_SCHEMAS
from chalicelib.domain.models import CloudInfo
from chalicelib.domain.package_events import DMS_EVENT_TYPES
from chalicelib.domain.query import (
    MAX_FILTER_LENGTH,
    AttributeSchema,
    FilterSchema,
    parse_filter,
    parse_subscription_filter,
    validate_filter,
)
from chalicelib.domain.selectors import Selection, SelectorSchema, apply_selection, validate_selection
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
from chalicelib.domain.tenancy import Access
from chalicelib.services.paging import ListRequest, Page, PagedSource, collect

SECRET_PREFIX = "whsec_"


ID_FIELDS = {
    SubscriptionKind.INVENTORY: "subscriptionId",
    SubscriptionKind.ALARM: "alarmSubscriptionId",
    SubscriptionKind.DMS: "subscriptionId",
}
_NAMES = {
    SubscriptionKind.INVENTORY: "subscription",
    SubscriptionKind.ALARM: "alarm subscription",
    SubscriptionKind.DMS: "deployment subscription",
}

# fmt: off
ALARM_ATTRIBUTES = frozenset({
    "alarmEventRecordId", "alarmDefinitionID", "probableCauseID", "alarmRaisedTime", "alarmChangedTime",
    "alarmAcknowledged", "alarmAcknowledgedTime", "alarmAcknowledgeTime", "perceivedSeverity", "resourceTypeID",
    "resourceID",
})
# fmt: on
# Deployment events carry deploymentId, namespace and status; package events version and packageType; template
# events deploymentTemplateId and version; all carry eventType and name (the deployment's, package's or template's),
# and packageId where the object has one.
DMS_ATTRIBUTES = frozenset({"deploymentId", "packageId", "namespace", "eventType", "name", "status", "version",
                            "packageType", "deploymentTemplateId"})
_CLOUD_SCHEMA = FilterSchema(frozenset(f.alias or n for n, f in CloudInfo.model_fields.items()) | {"globalcloudId"})
_INVENTORY_SCHEMAS: tuple[AttributeSchema, ...] = tuple(SELECTOR_SCHEMAS.values())
_ALARM_SCHEMA = FilterSchema(ALARM_ATTRIBUTES)
_DMS_SCHEMA = FilterSchema(DMS_ATTRIBUTES)
# The reference schema of AlarmSubscriptionInfo lists these as the filter's values; they are no filter in the O2
# grammar, and `fan_out` could not evaluate them, so they are refused with a pointer to the grammar.
_ALARM_KEYWORDS = frozenset({"NEW", "CHANGE", "CLEAR", "ACKNOWLEDGE"})
_EVENT_TYPE = r"'(?:Deployment|Package|Template)[A-Za-z]+'"
_EVENT_TYPES_TERM = re.compile(rf"(?:^|;)\(in,eventType,((?:{_EVENT_TYPE},)*{_EVENT_TYPE})\)\Z")


def _wire_schema(kind: SubscriptionKind) -> SelectorSchema:
    names = {ID_FIELDS[kind], "callback", "consumerSubscriptionId", "filter", "status", "statusReason"}
    if kind is SubscriptionKind.DMS:
        names.add("eventTypes")
    return SelectorSchema(frozenset(names), frozenset({ID_FIELDS[kind]}), (), frozenset())


WIRE_SCHEMAS = {kind: _wire_schema(kind) for kind in ID_FIELDS}

Resolver = Callable[[Callback], Sequence[IPAddress]]
Prober = Callable[[Callback, Sequence[IPAddress]], None]


class SubscriptionRepository(Protocol):
    def create(self, subscription: Subscription, max_per_owner: int | None = None) -> Subscription: ...

    def get(self, subscription_id: str) -> Subscription | None: ...

    def delete(self, subscription: Subscription) -> None: ...

    def page(
        self, kind: SubscriptionKind, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Subscription], dict[str, Any] | None]: ...


@dataclass(frozen=True)
class CallbackPorts:
    policy: CallbackPolicy
    resolve: Resolver
    probe: Prober | None = None  # None: no reachability probe (`callbacks.probe` off, the default)


@dataclass(frozen=True)
class NewSubscription:
    kind: SubscriptionKind
    callback: str
    consumer_subscription_id: str | None = None
    filter: str | None = None
    event_types: Sequence[str] | None = None  # DMS only
    owner: str | None = None  # the creator's tenant; it counts towards that tenant's quota
    all_tenants: bool = False  # created by an admin: receives every tenant's deployment events
    api_version: str | None = None  # inventory: the API version it was made under, when not v1


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def create_subscription(
    store: SubscriptionRepository,
    request: NewSubscription,
    callbacks: CallbackPorts,
    *,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    max_per_owner: int | None = None,
) -> dict[str, Any]:
    """Validate, store, and answer the wire form plus the secret: the only time the secret leaves netweave. The
    store refuses it (403) when its owner already holds `max_per_owner` subscriptions."""
    stored_filter = checked_filter(request.kind, request.filter, request.event_types)
    vet_callback(request.callback, callbacks)
    secret = new_secret()
    record = Subscription(
        subscription_id=new_id(),
        kind=request.kind,
        callback=request.callback,
        consumer_subscription_id=request.consumer_subscription_id,
        filter=stored_filter,
        secret=secret,
        created_at=utc_now_iso(),
        owner=request.owner,
        all_tenants=request.all_tenants,
        api_version=request.api_version,
    )
    store.create(record, max_per_owner)
    return {**wire_form(record), "secret": secret}


def get_subscription(
    store: SubscriptionRepository, kind: SubscriptionKind, subscription_id: str, selection: Selection | None = None,
    *, access: Access,
) -> dict[str, Any]:
    schema = WIRE_SCHEMAS[kind]
    validate_selection(selection or Selection(), schema)
    return apply_selection(wire_form(_find(store, kind, subscription_id, access)), selection or Selection(), schema)


def delete_subscription(store: SubscriptionRepository, kind: SubscriptionKind, subscription_id: str, *,
                        access: Access) -> None:
    store.delete(_find(store, kind, subscription_id, access))


def list_subscriptions(store: SubscriptionRepository, kind: SubscriptionKind, request: ListRequest, *,
                       access: Access) -> Page:
    """The caller's tenant's subscriptions (an admin's: every one). Other tenants' are dropped before the page is
    cut, like a filter's misses, so pages stay full."""
    schema = WIRE_SCHEMAS[kind]
    validate_selection(request.selection, schema)
    if request.filter is not None:
        validate_filter(request.filter, schema)
    flt = request.filter

    def fetch(size: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, last_key = store.page(kind, size, start)
        return [wire_form(item) for item in items if access.sees(item.owner)], last_key

    source: PagedSource[dict[str, Any]] = PagedSource(
        fetch=fetch,
        matches=lambda document: flt is None or flt.matches(document),
        key_after=lambda document: _key_after(kind, document),
        scope=f"subscriptions/{kind.value}",
        key_attributes=_KEY_ATTRIBUTES,
        filtered=flt is not None or not access.is_admin,
        resume=lambda key: _resume_key(kind, key),
    )
    matched, next_marker = collect(source, request.limit, request.marker, request.codec)
    return Page([apply_selection(doc, request.selection, schema) for doc in matched], next_marker)


def wire_form(subscription: Subscription) -> dict[str, Any]:
    """What GET shows: the O2 fields, never null, plus netweave's `status`/`statusReason`; never the secret."""
    document: dict[str, Any] = {
        ID_FIELDS[subscription.kind]: subscription.subscription_id,
        "callback": subscription.callback,
    }
    if subscription.consumer_subscription_id is not None:
        document["consumerSubscriptionId"] = subscription.consumer_subscription_id
    client_filter, event_types = subscription.filter, None
    if subscription.kind is SubscriptionKind.DMS:
        client_filter, event_types = split_dms_filter(subscription.filter)
    if client_filter:
        document["filter"] = client_filter
    if event_types is not None:
        document["eventTypes"] = event_types
    document["status"] = subscription.status.value
    if subscription.status_reason:
        document["statusReason"] = subscription.status_reason
    return document


# --- filters ---------------------------------------------------------------------------------------------------------


def checked_filter(kind: SubscriptionKind, text: str | None, event_types: Sequence[str] | None) -> str | None:
    """The filter to store for this kind, after checking it; an empty or blank filter is no filter."""
    text = text if text and text.strip() else None
    if kind is SubscriptionKind.DMS:
        return _dms_filter(text, event_types)
    if event_types is not None:
        raise BadRequest("eventTypes: only deployment (O2dms) subscriptions take event types")
    if text is None:
        return None
    if kind is SubscriptionKind.INVENTORY:
        validate_filter(parse_subscription_filter(text), _CLOUD_SCHEMA, *_INVENTORY_SCHEMAS)
    elif text.strip() in _ALARM_KEYWORDS:
        raise InvalidQuery(
            f"filter: '{text.strip()}' is not supported; write a filter over alarm record attributes, "
            "e.g. (eq,perceivedSeverity,5)"
        )
    else:
        validate_filter(parse_filter(text, allow_or=True), _ALARM_SCHEMA)
    return text


def _dms_filter(text: str | None, event_types: Sequence[str] | None) -> str | None:
    client = None
    if text is not None:
        parsed = parse_filter(text, allow_or=True)
        if len(parsed.groups) > 1:
            raise InvalidQuery(
                "filter: '|' (OR) is not supported in deployment subscription filters; create one "
                "subscription per alternative"
            )
        validate_filter(parsed, _DMS_SCHEMA)
        client = parsed.to_text()
    if event_types is None:
        return client
    term = "(in,eventType," + ",".join(f"'{t}'" for t in _event_types(event_types)) + ")"
    stored = f"{client};{term}" if client else term
    if len(stored) > MAX_FILTER_LENGTH:  # fan_out could not parse it, and would then send everything
        raise InvalidQuery(f"filter: with eventTypes longer than {MAX_FILTER_LENGTH} characters")
    return stored


def _event_types(given: Sequence[str]) -> list[str]:
    """Known types, each once, in declaration order: the same set always gives the same stored text (dedupe)."""
    known = list(DMS_EVENT_TYPES)
    unknown = [t for t in given if t not in known]
    if unknown or not given:
        problem = f"unknown event type '{unknown[0]}'" if unknown else "must name at least one event type"
        raise BadRequest(f"eventTypes: {problem}; known: {', '.join(known)}")
    return [t for t in known if t in given]


def split_dms_filter(stored: str | None) -> tuple[str | None, list[str] | None]:
    """The client's filter and the event types, from a stored DMS filter (inverse of `_dms_filter`)."""
    if not stored:
        return None, None
    found = _EVENT_TYPES_TERM.search(stored)
    if found is None:
        return stored, None
    client = stored[: found.start()] or None
    return client, [value.strip("'") for value in found.group(1).split(",")]


# --- callbacks -------------------------------------------------------------------------------------------------------


def vet_callback(url: str, callbacks: CallbackPorts) -> Callback:
    """Syntax and scheme, then every address the host resolves to, then (when switched on) a GET probe."""
    callback = parse_callback(url, callbacks.policy)
    addresses = list(callbacks.resolve(callback))
    check_addresses(callback, addresses, callbacks.policy)
    if callbacks.probe is not None:
        callbacks.probe(callback, addresses)
    return callback


# --- reading ---------------------------------------------------------------------------------------------------------


def _find(store: SubscriptionRepository, kind: SubscriptionKind, subscription_id: str, access: Access) -> Subscription:
    # Every id netweave assigns is a UUID; anything else cannot exist (and must not reach DynamoDB's key limits).
    found = store.get(subscription_id) if _is_uuid(subscription_id) else None
    # Another kind's id, or another tenant's subscription, is not visible here: the same 404 as an unknown id, so
    # the answer never tells whether the id exists.
    if found is None or found.kind is not kind or not access.sees(found.owner):
        raise NotFound(f"no {_NAMES[kind]} with id '{subscription_id[:100]}'")
    return found


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _resume_key(kind: SubscriptionKind, key: dict[str, Any]) -> dict[str, Any]:
    """A marker's key must be one this collection issued: a forged one must not become a DynamoDB error (500)."""
    if (
        set(key) != {"subscriptionId", "kind"}
        or key["kind"]["S"] != kind.value
        or not _is_uuid(key["subscriptionId"]["S"])
    ):
        raise InvalidQuery("nextpage_opaque_marker: not a marker of this collection")
    return key


_KEY_ATTRIBUTES = frozenset({"subscriptionId", "kind"})  # of _key_after's keys


def _key_after(kind: SubscriptionKind, document: dict[str, Any]) -> dict[str, Any]:
    return {"subscriptionId": {"S": document[ID_FIELDS[kind]]}, "kind": {"S": kind.value}}
