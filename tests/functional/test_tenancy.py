"""Tenancy attacks (issue 14 item 1, docs/security.md "Tenancy"): a second client with an ordinary token tries to
list, read and delete the first client's subscriptions of every kind, and to read and change its deployments
(values, operations, status, logs, history, scale, upgrade, rollback, delete). Every attempt answers exactly as for
an unknown id and changes nothing; an admin (`netweave:admin`) sees and manages everything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from chalicelib.domain.deployments import DeploymentStatus, OperationStatus
from tests.functional.conftest import Api, assert_problem
from tests.functional.tenancy_fixtures import (
    DEPLOYMENTS,
    OPERATIONS,
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

pytestmark = pytest.mark.xdist_group("tenancy")  # one stage per module: its tables are provisioned once


@pytest.fixture(scope="module")
def parts(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Components:
    return stage_components(tmp_path_factory.mktemp("tenancy"))


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


def listed(api: Api, collection: str, token: str, id_field: str) -> set[str]:
    reply = api.request("GET", f"{collection}{'&' if '?' in collection else '?'}limit=1000", token=token)
    assert reply.status == 200, reply.body
    return {str(item[id_field]) for item in reply.json()}


# --- subscriptions ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(SUBSCRIPTIONS))
def test_another_tenant_neither_lists_nor_reads_nor_deletes_a_subscription(api: Api, who: Tenants,
                                                                           kind: str) -> None:
    collection, id_field = SUBSCRIPTIONS[kind]
    theirs = subscribe(api, who.a, kind)
    mine = subscribe(api, who.b, kind)
    assert listed(api, collection, who.b, id_field) == {mine}  # the callback URL (maybe credentials) stays hidden
    assert theirs not in listed(api, f"{collection}?filter=(eq,{id_field},{theirs})", who.b, id_field)
    not_found_like_unknown(api, "GET", f"{collection}/{theirs}", who.b, theirs)
    not_found_like_unknown(api, "DELETE", f"{collection}/{theirs}", who.b, theirs)
    shown = api.request("GET", f"{collection}/{theirs}", token=who.a)
    assert shown.status == 200 and shown.json()[id_field] == theirs  # still there, for its own tenant
    assert listed(api, collection, who.a, id_field) == {theirs}


@pytest.mark.parametrize("kind", sorted(SUBSCRIPTIONS))
def test_an_admin_lists_reads_and_deletes_every_tenants_subscriptions(api: Api, who: Tenants, kind: str) -> None:
    collection, id_field = SUBSCRIPTIONS[kind]
    theirs, mine = subscribe(api, who.a, kind), subscribe(api, who.b, kind)
    assert {theirs, mine} <= listed(api, collection, who.admin, id_field)
    assert api.request("GET", f"{collection}/{theirs}", token=who.admin).status == 200
    assert api.request("DELETE", f"{collection}/{theirs}", token=who.admin).status == 200
    assert api.request("GET", f"{collection}/{theirs}", token=who.a).status == 404
    assert api.request("DELETE", f"{collection}/{mine}", token=who.b).status == 200


def test_a_full_page_of_other_tenants_subscriptions_does_not_hide_the_callers(api: Api, who: Tenants) -> None:
    collection, id_field = SUBSCRIPTIONS["inventory"]
    for _ in range(3):
        subscribe(api, who.a, "inventory")
    mine = {subscribe(api, who.b, "inventory") for _ in range(2)}
    first = api.request("GET", f"{collection}?limit=1", token=who.b)
    assert first.status == 200 and len(first.json()) == 1
    follow = first.header("Link")
    assert follow is not None  # a second page of B's exists, however many of A's lie between
    marker = follow[follow.index("nextpage_opaque_marker=") + len("nextpage_opaque_marker="): follow.index(">")]
    second = api.request("GET", f"{collection}?limit=1&nextpage_opaque_marker={marker}", token=who.b)
    assert {first.json()[0][id_field], second.json()[0][id_field]} == mine


# --- deployments and operations ---------------------------------------------------------------------------------

def idle(parts: Components, deployment_id: str) -> None:
    """As the worker leaves a deployment it installed: deployed, unlocked, its create operation succeeded (this
    stage's cluster is never reached, so the test plays the worker's last write)."""
    deployment = parts.deployment_store.get(deployment_id)
    assert deployment is not None and deployment.active_operation_id is not None
    operation = parts.deployment_store.get_operation(deployment.active_operation_id)
    assert operation is not None
    extensions = {k: v for k, v in deployment.extensions.items() if k != "activeOperationId"}
    parts.deployment_store.finish(
        deployment.model_copy(update={"status": DeploymentStatus.DEPLOYED, "extensions": extensions}),
        operation.model_copy(update={"status": OperationStatus.SUCCEEDED}))
    drain(parts, resources.DMS_OPERATIONS)


def changes(parts: Components) -> tuple[int, int]:
    """(operation records, operation messages queued): what an accepted change adds to."""
    operations = parts.clients.dynamodb.query(
        TableName=parts.settings.table_name(resources.DEPLOYMENTS), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "Operation"}}, Select="COUNT", ConsistentRead=True)["Count"]
    return operations, len(drain(parts, resources.DMS_OPERATIONS, delete=False))


def test_another_tenant_can_neither_read_nor_change_a_deployment(api: Api, parts: Components, who: Tenants,
                                                                 package_id: str) -> None:
    created = deploy(api, who.a, package_id, {"replicaCount": 1, "adminPassword": "s3cret"})
    deployment_id, operation_id = created["deploymentId"], created["extensions"]["activeOperationId"]
    idle(parts, deployment_id)
    item = f"{DEPLOYMENTS}/{deployment_id}"
    assert deployment_id not in listed(api, DEPLOYMENTS, who.b, "deploymentId")
    filtered = f"{DEPLOYMENTS}?filter=(eq,deploymentId,{deployment_id})"
    assert listed(api, filtered, who.b, "deploymentId") == set()
    before = changes(parts)
    reads = [("GET", item, None), ("GET", f"{item}/status", None), ("GET", f"{item}/logs", None),
             ("GET", f"{item}/history", None)]
    writes: list[tuple[str, str, Any]] = [
        ("PUT", item, {"values": {"replicaCount": 9}}), ("POST", f"{item}/scale", {"replicas": 0}),
        ("POST", f"{item}/upgrade", {"packageId": package_id}), ("POST", f"{item}/rollback", {}),
        ("DELETE", item, None)]
    for method, path, body in reads + writes:
        not_found_like_unknown(api, method, path, who.b, deployment_id, body)
    not_found_like_unknown(api, "GET", f"{OPERATIONS}/{operation_id}", who.b, operation_id)
    assert changes(parts) == before  # nothing accepted, nothing queued
    own = api.request("GET", item, token=who.a)
    assert own.status == 200 and own.json()["values"]["adminPassword"] == "s3cret"
    assert own.json()["extensions"]["owner"] == who.a_name and own.json()["status"] == "deployed"
    assert api.request("GET", f"{OPERATIONS}/{operation_id}", token=who.a).status == 200


def test_an_admin_sees_and_manages_every_tenants_deployments(api: Api, parts: Components, who: Tenants,
                                                             package_id: str) -> None:
    created = deploy(api, who.a, package_id)
    deployment_id = created["deploymentId"]
    idle(parts, deployment_id)
    assert deployment_id in listed(api, DEPLOYMENTS, who.admin, "deploymentId")
    shown = api.request("GET", f"{DEPLOYMENTS}/{deployment_id}", token=who.admin).json()
    assert shown["extensions"]["owner"] == who.a_name
    scaled = api.request("POST", f"{DEPLOYMENTS}/{deployment_id}/scale", token=who.admin, body={"replicas": 2})
    assert scaled.status == 202, scaled.body
    operation = f"{OPERATIONS}/{scaled.json()['operationId']}"
    assert api.request("GET", operation, token=who.a).status == 200  # the operation is the deployment's tenant's
    assert api.request("GET", operation, token=who.b).status == 404
    drain(parts, resources.DMS_OPERATIONS)


def test_a_token_without_the_tenant_claim_is_401_naming_it(tmp_path: Path, parts: Components) -> None:
    from devtools.token import mint_token
    from tests.functional.conftest import SECRET

    org_claim = stage_components(tmp_path, parts.settings.stage, NETWEAVE_TENANT_CLAIM="org")
    with api_of(org_claim) as api:
        reply = api.request("GET", SUBSCRIPTIONS["inventory"][0], token=mint_token(SECRET, {"o2ims:read"}))
        assert_problem(reply, 401, "'org' claim")
