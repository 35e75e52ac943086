"""The O2dms deployments API route by route, as an SMO integrator meets it: every success and error path through the
Chalice test client, moto (DynamoDB, SQS, S3), kubesim and the real helm binary, with the worker draining the real
`dms-operations` queue.

The fixtures follow tests/functional/test_deployments_flow.py, copied rather than imported: importing that module
would pull its own mypy error (flow:68) into this module's strict check. Differences: the kubesim site has 2 nodes
(polling its inventory takes ~2 s instead of ~13 s), the client is module-scoped, and deployments used only for
reading are made once per module.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import dms as dms_handlers
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services import dms_operations
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, Reply, serving, token_with
from tests.functional.inventory_fixtures import Site, site_environment

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# The helm binary comes with `make setup`: without it these tests fail, they never skip.
pytestmark = pytest.mark.xdist_group("helm-adapter")

DEPLOYMENTS = "/o2dms/v1/deployments"
OPERATIONS = "/o2dms/v1/operations"
PACKAGES = "/o2dms/v1/deploymentPackages"
POOLS = "/o2ims-infrastructureInventory/v1/resourcePools"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
TIMEOUT = 30  # helm --wait; kubesim readies a 1-replica vDU in well under that
CHART_VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")


# --- fixtures (see the module docstring) ------------------------------------------------------------------------------

PARTS: Components  # the gateway's parts for this module's site, set by `site`

@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dms-api-site")
    helm = (f"dmsAdapters:\n  - id: helm\n    type: helm\n    default: true\n"
            f"    options:\n      kubeconfig: {tmp / 'kubeconfig'}\n")
    global PARTS  # noqa: PLW0603 - the helpers below act on this module's site, as its tests do
    for site in site_environment(tmp, nodes=2, adapter_id="dms-api-site", more_adapters=helm):
        PARTS = site.components
        yield site


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("vdu-api")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    subprocess.run([str(PROJECT_HELM), "create", name], cwd=work, check=True, capture_output=True, env=env)
    built = {}
    for version in CHART_VERSIONS:
        subprocess.run([str(PROJECT_HELM), "package", name, "--version", version], cwd=work, check=True,
                       capture_output=True, env=env)
        built[version] = (work / f"{name}-{version}.tgz").read_bytes()
    return built


@pytest.fixture(scope="module")
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


def call(api: Api, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
    return api.request(method, path, body=body, **kwargs)


def _queue_url() -> str:
    return PARTS.queue_url(resources.DMS_OPERATIONS)


def _receive() -> list[MessageTypeDef]:
    return PARTS.clients.sqs.receive_message(QueueUrl=_queue_url(), MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                        MessageSystemAttributeNames=["All"]).get("Messages", [])


def _record(message: MessageTypeDef) -> dict[str, Any]:
    return {"messageId": message["MessageId"], "body": message["Body"], "attributes": message["Attributes"]}


def run_worker() -> list[str]:
    """Drain `dms-operations` of this module's stage through the worker, as Lambda would; the operation ids run."""
    ran: list[str] = []
    while messages := _receive():
        message = messages[0]
        assert dms_handlers.run_operations_batch({"Records": [_record(message)]}, PARTS) == {"batchItemFailures": []}
        PARTS.clients.sqs.delete_message(QueueUrl=_queue_url(), ReceiptHandle=message["ReceiptHandle"])
        ran.append(json.loads(message["Body"])["operationId"])
    return ran


def upload(api: Api, archive: bytes) -> str:
    reply = call(api, "POST", PACKAGES, body=archive, headers={"Content-Type": "application/gzip"})
    assert reply.status == 201, reply.body
    return str(reply.json()["packageId"])


@pytest.fixture(scope="module")
def packages(api: Api, charts: dict[str, bytes]) -> dict[str, str]:
    """Package ids by chart version. 1.0.0 is shared; 1.1.0 is an upgrade target; 1.2.0 and 1.3.0 are each used
    by one test only, which deletes them."""
    return {version: upload(api, archive) for version, archive in charts.items()}


@dataclass(frozen=True)
class Deployed:
    deployment_id: str
    item: str
    created: Reply  # the 202 of POST /deployments
    operation_id: str  # the create operation


def deploy(api: Api, name: str, namespace: str, package_id: str, **more: Any) -> Deployed:
    body = {"name": name, "namespace": namespace, "packageId": package_id, "values": {"replicaCount": 1},
            "timeoutSeconds": TIMEOUT, **more}
    reply = call(api, "POST", DEPLOYMENTS, body)
    assert reply.status == 202, reply.body
    created = reply.json()
    operation_id = created["extensions"]["activeOperationId"]
    assert operation_id in run_worker()
    item = f"{DEPLOYMENTS}/{created['deploymentId']}"
    shown = call(api, "GET", item).json()
    assert shown["status"] == "deployed", shown
    return Deployed(created["deploymentId"], item, reply, operation_id)


@pytest.fixture(scope="module")
def shared(api: Api, packages: dict[str, str]) -> Deployed:
    """Read-only: no test changes it (revision 1, 1 replica, namespace api-read)."""
    return deploy(api, "vdu-shared", "api-read", packages["1.0.0"], values={"replicaCount": 1, "cellId": "12345"})


@pytest.fixture(scope="module")
def workhorse(api: Api, packages: dict[str, str]) -> Deployed:
    return deploy(api, "vdu-work", "api-write", packages["1.0.0"])


