"""Subscription use cases with fakes for the store, the resolver and the prober: every rule a creation must pass,
the one-time secret, the DMS event-type encoding, reading, deleting and paging."""

from __future__ import annotations

import base64
import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from chalicelib.adapters.store.subscription_store import (
    DuplicateSubscription,
    SubscriptionQuotaExceeded,
    dedupe_key,
)
from chalicelib.domain.callback_policy import Callback, CallbackPolicy, CallbackRefused, IPAddress, parse_networks
from chalicelib.domain.errors import BadRequest, InvalidQuery, NotFound
from chalicelib.domain.paging import Marker, MarkerCodec, decode_marker
from chalicelib.domain.query import parse_filter, parse_subscription_filter
from chalicelib.domain.selectors import Selection
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind, SubscriptionStatus
from chalicelib.domain.tenancy import Access
from chalicelib.services.paging import ListRequest
from chalicelib.services.subscriptions import (
    CallbackPorts,
    NewSubscription,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    split_dms_filter,
)

INVENTORY, ALARM, DMS = SubscriptionKind.INVENTORY, SubscriptionKind.ALARM, SubscriptionKind.DMS
PUBLIC = "https://smo.example.com/notify"
CODEC = MarkerCodec(b"test marker key")
ADMIN = Access("operators", is_admin=True)  # these tests are about subscriptions, not tenancy: they see all
HOSTS = {
    "smo.example.com": ["93.184.215.14"],
    "inside.example.com": ["10.1.2.3"],
    "localhost": ["127.0.0.1", "::1"],
    "dual.example.com": ["93.184.215.14", "192.168.1.1"],
}


class FakeStore:
    """Dedupe, paging by id and kind, as SubscriptionStore does; no I/O."""

    def __init__(self) -> None:
        self.items: dict[str, Subscription] = {}
        self.markers: set[str] = set()

    def create(self, subscription: Subscription, max_per_owner: int | None = None) -> Subscription:
        if dedupe_key(subscription) in self.markers:
            raise DuplicateSubscription("duplicate")
        owned = sum(1 for s in self.items.values() if s.owner is not None and s.owner == subscription.owner)
        if max_per_owner is not None and subscription.owner is not None and owned >= max_per_owner:
            raise SubscriptionQuotaExceeded(f"quota exceeded: at most {max_per_owner} subscriptions per client")
        self.markers.add(dedupe_key(subscription))
        self.items[subscription.subscription_id] = subscription
        return subscription

    def get(self, subscription_id: str) -> Subscription | None:
        return self.items.get(subscription_id)

    def delete(self, subscription: Subscription) -> None:
        self.items.pop(subscription.subscription_id)
        self.markers.discard(dedupe_key(subscription))

    def page(
        self, kind: SubscriptionKind, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Subscription], dict[str, Any] | None]:
        after = start_key["subscriptionId"]["S"] if start_key else ""
        ids = sorted(i for i, s in self.items.items() if s.kind is kind and i > after)
        chosen = [self.items[i] for i in ids[:limit]]
        more = len(ids) > limit
        return chosen, (
            {"subscriptionId": {"S": chosen[-1].subscription_id}, "kind": {"S": kind.value}} if more else None
        )


class Prober:
    def __init__(self, failure: str | None = None) -> None:
        self.calls: list[tuple[str, list[IPAddress]]] = []
        self.failure = failure

    def __call__(self, callback: Callback, addresses: Sequence[IPAddress]) -> None:
        self.calls.append((callback.url, list(addresses)))
        if self.failure:
            raise CallbackRefused(self.failure)


def resolver(callback: Callback) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(callback.host.strip("[]"))]
    except ValueError:
        return [ipaddress.ip_address(a) for a in HOSTS.get(callback.host, [])]


def ports(probe: Prober | None = None, networks: str = "") -> CallbackPorts:
    return CallbackPorts(CallbackPolicy(allowed_networks=parse_networks(networks)), resolver, probe)


def create(
    store: FakeStore | None = None,
    kind: SubscriptionKind = INVENTORY,
    callback: str = PUBLIC,
    callbacks: CallbackPorts | None = None,
    **fields: Any,
) -> dict[str, Any]:
    request = NewSubscription(kind=kind, callback=callback, **fields)
    return create_subscription(store if store is not None else FakeStore(), request, callbacks or ports())


