"""O2ims Infrastructure Monitoring: alarms (list, get, acknowledge, clear), alarm subscriptions and the alarm service
configuration. Each operation is described once (`_Calls`); `Monitoring` and `AsyncMonitoring` only send it."""

from __future__ import annotations

from typing import Any, Unpack
from urllib.parse import quote

from netweave_client import _core as c
from netweave_client._core import Call
from netweave_client._engine import AsyncEngine, AsyncPager, Pager, SyncEngine
from netweave_client._queries import ItemQuery, ListQuery, params
from netweave_client.models import (
    AlarmEventRecord,
    AlarmEventRecordModifications,
    AlarmServiceConfiguration,
    AlarmServiceConfigurationUpdate,
    AlarmSubscriptionInfo,
    AlarmSubscriptionRequest,
    Severity,
)

ROOT = "/o2ims-infrastructureMonitoring/v1"
_MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _seg(value: str) -> str:
    return quote(value, safe="")


class _Calls:
    @staticmethod
    def alarms(q: ListQuery) -> Call[list[AlarmEventRecord]]:
        return Call("GET", f"{ROOT}/alarms", c.model_list(AlarmEventRecord), params(q))

    @staticmethod
    def alarm(alarm_id: str, q: ItemQuery) -> Call[AlarmEventRecord]:
        return Call("GET", f"{ROOT}/alarms/{_seg(alarm_id)}", c.model(AlarmEventRecord), params(q))

    @staticmethod
    def patch_alarm(alarm_id: str, change: AlarmEventRecordModifications) -> Call[AlarmEventRecordModifications]:
        return Call("PATCH", f"{ROOT}/alarms/{_seg(alarm_id)}", c.model(AlarmEventRecordModifications),
                    content=change.model_dump_json(by_alias=True, exclude_none=True).encode(), headers=_MERGE_PATCH)

    @staticmethod
    def subscriptions(q: ListQuery) -> Call[list[AlarmSubscriptionInfo]]:
        return Call("GET", f"{ROOT}/alarmSubscriptions", c.model_list(AlarmSubscriptionInfo), params(q))

    @staticmethod
    def subscription(subscription_id: str) -> Call[AlarmSubscriptionInfo]:
        return Call("GET", f"{ROOT}/alarmSubscriptions/{_seg(subscription_id)}", c.model(AlarmSubscriptionInfo))

    @staticmethod
    def subscribe(request: AlarmSubscriptionRequest) -> Call[AlarmSubscriptionInfo]:
        return Call("POST", f"{ROOT}/alarmSubscriptions", c.model(AlarmSubscriptionInfo), json=c.body(request))

    @staticmethod
    def unsubscribe(subscription_id: str) -> Call[None]:
        return Call("DELETE", f"{ROOT}/alarmSubscriptions/{_seg(subscription_id)}", c.nothing)

    @staticmethod
    def configuration() -> Call[AlarmServiceConfiguration]:
        return Call("GET", f"{ROOT}/alarmServiceConfiguration", c.model(AlarmServiceConfiguration))

    @staticmethod
    def configure(retention_period: int, extensions: dict[str, Any] | None) -> Call[AlarmServiceConfiguration]:
        """PUT replaces both members: `extensions` None sends `{}` (none)."""
        update = AlarmServiceConfigurationUpdate(retention_period=retention_period, extensions=extensions or {})
        return Call("PUT", f"{ROOT}/alarmServiceConfiguration", c.model(AlarmServiceConfiguration),
                    json=c.body(update))


ACKNOWLEDGE = AlarmEventRecordModifications(alarm_acknowledged=True)
CLEAR = AlarmEventRecordModifications(perceived_severity=Severity.CLEARED)


def subscription_request(callback: str, filter: str | None, consumer_subscription_id: str | None
                         ) -> AlarmSubscriptionRequest:
    return AlarmSubscriptionRequest(callback=callback, filter=filter,
                                    consumer_subscription_id=consumer_subscription_id)