@pytest.fixture()
def work(workhorse: Deployed) -> Iterator[Deployed]:
    """The mutable deployment; whatever a test left queued is run afterwards, so the next test finds it unlocked."""
    yield workhorse
    run_worker()


@pytest.fixture(scope="module")
def pool_id(api: Api) -> str:
    """A resource pool of the site's O2ims inventory (polled here: pools exist only once a poll stored them)."""
    inventory_handlers.poll_inventory(PARTS)
    pools = call(api, "GET", POOLS).json()
    assert pools, "the inventory poll stored no resource pool"
    return str(pools[0]["resourcePoolId"])


# --- helpers ----------------------------------------------------------------------------------------------------------

def problem(reply: Reply, status: int, *named: str) -> dict[str, Any]:
    """A ProblemDetails answer of `status` whose detail names every one of `named`."""
    assert reply.status == status, reply.body
    assert reply.header("Content-Type") == "application/problem+json", reply.headers
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://"), body
    for part in named:
        assert part in body["detail"], body
    return body


def state() -> tuple[list[tuple[str, str, str | None, str]], int, int]:
    """What a rejected request must leave exactly as it was: every deployment (id, status, lock, updatedAt), the
    number of operation records and the number of operation messages in the queue."""
    deployments = sorted((d.deployment_id, d.status.value, d.active_operation_id, d.updated_at)
                         for d in PARTS.deployment_store.all())
    operations = PARTS.clients.dynamodb.query(
        TableName=PARTS.settings.table_name(resources.DEPLOYMENTS), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "Operation"}}, Select="COUNT", ConsistentRead=True)["Count"]
    attributes = PARTS.clients.sqs.get_queue_attributes(
        QueueUrl=_queue_url(), AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    queued = int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
    return deployments, operations, queued


def history(api: Api, deployed: Deployed) -> list[dict[str, Any]]:
    reply = call(api, "GET", f"{deployed.item}/history")
    assert reply.status == 200, reply.body
    return list(reply.json())


def link_target(reply: Reply) -> str:
    link = reply.header("Link")
    assert link is not None and link.endswith('rel="next"'), reply.headers
    url = urlparse(link[link.index("<") + 1: link.index(">")])
    return f"{url.path}?{url.query}"


# --- POST /deployments ------------------------------------------------------------------------------------------------

def test_create_answers_202_with_location_monitor_link_and_a_pending_deployment(shared: Deployed,
                                                                                packages: dict[str, str]) -> None:
    reply = shared.created
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Location") == shared.item
    assert reply.header("Link") == f'<{OPERATIONS}/{shared.operation_id}>; rel="monitor"'
    body = reply.json()
    uuid.UUID(body["deploymentId"])
    assert (body["name"], body["namespace"], body["status"]) == ("vdu-shared", "api-read", "pending")
    assert (body["packageId"], body["packageVersion"]) == (packages["1.0.0"], "1.0.0")
    assert body["values"] == {"replicaCount": 1, "cellId": "12345"}
    assert body["extensions"]["dmsAdapter"] == "helm" and body["createdAt"] == body["updatedAt"]


def _create_body(package_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "vdu-rejected", "namespace": "api-rejected", "packageId": package_id,
                            "values": {"replicaCount": 1}, "timeoutSeconds": TIMEOUT}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("changes", "named"), [
    pytest.param({"name": "Vdu-A"}, "name", id="name-upper-case"),
    pytest.param({"name": "v" * 54}, "name", id="name-54-chars"),
    pytest.param({"name": "-vdu"}, "name", id="name-leading-dash"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "vdu-a\n"}, "name", id="name-trailing-newline"),
    pytest.param({"namespace": "kube-system\n"}, "namespace", id="namespace-trailing-newline"),
    pytest.param({"namespace": "Api_NS"}, "namespace", id="namespace-invalid"),
    pytest.param({"namespace": "n" * 64}, "namespace", id="namespace-64-chars"),
    pytest.param({"values": ["replicaCount", 1]}, "values", id="values-list"),
    pytest.param({"values": "replicaCount=1"}, "values", id="values-string"),
    pytest.param({"values": {"blob": "x" * 70_000}}, "values", id="values-over-64k"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"extensions": {"flavour": "big"}}, "flavour", id="unknown-extension"),
    pytest.param({"packageId": None}, "packageId", id="packageId-missing"),
    pytest.param({"timeoutSeconds": 9}, "timeoutSeconds", id="timeout-9"),
    pytest.param({"timeoutSeconds": 901}, "timeoutSeconds", id="timeout-901"),
])
def test_create_rejects_a_bad_body_naming_the_field(api: Api, packages: dict[str, str], changes: dict[str, Any],
                                                    named: str) -> None:
    before = state()
    problem(call(api, "POST", DEPLOYMENTS, _create_body(packages["1.0.0"], **changes)), 400, named)
    assert state() == before


def test_create_rejects_an_unknown_dms_adapter_listing_the_known_ones(api: Api, packages: dict[str, str]) -> None:
    before = state()
    body = _create_body(packages["1.0.0"], extensions={"dmsAdapter": "no-such-backend"})
    problem(call(api, "POST", DEPLOYMENTS, body), 400, "extensions.dmsAdapter", "no-such-backend", "helm")
    assert state() == before