def refusal(error: type[Exception] = BadRequest, **arguments: Any) -> str:
    with pytest.raises(error) as caught:
        create(**arguments)
    return str(caught.value)


# --- creation --------------------------------------------------------------------------------------------------------


def test_creation_hands_the_quota_to_the_store_which_counts_per_owner() -> None:
    store = FakeStore()
    request = NewSubscription(kind=INVENTORY, callback=PUBLIC, owner="smo")
    create_subscription(store, request, ports(), max_per_owner=1)
    with pytest.raises(SubscriptionQuotaExceeded):
        create_subscription(store, NewSubscription(kind=ALARM, callback=PUBLIC, owner="smo"), ports(), max_per_owner=1)
    create_subscription(store, NewSubscription(kind=ALARM, callback=PUBLIC, owner="other"), ports(), max_per_owner=1)


def test_creation_assigns_a_uuid_and_answers_the_wire_form_with_the_secret_once() -> None:
    store = FakeStore()
    created = create(store, consumer_subscription_id="smo-1", filter="(eq,objectType,ResourceInfo)", owner="smo")
    identifier = created["subscriptionId"]
    assert uuid.UUID(identifier).version == 4
    assert created == {
        "subscriptionId": identifier,
        "callback": PUBLIC,
        "consumerSubscriptionId": "smo-1",
        "filter": "(eq,objectType,ResourceInfo)",
        "status": "active",
        "secret": created["secret"],
    }
    record = store.items[identifier]
    assert record.secret == created["secret"] and record.owner == "smo" and record.created_at
    shown = get_subscription(store, INVENTORY, identifier, access=ADMIN)
    assert "secret" not in shown and created["secret"] not in str(shown)
    listed = list_subscriptions(store, INVENTORY, ListRequest(Selection(), 10, codec=CODEC), access=ADMIN).items
    assert created["secret"] not in str(listed)


def test_the_secret_is_in_the_standard_webhooks_format_and_differs_per_subscription() -> None:
    store = FakeStore()
    first, second = create(store, callback=PUBLIC + "/1")["secret"], create(store, callback=PUBLIC + "/2")["secret"]
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_optional_fields_are_left_out_not_null() -> None:
    created = create()
    assert set(created) == {"subscriptionId", "callback", "status", "secret"}


def test_alarm_subscriptions_use_their_own_id_field() -> None:
    created = create(kind=ALARM, filter="(eq,perceivedSeverity,5)")
    assert "alarmSubscriptionId" in created and "subscriptionId" not in created


def test_a_duplicate_is_refused() -> None:
    store = FakeStore()
    create(store, filter="(eq,objectType,CloudInfo)", consumer_subscription_id="c")
    with pytest.raises(DuplicateSubscription):
        create(store, filter="(eq,objectType,CloudInfo)", consumer_subscription_id="c")
    create(store, filter="(eq,objectType,CloudInfo)", consumer_subscription_id="other")  # not a duplicate


def test_the_same_callback_may_serve_several_kinds() -> None:
    store = FakeStore()
    create(store, kind=INVENTORY)
    create(store, kind=ALARM)
    create(store, kind=DMS)


# --- callbacks -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("callback", "problem"),
    [
        ("", "absolute URL"),
        ("/notify", "scheme"),
        ("smo.example.com/notify", "scheme"),
        ("ftp://smo.example.com/notify", "scheme"),
        ("http://smo.example.com/notify", "scheme must be https"),
        ("https://user:pw@smo.example.com/notify", "credentials"),
        ("https://smo.example.com/notify#x", "fragment"),
        ("https:///notify", "no host"),
        ("https://unknown.example.com/notify", "does not resolve"),
    ],
)
def test_malformed_callbacks_are_refused(callback: str, problem: str) -> None:
    message = refusal(CallbackRefused, callback=callback)
    assert message.startswith("callback:") and problem in message


@pytest.mark.parametrize(
    "callback",
    [
        "https://127.0.0.1/n",
        "https://10.0.0.7/n",
        "https://192.168.1.1/n",
        "https://169.254.169.254/latest",
        "https://[::1]/n",
        "https://[::ffff:127.0.0.1]/n",
        "https://localhost/n",
        "https://inside.example.com/n",
        "https://dual.example.com/n",
        "https://100.100.100.200/n",
    ],
)
def test_internal_addresses_are_refused(callback: str) -> None:
    assert refusal(CallbackRefused, callback=callback).startswith("callback:")


