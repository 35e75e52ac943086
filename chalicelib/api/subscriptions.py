"""Subscriptions of every API kind, one Blueprint:

- inventory: `/o2ims-infrastructureInventory/v1/subscriptions`, the short form `/o2ims/v1/subscriptions` and
  `/o2ims-infrastructureInventory/v2/subscriptions` (whose subscriptions are notified in v2's shape and paths);
- alarms: `/o2ims-infrastructureMonitoring/v1/alarmSubscriptions` (id field `alarmSubscriptionId`);
- deployments: `/o2dms/v1/subscriptions` (netweave's O2dms; `eventTypes` selects the deployment events).

Each serves GET (list, O2 query language) and POST on the collection, GET and DELETE on one subscription; PUT and
PATCH answer 405 through the router. Request bodies refuse unknown members: the reference schemas do not close
them, but a misspelt `filtr` silently subscribing to everything is worse than a 400 naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.api.auth import current_access
from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.deployments import DeploymentEventType
from chalicelib.domain.filter_objects import object_filter
from chalicelib.domain.inventory_versions import SHORT_ROOT, InventoryVersion
from chalicelib.domain.models import WireModel
from chalicelib.domain.package_events import PackageEventType
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.domain.template_events import TemplateEventType

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.services import subscriptions as service

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="subscriptions")

V1_ROOT, V2_ROOT = InventoryVersion.V1.root, InventoryVersion.V2.root
_SERVER_ASSIGNED = ("subscriptionId", "alarmSubscriptionId")
_SECRET_DOC = "Standard Webhooks signing secret (whsec_...): only in the creation response, never again"
_STATUS_DOC = "netweave: active, or disabled (the SMO answered 410 Gone, or an operator disabled it)"


class _SubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    callback: str = Field(description="absolute https URL receiving the notifications (POST)")
    consumer_subscription_id: str | None = Field(
        default=None, alias="consumerSubscriptionId", min_length=1, max_length=256
    )
    filter: str | dict[str, str | list[str]] | None = Field(
        default=None, description="O2 filter text, or an object of attribute -> value(s) (docs/subscriptions.md)")

    @model_validator(mode="before")
    @classmethod
    def _no_client_id(cls, data: Any) -> Any:
        for name in _SERVER_ASSIGNED:
            if isinstance(data, dict) and name in data:
                raise ValueError(f"{name}: is assigned by the server; leave it out")
        return data


class InventorySubscriptionRequest(_SubscriptionBody):
    pass


DmsEventType = DeploymentEventType | PackageEventType | TemplateEventType


class AlarmSubscriptionRequest(_SubscriptionBody):
    pass


class DeploymentSubscriptionRequest(_SubscriptionBody):
    event_types: list[DmsEventType] | None = Field(
        default=None, alias="eventTypes", min_length=1,
        description="the events to receive; without it, every deployment event and no package or template event")


class _SubscriptionInfo(WireModel):
    callback: str
    consumer_subscription_id: str | None = Field(default=None, alias="consumerSubscriptionId")
    filter: str | None = None
    status: str | None = Field(default=None, description=_STATUS_DOC)
    status_reason: str | None = Field(default=None, alias="statusReason")
    secret: str | None = Field(default=None, description=_SECRET_DOC)


class SubscriptionInfo(_SubscriptionInfo):
    subscription_id: str = Field(alias="subscriptionId")


class AlarmSubscriptionInfo(_SubscriptionInfo):
    alarm_subscription_id: str = Field(alias="alarmSubscriptionId")


class DeploymentSubscriptionInfo(_SubscriptionInfo):
    subscription_id: str = Field(alias="subscriptionId")
    event_types: list[DmsEventType] | None = Field(default=None, alias="eventTypes")


@dataclass(frozen=True)
class Surface:
    kind: SubscriptionKind
    collections: tuple[str, ...]
    id_name: str
    read: Scope
    write: Scope
    body: type[_SubscriptionBody]
    response: type[WireModel]
    label: str


SURFACES = (
    Surface(
        SubscriptionKind.INVENTORY,
        tuple(f"{root}/subscriptions" for root in (V1_ROOT, SHORT_ROOT, V2_ROOT)),
        "subscriptionId",
        Scope.IMS_READ,
        Scope.IMS_SUBSCRIBE,
        InventorySubscriptionRequest,
        SubscriptionInfo,
        "inventory subscription",
    ),
    Surface(
        SubscriptionKind.ALARM,
        ("/o2ims-infrastructureMonitoring/v1/alarmSubscriptions",),
        "alarmSubscriptionId",
        Scope.IMS_READ,
        Scope.IMS_SUBSCRIBE,
        AlarmSubscriptionRequest,
        AlarmSubscriptionInfo,
        "alarm subscription",
    ),
    Surface(
        SubscriptionKind.DMS,
        ("/o2dms/v1/subscriptions",),
        "subscriptionId",
        Scope.DMS_READ,
        Scope.DMS_WRITE,
        DeploymentSubscriptionRequest,
        DeploymentSubscriptionInfo,
        "deployment subscription",
    ),
)


def _callback_ports() -> service.CallbackPorts:
    return ports().callback_ports()


def _new_subscription(kind: SubscriptionKind, body: _SubscriptionBody, collection: str) -> service.NewSubscription:
    from chalicelib.services import subscriptions as service

    access = current_access()
    event_types = getattr(body, "event_types", None)
    return service.NewSubscription(
        kind=kind,
        callback=body.callback,
        consumer_subscription_id=body.consumer_subscription_id,
        filter=object_filter(kind, body.filter) if isinstance(body.filter, dict) else body.filter,
        event_types=[t.value for t in event_types] if event_types is not None else None,
        owner=access.tenant,
        all_tenants=access.is_admin,
        # v1 stays unrecorded: the records made before v2 existed read the same
        api_version=InventoryVersion.V2.value if collection.startswith(f"{V2_ROOT}/") else None,
    )


def _register(surface: Surface, collection: str) -> None:
    kind, label, item = surface.kind, surface.label, f"{collection}/{{{surface.id_name}}}"

    @router.route(
        collection,
        "GET",
        summary=f"List {label}s",
        scope=surface.read,
        query=ListQuery,
        response=surface.response,
        collection=True,
    )
    def list_all(query: ListQuery) -> Response:
        from chalicelib.services import subscriptions as service
        from chalicelib.services.paging import ListRequest

        request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
        page = service.list_subscriptions(ports().subscription_store, kind, request, access=current_access())
        return page_response(blueprint.current_request, page)

    @router.route(
        collection,
        "POST",
        summary=f"Create a {label}; the answer carries the signing secret, once",
        scope=surface.write,
        body=surface.body,
        response=surface.response,
        status=201,
    )
    def create(body: _SubscriptionBody) -> Response:
        from chalicelib.services import subscriptions as service

        created = service.create_subscription(
            ports().subscription_store, _new_subscription(kind, body, collection), _callback_ports(),
            max_per_owner=ports().settings.limits.max_subscriptions_per_client,
        )
        location = f"{collection}/{created[surface.id_name]}"
        return Response(
            body=created, status_code=201, headers={"Location": location, "Content-Type": "application/json"}
        )

    @router.route(
        item,
        "GET",
        summary=f"One {label}",
        scope=surface.read,
        query=SelectorQuery,
        response=surface.response,
        responses=(404,),
    )
    def get_one(query: SelectorQuery, **path: str) -> dict[str, Any]:
        from chalicelib.services import subscriptions as service

        return service.get_subscription(ports().subscription_store, kind, path[surface.id_name], query.selection(),
                                        access=current_access())

    @router.route(item, "DELETE", summary=f"Delete a {label}", scope=surface.write, responses=(404,))
    def delete(**path: str) -> Response:
        from chalicelib.services import subscriptions as service

        service.delete_subscription(ports().subscription_store, kind, path[surface.id_name], access=current_access())
        return Response(body="", status_code=200)  # the reference answers 200 without content


for _surface in SURFACES:
    for _collection in _surface.collections:
        _register(_surface, _collection)