@pytest.mark.parametrize(("changes", "named"), [
    pytest.param({"packageId": UNKNOWN}, "packageId", id="unknown-package"),
    pytest.param({"resourcePoolId": UNKNOWN}, "resourcePoolId", id="unknown-pool"),
])
def test_create_with_an_unknown_reference_is_422(api: Api, packages: dict[str, str], changes: dict[str, Any],
                                                 named: str) -> None:
    before = state()
    body = problem(call(api, "POST", DEPLOYMENTS, _create_body(packages["1.0.0"], **changes)), 422, named, UNKNOWN)
    assert body["type"].endswith("/unknown-reference")
    assert state() == before


def test_create_in_a_known_resource_pool(api: Api, packages: dict[str, str], pool_id: str) -> None:
    reply = call(api, "POST", DEPLOYMENTS, _create_body(packages["1.0.0"], name="vdu-pooled", namespace="api-pool",
                                                        resourcePoolId=pool_id))
    assert reply.status == 202, reply.body
    assert reply.json()["resourcePoolId"] == pool_id
    run_worker()
    shown = call(api, "GET", str(reply.header("Location"))).json()
    assert shown["resourcePoolId"] == pool_id and shown["status"] == "deployed", shown
    listed = call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,resourcePoolId,{pool_id})").json()
    assert [d["deploymentId"] for d in listed] == [shown["deploymentId"]]


def test_create_twice_in_one_namespace_is_409_but_another_namespace_is_fine(api: Api, shared: Deployed,
                                                                            packages: dict[str, str]) -> None:
    before = state()
    same = _create_body(packages["1.0.0"], name="vdu-shared", namespace="api-read")
    body = problem(call(api, "POST", DEPLOYMENTS, same), 409, "vdu-shared", "api-read")
    assert body["type"].endswith("/deployment-exists")
    assert state() == before

    elsewhere = call(api, "POST", DEPLOYMENTS, {**same, "namespace": "api-read-2"})
    assert elsewhere.status == 202, elsewhere.body
    run_worker()
    shown = call(api, "GET", str(elsewhere.header("Location"))).json()
    assert (shown["name"], shown["namespace"], shown["status"]) == ("vdu-shared", "api-read-2", "deployed"), shown
    assert call(api, "GET", shared.item).json()["extensions"]["revision"] == 1  # a release of its own


@pytest.mark.parametrize(("raw", "named"), [
    pytest.param(None, "body is required", id="no-body"),
    pytest.param(b"{name: vdu", "not valid JSON", id="not-json"),
    pytest.param(b"[]", "body", id="json-array"),
])
def test_create_without_a_json_object_is_400(api: Api, raw: bytes | None, named: str) -> None:
    before = state()
    headers = {"Content-Type": "application/json"}
    problem(call(api, "POST", DEPLOYMENTS, raw, headers=headers), 400, named)
    assert state() == before


def test_create_with_another_media_type_is_415(api: Api, packages: dict[str, str]) -> None:
    before = state()
    raw = json.dumps(_create_body(packages["1.0.0"])).encode()
    problem(call(api, "POST", DEPLOYMENTS, raw, headers={"Content-Type": "text/plain"}), 415)
    assert state() == before


def test_create_without_a_token_is_401(api: Api, packages: dict[str, str]) -> None:
    before = state()
    problem(call(api, "POST", DEPLOYMENTS, _create_body(packages["1.0.0"]), token=None), 401)
    assert state() == before


@pytest.mark.parametrize(("method", "suffix", "body"), [
    pytest.param("POST", "", "create", id="create"),
    pytest.param("PUT", "/{id}", {"values": {"replicaCount": 2}}, id="update"),
    pytest.param("DELETE", "/{id}", None, id="delete"),
    pytest.param("POST", "/{id}/scale", {"replicas": 2}, id="scale"),
    pytest.param("POST", "/{id}/upgrade", "upgrade", id="upgrade"),
    pytest.param("POST", "/{id}/rollback", {}, id="rollback"),
])
def test_changes_need_the_dms_write_scope(api: Api, shared: Deployed, packages: dict[str, str], method: str,
                                          suffix: str, body: Any) -> None:
    if body == "create":
        body = _create_body(packages["1.0.0"])
    elif body == "upgrade":
        body = {"packageId": packages["1.1.0"]}
    before = state()
    path = DEPLOYMENTS + suffix.format(id=shared.deployment_id)
    problem(call(api, method, path, body, token=token_with("o2dms:read")), 403)
    assert state() == before


def test_reads_need_the_dms_read_scope(api: Api, shared: Deployed) -> None:
    reader, other = token_with("o2dms:read"), token_with("o2ims:read")
    for path in (DEPLOYMENTS, shared.item, f"{shared.item}/status", f"{OPERATIONS}/{shared.operation_id}"):
        reply = call(api, "GET", path, token=reader)
        assert reply.status == 200 and reply.json() == call(api, "GET", path).json(), path  # what anyone reads
        problem(call(api, "GET", path, token=other), 403)
    problem(call(api, "GET", shared.item, token=None), 401)


# --- GET /deployments -------------------------------------------------------------------------------------------------

def test_list_filters_by_namespace_and_status(api: Api, shared: Deployed, workhorse: Deployed) -> None:
    in_namespace = call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,namespace,api-read)")
    assert in_namespace.status == 200 and in_namespace.header("Content-Type") == "application/json"
    assert [d["deploymentId"] for d in in_namespace.json()] == [shared.deployment_id]

    deployed = call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,status,deployed);(eq,namespace,api-read)").json()
    assert [d["deploymentId"] for d in deployed] == [shared.deployment_id]
    assert call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,status,pending);(eq,namespace,api-read)").json() == []
    others = call(api, "GET", f"{DEPLOYMENTS}?filter=(neq,namespace,api-read)").json()
    assert workhorse.deployment_id in {d["deploymentId"] for d in others}
    assert all(d["namespace"] != "api-read" for d in others)


