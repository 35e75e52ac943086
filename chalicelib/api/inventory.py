"""O2ims Infrastructure Inventory service (`/o2ims-infrastructureInventory/v1`, and the seed short form `/o2ims/v1`)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import config
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.request_info import api_root
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.models import CloudInfo
from chalicelib.services.ocloud import describe_ocloud

INVENTORY_ROOT = "/o2ims-infrastructureInventory/v1"
SHORT_ROOT = "/o2ims/v1"

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="inventory")


def _cloud_info(query: SelectorQuery) -> dict[str, Any]:
    o_cloud = config.get_settings().gateway.o_cloud
    return describe_ocloud(o_cloud, api_root(blueprint.current_request), query.selection())


@router.route(
    INVENTORY_ROOT, "GET", summary="The O-Cloud", scope=Scope.IMS_READ, query=SelectorQuery, response=CloudInfo
)
def cloud_info(query: SelectorQuery) -> dict[str, Any]:
    return _cloud_info(query)


@router.route(
    SHORT_ROOT, "GET", summary="The O-Cloud (short form)", scope=Scope.IMS_READ, query=SelectorQuery, response=CloudInfo
)
def cloud_info_short(query: SelectorQuery) -> dict[str, Any]:
    return _cloud_info(query)