def test_an_allowed_network_admits_a_private_smo_but_never_the_metadata_service() -> None:
    allowed = ports(networks="10.0.0.0/8,169.254.0.0/16")
    create(callback="https://inside.example.com/n", callbacks=allowed)
    create(callback="https://10.9.9.9/n", callbacks=allowed)
    with pytest.raises(CallbackRefused, match="metadata"):
        create(callback="https://169.254.169.254/n", callbacks=allowed)


def test_the_probe_runs_only_when_switched_on_and_after_the_address_check() -> None:
    probe = Prober()
    create(callback=PUBLIC, callbacks=ports(probe))
    assert probe.calls == [(PUBLIC, [ipaddress.ip_address("93.184.215.14")])]
    with pytest.raises(CallbackRefused):
        create(callback="https://127.0.0.1/n", callbacks=ports(probe))
    assert len(probe.calls) == 1  # an internal address is never probed
    create(callback=PUBLIC + "/2")  # probe off: nothing is called, the creation succeeds


def test_a_failed_probe_refuses_the_subscription_and_stores_nothing() -> None:
    store = FakeStore()
    with pytest.raises(CallbackRefused, match="probe"):
        create(store, callbacks=ports(Prober("callback: the reachability probe (GET) answered HTTP 500")))
    assert store.items == {}


# --- filters ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "(eq,objectType,ResourceInfo)",
        "(eq,resourcePoolId,p1);(neq,extensions/zone,a)|(in,objectType,CloudInfo,DeploymentManagerInfo)",
        "(eq,deploymentManagerId,x)",
        "(eq,globalcloudId,x)",
        "(cont,elements/resourceTypeId,fec)",
    ],
)
def test_inventory_filters_speak_of_any_inventory_object(text: str) -> None:
    assert create(filter=text)["filter"] == text  # verbatim: an SMO finds its own text again


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("(eq,nosuch,x)", "unknown attribute 'nosuch'"),
        ("(eq,objectType,Nonsense)", "objectType"),
        ("(eq,name,x", "missing"),
        ("eq,name,x", "expected '('"),
        ("(like,name,x)", "unknown operator"),
    ],
)
def test_bad_inventory_filters_are_refused_naming_the_filter(text: str, problem: str) -> None:
    message = refusal(InvalidQuery, filter=text)
    assert message.startswith("filter:") and problem in message


def test_a_blank_filter_is_no_filter() -> None:
    assert "filter" not in create(filter="")
    assert "filter" not in create(callback=PUBLIC + "/b", filter="  ")


def test_alarm_filters_use_alarm_record_attributes() -> None:
    text = "(eq,perceivedSeverity,5)|(eq,alarmAcknowledged,true);(cont,extensions/cluster,edge)"
    assert create(kind=ALARM, filter=text)["filter"] == text
    assert "unknown attribute 'resourcePoolId'" in refusal(InvalidQuery, kind=ALARM, filter="(eq,resourcePoolId,p)")
    assert "objectType" in refusal(InvalidQuery, kind=ALARM, filter="(eq,objectType,ResourceInfo)")
    assert "not supported" in refusal(InvalidQuery, kind=ALARM, filter="NEW")


def test_dms_filters_use_event_attributes_and_no_or() -> None:
    created = create(kind=DMS, filter="(eq,namespace,ran);(in,status,READY,FAILED)")
    assert created["filter"] == "(eq,namespace,ran);(in,status,READY,FAILED)"
    assert "eventTypes" not in created
    assert "unknown attribute 'objectType'" in refusal(InvalidQuery, kind=DMS, filter="(eq,objectType,CloudInfo)")
    assert "'|'" in refusal(InvalidQuery, kind=DMS, filter="(eq,name,a)|(eq,name,b)")
    assert "unknown attribute 'resourceId'" in refusal(InvalidQuery, kind=DMS, filter="(eq,resourceId,r)")


