"""O2ims Infrastructure Inventory: the O-Cloud, resource types, pools (with netweave's pool management), resources,
deployment managers, sites, locations, alarm dictionaries and inventory subscriptions.

Each operation is described once (`_calls`); `Inventory` and `AsyncInventory` only send it."""

from __future__ import annotations

from typing import Any, Unpack
from urllib.parse import quote

from netweave_client import _core as c
from netweave_client._core import Call
from netweave_client._engine import AsyncEngine, AsyncPager, Pager, SyncEngine
from netweave_client._queries import ItemQuery, ListQuery, params
from netweave_client.models import (
    AlarmDictionary,
    CloudInfo,
    DeploymentManager,
    InventorySubscriptionRequest,
    Location,
    OCloudSite,
    PoolChange,
    PoolCreate,
    Resource,
    ResourcePool,
    ResourceType,
    SubscriptionInfo,
)
from netweave_client.waiting import (
    Progress,
    WaitPlan,
    missing_as_none,
    missing_as_none_async,
    pool_gone,
    pool_ready,
    wait_async,
    wait_sync,
)

ROOT = "/o2ims-infrastructureInventory/v1"
POOLS_WRITE = "/o2ims/v1/resourcePools"  # pool management is served only on the short form (o2-conventions §7)


def _seg(value: str) -> str:
    return quote(value, safe="")


class _Calls:
    @staticmethod
    def ocloud() -> Call[CloudInfo]:
        return Call("GET", ROOT, c.model(CloudInfo))

    @staticmethod
    def resource_types(q: ListQuery) -> Call[list[ResourceType]]:
        return Call("GET", f"{ROOT}/resourceTypes", c.model_list(ResourceType), params(q))

    @staticmethod
    def resource_type(type_id: str, q: ItemQuery) -> Call[ResourceType]:
        return Call("GET", f"{ROOT}/resourceTypes/{_seg(type_id)}", c.model(ResourceType), params(q))

    @staticmethod
    def type_alarm_dictionary(type_id: str) -> Call[AlarmDictionary]:
        return Call("GET", f"{ROOT}/resourceTypes/{_seg(type_id)}/alarmDictionary", c.model(AlarmDictionary))

    @staticmethod
    def alarm_dictionaries(q: ListQuery) -> Call[list[AlarmDictionary]]:
        return Call("GET", f"{ROOT}/alarmDictionaries", c.model_list(AlarmDictionary), params(q))

    @staticmethod
    def alarm_dictionary(dictionary_id: str) -> Call[AlarmDictionary]:
        return Call("GET", f"{ROOT}/alarmDictionaries/{_seg(dictionary_id)}", c.model(AlarmDictionary))

    @staticmethod
    def pools(q: ListQuery) -> Call[list[ResourcePool]]:
        return Call("GET", f"{ROOT}/resourcePools", c.model_list(ResourcePool), params(q))

    @staticmethod
    def pool(pool_id: str, q: ItemQuery) -> Call[ResourcePool]:
        return Call("GET", f"{ROOT}/resourcePools/{_seg(pool_id)}", c.model(ResourcePool), params(q))

    @staticmethod
    def create_pool(request: PoolCreate) -> Call[ResourcePool]:
        return Call("POST", POOLS_WRITE, c.model(ResourcePool), json=c.body(request))

    @staticmethod
    def change_pool(pool_id: str, request: PoolChange) -> Call[ResourcePool]:
        return Call("PATCH", f"{POOLS_WRITE}/{_seg(pool_id)}", c.model(ResourcePool), json=c.body(request))

    @staticmethod
    def delete_pool(pool_id: str) -> Call[None]:
        return Call("DELETE", f"{POOLS_WRITE}/{_seg(pool_id)}", c.nothing)

    @staticmethod
    def resources(pool_id: str, q: ListQuery) -> Call[list[Resource]]:
        return Call("GET", f"{ROOT}/resourcePools/{_seg(pool_id)}/resources", c.model_list(Resource), params(q))

    @staticmethod
    def resource(pool_id: str, resource_id: str, q: ItemQuery) -> Call[Resource]:
        path = f"{ROOT}/resourcePools/{_seg(pool_id)}/resources/{_seg(resource_id)}"
        return Call("GET", path, c.model(Resource), params(q))

    @staticmethod
    def managers(q: ListQuery) -> Call[list[DeploymentManager]]:
        return Call("GET", f"{ROOT}/deploymentManagers", c.model_list(DeploymentManager), params(q))

    @staticmethod
    def manager(manager_id: str, profile: str | None, q: ItemQuery) -> Call[DeploymentManager]:
        query = {**params(q), **({"profile": profile} if profile else {})}
        return Call("GET", f"{ROOT}/deploymentManagers/{_seg(manager_id)}", c.model(DeploymentManager), query)

    @staticmethod
    def sites(q: ListQuery) -> Call[list[OCloudSite]]:
        return Call("GET", f"{ROOT}/oCloudSites", c.model_list(OCloudSite), params(q))

    @staticmethod
    def site(site_id: str) -> Call[OCloudSite]:
        return Call("GET", f"{ROOT}/oCloudSites/{_seg(site_id)}", c.model(OCloudSite))

    @staticmethod
    def locations(q: ListQuery) -> Call[list[Location]]:
        return Call("GET", f"{ROOT}/locations", c.model_list(Location), params(q))

    @staticmethod
    def location(global_location_id: str) -> Call[Location]:
        return Call("GET", f"{ROOT}/locations/{_seg(global_location_id)}", c.model(Location))

    @staticmethod
    def subscriptions(q: ListQuery) -> Call[list[SubscriptionInfo]]:
        return Call("GET", f"{ROOT}/subscriptions", c.model_list(SubscriptionInfo), params(q))

    @staticmethod
    def subscription(subscription_id: str) -> Call[SubscriptionInfo]:
        return Call("GET", f"{ROOT}/subscriptions/{_seg(subscription_id)}", c.model(SubscriptionInfo))

    @staticmethod
    def subscribe(request: InventorySubscriptionRequest) -> Call[SubscriptionInfo]:
        return Call("POST", f"{ROOT}/subscriptions", c.model(SubscriptionInfo), json=c.body(request))

    @staticmethod
    def unsubscribe(subscription_id: str) -> Call[None]:
        return Call("DELETE", f"{ROOT}/subscriptions/{_seg(subscription_id)}", c.nothing)


