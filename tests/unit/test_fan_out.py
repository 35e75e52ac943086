"""fan_out: who gets which notification, in which exact shape (docs/o2-conventions.md §4)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionKind, notification_id
from chalicelib.services.fan_out import fan_out

POOL = {"resourcePoolId": "p1", "name": "far-edge-du", "description": "d", "oCloudId": "o",
        "globalLocationId": "g", "location": "l", "extensions": {}}
SERVER = {"resourceId": "r1", "resourcePoolId": "p1", "resourceTypeId": "t", "globalAssetId": "a",
          "description": "node", "elements": [{"resourceId": "c1"}], "tags": [], "groups": [], "extensions": {}}


class Subscriptions:
    def __init__(self, *subscriptions: Subscription) -> None:
        self.subscriptions = list(subscriptions)
        self.calls = 0

    def active(self, kinds: frozenset[SubscriptionKind]) -> list[Subscription]:
        self.calls += 1
        return [s for s in self.subscriptions if s.kind in kinds]


class Queue:
    def __init__(self) -> None:
        self.sent: list[DeliveryMessage] = []

    def enqueue(self, deliveries: list[DeliveryMessage]) -> int:
        self.sent.extend(deliveries)
        return len(deliveries)


def subscription(sid: str, kind: SubscriptionKind = SubscriptionKind.INVENTORY, flt: str | None = None,
                 consumer: str | None = None, owner: str | None = "smo", all_tenants: bool = False) -> Subscription:
    return Subscription(subscription_id=sid, kind=kind, callback=f"https://smo.example/{sid}", filter=flt,
                        consumer_subscription_id=consumer, secret="whsec_x", created_at="2026-01-01T00:00:00Z",
                        owner=owner, all_tenants=all_tenants)


def event(object_type: str, change: ChangeType, prior: dict[str, Any] | None, post: dict[str, Any] | None,
          eid: str = "e1", source: EventSource = EventSource.IMS, detail: str | None = None,
          owner: str | None = "smo") -> ChangeEvent:
    """`owner`: the tenant of a DMS event's deployment (the subscriptions' own, "smo", unless a test says)."""
    object_id = (post or prior or {}).get("resourceId") or (post or prior or {}).get("resourcePoolId") or "x"
    return ChangeEvent(event_id=eid, source=source, object_type=object_type, object_id=object_id, event_type=change,
                       backend="k8s", prior=prior, post=post, at="2026-01-01T00:00:00Z", detail_type=detail,
                       owner=owner if source is EventSource.DMS else None)


def run(events: list[ChangeEvent], *subscriptions: Subscription, default_tenant: str | None = None
        ) -> list[DeliveryMessage]:
    queue = Queue()
    fan_out(events, Subscriptions(*subscriptions), queue, "global-1", default_tenant)
    return queue.sent


def test_create_modify_delete_notifications_have_the_o2_shape() -> None:
    sub = subscription("s1", consumer="smo-42")
    changed = {**SERVER, "description": "renamed"}
    created, modified, deleted = (
        run([event("ResourceInfo", ChangeType.CREATED, None, SERVER)], sub)[0].payload,
        run([event("ResourceInfo", ChangeType.MODIFIED, SERVER, changed)], sub)[0].payload,
        run([event("ResourceInfo", ChangeType.DELETED, changed, None)], sub)[0].payload,
    )
    assert created["notificationEventType"] == 0 and created["consumerSubscriptionId"] == "smo-42"
    assert created["objectRef"] == "/o2ims-infrastructureInventory/v1/resourcePools/p1/resources/r1"
    assert "priorObjectState" not in created and created["postObjectState"]["description"] == "node"
    assert "elements" not in created["postObjectState"]  # the same default representation a GET returns
    assert modified["notificationEventType"] == 1
    assert modified["priorObjectState"]["description"] == "node"
    assert modified["postObjectState"]["description"] == "renamed"
    assert deleted["notificationEventType"] == 2 and "objectRef" not in deleted and "postObjectState" not in deleted


def test_notification_ids_are_stable_per_event_and_subscription() -> None:
    sent = run([event("ResourcePoolInfo", ChangeType.CREATED, None, POOL)], subscription("a"), subscription("b"))
    assert [d.notification_id for d in sent] == [notification_id("e1", "a"), notification_id("e1", "b")]
    assert all(d.payload["notificationId"] == d.notification_id for d in sent)


def test_o2ims_filters_name_the_events_not_to_report() -> None:
    quiet_on_resources = subscription("s1", flt="(eq,objectType,ResourceInfo)")
    events = [event("ResourceInfo", ChangeType.CREATED, None, SERVER, "e1"),
              event("ResourcePoolInfo", ChangeType.CREATED, None, POOL, "e2")]
    assert [d.event_id for d in run(events, quiet_on_resources)] == ["e2"]
    quiet_on_du = subscription("s2", flt="(eq,name,far-edge-du)|(eq,objectType,ResourceInfo)")
    assert run(events, quiet_on_du) == []


def test_dms_filters_select_the_events_to_report() -> None:
    only_ready = subscription("d1", SubscriptionKind.DMS, flt="(eq,eventType,DeploymentReady)")
    deployment = {"deploymentId": "dep1", "namespace": "oran-du", "status": "deployed"}
    ready = event("Deployment", ChangeType.MODIFIED, deployment, deployment, "e1", EventSource.DMS, "DeploymentReady")
    scaled = event("Deployment", ChangeType.MODIFIED, deployment, deployment, "e2", EventSource.DMS,
                   "DeploymentScaled")
    sent = run([ready, scaled], only_ready)
    assert [d.payload["eventType"] for d in sent] == ["DeploymentReady"]
    assert sent[0].payload["deployment"]["namespace"] == "oran-du"


def test_subscriptions_only_see_events_of_their_kind_and_are_read_once_per_batch() -> None:
    subscriptions = Subscriptions(subscription("inv"), subscription("alarm", SubscriptionKind.ALARM))
    queue = Queue()
    events = [event("ResourcePoolInfo", ChangeType.CREATED, None, POOL, f"e{i}") for i in range(5)]
    fan_out(events, subscriptions, queue, "g")
    assert {d.subscription_id for d in queue.sent} == {"inv"} and len(queue.sent) == 5
    assert subscriptions.calls == 1


def test_alarm_notifications_carry_the_alarm_fields_and_event_type() -> None:
    record = {"alarmEventRecordId": "a1", "resourceTypeID": "t", "resourceID": "r", "alarmDefinitionID": "d",
              "probableCauseID": "p", "alarmRaisedTime": "2026-01-01T00:00:00Z",
              "alarmChangedTime": "2026-01-01T00:00:00Z", "alarmAcknowledged": False, "perceivedSeverity": 1,
              "extensions": {}}
    sub = subscription("al", SubscriptionKind.ALARM)
    raised = event("AlarmEventRecord", ChangeType.CREATED, None, record, "e1", EventSource.ALARM)
    cleared = event("AlarmEventRecord", ChangeType.MODIFIED, record, {**record, "perceivedSeverity": 5}, "e2",
                    EventSource.ALARM)
    acked = event("AlarmEventRecord", ChangeType.MODIFIED, record, {**record, "alarmAcknowledged": True}, "e3",
                  EventSource.ALARM)
    payloads = [d.payload for d in run([raised, cleared, acked], sub)]
    assert [p["notificationEventType"] for p in payloads] == [0, 2, 3]
    assert payloads[0]["globalCloudID"] == "global-1"
    assert payloads[0]["objectRef"] == "/o2ims-infrastructureMonitoring/v1/alarms/x"
    assert payloads[0]["alarmDefinitionID"] == "d"


def test_credentials_never_reach_a_notification() -> None:
    manager = {"deploymentManagerId": "dm", "name": "c", "description": "d", "oCloudId": "o", "serviceUri": "u",
               "extensions": {"profileData": {"admin_client_key": "SECRET"}, "x": 1}}
    sent = run([event("DeploymentManagerInfo", ChangeType.CREATED, None, manager)], subscription("s"))
    assert "SECRET" not in str(sent[0].payload)


def test_a_subscription_hears_only_changes_detected_after_it_was_created() -> None:
    """Issue 16: the first poll's creates for a site that existed all along, still queued when an SMO subscribes,
    are not news to that subscription; a later change is, and so is one detected in the same instant."""
    def at(eid: str, change: ChangeType, when: str) -> ChangeEvent:
        return event("ResourceInfo", change, None, SERVER, eid=eid).model_copy(update={"at": when})

    early = at("e1", ChangeType.CREATED, "2026-01-01T09:59:59.999Z")
    same = at("e2", ChangeType.MODIFIED, "2026-01-01T10:00:00Z")
    later = at("e3", ChangeType.MODIFIED, "2026-01-01T10:00:00.001+00:00")
    sub = subscription("s1").model_copy(update={"created_at": "2026-01-01T10:00:00.000Z"})
    assert [d.event_id for d in run([early, same, later], sub)] == ["e2", "e3"]
    older_sub = subscription("s0")  # created 2026-01-01T00:00:00Z: hears all three
    assert [d.event_id for d in run([early, same, later], older_sub)] == ["e1", "e2", "e3"]
