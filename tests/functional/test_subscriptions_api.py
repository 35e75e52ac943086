"""Subscriptions over the API (inventory, alarm, DMS) against real DynamoDB (moto): creation with its one-time
secret, reading, listing, deleting, every refusal, and exactly-once creation under concurrency."""

from __future__ import annotations

import http.server
import ipaddress
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.subscription_store import DuplicateSubscription, SubscriptionStore
from chalicelib.adapters.webhooks.outbound import Outbound
from chalicelib.adapters.webhooks.probe import CallbackProbe
from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.bootstrap import Components
from chalicelib.domain.callback_policy import Callback, CallbackPolicy, CallbackRefused, parse_networks
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.services.subscriptions import CallbackPorts, NewSubscription, create_subscription
from chalicelib.settings import settings_from_environment
from tests.functional.conftest import Api, Reply, assert_problem, serving, token_with


@dataclass(frozen=True)
class Kind:
    collection: str
    id_field: str
    read: str
    write: str


INVENTORY = Kind("/o2ims-infrastructureInventory/v1/subscriptions", "subscriptionId", "o2ims:read", "o2ims:subscribe")
SHORT = Kind("/o2ims/v1/subscriptions", "subscriptionId", "o2ims:read", "o2ims:subscribe")
ALARM = Kind(
    "/o2ims-infrastructureMonitoring/v1/alarmSubscriptions", "alarmSubscriptionId", "o2ims:read", "o2ims:subscribe"
)
DMS = Kind("/o2dms/v1/subscriptions", "subscriptionId", "o2dms:read", "o2dms:write")
KINDS = [INVENTORY, ALARM, DMS]
IDS = ["inventory", "alarm", "dms"]


def public_callback(tag: str = "") -> str:
    # A public address literal: no DNS lookup, which the test machine may not have.
    return f"https://93.184.215.14/smo/{tag or uuid.uuid4().hex}"


def post(api: Api, kind: Kind, **body: Any) -> Reply:
    return api.request("POST", kind.collection, body={"callback": public_callback(), **body})


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_create_get_list_delete(api: Api, kind: Kind) -> None:
    extra = {"eventTypes": ["DeploymentReady"]} if kind is DMS else {}
    created = post(api, kind, consumerSubscriptionId="smo-7", **extra)
    assert created.status == 201, created.body
    body = created.json()
    identifier = body[kind.id_field]
    location = created.header("location")
    assert location == f"{kind.collection}/{identifier}"
    assert body["secret"].startswith("whsec_") and body["consumerSubscriptionId"] == "smo-7"
    assert None not in body.values()

    shown = api.get(location)
    assert shown.status == 200
    assert shown.json() == {k: v for k, v in body.items() if k != "secret"}
    listed = api.get(f"{kind.collection}?filter=(eq,{kind.id_field},{identifier})")
    assert listed.status == 200 and listed.json() == [shown.json()]
    assert body["secret"] not in (shown.body + listed.body).decode()

    deleted = api.request("DELETE", location)
    assert deleted.status == 200 and deleted.body == b""
    assert_problem(api.get(location), 404)
    assert_problem(api.request("DELETE", location), 404)


def test_the_short_form_serves_the_same_inventory_subscriptions(api: Api) -> None:
    created = post(api, SHORT)
    location = created.header("location")
    assert created.status == 201 and location is not None and location.startswith(SHORT.collection)
    identifier = created.json()["subscriptionId"]
    assert api.get(f"{INVENTORY.collection}/{identifier}").json()["subscriptionId"] == identifier


def test_a_subscription_of_one_kind_is_not_found_under_another(api: Api) -> None:
    identifier = post(api, ALARM).json()["alarmSubscriptionId"]
    assert_problem(api.get(f"{INVENTORY.collection}/{identifier}"), 404)
    assert_problem(api.request("DELETE", f"{DMS.collection}/{identifier}"), 404)


def test_dms_event_types_and_filter_are_shown_as_given(api: Api) -> None:
    created = post(api, DMS, filter="(eq,namespace,ran)", eventTypes=["DeploymentFailed", "DeploymentReady"])
    assert created.status == 201, created.body
    location = created.header("location")
    assert location is not None
    shown = api.get(location).json()
    assert shown["filter"] == "(eq,namespace,ran)"
    assert shown["eventTypes"] == ["DeploymentReady", "DeploymentFailed"]
    assert_problem(post(api, DMS, eventTypes=["DeploymentExploded"]), 400, "eventTypes")
    assert_problem(post(api, DMS, eventTypes=[]), 400, "eventTypes")
    assert_problem(post(api, INVENTORY, eventTypes=["DeploymentReady"]), 400, "eventTypes")