class Monitoring:
    """`client.alarms`: blocking."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine

    def list(self, **q: Unpack[ListQuery]) -> Pager[AlarmEventRecord]:
        return Pager(self._e, _Calls.alarms(q))

    def get(self, alarm_event_record_id: str, **q: Unpack[ItemQuery]) -> AlarmEventRecord:
        return self._e.run(_Calls.alarm(alarm_event_record_id, q))

    def acknowledge(self, alarm_event_record_id: str) -> AlarmEventRecordModifications:
        """409 Conflict if it is already acknowledged or cleared."""
        return self._e.run(_Calls.patch_alarm(alarm_event_record_id, ACKNOWLEDGE))

    def clear(self, alarm_event_record_id: str) -> AlarmEventRecordModifications:
        return self._e.run(_Calls.patch_alarm(alarm_event_record_id, CLEAR))

    def subscriptions(self, **q: Unpack[ListQuery]) -> Pager[AlarmSubscriptionInfo]:
        return Pager(self._e, _Calls.subscriptions(q))

    def subscription(self, alarm_subscription_id: str) -> AlarmSubscriptionInfo:
        return self._e.run(_Calls.subscription(alarm_subscription_id))

    def subscribe(self, callback: str, *, filter: str | None = None, consumer_subscription_id: str | None = None
                  ) -> AlarmSubscriptionInfo:
        return self._e.run(_Calls.subscribe(subscription_request(callback, filter, consumer_subscription_id)))

    def unsubscribe(self, alarm_subscription_id: str) -> None:
        self._e.run(_Calls.unsubscribe(alarm_subscription_id))

    def configuration(self) -> AlarmServiceConfiguration:
        return self._e.run(_Calls.configuration())

    def configure(self, retention_period: int,
                  extensions: dict[str, Any] | None = None) -> AlarmServiceConfiguration:
        return self._e.run(_Calls.configure(retention_period, extensions))


class AsyncMonitoring:
    """`client.alarms` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine

    def list(self, **q: Unpack[ListQuery]) -> AsyncPager[AlarmEventRecord]:
        return AsyncPager(self._e, _Calls.alarms(q))

    async def get(self, alarm_event_record_id: str, **q: Unpack[ItemQuery]) -> AlarmEventRecord:
        return await self._e.run(_Calls.alarm(alarm_event_record_id, q))

    async def acknowledge(self, alarm_event_record_id: str) -> AlarmEventRecordModifications:
        return await self._e.run(_Calls.patch_alarm(alarm_event_record_id, ACKNOWLEDGE))

    async def clear(self, alarm_event_record_id: str) -> AlarmEventRecordModifications:
        return await self._e.run(_Calls.patch_alarm(alarm_event_record_id, CLEAR))

    def subscriptions(self, **q: Unpack[ListQuery]) -> AsyncPager[AlarmSubscriptionInfo]:
        return AsyncPager(self._e, _Calls.subscriptions(q))

    async def subscription(self, alarm_subscription_id: str) -> AlarmSubscriptionInfo:
        return await self._e.run(_Calls.subscription(alarm_subscription_id))

    async def subscribe(self, callback: str, *, filter: str | None = None,
                        consumer_subscription_id: str | None = None) -> AlarmSubscriptionInfo:
        request = subscription_request(callback, filter, consumer_subscription_id)
        return await self._e.run(_Calls.subscribe(request))

    async def unsubscribe(self, alarm_subscription_id: str) -> None:
        await self._e.run(_Calls.unsubscribe(alarm_subscription_id))

    async def configuration(self) -> AlarmServiceConfiguration:
        return await self._e.run(_Calls.configuration())

    async def configure(self, retention_period: int,
                        extensions: dict[str, Any] | None = None) -> AlarmServiceConfiguration:
        return await self._e.run(_Calls.configure(retention_period, extensions))
