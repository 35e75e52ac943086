"""Operator endpoints (scope `netweave:operate`): dead deliveries, their replay, and a subscription's attempt log.
The same functions back `python -m devtools.deliveries`."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib import resources
from chalicelib.api.ports import ports
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.errors import BadRequest, NotFound

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
