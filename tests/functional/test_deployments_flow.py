"""Deployments end to end inside one process: the API (Chalice test client) accepts, the real `dms-operations`
queue carries the operation, the worker runs it with the real helm binary against kubesim, the poller observes."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import dms as dms_handlers
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, serving
from tests.functional.inventory_fixtures import Site, site_environment

# The helm binary comes with `make setup`: without it these tests fail, they never skip.
pytestmark = pytest.mark.xdist_group("helm-adapter")
DEPLOYMENTS = "/o2dms/v1/deployments"


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dms-site")
    helm = (f"dmsAdapters:\n  - id: helm\n    type: helm\n    default: true\n"
            f"    options:\n      kubeconfig: {tmp / 'kubeconfig'}\n")
    yield from site_environment(tmp, adapter_id="dms-site", more_adapters=helm)


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("vdu")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    subprocess.run([str(PROJECT_HELM), "create", name], cwd=work, check=True, capture_output=True, env=env)
    built = {}
    for version in ("1.0.0", "1.1.0"):
        subprocess.run([str(PROJECT_HELM), "package", name, "--version", version], cwd=work, check=True,
                       capture_output=True, env=env)
        built[version] = (work / f"{name}-{version}.tgz").read_bytes()
    return built


@pytest.fixture()
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


def call(api: Api, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    return api.request(method, path, body=body, **kwargs)


def run_worker(parts: Components) -> list[str]:
    """Drain `dms-operations` of this test's stage through the worker, as Lambda would; the operation ids run."""
    sqs = boto3.client("sqs")
    url = parts.queue_url(resources.DMS_OPERATIONS)
    ran: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                       MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return ran
        message = messages[0]
        record = {"messageId": message["MessageId"], "body": message["Body"], "attributes": message["Attributes"]}
        result = dms_handlers.run_operations_batch({"Records": [record]}, parts)
        assert result == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        ran.append(json.loads(message["Body"])["operationId"])


def deployment_alarms(parts: Components, deployment_id: str) -> dict[str, dict[str, Any]]:
    """Open alarms about one deployment, by alarm name."""
    return {r.extensions["alarmName"]: r.to_wire() for r in parts.alarm_store.open_records("deployments")
            if r.resource_id == deployment_id}


def upload(api: Api, archive: bytes) -> str:
    reply = call(api, "POST", "/o2dms/v1/deploymentPackages", body=archive,
                 headers={"Content-Type": "application/gzip"})
    assert reply.status == 201, reply.body
    return str(reply.json()["packageId"])


def test_vdu_deploy_scale_fail_rollback_delete(api: Api, charts: dict[str, bytes], site: Site) -> None:
    v1, v2 = upload(api, charts["1.0.0"]), upload(api, charts["1.1.0"])
    reply = call(api, "POST", DEPLOYMENTS, {"name": "vdu-a", "namespace": "vdu-ns", "packageId": v1,
                                              "values": {"cellId": "12345", "bandwidth": "100MHz",
                                                         "replicaCount": 3}, "timeoutSeconds": 30})
    assert reply.status == 202, reply.body
    deployment = reply.json()
    assert deployment["status"] == "pending" and reply.header("Location") == f"{DEPLOYMENTS}/" + \
        deployment["deploymentId"]
    item = f"{DEPLOYMENTS}/{deployment['deploymentId']}"
    assert len(run_worker(site.components)) == 1
    shown = call(api, "GET", item).json()
    assert shown["status"] == "deployed", shown
    assert shown["extensions"]["revision"] == 1 and shown["extensions"]["replicas"] == {"desired": 3, "ready": 3}

    scale = call(api, "POST", f"{item}/scale", {"replicas": 5, "timeoutSeconds": 30})
    assert scale.status == 202
    again = call(api, "POST", f"{item}/scale", {"replicas": 4})
    assert again.status == 409 and again.json()["status"] == 409
    run_worker(site.components)
    operation = call(api, "GET", scale.header("Location")).json()
    assert operation["status"] == "succeeded", operation
    status = call(api, "GET", f"{item}/status").json()
    assert status["ready"] and status["workloads"][0]["ready"] == 5

    upgrade = call(api, "POST", f"{item}/upgrade", {"packageId": v2, "values": {"replicaCount": 2,
                                                                               "image": {"tag": "fail"}},
                                                    "timeoutSeconds": 10})
    assert upgrade.status == 202
    run_worker(site.components)
    failed = call(api, "GET", upgrade.header("Location")).json()
    assert failed["status"] == "failed" and "CrashLoopBackOff" in failed["error"]["detail"], failed
    assert call(api, "GET", item).json()["status"] == "failed"
    dms_handlers.scheduled_deployment_poll(site.components)  # the poll evaluates deployment alarms
    raised = deployment_alarms(site.components, deployment["deploymentId"])
    assert sorted(raised) == ["DeploymentFailed", "DeploymentOperationFailed"]
    assert raised["DeploymentFailed"]["perceivedSeverity"] == 1
    assert raised["DeploymentOperationFailed"]["extensions"]["operationType"] == "upgrade"

    rollback = call(api, "POST", f"{item}/rollback", {})
    assert rollback.status == 202
    run_worker(site.components)
    assert call(api, "GET", rollback.header("Location")).json()["parameters"]["revision"] == 2
    healthy = call(api, "GET", item).json()
    assert healthy["status"] == "deployed" and healthy["packageVersion"] == "1.0.0", healthy
    assert healthy["values"]["replicaCount"] == 5
    history = call(api, "GET", f"{item}/history").json()
    assert [(r["revision"], r["packageVersion"]) for r in history] == [(1, "1.0.0"), (2, "1.0.0"), (3, "1.1.0"),
                                                                        (4, "1.0.0")]
    assert call(api, "DELETE", f"/o2dms/v1/deploymentPackages/{v1}").status == 409
    report = dms_handlers.scheduled_deployment_poll(site.components)
    assert report["checked"] >= 1 and report["changed"] == 0
    # healthy again: DeploymentFailed cleared by itself, the failed upgrade's alarm waits for the SMO (MANUAL)
    assert sorted(deployment_alarms(site.components, deployment["deploymentId"])) == ["DeploymentOperationFailed"]

    delete = call(api, "DELETE", item)
    assert delete.status == 202
    run_worker(site.components)
    assert call(api, "GET", item).status == 404
    assert call(api, "GET", delete.header("Location")).json()["status"] == "succeeded"
    assert call(api, "DELETE", f"/o2dms/v1/deploymentPackages/{v1}").status == 204
