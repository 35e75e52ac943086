"""A stage of its own for the tenancy tests (docs/o2-conventions.md §6, "Tenancy"): every table and queue, a Helm
backend whose cluster is never reached (accepting a deployment does not contact it), callbacks to 127.0.0.1 allowed,
and tokens of two tenants and an admin. Nothing another test leaves in the shared stage can show up in a list here,
and nothing queued here reaches another test's worker."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from chalice.test import Client

from chalicelib import resources
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.settings import settings_from_environment
from devtools.localstack.provision import provision
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, serving

# What an ordinary SMO client holds: every O2 scope, neither operator nor admin.
TENANT_SCOPES = frozenset({"o2ims:read", "o2ims:subscribe", "o2dms:read", "o2dms:write"})
SUBSCRIPTIONS = {
    "inventory": ("/o2ims-infrastructureInventory/v1/subscriptions", "subscriptionId"),
    "alarm": ("/o2ims-infrastructureMonitoring/v1/alarmSubscriptions", "alarmSubscriptionId"),
    "dms": ("/o2dms/v1/subscriptions", "subscriptionId"),
}
DEPLOYMENTS = "/o2dms/v1/deployments"
OPERATIONS = "/o2dms/v1/operations"
PACKAGES = "/o2dms/v1/deploymentPackages"


@dataclass(frozen=True)
class Tenants:
    a: str  # tokens
    b: str
    admin: str
    a_name: str  # tenant names (token subjects)
    b_name: str


def tenants() -> Tenants:
    a, b = f"smo-a-{uuid.uuid4().hex[:8]}", f"smo-b-{uuid.uuid4().hex[:8]}"
    return Tenants(mint_token(SECRET, TENANT_SCOPES, subject=a), mint_token(SECRET, TENANT_SCOPES, subject=b),
                   mint_token(SECRET, ALL_SCOPES, subject="operator"), a, b)


def stage_components(tmp: Path, stage: str | None = None, **environment: str) -> Components:
    """Components of a stage (provisioned when `stage` is None: a new one), with `environment` on top."""
    gateway = tmp / "gateway.yaml"
    gateway.write_text("oCloud:\n  name: tenancy-site\ndmsAdapters:\n  - id: helm\n    type: helm\n"
                       f"    default: true\n    options:\n      kubeconfig: {tmp / 'no-such-kubeconfig'}\n")
    settings = settings_from_environment({
        **os.environ, "NETWEAVE_STAGE": stage or f"t{uuid.uuid4().hex[:8]}", "NETWEAVE_GATEWAY_CONFIG": str(gateway),
        "NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8", **environment})
    if stage is None:
        provision(settings, boto3.session.Session())
    return Components(settings)


@contextmanager
def api_of(components: Components) -> Iterator[Api]:
    import app

    with serving(components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, "")


def chart_archive(work: Path) -> bytes:
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    name = f"du-{uuid.uuid4().hex[:6]}"
    subprocess.run([str(PROJECT_HELM), "create", name], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", name, "--version", "1.0.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    return (work / f"{name}-1.0.0.tgz").read_bytes()


def upload(api: Api, token: str, archive: bytes) -> str:
    reply = api.request("POST", PACKAGES, token=token, body=archive, headers={"Content-Type": "application/gzip"})
    assert reply.status == 201, reply.body
    return str(reply.json()["packageId"])


def deploy(api: Api, token: str, package_id: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"name": f"du-{uuid.uuid4().hex[:8]}", "namespace": "ran-a", "packageId": package_id,
            "values": values or {"replicaCount": 1}}
    reply = api.request("POST", DEPLOYMENTS, token=token, body=body)
    assert reply.status == 202, reply.body
    created: dict[str, Any] = reply.json()
    return created


def subscribe(api: Api, token: str, kind: str, callback: str | None = None) -> str:
    collection, id_field = SUBSCRIPTIONS[kind]
    reply = api.request("POST", collection, token=token,
                        body={"callback": callback or f"https://93.184.215.14/smo/{uuid.uuid4().hex}"})
    assert reply.status == 201, reply.body
    return str(reply.json()[id_field])


def not_found_like_unknown(api: Api, method: str, path: str, token: str, known_id: str, body: Any = None) -> None:
    """The answer is the 404 an unknown id gets, word for word but the id: nothing tells that the id exists."""
    unknown_id = str(uuid.uuid4())
    seen = api.request(method, path, token=token, body=body)
    unknown = api.request(method, path.replace(known_id, unknown_id), token=token, body=body)
    assert seen.status == 404, (method, path, seen.body)
    assert unknown.status == 404, (method, path, unknown.body)
    assert seen.header("content-type") == "application/problem+json"
    assert json.loads(seen.body.decode().replace(known_id, unknown_id)) == unknown.json()


def drain(components: Components, queue: resources.Queue, delete: bool = True) -> list[dict[str, Any]]:
    """Every message waiting in one of the stage's queues, as Lambda hands SQS records to a handler; deleted when
    the handler would not delete them itself (the test plays the event-source mapping)."""
    sqs, url = components.clients.sqs, components.queue_url(queue)
    records: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          MessageSystemAttributeNames=["All"]).get("Messages", []):
        for message in messages:
            records.append({"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                            "body": message["Body"], "attributes": message["Attributes"]})
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return records
