"""Resource pool management, a netweave extension on the seed's short form only (`/o2ims/v1/resourcePools`): the
standard Inventory path stays read-only (405), as the O2ims specification and its conformance tests require."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.auth import current_access
from chalicelib.api.ports import ports
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.inventory import ResourcePool

if TYPE_CHECKING:
    from chalicelib.services.resource_pools import PoolLimits

POOLS = "/o2ims/v1/resourcePools"

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="pool-management")


class PoolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=63)
    description: str | None = None
    location: str | None = None
    backend: str | None = Field(default=None, description="IMS adapter id (as extensions.imsAdapter); default: "
                                "the first matching routing.ims rule, else the default IMS backend")
    extensions: dict[str, Any] = Field(default_factory=dict, description="instanceType, replicas, cpuPinning, "
                                       "imsAdapter, clusterName, ...")


class PoolChange(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str | None = None
    location: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict, description="replicas, minSize, maxSize")


@router.route(POOLS, "POST", summary="Create a resource pool (netweave extension)", scope=Scope.IMS_WRITE,
              body=PoolCreate, response=ResourcePool, status=201, responses=(409, 422, 501))
def create_pool(body: PoolCreate) -> Response:
    from chalicelib.adapters.ims.port import PoolRequest  # views import the service when called
    from chalicelib.services import provisioning_shorthand as shorthand

    request = PoolRequest(name=body.name, location=body.location, replicas=body.extensions.get("replicas"),
                          instance_type=body.extensions.get("instanceType"), extensions=body.extensions)
    pool, request_id = shorthand.create_pool(ports().provisioning_ports(), current_access(), request, body.backend,
                                             _limits())
    headers = {"Location": f"{POOLS}/{pool['resourcePoolId']}"}
    if request_id is not None:  # the provisioning request recorded for it (docs/provisioning.md)
        headers["Link"] = f'<{shorthand.request_href(pool["resourcePoolId"])}>; rel="related"'
    return Response(body=pool, status_code=201, headers=headers)


@router.route(f"{POOLS}/{{resourcePoolId}}", "PATCH", summary="Resize a resource pool (netweave extension)",
              scope=Scope.IMS_WRITE, body=PoolChange, response=ResourcePool, responses=(404, 422, 501))
def resize_pool(resourcePoolId: str, body: PoolChange) -> dict[str, Any]:
    from chalicelib.services import provisioning_shorthand as shorthand

    return shorthand.resize_pool(ports().provisioning_ports(), resourcePoolId, body.model_dump(exclude_none=True),
                                 _limits())


@router.route(f"{POOLS}/{{resourcePoolId}}", "DELETE", summary="Delete a resource pool (netweave extension)",
              scope=Scope.IMS_WRITE, status=204, responses=(404, 409, 501))
def delete_pool(resourcePoolId: str) -> Response:
    from chalicelib.services import provisioning_shorthand as shorthand

    shorthand.delete_pool(ports().provisioning_ports(), resourcePoolId)
    return Response(body="", status_code=204)


def _limits() -> PoolLimits:
    from chalicelib.services.resource_pools import PoolLimits

    limits = ports().settings.limits
    return PoolLimits(limits.pool_max_replicas, frozenset(limits.pool_instance_types))