def test_the_seeds_object_filter_is_accepted_and_shown_in_o2_form(api: Api) -> None:
    """The O2dms extension subscribes with `"filter": {"resourcePoolId": "pool-vdu-123"}`: what it wants to hear
    about. An O2ims filter names what NOT to report, so it is stored (and shown) as the negation."""
    created = post(api, SHORT, filter={"resourcePoolId": "pool-vdu-123"})
    assert created.status == 201, created.body
    assert created.json()["filter"] == "(neq,resourcePoolId,pool-vdu-123)"
    selecting = post(api, DMS, filter={"namespace": "ran du", "name": ["du-1", "du-2"]})
    assert selecting.status == 201, selecting.body
    assert selecting.json()["filter"] == "(eq,namespace,'ran du');(in,name,du-1,du-2)"
    assert_problem(post(api, SHORT, filter={"noSuchAttribute": "x"}), 400, "noSuchAttribute")
    assert_problem(post(api, SHORT, filter={}), 400, "filter")
    assert_problem(post(api, SHORT, filter={"resourcePoolId": 5}), 400, "filter")


def test_a_duplicate_is_a_400(api: Api) -> None:
    body = {"callback": public_callback(), "filter": "(eq,objectType,ResourceInfo)", "consumerSubscriptionId": "c1"}
    assert api.request("POST", INVENTORY.collection, body=body).status == 201
    assert_problem(api.request("POST", INVENTORY.collection, body=body), 400, "already exists")
    assert_problem(api.request("POST", SHORT.collection, body=body), 400, "already exists")
    assert api.request("POST", ALARM.collection, body=body | {"filter": "(eq,perceivedSeverity,5)"}).status == 201


def test_the_same_subscription_under_v1_and_v2_is_two_subscriptions(api: Api) -> None:
    """Each version's subscription is notified in its own shape and paths: an SMO moving to v2 keeps its v1 one."""
    body = {"callback": public_callback(), "filter": "(eq,objectType,ResourceInfo)", "consumerSubscriptionId": "c1"}
    v2 = "/o2ims-infrastructureInventory/v2/subscriptions"
    assert api.request("POST", INVENTORY.collection, body=body).status == 201
    created = api.request("POST", v2, body=body)
    assert created.status == 201, created.body
    assert_problem(api.request("POST", v2, body=body), 400, "already exists")
    assert api.request("DELETE", f"{v2}/{created.json()['subscriptionId']}").status == 200
    assert api.request("POST", v2, body=body).status == 201  # deleting it freed its place, not the v1 one's
    assert_problem(api.request("POST", SHORT.collection, body=body), 400, "already exists")


def test_twenty_concurrent_identical_creations_create_exactly_one(api: Api, components: Components,
                                                                  serial_moto_url: str) -> None:
    # moto's transactions are not isolated under concurrent requests (DynamoDB's are): one request at a time
    store = SubscriptionStore(boto3.client("dynamodb", endpoint_url=serial_moto_url),
                              components.settings.table_name(resources.SUBSCRIPTIONS))
    callbacks = CallbackPorts(components.settings.callbacks.policy(), resolve)
    request = NewSubscription(SubscriptionKind.INVENTORY, public_callback(), filter="(eq,objectType,CloudInfo)")

    def attempt(_: int) -> str:
        try:
            return str(create_subscription(store, request, callbacks)["subscriptionId"])
        except DuplicateSubscription:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    created = [o for o in outcomes if o != "duplicate"]
    assert len(created) == 1, outcomes
    listed = api.get(f"{INVENTORY.collection}?filter=(eq,callback,'{request.callback}')").json()
    assert [s["subscriptionId"] for s in listed] == created


@pytest.mark.parametrize(
    ("kind", "field"),
    [(INVENTORY, "subscriptionId"), (ALARM, "alarmSubscriptionId"), (DMS, "subscriptionId"), (ALARM, "subscriptionId")],
)
def test_a_client_chosen_id_is_a_400(api: Api, kind: Kind, field: str) -> None:
    assert_problem(post(api, kind, **{field: str(uuid.uuid4())}), 400, f"{field}: is assigned by the server")


