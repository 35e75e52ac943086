"""O2ims Infrastructure Inventory service: `/o2ims-infrastructureInventory/v1`, the seed short form `/o2ims/v1`, and
`/o2ims-infrastructureInventory/v2`. One route table, registered once per root; what differs between the versions'
models is `inventory_versions.shape` (docs/o2-conventions.md "Versions")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib.api.auth import current_principal, require_scope
from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.request_info import api_root
from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.inventory import (
    AlarmDictionary,
    DeploymentManager,
    Location,
    ObjectType,
    OCloudSite,
    Resource,
    ResourceType,
)
from chalicelib.domain.inventory_versions import SHORT_ROOT, InventoryVersion, pool_model, shape
from chalicelib.domain.models import CloudInfo
from chalicelib.domain.selectors import Selection

INVENTORY_ROOT = InventoryVersion.V1.root
ROOTS: dict[str, InventoryVersion] = {
    INVENTORY_ROOT: InventoryVersion.V1, SHORT_ROOT: InventoryVersion.V1, InventoryVersion.V2.root: InventoryVersion.V2,
}

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="inventory")


class DeploymentManagerQuery(SelectorQuery):
    profile: str | None = None


def _lister(version: InventoryVersion) -> Callable[..., Response]:
    def _list(object_type: ObjectType, query: ListQuery, parent_key: str | None = None,
              when_empty: Callable[[], object] | None = None) -> Response:
        from chalicelib.services.inventory_query import ListRequest, list_objects  # views import services when called
        from chalicelib.services.paging import Page

        request = ListRequest(
            object_type, query.selection(), query.page_size(), query.parsed_filter(), query.marker(), parent_key,
            codec=marker_codec(),
        )
        page = list_objects(ports().inventory_store, request)
        if not page.items and when_empty is not None:
            when_empty()
        shaped = Page([shape(version, object_type.value, item) for item in page.items], page.next_marker)
        return page_response(blueprint.current_request, shaped)

    return _list


def _getter(version: InventoryVersion) -> Callable[..., Any]:
    def _get(object_type: ObjectType, object_id: str, selection: Selection, parent_key: str | None = None) -> Any:
        from chalicelib.services.inventory_query import get_object

        found = get_object(ports().inventory_store, object_type, object_id, selection, parent_key)
        return shape(version, object_type.value, found)

    return _get


def _register(root: str, version: InventoryVersion) -> None:
    short = " (short form)" if root == SHORT_ROOT else f" ({version.value})"
    read = Scope.IMS_READ
    _list, _get = _lister(version), _getter(version)

    @router.route(root, "GET", summary=f"The O-Cloud{short}", scope=read, query=SelectorQuery, response=CloudInfo)
    def cloud_info(query: SelectorQuery) -> dict[str, Any]:
        from chalicelib.services.ocloud import describe_ocloud

        o_cloud = ports().settings.gateway.o_cloud
        return describe_ocloud(o_cloud, api_root(blueprint.current_request), query.selection())

    @router.route(
        f"{root}/resourceTypes",
        "GET",
        summary=f"Resource types{short}",
        scope=read,
        query=ListQuery,
        response=ResourceType,
        collection=True,
    )
    def resource_types(query: ListQuery) -> Response:
        return _list(ObjectType.RESOURCE_TYPE, query)

    @router.route(
        f"{root}/resourceTypes/{{resourceTypeId}}",
        "GET",
        summary=f"One resource type{short}",
        scope=read,
        query=SelectorQuery,
        response=ResourceType,
        responses=(404,),
    )
    def resource_type(resourceTypeId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.RESOURCE_TYPE, resourceTypeId, query.selection())

    @router.route(
        f"{root}/resourceTypes/{{resourceTypeId}}/alarmDictionary",
        "GET",
        scope=read,
        query=SelectorQuery,
        summary=f"The alarm dictionary of a resource type{short}",
        response=AlarmDictionary,
        responses=(404,),
    )
    def resource_type_alarm_dictionary(resourceTypeId: str, query: SelectorQuery) -> Any:
        from chalicelib.services import deployment_managers

        return deployment_managers.alarm_dictionary_of_type(ports().inventory_store, resourceTypeId, query.selection())

    @router.route(
        f"{root}/resourcePools",
        "GET",
        summary=f"Resource pools{short}",
        scope=read,
        query=ListQuery,
        response=pool_model(version),
        collection=True,
    )
    def resource_pools(query: ListQuery) -> Response:
        return _list(ObjectType.RESOURCE_POOL, query)

    @router.route(
        f"{root}/resourcePools/{{resourcePoolId}}",
        "GET",
        summary=f"One resource pool{short}",
        scope=read,
        query=SelectorQuery,
        response=pool_model(version),
        responses=(404,),
    )
    def resource_pool(resourcePoolId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.RESOURCE_POOL, resourcePoolId, query.selection())

    @router.route(
        f"{root}/resourcePools/{{resourcePoolId}}/resources",
        "GET",
        summary=f"A pool's resources{short}",
        scope=read,
        query=ListQuery,
        response=Resource,
        collection=True,
        responses=(404,),
    )
    def resources(resourcePoolId: str, query: ListQuery) -> Response:
        # 404 for an unknown pool, not an empty list. The poll stores resources with their pool, so a page that has
        # resources shows the pool exists: only an empty page pays the pool's read (docs/performance.md).
        return _list(ObjectType.RESOURCE, query, parent_key=resourcePoolId,
                     when_empty=lambda: _get(ObjectType.RESOURCE_POOL, resourcePoolId, Selection()))

    @router.route(
        f"{root}/resourcePools/{{resourcePoolId}}/resources/{{resourceId}}",
        "GET",
        scope=read,
        summary=f"One resource{short}",
        query=SelectorQuery,
        response=Resource,
        responses=(404,),
    )
    def resource(resourcePoolId: str, resourceId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.RESOURCE, resourceId, query.selection(), parent_key=resourcePoolId)

    @router.route(
        f"{root}/deploymentManagers",
        "GET",
        summary=f"Deployment managers{short}",
        scope=read,
        query=ListQuery,
        response=DeploymentManager,
        collection=True,
    )
    def managers(query: ListQuery) -> Response:
        return _list(ObjectType.DEPLOYMENT_MANAGER, query)

    @router.route(
        f"{root}/deploymentManagers/{{deploymentManagerId}}",
        "GET",
        scope=read,
        summary=f"One deployment manager; ?profile=native_k8sapi adds cluster access data{short}",
        query=DeploymentManagerQuery,
        response=DeploymentManager,
        responses=(404,),
    )
    def manager(deploymentManagerId: str, query: DeploymentManagerQuery) -> Any:
        from chalicelib.services import deployment_managers

        if query.profile is not None:  # credentials: only for callers allowed to deploy (docs/o2-conventions.md §5)
            require_scope(current_principal(), Scope.DMS_DEPLOY)
        return deployment_managers.describe(
            ports().inventory_store, ports().ims_registry, deploymentManagerId, query.selection(), query.profile
        )

    @router.route(
        f"{root}/alarmDictionaries",
        "GET",
        summary=f"Alarm dictionaries{short}",
        scope=read,
        query=ListQuery,
        response=AlarmDictionary,
        collection=True,
    )
    def alarm_dictionaries(query: ListQuery) -> Response:
        return _list(ObjectType.ALARM_DICTIONARY, query)

    @router.route(
        f"{root}/alarmDictionaries/{{alarmDictionaryId}}",
        "GET",
        summary=f"One alarm dictionary{short}",
        scope=read,
        query=SelectorQuery,
        response=AlarmDictionary,
        responses=(404,),
    )
    def alarm_dictionary(alarmDictionaryId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.ALARM_DICTIONARY, alarmDictionaryId, query.selection())


    @router.route(
        f"{root}/locations",
        "GET",
        summary=f"Locations of the O-Cloud's sites{short}",
        scope=read,
        query=ListQuery,
        response=Location,
        collection=True,
    )
    def locations(query: ListQuery) -> Response:
        return _list(ObjectType.LOCATION, query)

    @router.route(
        f"{root}/locations/{{globalLocationId}}",
        "GET",
        summary=f"One location{short}",
        scope=read,
        query=SelectorQuery,
        response=Location,
        responses=(404,),
    )
    def location(globalLocationId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.LOCATION, unquote(globalLocationId), query.selection())

    @router.route(
        f"{root}/oCloudSites",
        "GET",
        summary=f"O-Cloud sites{short}",
        scope=read,
        query=ListQuery,
        response=OCloudSite,
        collection=True,
    )
    def sites(query: ListQuery) -> Response:
        return _list(ObjectType.O_CLOUD_SITE, query)

    @router.route(
        f"{root}/oCloudSites/{{oCloudSiteId}}",
        "GET",
        summary=f"One O-Cloud site{short}",
        scope=read,
        query=SelectorQuery,
        response=OCloudSite,
        responses=(404,),
    )
    def site(oCloudSiteId: str, query: SelectorQuery) -> Any:
        return _get(ObjectType.O_CLOUD_SITE, oCloudSiteId, query.selection())


for _root, _version in ROOTS.items():
    _register(_root, _version)