def pool_create(name: str, location: str | None, backend: str | None, description: str | None,
                extensions: dict[str, Any] | None) -> PoolCreate:
    return PoolCreate(name=name, location=location, backend=backend, description=description, extensions=extensions)


def subscription_request(callback: str, filter: str | None, consumer_subscription_id: str | None
                         ) -> InventorySubscriptionRequest:
    return InventorySubscriptionRequest(callback=callback, filter=filter,
                                        consumer_subscription_id=consumer_subscription_id)


class Inventory:
    """`client.inventory`: blocking."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine

    def ocloud(self) -> CloudInfo:
        return self._e.run(_Calls.ocloud())

    def resource_types(self, **q: Unpack[ListQuery]) -> Pager[ResourceType]:
        return Pager(self._e, _Calls.resource_types(q))

    def resource_type(self, resource_type_id: str, **q: Unpack[ItemQuery]) -> ResourceType:
        return self._e.run(_Calls.resource_type(resource_type_id, q))

    def resource_type_alarm_dictionary(self, resource_type_id: str) -> AlarmDictionary:
        return self._e.run(_Calls.type_alarm_dictionary(resource_type_id))

    def alarm_dictionaries(self, **q: Unpack[ListQuery]) -> Pager[AlarmDictionary]:
        return Pager(self._e, _Calls.alarm_dictionaries(q))

    def alarm_dictionary(self, alarm_dictionary_id: str) -> AlarmDictionary:
        return self._e.run(_Calls.alarm_dictionary(alarm_dictionary_id))

    def resource_pools(self, **q: Unpack[ListQuery]) -> Pager[ResourcePool]:
        return Pager(self._e, _Calls.pools(q))

    def resource_pool(self, resource_pool_id: str, **q: Unpack[ItemQuery]) -> ResourcePool:
        return self._e.run(_Calls.pool(resource_pool_id, q))

    def create_resource_pool(self, name: str, location: str | None = None, *, backend: str | None = None,
                             description: str | None = None, extensions: dict[str, Any] | None = None
                             ) -> ResourcePool:
        return self._e.run(_Calls.create_pool(pool_create(name, location, backend, description, extensions)))

    def resize_resource_pool(self, resource_pool_id: str, replicas: int) -> ResourcePool:
        return self._e.run(_Calls.change_pool(resource_pool_id, PoolChange(extensions={"replicas": replicas})))

    def update_resource_pool(self, resource_pool_id: str, change: PoolChange) -> ResourcePool:
        return self._e.run(_Calls.change_pool(resource_pool_id, change))

    def delete_resource_pool(self, resource_pool_id: str) -> None:
        self._e.run(_Calls.delete_pool(resource_pool_id))

    def wait_resource_pool(self, resource_pool_id: str, *, expect_nodes: int | None = None, deleted: bool = False,
                           timeout: float = 600, interval: float = 2,
                           progress: Progress[ResourcePool | None] | None = None) -> ResourcePool | None:
        """Until the pool is ready (with `expect_nodes` nodes, if given) or, with `deleted`, gone. Raises
        PoolFailed, WaitTimeout."""
        fetch = missing_as_none(lambda: self.resource_pool(resource_pool_id))
        done = pool_gone if deleted else pool_ready(expect_nodes)
        return wait_sync(fetch, done, f"resource pool {resource_pool_id}", WaitPlan(timeout, interval), progress,
                         self._e.sleep)

    def resources(self, resource_pool_id: str, **q: Unpack[ListQuery]) -> Pager[Resource]:
        return Pager(self._e, _Calls.resources(resource_pool_id, q))

    def resource(self, resource_pool_id: str, resource_id: str, **q: Unpack[ItemQuery]) -> Resource:
        return self._e.run(_Calls.resource(resource_pool_id, resource_id, q))

    def deployment_managers(self, **q: Unpack[ListQuery]) -> Pager[DeploymentManager]:
        return Pager(self._e, _Calls.managers(q))

    def deployment_manager(self, deployment_manager_id: str, *, profile: str | None = None,
                           **q: Unpack[ItemQuery]) -> DeploymentManager:
        return self._e.run(_Calls.manager(deployment_manager_id, profile, q))

    def sites(self, **q: Unpack[ListQuery]) -> Pager[OCloudSite]:
        return Pager(self._e, _Calls.sites(q))

    def site(self, o_cloud_site_id: str) -> OCloudSite:
        return self._e.run(_Calls.site(o_cloud_site_id))

    def locations(self, **q: Unpack[ListQuery]) -> Pager[Location]:
        return Pager(self._e, _Calls.locations(q))

    def location(self, global_location_id: str) -> Location:
        return self._e.run(_Calls.location(global_location_id))

    def subscriptions(self, **q: Unpack[ListQuery]) -> Pager[SubscriptionInfo]:
        return Pager(self._e, _Calls.subscriptions(q))

    def subscription(self, subscription_id: str) -> SubscriptionInfo:
        return self._e.run(_Calls.subscription(subscription_id))

    def subscribe(self, callback: str, *, filter: str | None = None, consumer_subscription_id: str | None = None
                  ) -> SubscriptionInfo:
        """The answer's `secret` (shown only here) verifies the notifications' signatures."""
        return self._e.run(_Calls.subscribe(subscription_request(callback, filter, consumer_subscription_id)))

    def unsubscribe(self, subscription_id: str) -> None:
        self._e.run(_Calls.unsubscribe(subscription_id))


class AsyncInventory:
    """`client.inventory` of AsyncClient: the same methods, awaited."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine

    async def ocloud(self) -> CloudInfo:
        return await self._e.run(_Calls.ocloud())

    def resource_types(self, **q: Unpack[ListQuery]) -> AsyncPager[ResourceType]:
        return AsyncPager(self._e, _Calls.resource_types(q))

    async def resource_type(self, resource_type_id: str, **q: Unpack[ItemQuery]) -> ResourceType:
        return await self._e.run(_Calls.resource_type(resource_type_id, q))

    async def resource_type_alarm_dictionary(self, resource_type_id: str) -> AlarmDictionary:
        return await self._e.run(_Calls.type_alarm_dictionary(resource_type_id))

    def alarm_dictionaries(self, **q: Unpack[ListQuery]) -> AsyncPager[AlarmDictionary]:
        return AsyncPager(self._e, _Calls.alarm_dictionaries(q))

    async def alarm_dictionary(self, alarm_dictionary_id: str) -> AlarmDictionary:
        return await self._e.run(_Calls.alarm_dictionary(alarm_dictionary_id))

    def resource_pools(self, **q: Unpack[ListQuery]) -> AsyncPager[ResourcePool]:
        return AsyncPager(self._e, _Calls.pools(q))

    async def resource_pool(self, resource_pool_id: str, **q: Unpack[ItemQuery]) -> ResourcePool:
        return await self._e.run(_Calls.pool(resource_pool_id, q))

    async def create_resource_pool(self, name: str, location: str | None = None, *, backend: str | None = None,
                                   description: str | None = None, extensions: dict[str, Any] | None = None
                                   ) -> ResourcePool:
        return await self._e.run(_Calls.create_pool(pool_create(name, location, backend, description, extensions)))

    async def resize_resource_pool(self, resource_pool_id: str, replicas: int) -> ResourcePool:
        change = PoolChange(extensions={"replicas": replicas})
        return await self._e.run(_Calls.change_pool(resource_pool_id, change))

    async def update_resource_pool(self, resource_pool_id: str, change: PoolChange) -> ResourcePool:
        return await self._e.run(_Calls.change_pool(resource_pool_id, change))

    async def delete_resource_pool(self, resource_pool_id: str) -> None:
        await self._e.run(_Calls.delete_pool(resource_pool_id))

    async def wait_resource_pool(self, resource_pool_id: str, *, expect_nodes: int | None = None,
                                 deleted: bool = False, timeout: float = 600, interval: float = 2,
                                 progress: Progress[ResourcePool | None] | None = None) -> ResourcePool | None:
        fetch = missing_as_none_async(lambda: self.resource_pool(resource_pool_id))
        done = pool_gone if deleted else pool_ready(expect_nodes)
        return await wait_async(fetch, done, f"resource pool {resource_pool_id}", WaitPlan(timeout, interval),
                                progress, self._e.sleep)

    def resources(self, resource_pool_id: str, **q: Unpack[ListQuery]) -> AsyncPager[Resource]:
        return AsyncPager(self._e, _Calls.resources(resource_pool_id, q))

    async def resource(self, resource_pool_id: str, resource_id: str, **q: Unpack[ItemQuery]) -> Resource:
        return await self._e.run(_Calls.resource(resource_pool_id, resource_id, q))

    def deployment_managers(self, **q: Unpack[ListQuery]) -> AsyncPager[DeploymentManager]:
        return AsyncPager(self._e, _Calls.managers(q))

    async def deployment_manager(self, deployment_manager_id: str, *, profile: str | None = None,
                                 **q: Unpack[ItemQuery]) -> DeploymentManager:
        return await self._e.run(_Calls.manager(deployment_manager_id, profile, q))

    def sites(self, **q: Unpack[ListQuery]) -> AsyncPager[OCloudSite]:
        return AsyncPager(self._e, _Calls.sites(q))

    async def site(self, o_cloud_site_id: str) -> OCloudSite:
        return await self._e.run(_Calls.site(o_cloud_site_id))

    def locations(self, **q: Unpack[ListQuery]) -> AsyncPager[Location]:
        return AsyncPager(self._e, _Calls.locations(q))

    async def location(self, global_location_id: str) -> Location:
        return await self._e.run(_Calls.location(global_location_id))

    def subscriptions(self, **q: Unpack[ListQuery]) -> AsyncPager[SubscriptionInfo]:
        return AsyncPager(self._e, _Calls.subscriptions(q))

    async def subscription(self, subscription_id: str) -> SubscriptionInfo:
        return await self._e.run(_Calls.subscription(subscription_id))

    async def subscribe(self, callback: str, *, filter: str | None = None,
                        consumer_subscription_id: str | None = None) -> SubscriptionInfo:
        request = subscription_request(callback, filter, consumer_subscription_id)
        return await self._e.run(_Calls.subscribe(request))

    async def unsubscribe(self, subscription_id: str) -> None:
        await self._e.run(_Calls.unsubscribe(subscription_id))
