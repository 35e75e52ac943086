"""Tenancy for records stored before it and for operators (docs/o2-conventions.md §6, "Tenancy"): records without
an owner belong to NETWEAVE_DEFAULT_TENANT or to no one (admins only); an admin assigns owners through
`PUT /ops/owners/{kind}/{id}`, moving subscription quota counts with them, and rebuilds the counts with
`POST /ops/owners/recount`; with NETWEAVE_PACKAGES_PER_TENANT packages are owned like deployments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.adapters.store.subscription_store import owner_key
from chalicelib.bootstrap import Components
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
from tests.functional.conftest import Api, assert_problem
from tests.functional.tenancy_fixtures import (
    DEPLOYMENTS,
    OPERATIONS,
    PACKAGES,
    SUBSCRIPTIONS,
    Tenants,
    api_of,
    chart_archive,
    deploy,
    drain,
    not_found_like_unknown,
    stage_components,
    subscribe,
    tenants,
    upload,
)

pytestmark = pytest.mark.xdist_group("tenancy")
INVENTORY = SUBSCRIPTIONS["inventory"][0]


@pytest.fixture(scope="module")
def parts(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Components:
    return stage_components(tmp_path_factory.mktemp("tenancy-migration"))


@pytest.fixture(scope="module")
def api(parts: Components) -> Iterator[Api]:
    with api_of(parts) as client:
        yield client


@pytest.fixture()
def who() -> Tenants:
    return tenants()


@pytest.fixture(scope="module")
def package_id(api: Api, tmp_path_factory: pytest.TempPathFactory) -> str:
    return upload(api, tenants().a, chart_archive(tmp_path_factory.mktemp("chart")))


def legacy_subscription(parts: Components, owner: str | None = None) -> str:
    """A subscription as stored before tenancy (no owner) or before owners were counted (owner, no count)."""
    subscription = Subscription(subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY,
                                callback=f"https://93.184.215.14/old/{uuid.uuid4().hex}", secret="whsec_old",
                                created_at="2025-01-01T00:00:00.000Z", owner=owner)
    store = parts.subscription_store
    store.create(subscription)
    if owner is not None:
        store.client.delete_item(TableName=store.table, Key={"subscriptionId": {"S": owner_key(owner)}})
    return subscription.subscription_id


def legacy_deployment(api: Api, parts: Components, token: str, package_id: str) -> tuple[str, str]:
    """A deployment and its create operation as stored before tenancy: without an owner attribute."""
    created = deploy(api, token, package_id)
    drain(parts, resources.DMS_OPERATIONS)
    table, store = parts.settings.table_name(resources.DEPLOYMENTS), parts.deployment_store
    deployment_id, operation_id = created["deploymentId"], created["extensions"]["activeOperationId"]
    for pk, sk in (("Deployment", deployment_id), ("Operation", operation_id)):
        store.client.update_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, UpdateExpression="REMOVE #o",
                                 ExpressionAttributeNames={"#o": "owner"})
    return deployment_id, operation_id


def status_of(api: Api, path: str, token: str) -> int:
    return api.request("GET", path, token=token).status


# --- records without an owner -----------------------------------------------------------------------------------

def test_records_without_an_owner_belong_to_no_one_or_to_the_default_tenant(
        api: Api, parts: Components, who: Tenants, package_id: str, tmp_path: Path) -> None:
    subscription = f"{INVENTORY}/{legacy_subscription(parts)}"
    deployment_id, operation_id = legacy_deployment(api, parts, who.a, package_id)
    paths = [subscription, f"{DEPLOYMENTS}/{deployment_id}", f"{OPERATIONS}/{operation_id}"]
    assert [status_of(api, p, who.a) for p in paths] == [404, 404, 404]  # no default tenant: no one's
    assert [status_of(api, p, who.admin) for p in paths] == [200, 200, 200]
    defaulted = stage_components(tmp_path, parts.settings.stage, NETWEAVE_DEFAULT_TENANT=who.a_name)
    with api_of(defaulted) as default_api:
        assert [status_of(default_api, p, who.a) for p in paths] == [200, 200, 200]
        assert [status_of(default_api, p, who.b) for p in paths] == [404, 404, 404]
        listed = default_api.request("GET", f"{DEPLOYMENTS}?limit=1000", token=who.a).json()
        assert deployment_id in {d["deploymentId"] for d in listed}


# --- PUT /ops/owners/{kind}/{id} ------------------------------------------------------------------------------------

def assign(api: Api, kind: str, record_id: str, owner: Any, token: str) -> Any:
    return api.request("PUT", f"/ops/owners/{kind}/{record_id}", token=token, body={"owner": owner})


def test_an_admin_assigns_a_subscription_and_its_quota_count_moves(api: Api, parts: Components,
                                                                   who: Tenants) -> None:
    store = parts.subscription_store
    subscription_id = legacy_subscription(parts)
    reply = assign(api, "subscription", subscription_id, who.b_name, who.admin)
    assert reply.status == 200 and reply.json() == {"kind": "subscription", "id": subscription_id,
                                                    "owner": who.b_name}
    assert status_of(api, f"{INVENTORY}/{subscription_id}", who.b) == 200
    assert (store.owned(who.a_name), store.owned(who.b_name)) == (0, 1)
    assert assign(api, "subscription", subscription_id, who.a_name, who.admin).status == 200
    assert (store.owned(who.a_name), store.owned(who.b_name)) == (1, 0)
    assert status_of(api, f"{INVENTORY}/{subscription_id}", who.b) == 404
    assert api.request("DELETE", f"{INVENTORY}/{subscription_id}", token=who.a).status == 200
    assert store.owned(who.a_name) == 0


def test_an_assigned_deployment_and_its_operations_move_to_the_new_tenant(
        api: Api, parts: Components, who: Tenants, package_id: str) -> None:
    created = deploy(api, who.a, package_id)
    drain(parts, resources.DMS_OPERATIONS)
    deployment, operation = f"{DEPLOYMENTS}/{created['deploymentId']}", \
        f"{OPERATIONS}/{created['extensions']['activeOperationId']}"
    assert assign(api, "deployment", created["deploymentId"], who.b_name, who.admin).status == 200
    assert [status_of(api, p, who.b) for p in (deployment, operation)] == [200, 200]
    assert [status_of(api, p, who.a) for p in (deployment, operation)] == [404, 404]
    assert api.request("GET", deployment, token=who.b).json()["extensions"]["owner"] == who.b_name


def test_only_admins_assign_and_bad_requests_are_refused(api: Api, parts: Components, who: Tenants,
                                                         package_id: str) -> None:
    subscription_id = subscribe(api, who.a, "inventory")
    assert_problem(assign(api, "subscription", subscription_id, who.b_name, who.a), 403, "netweave:admin")
    for kind in ("subscription", "deployment", "package"):
        unknown = str(uuid.uuid4())
        assert_problem(assign(api, kind, unknown, who.b_name, who.admin), 404, unknown)
    assert_problem(assign(api, "subscription", "x" * 300, who.b_name, who.admin), 404)
    assert_problem(assign(api, "alarm", subscription_id, who.b_name, who.admin), 400,
                   "subscription, deployment, package")
    for body in ({}, {"owner": 5}, {"owner": ""}, {"owner": "  "}, {"owner": "x" * 257},
                 {"owner": "b", "kind": "deployment"}):
        reply = api.request("PUT", f"/ops/owners/subscription/{subscription_id}", token=who.admin, body=body)
        assert_problem(reply, 400)
    assert status_of(api, f"{INVENTORY}/{subscription_id}", who.a) == 200  # nothing changed
    assert parts.subscription_store.owned(who.a_name) == 1
    assert assign(api, "package", package_id, who.b_name, who.admin).status == 200


def test_recount_rebuilds_the_counts_of_subscriptions_created_before_counting(api: Api, parts: Components,
                                                                             who: Tenants) -> None:
    store = parts.subscription_store
    subscribe(api, who.a, "inventory")
    legacy_subscription(parts, owner=who.a_name)
    legacy_subscription(parts, owner=who.b_name)
    assert (store.owned(who.a_name), store.owned(who.b_name)) == (0, 0)  # deleted counters, as before counting
    assert_problem(api.request("POST", "/ops/owners/recount", token=who.a), 403)
    reply = api.request("POST", "/ops/owners/recount", token=who.admin)
    assert reply.status == 200, reply.body
    assert reply.json()["subscriptionsPerOwner"][who.a_name] == 2
    assert (store.owned(who.a_name), store.owned(who.b_name)) == (2, 1)


# --- packages ---------------------------------------------------------------------------------------------------------

def answers_like_unknown(api: Api, method: str, path: str, token: str, known: str, body: Any, status: int) -> None:
    unknown = str(uuid.uuid4())
    seen = api.request(method, path, token=token, body=body)
    other = api.request(method, path.replace(known, unknown), token=token,
                        body=json.loads(json.dumps(body).replace(known, unknown)) if body is not None else None)
    assert seen.status == other.status == status, (seen.body, other.body)
    assert json.loads(seen.body.decode().replace(known, unknown)) == other.json()


def test_packages_are_shared_by_default_and_owned_when_per_tenant(api: Api, parts: Components, who: Tenants,
                                                                  tmp_path: Path) -> None:
    package_id = upload(api, who.a, chart_archive(tmp_path))
    item = f"{PACKAGES}/{package_id}"
    assert status_of(api, item, who.b) == 200  # a shared catalogue: unchanged behaviour
    per_tenant = stage_components(tmp_path, parts.settings.stage, NETWEAVE_PACKAGES_PER_TENANT="true")
    with api_of(per_tenant) as owned_api:
        listed = owned_api.request("GET", f"{PACKAGES}?limit=1000", token=who.b).json()
        assert package_id not in {p["packageId"] for p in listed}
        not_found_like_unknown(owned_api, "GET", item, who.b, package_id)
        not_found_like_unknown(owned_api, "DELETE", item, who.b, package_id)
        body = {"name": "du-stolen", "namespace": "ran-b", "packageId": package_id, "values": {}}
        answers_like_unknown(owned_api, "POST", DEPLOYMENTS, who.b, package_id, body, 422)
        assert status_of(owned_api, item, who.a) == 200 and status_of(owned_api, item, who.admin) == 200
        assert assign(owned_api, "package", package_id, who.b_name, who.admin).status == 200
        assert status_of(owned_api, item, who.b) == 200 and status_of(owned_api, item, who.a) == 404
