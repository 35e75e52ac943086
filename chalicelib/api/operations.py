"""Operator endpoints. Scope `netweave:operate`: dead deliveries, their replay, and a subscription's attempt log (the
same functions back `python -m devtools.deliveries`). Scope `netweave:admin`: assigning records to tenants and
recounting the per-tenant subscription quota (docs/o2-conventions.md §6, "Tenancy")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib import resources
from chalicelib.api.ports import ports
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.errors import BadRequest, NotFound
from chalicelib.domain.tenancy import MAX_TENANT_LENGTH

if TYPE_CHECKING:  # views import the service when called
    from chalicelib.services.ownership import OwnershipPorts

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="operations")


class DeadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    limit: int = Field(default=50, ge=1, le=500)


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    notification_ids: list[str] | None = Field(default=None, alias="notificationIds", max_length=1000)
    all: bool = False


class AttemptsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    limit: int = Field(default=100, ge=1, le=1000)


class AssignOwnerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    owner: str = Field(min_length=1, max_length=MAX_TENANT_LENGTH, strict=True,
                       description="the tenant (value of the tenant claim) the record now belongs to")

    @field_validator("owner")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a tenant")
        return value


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}  # never emit null


@router.route("/ops/deliveries/dead", "GET", summary="Notifications that could not be delivered", scope=Scope.OPERATE,
              query=DeadQuery)
def dead_deliveries(query: DeadQuery) -> list[dict[str, Any]]:
    from chalicelib.services import dead_letters  # views import the service when called

    url = ports().queue_url(resources.DELIVERIES, dead_letter=True)
    return [_plain(item) for item in dead_letters.list_dead(ports().clients.sqs, url, query.limit)]


@router.route("/ops/deliveries/dead/replay", "POST", summary="Send dead notifications again", scope=Scope.OPERATE,
              body=ReplayRequest)
def replay_dead(body: ReplayRequest) -> dict[str, Any]:
    from chalicelib.services import dead_letters

    if body.all == (body.notification_ids is not None):
        raise BadRequest("give either notificationIds or \"all\": true")
    return dead_letters.replay(
        ports().clients.sqs, ports().queue_url(resources.DELIVERIES, dead_letter=True),
        ports().queue_url(resources.DELIVERIES), body.notification_ids,
    )


@router.route("/ops/subscriptions/{subscriptionId}/deliveries", "GET", summary="A subscription's delivery attempts",
              scope=Scope.OPERATE, query=AttemptsQuery, responses=(404,))
def delivery_attempts(subscriptionId: str, query: AttemptsQuery) -> list[dict[str, Any]]:
    if ports().subscription_store.get(subscriptionId) is None:
        raise NotFound(f"no subscription with id '{subscriptionId}'")
    return [_plain(a.to_plain()) for a in ports().delivery_log.attempts(subscriptionId, query.limit)]


_OWNED_KINDS = ("subscription", "deployment", "package")


def _ownership_ports() -> OwnershipPorts:
    from chalicelib.services.ownership import OwnershipPorts

    return OwnershipPorts(ports().subscription_store, ports().deployment_store, ports().package_store)


@router.route("/ops/owners/{kind}/{recordId}", "PUT", summary="Assign a subscription, deployment or package to a "
              "tenant", scope=Scope.ADMIN, body=AssignOwnerRequest, responses=(400, 404, 409))
def assign_owner(kind: str, recordId: str, body: AssignOwnerRequest) -> dict[str, Any]:
    from chalicelib.services import ownership

    if kind not in _OWNED_KINDS:
        raise BadRequest(f"kind: '{kind[:40]}' is not one of {', '.join(_OWNED_KINDS)}")
    return ownership.assign_owner(_ownership_ports(), ownership.OwnedKind(kind), recordId, body.owner)


@router.route("/ops/owners/recount", "POST", summary="Rebuild every tenant's subscription count (quota backfill)",
              scope=Scope.ADMIN)
def recount_owners() -> dict[str, Any]:
    from chalicelib.services import ownership

    return ownership.recount_subscriptions(_ownership_ports())