@pytest.mark.parametrize(
    "body",
    [
        {"callbak": "https://93.184.215.14/x"},
        {"callback": "https://93.184.215.14/x", "filters": "(eq,name,x)"},
        {"callback": "https://93.184.215.14/x", "status": "active"},
    ],
)
def test_unknown_members_are_a_400_naming_them(api: Api, body: dict[str, Any]) -> None:
    name = next(k for k in body if k != "callback")
    assert_problem(api.request("POST", INVENTORY.collection, body=body), 400, name)


@pytest.mark.parametrize(
    ("body", "part"),
    [
        ({}, "callback: Field required"),
        ({"callback": None}, "callback"),
        ({"callback": 42}, "callback"),
        ({"callback": "/smo/notify"}, "callback: scheme"),
        ({"callback": "smo.example.com/notify"}, "callback: scheme"),
        ({"callback": "ftp://93.184.215.14/notify"}, "callback: scheme"),
        ({"callback": "http://93.184.215.14/notify"}, "callback: scheme"),
        ({"callback": "https://smo:secret@93.184.215.14/notify"}, "callback: must not carry credentials"),
        ({"callback": "https://127.0.0.1/notify"}, "internal address"),
        ({"callback": "https://10.20.30.40/notify"}, "internal address"),
        ({"callback": "https://169.254.169.254/latest/meta-data"}, "metadata"),
        ({"callback": "https://[::1]/notify"}, "internal address"),
        ({"callback": "https://localhost:8443/notify"}, "localhost"),
    ],
)
def test_bad_callbacks_are_a_400(api: Api, body: dict[str, Any], part: str) -> None:
    assert_problem(api.request("POST", INVENTORY.collection, body=body), 400, part)


def with_environment(**environment: str) -> Components:
    """The gateway with these settings changed, for the API to serve (the environment itself is left alone)."""
    return Components(settings_from_environment({**os.environ, **environment}))


def test_bad_bodies_are_a_400(api: Api) -> None:
    assert_problem(api.request("POST", INVENTORY.collection, body=b"{not json"), 400, "JSON")
    assert_problem(api.request("POST", INVENTORY.collection, body=["https://93.184.215.14/x"]), 400)
    assert_problem(post(api, INVENTORY, consumerSubscriptionId=""), 400, "consumerSubscriptionId")
    assert_problem(post(api, INVENTORY, filter=7), 400, "filter")


@pytest.fixture()
def private_network_allowed(moto_url: str) -> Iterator[None]:
    with serving(with_environment(NETWEAVE_CALLBACK_ALLOWED_NETWORKS="10.20.0.0/16")):
        yield


def test_an_allowed_network_admits_a_private_callback(api: Api, private_network_allowed: None) -> None:
    assert post(api, INVENTORY, callback="https://10.20.30.40/notify").status == 201
    assert_problem(post(api, INVENTORY, callback="https://10.99.0.1/notify"), 400, "internal address")


@pytest.mark.parametrize(
    ("kind", "text", "part"),
    [
        (INVENTORY, "(eq,nosuch,x)", "unknown attribute 'nosuch'"),
        (INVENTORY, "(eq,name,x", "filter:"),
        (INVENTORY, "(eq,objectType,Alarm)", "objectType"),
        (ALARM, "(eq,resourcePoolId,x)", "unknown attribute 'resourcePoolId'"),
        (ALARM, "NEW", "filter:"),
        (DMS, "(eq,name,a)|(eq,name,b)", "filter:"),
        (DMS, "(eq,objectType,CloudInfo)", "objectType"),
    ],
)
def test_bad_filters_are_a_400_naming_the_filter(api: Api, kind: Kind, text: str, part: str) -> None:
    body = assert_problem(post(api, kind, filter=text), 400, part)
    assert body["detail"].startswith("filter:")


def test_lists_filter_and_page(api: Api) -> None:
    tag = uuid.uuid4().hex
    made = sorted(
        post(api, INVENTORY, callback=public_callback(f"{tag}/{n}")).json()["subscriptionId"] for n in range(5)
    )
    url = f"{INVENTORY.collection}?limit=2&filter=" + quote(f"(cont,callback,{tag})")
    seen: list[str] = []
    for _ in range(10):
        reply = api.get(url)
        assert reply.status == 200
        seen += [s["subscriptionId"] for s in reply.json()]
        link = reply.header("link")
        if not link:
            break
        target = urlparse(re.match(r"<([^>]+)>; rel=\"next\"", link).group(1))  # type: ignore[union-attr]
        url = f"{target.path}?{target.query}"
    assert seen == made
    narrow = api.get(f"{INVENTORY.collection}?fields=callback&filter=" + quote(f"(cont,callback,'{tag}/3')")).json()
    assert [s["callback"] for s in narrow] == [public_callback(f"{tag}/3")]
    assert_problem(api.get(f"{INVENTORY.collection}?filter=(eq,secret,x)"), 400, "unknown attribute 'secret'")
    assert_problem(api.get(f"{INVENTORY.collection}?nextpage_opaque_marker=bogus"), 400, "nextpage_opaque_marker")
    assert_problem(api.get(f"{INVENTORY.collection}?limit=0"), 400, "limit")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
