"""Package events (docs/dms.md, "Events"): who hears `PackageCreated`/`PackageDeleted`, filtered how, in what shape."""

from __future__ import annotations

from chalicelib.domain.deployments import DeploymentEventType
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource
from chalicelib.domain.package_events import PackageEventType, package_event
from chalicelib.domain.packages import DeploymentPackage, PackageType
from chalicelib.domain.subscriptions import DeliveryMessage, Subscription, SubscriptionKind
from chalicelib.services.fan_out import fan_out
from chalicelib.services.subscriptions import checked_filter, wire_form
from tests.unit.test_fan_out import Queue, Subscriptions

VDU = DeploymentPackage(package_id="pkg-1", name="vdu", version="1.2.0", uploaded_at="2026-12-07T10:00:00Z",
                        source="upload", checksum="sha256:" + "a" * 64, size=1234, owner="operator-a")
REPO = DeploymentPackage(package_id="pkg-2", name="vcu", version="2.0.0", uploaded_at="2026-12-07T10:00:00Z",
                         source="https://charts.example", package_type=PackageType.HELM_REPO,
                         repository_url="https://charts.example", chart="vcu", owner="operator-a")
AT = "2026-12-07T10:00:01.000Z"


def dms_subscription(sid: str, event_types: list[str] | None = None, flt: str | None = None,
                     owner: str = "operator-a", admin: bool = False) -> Subscription:
    """Stored exactly as the subscription service stores it: `eventTypes` folded into the filter."""
    return Subscription(subscription_id=sid, kind=SubscriptionKind.DMS, callback=f"https://smo.example/{sid}",
                        filter=checked_filter(SubscriptionKind.DMS, flt, event_types), secret="whsec_x",
                        created_at="2026-12-07T09:00:00Z", owner=owner, all_tenants=admin,
                        consumer_subscription_id=f"consumer-{sid}")


def created(package: DeploymentPackage = VDU, shared: bool = True) -> ChangeEvent:
    return package_event(package, PackageEventType.CREATED, shared=shared, at=AT)


def deleted(package: DeploymentPackage = VDU, shared: bool = True) -> ChangeEvent:
    return package_event(package, PackageEventType.DELETED, shared=shared, at=AT)


def deployment_ready() -> ChangeEvent:
    return ChangeEvent(event_id="d1", source=EventSource.DMS, object_type="Deployment", object_id="dep-1",
                       event_type=ChangeType.MODIFIED, backend="helm", prior={"deploymentId": "dep-1"},
                       post={"deploymentId": "dep-1", "name": "vdu-site-1", "status": "deployed"}, at=AT,
                       detail_type=DeploymentEventType.READY.value, owner="operator-a")


def run(events: list[ChangeEvent], *subscriptions: Subscription) -> list[DeliveryMessage]:
    queue = Queue()
    fan_out(events, Subscriptions(*subscriptions), queue, "global-1")
    return queue.sent


def heard(deliveries: list[DeliveryMessage], sid: str) -> list[str]:
    return [d.payload["eventType"] for d in deliveries if d.subscription_id == sid]


def test_only_subscriptions_that_name_a_package_event_receive_it() -> None:
    everything = dms_subscription("everything")  # made before package events existed: no eventTypes
    creations = dms_subscription("creations", ["PackageCreated"])
    both = dms_subscription("both", ["PackageCreated", "PackageDeleted", "DeploymentReady"])
    sent = run([created(), deleted(), deployment_ready()], everything, creations, both)
    assert heard(sent, "everything") == ["DeploymentReady"]
    assert heard(sent, "creations") == ["PackageCreated"]
    assert heard(sent, "both") == ["PackageCreated", "PackageDeleted", "DeploymentReady"]


def test_package_events_filter_on_name_version_and_type() -> None:
    by_name = dms_subscription("name", ["PackageCreated"], "(eq,name,vdu)")
    by_version = dms_subscription("version", ["PackageCreated"], "(eq,version,2.0.0)")
    by_type = dms_subscription("type", ["PackageCreated"], "(eq,packageType,helm-repo)")
    sent = run([created(VDU), created(REPO)], by_name, by_version, by_type)
    assert [d.payload["packageId"] for d in sent if d.subscription_id == "name"] == ["pkg-1"]
    assert [d.payload["packageId"] for d in sent if d.subscription_id == "version"] == ["pkg-2"]
    assert [d.payload["packageId"] for d in sent if d.subscription_id == "type"] == ["pkg-2"]


def test_a_shared_catalogue_package_reaches_every_tenant_a_private_one_only_its_owner_and_admins() -> None:
    owner = dms_subscription("owner", ["PackageCreated"], owner="operator-a")
    other = dms_subscription("other", ["PackageCreated"], owner="operator-b")
    admin = dms_subscription("admin", ["PackageCreated"], owner="ops", admin=True)
    shared = run([created(shared=True)], owner, other, admin)
    private = run([created(shared=False)], owner, other, admin)
    assert sorted(d.subscription_id for d in shared) == ["admin", "other", "owner"]
    assert sorted(d.subscription_id for d in private) == ["admin", "owner"]


def test_notifications_carry_the_package_as_a_get_shows_it() -> None:
    subscription = dms_subscription("s", ["PackageCreated", "PackageDeleted"])
    on_create, on_delete = (d.payload for d in run([created(), deleted()], subscription))
    assert on_create["eventType"] == "PackageCreated" and on_create["packageId"] == "pkg-1"
    assert on_create["objectRef"] == "/o2dms/v1/deploymentPackages/pkg-1"
    assert on_create["deploymentPackage"] == VDU.to_wire() and "priorDeploymentPackage" not in on_create
    assert on_create["consumerSubscriptionId"] == "consumer-s" and on_create["timestamp"] == AT
    assert on_delete["priorDeploymentPackage"] == VDU.to_wire() and "deploymentPackage" not in on_delete
    assert "owner" not in on_create["deploymentPackage"], "the uploader's tenant is never shown"


def test_the_same_change_published_twice_is_one_notification() -> None:
    subscription = dms_subscription("s", ["PackageCreated"])
    first, again = run([created()], subscription), run([created()], subscription)
    assert first[0].notification_id == again[0].notification_id
    assert created().event_id != deleted().event_id


def test_a_subscription_shows_the_package_event_types_it_asked_for() -> None:
    subscription = dms_subscription("s", ["PackageDeleted", "DeploymentFailed"], "(eq,name,vdu)")
    shown = wire_form(subscription)
    assert shown["eventTypes"] == ["DeploymentFailed", "PackageDeleted"]
    assert shown["filter"] == "(eq,name,vdu)"