def test_list_selects_fields(api: Api, shared: Deployed) -> None:
    path = f"{DEPLOYMENTS}?filter=(eq,namespace,api-read)"
    [default] = call(api, "GET", path).json()
    assert default["deploymentId"] == shared.deployment_id and default["name"] == "vdu-shared"
    [slim] = call(api, "GET", f"{path}&exclude_fields=values,extensions").json()
    assert slim == {k: v for k, v in default.items() if k not in ("values", "extensions")}
    # A deployment has no large attribute left out by default: `fields` and `all_fields` add nothing to it.
    [full] = call(api, "GET", f"{path}&fields=values").json()
    assert full == default and full["values"] == {"replicaCount": 1, "cellId": "12345"}
    assert call(api, "GET", f"{path}&all_fields").json() == [default]
    problem(call(api, "GET", f"{DEPLOYMENTS}?fields=colour"), 400, "colour")


@pytest.mark.parametrize(("query", "named"), [
    pytest.param("filter=(eq,colour,red)", "colour", id="unknown-attribute"),
    pytest.param("filter=(eq,status", "filter", id="malformed"),
    pytest.param("limit=-1", "limit", id="limit"),
    pytest.param("page=2", "page", id="unknown-parameter"),
])
def test_list_rejects_a_bad_query_naming_it(api: Api, query: str, named: str) -> None:
    problem(call(api, "GET", f"{DEPLOYMENTS}?{query}"), 400, named)


def test_list_pages_with_limit_and_link_next(api: Api, shared: Deployed, workhorse: Deployed) -> None:
    everything = [d["deploymentId"] for d in call(api, "GET", DEPLOYMENTS).json()]
    assert {shared.deployment_id, workhorse.deployment_id} <= set(everything)
    seen: list[str] = []
    path = f"{DEPLOYMENTS}?limit=1"
    while True:
        reply = call(api, "GET", path)
        assert reply.status == 200 and len(reply.json()) == 1, reply.body
        seen += [d["deploymentId"] for d in reply.json()]
        if reply.header("Link") is None:
            break
        path = link_target(reply)
        assert "limit=1" in path and "nextpage_opaque_marker=" in path
    assert seen == everything

    deployed = [d["deploymentId"] for d in call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,status,deployed)").json()]
    seen, path = [], f"{DEPLOYMENTS}?filter=(eq,status,deployed)&limit=1"
    while path:
        reply = call(api, "GET", path)
        assert reply.status == 200 and len(reply.json()) <= 1, reply.body
        seen += [d["deploymentId"] for d in reply.json()]
        path = link_target(reply) if reply.header("Link") else ""
    assert seen == deployed and shared.deployment_id in seen


# --- GET /deployments/{id} --------------------------------------------------------------------------------------------

def test_get_shows_the_deployed_deployment(api: Api, shared: Deployed, packages: dict[str, str]) -> None:
    shown = call(api, "GET", shared.item).json()
    assert shown["status"] == "deployed" and shown["packageId"] == packages["1.0.0"]
    extensions = shown["extensions"]
    assert extensions["revision"] == 1 and extensions["replicas"] == {"desired": 1, "ready": 1}
    assert extensions["lastOperationId"] == shared.operation_id and "activeOperationId" not in extensions
    assert "statusReason" not in extensions and shown["updatedAt"] > shown["createdAt"]


def test_get_selects_fields(api: Api, shared: Deployed) -> None:
    default = call(api, "GET", shared.item).json()
    slim = call(api, "GET", f"{shared.item}?exclude_fields=values,extensions/replicas,deploymentId").json()
    assert slim["deploymentId"] == shared.deployment_id  # identifiers are never removed
    assert slim == {**{k: v for k, v in default.items() if k != "values"},
                    "extensions": {k: v for k, v in default["extensions"].items() if k != "replicas"}}
    assert slim["extensions"]["revision"] == 1
    for query in ("fields=values", "all_fields", "exclude_default"):
        assert call(api, "GET", f"{shared.item}?{query}").json() == default, query
    assert default["values"]["cellId"] == "12345"
    problem(call(api, "GET", f"{shared.item}?exclude_fields=colour"), 400, "colour")


def test_get_unknown_is_404(api: Api) -> None:
    problem(call(api, "GET", f"{DEPLOYMENTS}/{UNKNOWN}"), 404, UNKNOWN)


# --- PUT /deployments/{id} --------------------------------------------------------------------------------------------

