"""Tenancy (docs/o2-conventions.md §6, "Tenancy") through fakes: the one visibility rule, the tenant a token names,
deployments and operations of one tenant hidden from another (as if unknown) and shown to admins, events carrying
their deployment's tenant to that tenant's DMS subscriptions only, and pages of a list filled despite other tenants'
records in between."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from chalicelib.api.auth import authenticate
from chalicelib.domain.auth import Principal, Scope
from chalicelib.domain.deployments import OperationType
from chalicelib.domain.errors import NotFound, Unauthorized
from chalicelib.domain.events import ChangeType, EventSource
from chalicelib.domain.paging import decode_marker
from chalicelib.domain.selectors import Selection
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.domain.tenancy import Access, receives, visible
from chalicelib.services import deployments as service
from chalicelib.services.deployment_poll import poll_deployments
from chalicelib.services.deployments import ReferenceNotFound
from chalicelib.services.paging import ListRequest
from chalicelib.services.subscriptions import get_subscription, list_subscriptions
from chalicelib.settings import AuthSettings, settings_from_environment
from tests.unit.fakes.deployments import SMO, DmsWorld
from tests.unit.test_deployment_poll import ClusterAdapter
from tests.unit.test_fan_out import event, run, subscription
from tests.unit.test_subscription_service import CODEC, FakeStore, create

A, B = Access("smo-a"), Access("smo-b")
ADMIN = Access("ops", is_admin=True)
SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


# --- the rule ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("owner", "viewer", "default", "seen"), [
    ("smo-a", A, None, True),
    ("smo-a", B, None, False),
    ("smo-a", ADMIN, None, True),
    (None, A, None, False),  # stored before tenancy, no default tenant: no one's
    (None, ADMIN, None, True),  # ... but admins see it
    (None, A, "smo-a", True),  # with a default tenant it is that tenant's
    (None, B, "smo-a", False),
    ("", A, "smo-a", True),  # an empty owner is no owner
])
def test_one_rule_decides_who_sees_a_record(owner: str | None, viewer: Access, default: str | None,
                                            seen: bool) -> None:
    assert visible(owner, viewer, default) is seen


def test_a_subscription_receives_its_tenants_events_and_an_admins_every_tenants() -> None:
    assert receives("smo-a", "smo-a", False, None)
    assert not receives("smo-a", "smo-b", False, None)
    assert receives("smo-a", "ops", True, None)
    assert not receives(None, "smo-b", False, None)  # a deployment of no one reaches admins' subscriptions only
    assert receives(None, None, False, "legacy") and receives(None, "legacy", False, "legacy")


def test_packages_are_shared_unless_per_tenant() -> None:
    assert B.sees_package("smo-a")
    assert not Access("smo-b", packages_per_tenant=True).sees_package("smo-a")
    assert Access("ops", True, packages_per_tenant=True).sees_package("smo-a")


# --- the tenant a token names ----------------------------------------------------------------------------------------

def token(**claims: object) -> str:
    base: dict[str, object] = {"sub": "client-7", "iss": "iss-1", "aud": "netweave", "exp": int(time.time()) + 60,
                               "scope": "o2dms:read netweave:admin"}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def settings(claim: str = "sub") -> AuthSettings:
    return AuthSettings(issuer="iss-1", audience="netweave", shared_secret=SECRET, algorithms=("HS256",),
                        tenant_claim=claim)


def test_the_tenant_is_the_subject_by_default_or_the_configured_claim() -> None:
    assert authenticate(token(), settings()).tenant == "client-7"
    principal = authenticate(token(org="operator-x"), settings("org"))
    assert (principal.subject, principal.tenant, principal.is_admin) == ("client-7", "operator-x", True)
    assert authenticate(token(org=42), settings("org")).tenant == "42"
    assert Principal("smo").tenant == "smo" and not Principal("smo").is_admin


@pytest.mark.parametrize("value", [None, "", "  ", ["a", "b"], {"x": 1}, True, "t" * 257])
def test_a_token_without_a_usable_tenant_claim_is_401_naming_it(value: object) -> None:
    with pytest.raises(Unauthorized, match="'org' claim"):
        authenticate(token(org=value), settings("org"))


def test_tenancy_settings_come_from_the_environment() -> None:
    configured = settings_from_environment({"NETWEAVE_TENANT_CLAIM": "org", "NETWEAVE_DEFAULT_TENANT": "legacy",
                                            "NETWEAVE_PACKAGES_PER_TENANT": "true"})
    assert configured.auth.tenant_claim == "org"
    assert (configured.tenancy.default_tenant, configured.tenancy.packages_per_tenant) == ("legacy", True)
    plain = settings_from_environment({})
    assert (plain.auth.tenant_claim, plain.tenancy.default_tenant, plain.tenancy.packages_per_tenant) == (
        "sub", None, False)
    assert Scope.ADMIN.value == "netweave:admin"


# --- deployments and operations ---------------------------------------------------------------------------------------

@pytest.fixture()
def world(tmp_path: Path) -> DmsWorld:
    return DmsWorld(tmp_path)


def test_another_tenants_deployment_is_unknown_to_every_read_and_change(world: DmsWorld) -> None:
    package = world.packages.add("vdu", "1.0.0")
    deployment, create_op = world.accept_create("du-a", package, {"password": "s3cret"}, access=A)
    world.run(create_op.operation_id)
    ports, deployment_id = world.deployment_ports(), deployment.deployment_id
    refused: list[Callable[[], object]] = [
        lambda: service.get_deployment(world.store, deployment_id, Selection(), access=B),  # type: ignore[arg-type]
        lambda: service.get_operation(world.store, create_op.operation_id, access=B),  # type: ignore[arg-type]
        lambda: service.deployment_status(ports, deployment_id, access=B),
        lambda: service.deployment_logs(ports, deployment_id, None, None, None, access=B),
        lambda: service.deployment_history(ports, deployment_id, access=B),
        lambda: world.accept(deployment_id, OperationType.SCALE, {"replicas": 3}, access=B),
        lambda: world.accept(deployment_id, OperationType.DELETE, access=B),
    ]
    for attempt in refused:
        with pytest.raises(NotFound, match=f"no (deployment|operation) with id '{deployment_id}|"
                                           f"{create_op.operation_id}'"):
            attempt()
    assert world.queue.submitted == [(deployment_id, create_op.operation_id, "")]  # nothing more was accepted
    shown = service.get_deployment(world.store, deployment_id, Selection(), access=A)  # type: ignore[arg-type]
    assert shown["values"] == {"password": "s3cret"} and shown["extensions"]["owner"] == "smo-a"
    scaled = world.accept(deployment_id, OperationType.SCALE, {"replicas": 2}, access=ADMIN)
    assert scaled.owner == "smo-a"  # an operation belongs to its deployment's tenant, whoever asked for it
    assert service.get_operation(world.store, scaled.operation_id, access=A)  # type: ignore[arg-type]


def test_an_operation_outlives_its_deployment_for_its_tenant_only(world: DmsWorld) -> None:
    package = world.packages.add("vdu", "1.0.0")
    deployed = world.deployed("du-a", package)  # tenant SMO ("smo")
    delete = world.complete(deployed.deployment_id, OperationType.DELETE)
    assert world.store.get(deployed.deployment_id) is None
    assert service.get_operation(world.store, delete.operation_id, access=SMO)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        service.get_operation(world.store, delete.operation_id, access=B)  # type: ignore[arg-type]


def test_lists_fill_their_pages_with_the_callers_deployments_only(world: DmsWorld) -> None:
    package = world.packages.add("vdu", "1.0.0")
    mine = []
    for n in range(9):  # interleaved: a's, b's, b's, a's, ...
        created, _ = world.accept_create(f"du-{n}", package, access=A if n % 3 == 0 else B)
        if n % 3 == 0:
            mine.append(created.deployment_id)
    seen: list[str] = []
    marker = None
    while True:
        page = service.list_deployments(world.store, ListRequest(Selection(), 2, marker=marker, codec=CODEC),  # type: ignore[arg-type]
                                        access=A)
        seen += [item["deploymentId"] for item in page.items]
        assert len(page.items) == 2 or page.next_marker is None  # never a short page before the last
        if page.next_marker is None:
            break
        marker = decode_marker(page.next_marker)
    assert sorted(seen) == sorted(mine)
    everything = service.list_deployments(world.store, ListRequest(Selection(), 100, codec=CODEC),  # type: ignore[arg-type]
                                          access=ADMIN)
    assert len(everything.items) == 9


def test_another_tenants_package_deploys_as_unknown_only_when_packages_are_per_tenant(world: DmsWorld) -> None:
    package = world.packages.add("vdu", "1.0.0")
    world.packages.packages[package.package_id] = package.model_copy(update={"owner": "smo-a"})
    world.accept_create("shared-catalogue", package, access=B)  # shared: anyone deploys it
    with pytest.raises(ReferenceNotFound, match=f"no deployment package with id '{package.package_id}'"):
        world.accept_create("per-tenant", package, access=Access("smo-b", packages_per_tenant=True))


# --- events -----------------------------------------------------------------------------------------------------------

def test_worker_and_poller_events_carry_the_deployments_tenant(tmp_path: Path) -> None:
    cluster = ClusterAdapter()
    world = DmsWorld(tmp_path, adapters=[cluster])
    package = world.packages.add("vdu", "1.0.0")
    deployment, create_op = world.accept_create("du-a", package, access=A)
    world.run(create_op.operation_id)
    cluster.not_ready.add("du-a")
    poll_deployments(world.poll_ports())
    events = world.publisher.of(deployment.deployment_id)
    assert {e.detail_type for e in events} >= {"DeploymentCreated", "DeploymentReady", "DeploymentProgressing"}
    assert {e.owner for e in events} == {"smo-a"}


def test_dms_events_reach_their_tenants_and_admins_subscriptions_only() -> None:
    deployment = {"deploymentId": "d1", "namespace": "ran", "status": "deployed"}
    ready = event("Deployment", ChangeType.MODIFIED, deployment, deployment, "e1", EventSource.DMS, "DeploymentReady",
                  owner="smo-a")
    own = subscription("a", SubscriptionKind.DMS, owner="smo-a")
    other = subscription("b", SubscriptionKind.DMS, owner="smo-b")
    admin = subscription("ops", SubscriptionKind.DMS, owner="ops", all_tenants=True)
    legacy = subscription("old", SubscriptionKind.DMS, owner=None)
    inventory = subscription("inv", owner="smo-b")
    pool = {"resourcePoolId": "p1", "name": "n", "description": "d", "oCloudId": "o", "globalLocationId": "g",
            "location": "l", "extensions": {}}
    sent = run([ready, event("ResourcePoolInfo", ChangeType.CREATED, None, pool, "e2")], own, other, admin, legacy,
               inventory)
    assert sorted(d.subscription_id for d in sent) == ["a", "inv", "ops"]  # inventory is shared infrastructure
    unowned = event("Deployment", ChangeType.MODIFIED, deployment, deployment, "e3", EventSource.DMS, owner=None)
    assert sorted(d.subscription_id for d in run([unowned], own, legacy, admin, default_tenant="smo-a")) == [
        "a", "old", "ops"]


# --- subscriptions ----------------------------------------------------------------------------------------------------

def test_subscription_lists_fill_pages_and_reads_hide_other_tenants() -> None:
    store = FakeStore()
    mine = sorted(create(store, callback=f"https://smo.example.com/{n}", owner="smo-a" if n % 2 else "smo-b")
                  ["subscriptionId"] for n in range(8))
    own = [i for i in mine if store.items[i].owner == "smo-a"]
    page = list_subscriptions(store, SubscriptionKind.INVENTORY, ListRequest(Selection(), 4, codec=CODEC), access=A)
    assert sorted(item["subscriptionId"] for item in page.items) == sorted(own) and page.next_marker is None
    theirs = next(i for i in mine if store.items[i].owner == "smo-b")
    with pytest.raises(NotFound, match=f"no subscription with id '{theirs}'"):
        get_subscription(store, SubscriptionKind.INVENTORY, theirs, access=A)
    assert get_subscription(store, SubscriptionKind.INVENTORY, theirs, access=ADMIN)["subscriptionId"] == theirs