def test_event_types_are_folded_into_the_stored_filter_and_shown_apart() -> None:
    store = FakeStore()
    created = create(
        store,
        kind=DMS,
        filter="(eq,name,'du 1')",
        event_types=["DeploymentFailed", "DeploymentReady", "DeploymentReady"],
    )
    assert created["filter"] == "(eq,name,'du 1')"
    assert created["eventTypes"] == ["DeploymentReady", "DeploymentFailed"]  # declaration order, once each
    stored = store.items[created["subscriptionId"]].filter
    assert stored == "(eq,name,'du 1');(in,eventType,'DeploymentReady','DeploymentFailed')"
    parsed = parse_filter(stored or "")  # what fan_out does with a DMS filter
    assert parsed.matches({"name": "du 1", "eventType": "DeploymentReady"})
    assert not parsed.matches({"name": "du 1", "eventType": "DeploymentScaled"})
    assert not parsed.matches({"name": "du 2", "eventType": "DeploymentReady"})


def test_event_types_alone_and_a_clients_own_event_type_term() -> None:
    store = FakeStore()
    alone = create(store, kind=DMS, event_types=["DeploymentDeleted"])
    assert "filter" not in alone and alone["eventTypes"] == ["DeploymentDeleted"]
    own = create(store, kind=DMS, callback=PUBLIC + "/own", filter="(in,eventType,'DeploymentReady')")
    assert own["filter"] == "(in,eventType,DeploymentReady)" and "eventTypes" not in own  # canonical, not ours
    assert split_dms_filter("(eq,name,'a;(in,eventType,''DeploymentReady'')')") == (
        "(eq,name,'a;(in,eventType,''DeploymentReady'')')",
        None,
    )


def test_event_types_are_checked_and_belong_to_dms_only() -> None:
    assert "unknown event type 'Exploded'" in refusal(kind=DMS, event_types=["Exploded"])
    assert "at least one" in refusal(kind=DMS, event_types=[])
    assert "only deployment" in refusal(kind=INVENTORY, event_types=["DeploymentReady"])


def test_stored_o2ims_filters_parse_as_fan_out_parses_them() -> None:
    store = FakeStore()
    created = create(store, filter="(eq,objectType,ResourceInfo)|(eq,resourcePoolId,p1)")
    parse_subscription_filter(store.items[created["subscriptionId"]].filter or "")


@pytest.mark.parametrize(
    ("kind", "written", "quoted"),
    [
        (INVENTORY, "(eq,objectType,ResourcePoolInfo);(eq,name,edge pool 1)|(cont,description,rack A)",
         "(eq,objectType,ResourcePoolInfo);(eq,name,'edge pool 1')|(cont,description,'rack A')"),
        (ALARM, "(eq,extensions/site,far edge)", "(eq,extensions/site,'far edge')"),
        (DMS, "(eq,name,du 1)", "(eq,name,'du 1')"),
    ],
)
def test_a_filter_with_unquoted_spaces_is_stored_with_its_meaning(kind: SubscriptionKind, written: str,
                                                                   quoted: str) -> None:
    """Stored text -> parse (as fan_out parses it) -> the same filter as the quoted spelling; the answer echoes a
    filter that parses back to it too (docs/query-language.md, Values)."""
    store = FakeStore()
    created = create(store, kind=kind, filter=written)
    parse = parse_filter if kind is DMS else parse_subscription_filter
    stored = store.items[created["alarmSubscriptionId" if kind is ALARM else "subscriptionId"]].filter or ""
    assert parse(stored) == parse(quoted)
    assert parse(created["filter"]) == parse(quoted)


# --- reading and deleting --------------------------------------------------------------------------------------------


def test_get_and_delete_see_only_their_own_kind() -> None:
    store = FakeStore()
    alarm = create(store, kind=ALARM)["alarmSubscriptionId"]
    with pytest.raises(NotFound):
        get_subscription(store, INVENTORY, alarm, access=ADMIN)
    with pytest.raises(NotFound):
        delete_subscription(store, DMS, alarm, access=ADMIN)
    assert get_subscription(store, ALARM, alarm, access=ADMIN)["alarmSubscriptionId"] == alarm
    delete_subscription(store, ALARM, alarm, access=ADMIN)
    with pytest.raises(NotFound):
        get_subscription(store, ALARM, alarm, access=ADMIN)


@pytest.mark.parametrize("identifier", ["8c1d7f0e-3a52-4b6e-9d41-2f7a5c0e9b13", "not-a-uuid", "dedupe#abc", "x" * 5000])
def test_unknown_ids_are_not_found(identifier: str) -> None:
    with pytest.raises(NotFound):
        get_subscription(FakeStore(), INVENTORY, identifier, access=ADMIN)