def test_put_values_runs_an_update_to_a_new_revision(api: Api, work: Deployed) -> None:
    revision = call(api, "GET", work.item).json()["extensions"]["revision"]
    values = {"replicaCount": 1, "bandwidth": "100MHz"}
    reply = call(api, "PUT", work.item, {"values": values, "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    operation = reply.json()
    assert (operation["operationType"], operation["status"]) == ("update", "queued")
    assert operation["deploymentId"] == work.deployment_id
    assert operation["parameters"] == {"values": values, "timeoutSeconds": TIMEOUT}
    assert reply.header("Location") == f"{OPERATIONS}/{operation['operationId']}" == operation["href"]
    assert call(api, "GET", work.item).json()["extensions"]["activeOperationId"] == operation["operationId"]

    assert run_worker() == [operation["operationId"]]
    shown = call(api, "GET", work.item).json()
    assert shown["values"] == values and shown["status"] == "deployed", shown
    assert shown["extensions"]["revision"] == revision + 1
    assert shown["extensions"]["lastOperationId"] == operation["operationId"]
    done = call(api, "GET", str(reply.header("Location"))).json()
    assert done["status"] == "succeeded" and done["result"]["revision"] == revision + 1, done
    assert history(api, work)[-1]["revision"] == revision + 1


def test_put_of_a_get_body_with_a_changed_value_is_accepted(api: Api, work: Deployed) -> None:
    document = call(api, "GET", work.item).json()
    document["values"] = {**document["values"], "cellId": "67890"}
    reply = call(api, "PUT", work.item, document)
    assert reply.status == 202, reply.body
    assert reply.json()["parameters"]["values"]["cellId"] == "67890"
    run_worker()
    assert call(api, "GET", work.item).json()["values"]["cellId"] == "67890"


@pytest.mark.parametrize(("body", "named"), [
    pytest.param({"timeoutSeconds": TIMEOUT}, "values", id="neither-values-nor-package"),
    pytest.param({"values": {}, "name": "vdu-renamed"}, "name", id="name-changed"),
    pytest.param({"values": {}, "namespace": "elsewhere"}, "namespace", id="namespace-changed"),
    pytest.param({"values": {}, "deploymentId": UNKNOWN}, "deploymentId", id="id-changed"),
    pytest.param({"values": {}, "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"values": [1]}, "values", id="values-list"),
    pytest.param({"values": {}, "timeoutSeconds": 5}, "timeoutSeconds", id="timeout"),
])
def test_put_rejects_a_bad_body_naming_the_field(api: Api, workhorse: Deployed, body: dict[str, Any],
                                                 named: str) -> None:
    before = state()
    problem(call(api, "PUT", workhorse.item, body), 400, named)
    assert state() == before


def test_put_of_a_get_body_with_a_changed_package_version_is_400(api: Api, workhorse: Deployed) -> None:
    document = call(api, "GET", workhorse.item).json()
    before = state()
    reply = call(api, "PUT", workhorse.item, {**document, "packageVersion": "9.9.9"})
    run_worker()  # if it was accepted
    problem(reply, 400, "packageVersion")
    assert state() == before


def test_put_with_an_unknown_package_is_422(api: Api, workhorse: Deployed) -> None:
    before = state()
    problem(call(api, "PUT", workhorse.item, {"packageId": UNKNOWN}), 422, "packageId", UNKNOWN)
    assert state() == before


def test_put_unknown_deployment_is_404(api: Api) -> None:
    before = state()
    problem(call(api, "PUT", f"{DEPLOYMENTS}/{UNKNOWN}", {"values": {"replicaCount": 2}}), 404, UNKNOWN)
    assert state() == before


# --- POST /deployments/{id}/scale -------------------------------------------------------------------------------------

@pytest.mark.parametrize("replicas", [-1, 1001, "x", None])
def test_scale_rejects_bad_replicas(api: Api, workhorse: Deployed, replicas: Any) -> None:
    before = state()
    body = {} if replicas is None else {"replicas": replicas}
    problem(call(api, "POST", f"{workhorse.item}/scale", body), 400, "replicas")
    assert state() == before


def test_scale_unknown_deployment_is_404(api: Api) -> None:
    before = state()
    problem(call(api, "POST", f"{DEPLOYMENTS}/{UNKNOWN}/scale", {"replicas": 2}), 404, UNKNOWN)
    assert state() == before


def test_a_second_change_while_one_is_queued_is_409_until_the_worker_ran(api: Api, work: Deployed,
                                                                          packages: dict[str, str]) -> None:
    first = call(api, "POST", f"{work.item}/scale", {"replicas": 2, "timeoutSeconds": TIMEOUT})
    assert first.status == 202, first.body
    running = first.json()["operationId"]
    assert first.json()["operationType"] == "scale" and first.json()["parameters"]["replicas"] == 2
    before = state()
    for method, suffix, body in [("POST", "/scale", {"replicas": 3}), ("PUT", "", {"values": {}}),
                                 ("POST", "/upgrade", {"packageId": packages["1.1.0"]}),
                                 ("POST", "/rollback", {}), ("DELETE", "", None)]:
        conflict = problem(call(api, method, work.item + suffix, body), 409, f"{OPERATIONS}/{running}")
        assert conflict["type"].endswith("/operation-in-progress"), conflict
    assert state() == before

    assert run_worker() == [running]
    shown = call(api, "GET", work.item).json()
    assert shown["extensions"]["replicas"] == {"desired": 2, "ready": 2} and shown["values"]["replicaCount"] == 2
    again = call(api, "POST", f"{work.item}/scale", {"replicas": 0, "timeoutSeconds": TIMEOUT})
    assert again.status == 202, again.body
    assert run_worker() == [again.json()["operationId"]]
    idle = call(api, "GET", work.item).json()
    assert idle["extensions"]["replicas"] == {"desired": 0, "ready": 0} and idle["status"] == "deployed", idle


# --- POST /deployments/{id}/upgrade -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "named"), [
    pytest.param({"packageId": UNKNOWN}, 422, "packageId", id="unknown-package"),
    pytest.param({"values": {"replicaCount": 1}}, 400, "packageId", id="missing-package"),
    pytest.param({"packageId": ""}, 400, "packageId", id="empty-package"),
])
def test_upgrade_rejects_a_bad_package_reference(api: Api, workhorse: Deployed, body: dict[str, Any], status: int,
                                                 named: str) -> None:
    before = state()
    problem(call(api, "POST", f"{workhorse.item}/upgrade", body), status, named)
    assert state() == before


def test_upgrade_then_rollback_restores_package_and_values(api: Api, work: Deployed,
                                                           packages: dict[str, str]) -> None:
    before = call(api, "GET", work.item).json()
    revision = before["extensions"]["revision"]
    values = {"replicaCount": 1, "cellId": "upgraded"}
    reply = call(api, "POST", f"{work.item}/upgrade", {"packageId": packages["1.1.0"], "values": values,
                                                       "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    upgrade = reply.json()
    assert upgrade["operationType"] == "upgrade" and upgrade["parameters"]["packageVersion"] == "1.1.0"
    assert run_worker() == [upgrade["operationId"]]
    upgraded = call(api, "GET", work.item).json()
    assert (upgraded["packageId"], upgraded["packageVersion"], upgraded["values"]) == (
        packages["1.1.0"], "1.1.0", values), upgraded
    assert upgraded["status"] == "deployed" and upgraded["extensions"]["revision"] == revision + 1

    reply = call(api, "POST", f"{work.item}/rollback", {"timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    assert run_worker() == [reply.json()["operationId"]]
    rollback = call(api, "GET", str(reply.header("Location"))).json()
    assert rollback["status"] == "succeeded" and rollback["parameters"]["revision"] == revision
    restored = call(api, "GET", work.item).json()
    assert (restored["packageId"], restored["packageVersion"], restored["values"]) == (
        before["packageId"], before["packageVersion"], before["values"]), restored
    assert restored["status"] == "deployed" and restored["extensions"]["revision"] == revision + 2


def test_upgrade_unknown_deployment_is_404(api: Api, packages: dict[str, str]) -> None:
    problem(call(api, "POST", f"{DEPLOYMENTS}/{UNKNOWN}/upgrade", {"packageId": packages["1.1.0"]}), 404, UNKNOWN)


# --- POST /deployments/{id}/rollback ----------------------------------------------------------------------------------

@pytest.mark.parametrize("revision", [0, -1, "one"])
def test_rollback_rejects_a_bad_revision_number(api: Api, workhorse: Deployed, revision: Any) -> None:
    before = state()
    problem(call(api, "POST", f"{workhorse.item}/rollback", {"revision": revision}), 400, "revision")
    assert state() == before


def test_rollback_to_a_revision_that_does_not_exist_is_refused_and_changes_nothing(api: Api, work: Deployed) -> None:
    """The operation fails naming the revisions there are; the release is never touched, so the deployment keeps
    its status (at 5ad96cd the worker marked it 'failed'; fixed in 3aa8f56)."""
    before = call(api, "GET", work.item).json()
    if before["status"] != "deployed":  # whatever earlier tests left: have it deployed first
        assert call(api, "POST", f"{work.item}/scale", {"replicas": 1, "timeoutSeconds": TIMEOUT}).status == 202
        run_worker()
        before = call(api, "GET", work.item).json()
    assert before["status"] == "deployed", before
    revisions = [r["revision"] for r in history(api, work)]
    reply = call(api, "POST", f"{work.item}/rollback", {"revision": 99, "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    run_worker()

    operation = call(api, "GET", str(reply.header("Location"))).json()
    assert operation["status"] == "failed" and operation["operationType"] == "rollback", operation
    assert operation["error"]["status"] == 422 and operation["error"]["title"]
    assert operation["finishedAt"] and "result" not in operation and operation["attempts"] == 1
    assert "revision 99" in operation["error"]["detail"]
    assert "revisions: " + ", ".join(map(str, revisions)) in operation["error"]["detail"], operation
    after = call(api, "GET", work.item).json()
    assert after["status"] == "deployed" and "statusReason" not in after["extensions"], after
    assert "activeOperationId" not in after["extensions"]  # released: the next change is accepted
    assert (after["extensions"]["revision"], after["values"]) == (before["extensions"]["revision"], before["values"])
    assert [r["revision"] for r in history(api, work)] == revisions  # nothing was rolled back


def test_rollback_unknown_deployment_is_404(api: Api) -> None:
    problem(call(api, "POST", f"{DEPLOYMENTS}/{UNKNOWN}/rollback", {}), 404, UNKNOWN)


# --- DELETE /deployments/{id} -----------------------------------------------------------------------------------------

def test_delete_uninstalls_then_the_deployment_is_404_and_the_operation_remains(api: Api,
                                                                                 packages: dict[str, str]) -> None:
    doomed = deploy(api, "vdu-doomed", "api-delete", packages["1.0.0"])
    reply = call(api, "DELETE", doomed.item)
    assert reply.status == 202, reply.body
    operation = reply.json()
    assert (operation["operationType"], operation["status"]) == ("delete", "queued")
    assert reply.header("Location") == f"{OPERATIONS}/{operation['operationId']}"
    assert run_worker() == [operation["operationId"]]

    problem(call(api, "GET", doomed.item), 404, doomed.deployment_id)
    for suffix in ("/status", "/logs", "/history"):
        problem(call(api, "GET", doomed.item + suffix), 404)
    done = call(api, "GET", str(reply.header("Location")))
    assert done.status == 200
    assert done.json()["status"] == "succeeded" and done.json()["result"] == {"status": "deleted"}, done.json()
    problem(call(api, "DELETE", doomed.item), 404)
    assert call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,namespace,api-delete)").json() == []
    again = deploy(api, "vdu-doomed", "api-delete", packages["1.0.0"])  # the name is free again
    assert again.deployment_id != doomed.deployment_id
    assert [r["revision"] for r in history(api, again)] == [1]  # a new release, not the old one's history


def test_delete_unknown_is_404(api: Api) -> None:
    before = state()
    problem(call(api, "DELETE", f"{DEPLOYMENTS}/{UNKNOWN}"), 404, UNKNOWN)
    assert state() == before


# --- status, logs, history --------------------------------------------------------------------------------------------

def test_status_shows_the_release_workloads_and_pods(api: Api, shared: Deployed) -> None:
    reply = call(api, "GET", f"{shared.item}/status")
    assert reply.status == 200, reply.body
    view = reply.json()
    assert (view["deploymentId"], view["status"], view["ready"]) == (shared.deployment_id, "deployed", True)
    release = view["release"]
    assert (release["name"], release["namespace"], release["revision"], release["status"]) == (
        "vdu-shared", "api-read", 1, "deployed")
    assert release["chartVersion"] == "1.0.0" and release["chart"].startswith("vdu-")
    [workload] = view["workloads"]
    assert (workload["kind"], workload["desired"], workload["ready"]) == ("Deployment", 1, 1)
    [pod] = view["pods"]
    assert pod["phase"] == "Running" and pod["ready"] is True and pod["restarts"] == 0
    problem(call(api, "GET", f"{shared.item}/status?verbose=true"), 400, "verbose")


def test_logs_by_pod_and_container_with_tail_lines(api: Api, shared: Deployed) -> None:
    reply = call(api, "GET", f"{shared.item}/logs")
    assert reply.status == 200, reply.body
    [entry] = reply.json()
    assert entry["pod"].startswith("vdu-shared") and entry["lines"], entry
    tail = call(api, "GET", f"{shared.item}/logs?tailLines=1").json()
    assert [e["lines"] for e in tail] == [entry["lines"][-1:]]
    chosen = call(api, "GET", f"{shared.item}/logs?container={entry['container']}&sinceSeconds=3600").json()
    assert [e["container"] for e in chosen] == [entry["container"]]
    assert call(api, "GET", f"{shared.item}/logs?container=no-such-container").json() == []


@pytest.mark.parametrize(("query", "named"), [
    pytest.param("tailLines=0", "tailLines", id="tail-0"),
    pytest.param("tailLines=many", "tailLines", id="tail-not-a-number"),
    pytest.param("sinceSeconds=0", "sinceSeconds", id="since-0"),
    pytest.param("follow=true", "follow", id="unknown-parameter"),
])
def test_logs_reject_a_bad_query_naming_it(api: Api, shared: Deployed, query: str, named: str) -> None:
    problem(call(api, "GET", f"{shared.item}/logs?{query}"), 400, named)


def test_history_lists_revisions_with_their_packages(api: Api, shared: Deployed, packages: dict[str, str]) -> None:
    [revision] = history(api, shared)
    assert (revision["revision"], revision["status"], revision["packageVersion"]) == (1, "deployed", "1.0.0")
    assert revision["packageId"] == packages["1.0.0"] and revision["chart"].endswith("-1.0.0")
    assert revision["updatedAt"] and revision["description"]


@pytest.mark.parametrize("suffix", ["/status", "/logs", "/history"])
def test_live_views_of_an_unknown_deployment_are_404(api: Api, suffix: str) -> None:
    problem(call(api, "GET", f"{DEPLOYMENTS}/{UNKNOWN}{suffix}"), 404, UNKNOWN)


# --- GET /operations/{id} ---------------------------------------------------------------------------------------------

def test_a_finished_operation_tells_what_happened(api: Api, shared: Deployed, packages: dict[str, str]) -> None:
    reply = call(api, "GET", f"{OPERATIONS}/{shared.operation_id}")
    assert reply.status == 200, reply.body
    operation = reply.json()
    assert (operation["operationId"], operation["deploymentId"]) == (shared.operation_id, shared.deployment_id)
    assert (operation["operationType"], operation["status"], operation["attempts"]) == ("create", "succeeded", 1)
    assert operation["parameters"] == {"packageId": packages["1.0.0"], "values": {"replicaCount": 1, "cellId": "12345"},
                                       "timeoutSeconds": TIMEOUT}
    assert operation["result"] == {"revision": 1, "status": "deployed"} and "error" not in operation
    assert operation["href"] == f"{OPERATIONS}/{shared.operation_id}"
    assert operation["createdAt"] <= operation["startedAt"] <= operation["finishedAt"]
    times = [p["at"] for p in operation["progress"]]
    assert times == sorted(times)
    messages = [p["message"] for p in operation["progress"]]
    expected = ["accepted; queued", "attempt 1 started", "fetching package", "installing release api-read/vdu-shared",
                "release revision 1 deployed; 1/1 replicas ready"]
    assert len(messages) == len(expected) and all(m.startswith(e) for m, e in zip(messages, expected, strict=True)), \
        messages


def test_unknown_operation_is_404(api: Api) -> None:
    problem(call(api, "GET", f"{OPERATIONS}/{UNKNOWN}"), 404, UNKNOWN)


# --- the worker -------------------------------------------------------------------------------------------------------

def test_a_redelivered_message_is_skipped(api: Api, work: Deployed) -> None:
    revisions = [r["revision"] for r in history(api, work)]
    reply = call(api, "POST", f"{work.item}/scale", {"replicas": 2, "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    operation_id = reply.json()["operationId"]
    [message] = _receive()
    record = _record(message)
    assert json.loads(record["body"])["operationId"] == operation_id
    assert dms_handlers.run_operations_batch({"Records": [record]}, PARTS) == {"batchItemFailures": []}
    done = call(api, "GET", f"{OPERATIONS}/{operation_id}").json()
    assert done["status"] == "succeeded", done

    # SQS delivers the same message again (at-least-once): nothing runs twice.
    assert dms_operations.run_operation(PARTS.operation_ports(), operation_id) == "skipped"
    assert dms_handlers.run_operations_batch({"Records": [record]}, PARTS) == {"batchItemFailures": []}
    PARTS.clients.sqs.delete_message(QueueUrl=_queue_url(), ReceiptHandle=message["ReceiptHandle"])
    assert call(api, "GET", f"{OPERATIONS}/{operation_id}").json() == done
    assert [r["revision"] for r in history(api, work)] == [*revisions, revisions[-1] + 1]
    assert call(api, "GET", work.item).json()["extensions"]["revision"] == revisions[-1] + 1


# --- packages in use --------------------------------------------------------------------------------------------------

def test_a_package_in_use_cannot_be_deleted_until_its_deployment_is(api: Api, packages: dict[str, str]) -> None:
    package = f"{PACKAGES}/{packages['1.2.0']}"
    user = deploy(api, "vdu-pkg", "api-pkg", packages["1.2.0"])
    problem(call(api, "DELETE", package), 409)
    assert call(api, "GET", package).json()["packageId"] == packages["1.2.0"]  # still there
    assert call(api, "DELETE", user.item).status == 202
    run_worker()
    assert call(api, "DELETE", package).status == 204
    assert call(api, "GET", package).status == 404


def test_the_package_of_a_queued_upgrade_cannot_be_deleted(api: Api, work: Deployed,
                                                           packages: dict[str, str]) -> None:
    package = f"{PACKAGES}/{packages['1.3.0']}"
    reply = call(api, "POST", f"{work.item}/upgrade", {"packageId": packages["1.3.0"], "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    problem(call(api, "DELETE", package), 409)
    run_worker()
    assert call(api, "GET", str(reply.header("Location"))).json()["status"] == "succeeded"



# --- 405, queue outages -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "allowed"), [
    pytest.param("DELETE", "", "GET, POST", id="collection-delete"),
    pytest.param("PATCH", "/{id}", "DELETE, GET, PUT", id="item-patch"),
    pytest.param("GET", "/{id}/scale", "POST", id="scale-get"),
    pytest.param("POST", "/{id}/status", "GET", id="status-post"),
])
def test_unsupported_methods_are_405_with_allow(api: Api, shared: Deployed, method: str, suffix: str,
                                                allowed: str) -> None:
    before = state()
    reply = call(api, method, DEPLOYMENTS + suffix.format(id=shared.deployment_id),
                 {} if method in ("PATCH", "POST") else None)
    problem(reply, 405, method)
    assert reply.header("Allow") == allowed
    assert state() == before


@pytest.fixture()
def queue_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQS refuses every operation message until the test undoes it (the API's cached queue client is patched)."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("sqs is down")

    monkeypatch.setattr(PARTS.operation_queue, "submit", refuse)
    yield
    monkeypatch.undo()


def test_a_create_that_cannot_be_queued_is_503_and_may_be_sent_again(api: Api, packages: dict[str, str],
                                                                     queue_down: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    deployments, _, queued = state()
    body = _create_body(packages["1.0.0"], name="vdu-retry", namespace="api-retry")
    unavailable = problem(call(api, "POST", DEPLOYMENTS, body), 503, "try again")
    assert unavailable["type"].endswith("/operation-queue-unavailable")
    after, _, queued_after = state()
    assert (after, queued_after) == (deployments, queued)  # only the failed operation's record is kept
    assert call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,namespace,api-retry)").json() == []

    monkeypatch.undo()
    again = call(api, "POST", DEPLOYMENTS, body)
    assert again.status == 202, again.body
    assert run_worker() == [again.json()["extensions"]["activeOperationId"]]
    assert call(api, "GET", str(again.header("Location"))).json()["status"] == "deployed"


def test_a_change_that_cannot_be_queued_is_503_and_leaves_the_deployment_unlocked(
        api: Api, work: Deployed, queue_down: None, monkeypatch: pytest.MonkeyPatch) -> None:
    before = call(api, "GET", work.item).json()
    problem(call(api, "POST", f"{work.item}/scale", {"replicas": 1}), 503, "try again")
    after = call(api, "GET", work.item).json()
    assert after["status"] == before["status"] and "activeOperationId" not in after["extensions"]
    assert after["values"] == before["values"]

    monkeypatch.undo()
    again = call(api, "POST", f"{work.item}/scale", {"replicas": 1, "timeoutSeconds": TIMEOUT})
    assert again.status == 202, again.body