@pytest.mark.parametrize("identifier", ["8c1d7f0e-3a52-4b6e-9d41-2f7a5c0e9b13", "not-a-uuid"])
def test_unknown_ids_are_404(api: Api, kind: Kind, identifier: str) -> None:
    assert_problem(api.get(f"{kind.collection}/{identifier}"), 404)
    assert_problem(api.request("DELETE", f"{kind.collection}/{identifier}"), 404)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_scopes(api: Api, kind: Kind) -> None:
    other_read = "o2dms:read" if kind.read == "o2ims:read" else "o2ims:read"
    assert_problem(api.get(kind.collection, token=token_with(other_read)), 403, kind.read)
    reader = token_with(kind.read)
    listed = api.get(kind.collection, token=reader)
    # the same tenant's list as a writer of it gets (the default token is an admin's: it lists every tenant's)
    same_tenant = token_with(kind.read, kind.write)
    assert listed.status == 200 and listed.json() == api.get(kind.collection, token=same_tenant).json()
    reply = api.request("POST", kind.collection, token=reader, body={"callback": public_callback()})
    assert_problem(reply, 403, kind.write)
    writer = token_with(kind.write)
    created = api.request("POST", kind.collection, token=writer, body={"callback": public_callback()})
    assert created.status == 201
    location = created.header("location")
    assert location is not None
    assert_problem(api.request("DELETE", location, token=reader), 403, kind.write)
    assert api.get(location, token=reader).json()[kind.id_field] == created.json()[kind.id_field]
    assert api.request("DELETE", location, token=writer).status == 200
    assert_problem(api.get(location), 404)  # gone
    assert_problem(api.get(kind.collection, token=None), 401)


@pytest.mark.parametrize("kind", [INVENTORY, SHORT, ALARM, DMS], ids=["inventory", "short", "alarm", "dms"])
def test_unsupported_methods_are_405(api: Api, kind: Kind) -> None:
    item = f"{kind.collection}/{uuid.uuid4()}"
    for method in ("PUT", "PATCH"):
        reply = api.request(method, item, body={"callback": public_callback()})
        assert_problem(reply, 405, method)
        assert reply.header("allow") == "DELETE, GET"
    for method in ("PUT", "PATCH", "DELETE"):
        reply = api.request(method, kind.collection, body={} if method != "DELETE" else None)
        assert_problem(reply, 405, method)
        assert reply.header("allow") == "GET, POST"


# --- the reachability probe (NETWEAVE_CALLBACK_PROBE) -----------------------------------------------------------------


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.rsplit("/", 1)[-1])
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", "/204")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture()
def smo() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def probe(url: str) -> None:
    parts = urlparse(url)
    outbound = Outbound(CallbackPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8")), 2)
    CallbackProbe(outbound)(Callback(url, "http", "127.0.0.1", parts.port or 80), [ipaddress.ip_address("127.0.0.1")])


def test_the_probe_wants_a_2xx_and_follows_no_redirect(smo: str) -> None:
    probe(f"{smo}/notify/204")
    probe(f"{smo}/notify/200")
    for status in (302, 404, 500):
        with pytest.raises(CallbackRefused, match=str(status)):
            probe(f"{smo}/notify/{status}")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(CallbackRefused, match="probe"):
        probe(f"http://127.0.0.1:{port}/notify/204")


def test_creation_probes_the_callback_when_switched_on(api: Api, smo: str) -> None:
    with serving(with_environment(NETWEAVE_CALLBACK_PROBE="true", NETWEAVE_CALLBACK_ALLOW_HTTP="true",
                                  NETWEAVE_CALLBACK_ALLOWED_NETWORKS="127.0.0.0/8")):
        assert post(api, INVENTORY, callback=f"{smo}/{uuid.uuid4().hex}/204").status == 201
        assert_problem(post(api, INVENTORY, callback=f"{smo}/{uuid.uuid4().hex}/500"), 400, "HTTP 500")