def test_a_disabled_subscription_shows_its_status_and_reason() -> None:
    store = FakeStore()
    identifier = create(store)["subscriptionId"]
    store.items[identifier] = store.items[identifier].model_copy(
        update={"status": SubscriptionStatus.DISABLED, "status_reason": "the SMO answered 410 Gone"}
    )
    shown = get_subscription(store, INVENTORY, identifier, access=ADMIN)
    assert (shown["status"], shown["statusReason"]) == ("disabled", "the SMO answered 410 Gone")


def test_selectors_apply_and_unknown_attributes_are_refused() -> None:
    store = FakeStore()
    identifier = create(store, consumer_subscription_id="c")["subscriptionId"]
    shown = get_subscription(
        store, INVENTORY, identifier, Selection(exclude_fields=(("consumerSubscriptionId",), ("subscriptionId",))),
        access=ADMIN,
    )
    assert "consumerSubscriptionId" not in shown and shown["subscriptionId"] == identifier
    with pytest.raises(InvalidQuery):
        get_subscription(store, INVENTORY, identifier, Selection(fields=(("secret",),)), access=ADMIN)


def test_lists_page_filter_and_follow_markers() -> None:
    store = FakeStore()
    made = sorted(
        create(store, callback=f"{PUBLIC}/{n}", consumer_subscription_id=f"c{n % 2}")["subscriptionId"]
        for n in range(7)
    )
    create(store, kind=ALARM)
    seen, marker = [], None
    while True:
        page = list_subscriptions(store, INVENTORY, ListRequest(Selection(), 3, marker=marker, codec=CODEC),
            access=ADMIN)
        seen += [item["subscriptionId"] for item in page.items]
        if page.next_marker is None:
            break
        marker = decode_marker(page.next_marker)
    assert seen == made
    odd = list_subscriptions(
        store, INVENTORY, ListRequest(Selection(), 100, parse_filter("(eq,consumerSubscriptionId,c1)"), codec=CODEC),
        access=ADMIN,
    )
    assert len(odd.items) == 3 and odd.next_marker is None
    third = list_subscriptions(store, INVENTORY, ListRequest(Selection(), 3, marker=Marker(page_number=3), codec=CODEC),
        access=ADMIN)
    assert [item["subscriptionId"] for item in third.items] == made[6:]
    beyond = ListRequest(Selection(), 3, marker=Marker(page_number=9), codec=CODEC)
    assert list_subscriptions(store, INVENTORY, beyond, access=ADMIN).items == []


@pytest.mark.parametrize(
    "key",
    [
        {"pk": {"S": "x"}, "sk": {"S": "y"}},
        {"subscriptionId": {"S": str(uuid.uuid4())}, "kind": {"S": "alarm"}},
        {"subscriptionId": {"S": "dedupe#x"}, "kind": {"S": "inventory"}},
    ],
)
def test_a_marker_from_elsewhere_is_refused(key: dict[str, Any]) -> None:
    marker = decode_marker(CODEC.encode("subscriptions/inventory", key))
    with pytest.raises(InvalidQuery, match="nextpage_opaque_marker"):
        list_subscriptions(FakeStore(), INVENTORY, ListRequest(Selection(), 10, marker=marker, codec=CODEC),
            access=ADMIN)


def test_list_filters_name_subscription_attributes() -> None:
    with pytest.raises(InvalidQuery, match="unknown attribute 'resourcePoolId'"):
        unknown = ListRequest(Selection(), 10, parse_filter("(eq,resourcePoolId,x)"), codec=CODEC)
        list_subscriptions(FakeStore(), INVENTORY, unknown, access=ADMIN)
    list_subscriptions(
        FakeStore(), DMS, ListRequest(Selection(), 10, parse_filter("(cont,eventTypes,DeploymentReady)"), codec=CODEC),
        access=ADMIN,
    )


def test_a_dms_filter_that_would_grow_too_long_with_event_types_is_refused() -> None:
    long_filter = "(eq,name," + "a" * 4070 + ")"
    create(kind=DMS, filter=long_filter)  # fits alone
    assert "longer than" in refusal(
        InvalidQuery, kind=DMS, callback=PUBLIC + "/l", filter=long_filter, event_types=["DeploymentReady"]
    )
