"""The zip runs as Lambda runs it (issue 15): the deployment package `chalice package --stage dev` builds WITH its
dependencies, unpacked into an empty directory, each function started in an isolated interpreter whose sys.path is
only that directory, the packages Lambda's python3.11 runtime provides (boto3 and its dependencies, here this
interpreter's copies; the zip vendors its own, which win) and the standard library: no site-packages, no checkout.

Each handler gets the event Lambda's services send (API Gateway REST proxy events, SQS batches, EventBridge
schedules), with the environment variables of its function in the SAM template `chalice package` wrote, against moto
(AWS_ENDPOINT_URL) and kubesim. The helm layer is `.local/bin/helm` (the binary the layer ships, infra/layer.md),
given only to the functions the template gives the layer. A stage of its own keeps other tests' subscriptions and
queues out; its secrets are the Secrets Manager references of the template's variables, created in moto.

A functional test, not e2e: the e2e tier runs the local stack, while this runs the artefact `chalice deploy` uploads;
its servers (moto, kubesim, an SMO receiver) are the functional tier's in-process ones. The build downloads ~40 MB of
wheels for Lambda's platform the first time (Chalice then reuses `.local/lambda-zip/project/.chalice/deployments/`
until requirements.txt or the app's files change: a few seconds); unpacking and the scenarios take most of the time.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.settings import settings_from_environment
from devtools.kubesim import KubeSim, start_kubesim
from devtools.lambda_sim.package import (
    ApiReply,
    FunctionSpec,
    LambdaFunction,
    LambdaInitError,
    LambdaInvokeError,
    altered,
    api_event,
    api_reply,
    build_package,
    eventbridge_event,
    functions_of,
    runtime_packages,
    scheduled_event,
    snapshot,
    sqs_event,
    unpack,
    without,
)
from devtools.localstack.provision import provision
from devtools.smo_receiver import Receiver, serve
from devtools.token import mint_token

pytestmark = pytest.mark.xdist_group("lambda_zip")

PACKAGED_STAGE = "dev"
SECRETS_REFERENCE = "/aws/reference/secretsmanager/"
INVENTORY = "/o2ims-infrastructureInventory/v1"
PACKAGES = "/o2dms/v1/deploymentPackages"
DEPLOYMENTS = "/o2dms/v1/deployments"

Json = dict[str, Any]


@dataclass
class Package:
    task_dir: Path
    runtime_dir: Path
    functions: dict[str, FunctionSpec]
    files: dict[str, tuple[int, float]]


@dataclass
class Site:
    stage: str
    kubesim: KubeSim
    kubeconfig: Path
    adapter_id: str
    environment: dict[str, str]
    signing_secret: str
    receiver: Receiver
    callback: str
    scratch: Path
    running: dict[str, LambdaFunction] = field(default_factory=dict)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    out = build_package(tmp_path_factory.mktemp("zip") / "out", PACKAGED_STAGE)
    sam = json.loads((out / "sam.json").read_text())
    task = unpack(out / "deployment.zip", tmp_path_factory.mktemp("lambda") / "task")
    runtime = runtime_packages(tmp_path_factory.mktemp("lambda") / "runtime")
    yield Package(task, runtime, functions_of(sam), snapshot(task))
    shutil.rmtree(task)  # 145 MB unpacked: not kept with pytest's last three temporary directories
    shutil.rmtree(out)


def _stage_environment(stage: str, variables: dict[str, str], signing_secret: str) -> dict[str, str]:
    """The template's secrets references, moved to `stage` and created in moto (the JWT key: `signing_secret`)."""
    moved = {"NETWEAVE_STAGE": stage}
    client = boto3.client("secretsmanager")
    for name, value in variables.items():
        if name.endswith("_SSM_PARAMETER") and value.startswith(SECRETS_REFERENCE):
            reference = value.replace(f"/netweave/{PACKAGED_STAGE}/", f"/netweave/{stage}/")
            value_of = signing_secret if name == "NETWEAVE_AUTH_SECRET_SSM_PARAMETER" else secrets.token_urlsafe(32)
            client.create_secret(Name=reference.removeprefix(SECRETS_REFERENCE), SecretString=value_of)
            moved[name] = reference
    assert "NETWEAVE_AUTH_SECRET_SSM_PARAMETER" in moved, "the dev stage signs its tokens with a stack secret"
    return moved


@pytest.fixture(scope="module")
def site(moto_url: str, built: Package, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("site")
    stage = f"z{uuid.uuid4().hex[:8]}"
    provision(settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage}),
              boto3.session.Session())
    signing_secret = secrets.token_urlsafe(48)
    kubesim = start_kubesim(nodes=2)
    kubeconfig = kubesim.write_kubeconfig(tmp / "kubeconfig")
    adapter_id = f"zip-{uuid.uuid4().hex[:6]}"
    gateway = tmp / "gateway.yaml"
    cluster = f"options: {{kubeconfig: {kubeconfig}}}"
    gateway.write_text("oCloud: {name: lambda-zip-site}\n"
                       f"imsAdapters:\n  - {{id: {adapter_id}, type: kubernetes, default: true, {cluster}}}\n"
                       f"dmsAdapters:\n  - {{id: helm, type: helm, default: true, {cluster}}}\n")
    receiver = Receiver(secrets=[], echo=False)
    server = serve(receiver)
    environment = {
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        **_stage_environment(stage, built.functions["api_handler"].environment, signing_secret),
        "NETWEAVE_GATEWAY_CONFIG": str(gateway),
        # the SMO receiver listens on loopback; no request of the functions may leave this machine
        "NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "NETWEAVE_EGRESS_NETWORKS": "127.0.0.0/8",
    }
    running = Site(stage, kubesim, kubeconfig, adapter_id, environment, signing_secret, receiver,
                   f"http://127.0.0.1:{server.server_address[1]}/notify/zip", tmp)
    try:
        yield running
    finally:
        for function in running.running.values():
            function.stop()
        server.shutdown()
        kubesim.stop()


def start(package: Package, site: Site, name: str, task_dir: Path | None = None,
          unset: tuple[str, ...] = ()) -> LambdaFunction:
    """`name`'s execution environment, started on first use and kept warm, as Lambda keeps a container. Functions
    the template gives the helm layer find helm where the layer puts it (NETWEAVE_HELM_BINARY: here the same
    binary from .local/bin); the others have none."""
    key = f"{name}@{task_dir}-{unset}" if task_dir or unset else name
    if key not in site.running or not site.running[key].alive:  # Lambda replaces an environment that died
        spec = package.functions[name]
        layer = {"NETWEAVE_HELM_BINARY": str(PROJECT_HELM)} if spec.layers else {}
        log = site.scratch / f"{name}-{len(site.running)}.log"
        environment = {k: v for k, v in {**site.environment, **layer}.items() if k not in unset}
        site.running[key] = LambdaFunction(spec, task_dir or package.task_dir, package.runtime_dir, environment, log,
                                           site.scratch / "tmp")
    return site.running[key]


@pytest.fixture(scope="module")
def api(built: Package, site: Site) -> Callable[..., ApiReply]:
    token = mint_token(site.signing_secret, ALL_SCOPES)

    def call(method: str, path: str, resource: str | None = None, body: Any = None,
             content_type: str = "application/json") -> ApiReply:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if raw is not None:
            headers["Content-Type"] = content_type
        event = api_event(method, path, resource, headers=headers, body=raw, binary=content_type != "application/json")
        return api_reply(start(built, site, "api_handler").invoke(event))

    return call


def drain(package: Package, site: Site, name: str, queue: resources.Queue) -> list[Json]:
    """What Lambda's SQS event source does for `name`: batches of its batch size from `queue` until it is empty,
    each handed to the function; messages it does not report failed are deleted. Returns the handlers' results."""
    function = start(package, site, name)
    (source,) = function.spec.events.values()
    assert source["Type"] == "SQS"
    batch_size = int(source["Properties"]["BatchSize"])
    sqs = boto3.client("sqs")
    queue_name = resources.queue_name(site.stage, queue)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    results = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size, WaitTimeSeconds=0,
                                          MessageSystemAttributeNames=["All"]).get("Messages", []):
        result = function.invoke(sqs_event(messages, queue_name))
        results.append(result)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return results


def schedule(package: Package, site: Site, name: str) -> Any:
    function = start(package, site, name)
    (source,) = function.spec.events.values()
    assert source["Type"] == "Schedule" and source["Properties"]["Schedule"].startswith("rate(")
    return function.invoke(scheduled_event(f"netweave-{name}"))


def helm_chart(directory: Path) -> tuple[str, bytes]:
    """A `helm create` chart, `helm package`d: what an SMO uploads."""
    name = f"zipchart-{uuid.uuid4().hex[:6]}"
    env = {"HOME": str(directory), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "create", name], cwd=directory, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", name, "--version", "1.0.0"], cwd=directory, check=True,
                   capture_output=True, env=env)
    return name, (directory / f"{name}-1.0.0.tgz").read_bytes()


def test_inventory_poll_the_list_routes_and_notifications_run_from_the_zip(
        built: Package, site: Site, api: Callable[..., ApiReply]) -> None:
    subscribed = api("POST", f"{INVENTORY}/subscriptions",
                     body={"callback": site.callback, "consumerSubscriptionId": "lambda-zip"})
    assert subscribed.status == 201, subscribed.body
    site.receiver.secrets.append(subscribed.json()["secret"])

    reports = schedule(built, site, "poll_inventory")
    (report,) = [r for r in reports if r["backend"] == site.adapter_id]
    assert report["status"] == "changed" and report["created"] > 0 and report["error"] is None, report

    on_change = start(built, site, "poll_inventory_on_change")
    (rule,) = on_change.spec.events.values()
    assert rule["Type"] == "CloudWatchEvent" and "netweave" in rule["Properties"]["Pattern"]["source"]
    again = on_change.invoke(eventbridge_event("netweave", "Backend changed", {"adapterId": site.adapter_id}))
    assert [(r["backend"], r["status"]) for r in again] == [(site.adapter_id, "unchanged")]

    pools = api("GET", f"{INVENTORY}/resourcePools")
    assert pools.status == 200 and pools.header("content-type") == "application/json", pools.body
    assert pools.json(), "the poll stored kubesim's node pools"
    pool_id = pools.json()[0]["resourcePoolId"]
    listed = api("GET", f"{INVENTORY}/resourcePools/{pool_id}/resources",
                 f"{INVENTORY}/resourcePools/{{resourcePoolId}}/resources")
    assert listed.status == 200, listed.body
    assert listed.json() and all(r["resourcePoolId"] == pool_id for r in listed.json())

    fanned = drain(built, site, "fan_out", resources.EVENTS)
    assert fanned and all(r == {"batchItemFailures": []} for r in fanned), fanned
    delivered = drain(built, site, "deliver", resources.DELIVERIES)
    assert delivered and all(r == {"batchItemFailures": []} for r in delivered), delivered
    notifications = site.receiver.notifications()
    assert len(notifications) >= report["published"] > 0
    assert all(n.verified for n in notifications), "every notification carries a valid Standard Webhooks signature"
    assert {n.body["notificationEventType"] for n in notifications} >= {0}  # created: the first poll's objects
    assert snapshot(built.task_dir) == built.files, "Lambda's /var/task is read-only: nothing may write there"


def test_the_api_reference_page_is_served_from_swagger_ui_in_the_zip(api: Callable[..., ApiReply]) -> None:
    page = api("GET", "/docs")
    assert page.status == 200 and page.header("content-type") == "text/html; charset=utf-8", page.body
    bundle = api("GET", "/docs/swagger-ui-bundle.js", "/docs/{fileName}")
    assert bundle.status == 200, bundle.body  # Chalice shipped vendor/swagger_ui at the package's root
    assert b"SwaggerUIBundle" in bundle.body


def test_a_chart_upload_deploys_with_helm_from_the_zip(
        built: Package, site: Site, api: Callable[..., ApiReply]) -> None:
    name, archive = helm_chart(site.scratch)
    uploaded = api("POST", PACKAGES, body=archive, content_type="application/gzip")
    assert uploaded.status == 201, uploaded.body
    package_id = uploaded.json()["packageId"]
    assert (uploaded.json()["name"], uploaded.json()["version"]) == (name, "1.0.0")
    stored = boto3.client("s3").list_objects_v2(
        Bucket=resources.physical_name(site.stage, resources.PACKAGES_BUCKET.logical_name)).get("Contents", [])
    assert any(o["Size"] == len(archive) for o in stored), "the archive is in the packages bucket"
    listed = api("GET", PACKAGES)
    assert listed.status == 200 and package_id in [p["packageId"] for p in listed.json()]

    accepted = api("POST", DEPLOYMENTS, body={"name": f"zip-{name[-6:]}", "namespace": "lambda-zip",
                                              "packageId": package_id, "timeoutSeconds": 60})
    assert accepted.status == 202, accepted.body
    deployment_id = accepted.json()["deploymentId"]
    ran = drain(built, site, "run_dms_operation", resources.DMS_OPERATIONS)
    assert ran == [{"batchItemFailures": []}]
    shown = api("GET", f"{DEPLOYMENTS}/{deployment_id}", f"{DEPLOYMENTS}/{{deploymentId}}")
    assert shown.status == 200 and shown.json()["status"] == "deployed", shown.body
    releases = json.loads(subprocess.run(
        [str(PROJECT_HELM), "list", "-n", "lambda-zip", "--kubeconfig", str(site.kubeconfig), "-o", "json"],
        env={"HOME": str(site.scratch), "PATH": "/usr/bin:/bin"}, check=True, capture_output=True,
        text=True).stdout)
    assert [(r["chart"], r["status"]) for r in releases] == [(f"{name}-1.0.0", "deployed")]

    polled = schedule(built, site, "poll_deployments")
    assert polled["checked"] >= 1 and polled["failed"] == [] and polled["unreachable"] == [], polled
    assert snapshot(built.task_dir) == built.files, "Lambda's /var/task is read-only: nothing may write there"


def test_a_deployment_placed_on_a_pool_runs_helms_post_renderer_from_the_zip(
        built: Package, site: Site, api: Callable[..., ApiReply]) -> None:
    """The post-renderer's launcher is written into the function's temporary directory and names the runtime's
    interpreter and /var/task (docs/dms.md, "Placement on a resource pool"): no executable file in the zip."""
    schedule(built, site, "poll_inventory")
    pools = {p["name"]: p for p in api("GET", f"{INVENTORY}/resourcePools").json()}
    pool = pools["far-edge-du"]
    name, archive = helm_chart(site.scratch)
    package_id = api("POST", PACKAGES, body=archive, content_type="application/gzip").json()["packageId"]
    accepted = api("POST", DEPLOYMENTS, body={"name": f"zip-{name[-6:]}", "namespace": "lambda-zip-placed",
                                              "packageId": package_id, "resourcePoolId": pool["resourcePoolId"],
                                              "values": {"replicaCount": 2}, "timeoutSeconds": 60})
    assert accepted.status == 202, accepted.body
    assert drain(built, site, "run_dms_operation", resources.DMS_OPERATIONS) == [{"batchItemFailures": []}]
    shown = api("GET", f"{DEPLOYMENTS}/{accepted.json()['deploymentId']}", f"{DEPLOYMENTS}/{{deploymentId}}")
    assert shown.status == 200 and shown.json()["status"] == "deployed", shown.body
    (label, value), = pool["extensions"]["nodeSelector"].items()
    nodes = site.kubesim.call(lambda c: {n["metadata"]["name"]: n["metadata"]["labels"]
                                         for n in c.store.objects(("", "nodes"))})
    placed = site.kubesim.call(lambda c: [p["spec"].get("nodeName") for p in c.store.objects(("", "pods"))
                                          if p["metadata"]["namespace"] == "lambda-zip-placed"])
    assert len(placed) == 2 and all(nodes[n].get(label) == value for n in placed), placed
    assert snapshot(built.task_dir) == built.files, "Lambda's /var/task is read-only: nothing may write there"


# What the suite must catch: a dependency missing from the zip, a file left out of it. Each shows where it surfaces.
def test_a_dependency_missing_from_the_zip_fails_the_functions_init(built: Package, site: Site,
                                                                    tmp_path: Path) -> None:
    broken = without(built.task_dir, tmp_path / "task", "pydantic")
    with pytest.raises(LambdaInitError, match="No module named 'pydantic'"):
        start(built, site, "api_handler", broken)


def test_a_dependency_imported_late_fails_the_first_request(built: Package, site: Site, tmp_path: Path) -> None:
    broken = without(built.task_dir, tmp_path / "task", "yaml")
    function = start(built, site, "api_handler", broken)  # app.py imports; yaml is read with the first settings
    token = mint_token(site.signing_secret, ALL_SCOPES)
    reply = api_reply(function.invoke(api_event("GET", f"{INVENTORY}/resourcePools",
                                                headers={"Authorization": f"Bearer {token}"})))
    assert reply.status == 500, reply.body
    assert "No module named 'yaml'" in function.logs()


def test_a_chalicelib_file_left_out_fails_its_function(built: Package, site: Site, tmp_path: Path) -> None:
    broken = without(built.task_dir, tmp_path / "task", "chalicelib/handlers/dms.py")
    function = start(built, site, "run_dms_operation", broken)
    message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "handle", "MD5OfBody": "",
               "Body": json.dumps({"operationId": str(uuid.uuid4())}), "Attributes": {"MessageGroupId": "x"}}
    event = sqs_event([message], resources.queue_name(site.stage, resources.DMS_OPERATIONS))
    with pytest.raises(LambdaInvokeError, match=re.escape("cannot import name 'dms' from 'chalicelib.handlers'")):
        function.invoke(event)


def test_a_deployed_function_reads_its_gateway_configuration_from_inside_the_package(
        built: Package, site: Site, tmp_path: Path) -> None:
    """config/gateway.yaml is not in the zip (Chalice packages app.py, chalicelib/ and vendor/): without
    NETWEAVE_GATEWAY_CONFIG, a function serves the defaults (no backend) unless chalicelib/gateway.yaml is there."""
    token = mint_token(site.signing_secret, ALL_SCOPES)
    request = api_event("GET", INVENTORY, headers={"Authorization": f"Bearer {token}"})
    assert not (built.task_dir / "config").exists()
    bare = start(built, site, "api_handler", unset=("NETWEAVE_GATEWAY_CONFIG",))
    assert api_reply(bare.invoke(request)).json()["name"] == "netweave"

    shipped = altered(built.task_dir, tmp_path / "shipped",
                      {"chalicelib/gateway.yaml": "oCloud: {name: shipped-in-the-package}\n"})
    configured = start(built, site, "api_handler", shipped, unset=("NETWEAVE_GATEWAY_CONFIG",))
    assert api_reply(configured.invoke(request)).json()["name"] == "shipped-in-the-package"


def test_the_zip_ships_bytecode_that_runs_from_the_read_only_package(built: Package, site: Site,
                                                                     tmp_path: Path) -> None:
    """The .pyc files infra/bytecode.py adds are what Lambda runs (docs/performance.md, "Cold start"): unchecked-hash
    pycs, used without looking at the source's time, from a directory nothing may write to. The proof: a source
    broken after compiling does not matter, its bytecode is imported."""
    versions = built.task_dir / "chalicelib" / "api" / "__pycache__" / "versions.cpython-311.pyc"
    flags = int.from_bytes(versions.read_bytes()[4:8], "little")
    assert flags == 0b01, "hash-based and unchecked: a zip keeps no exact times to check a timestamp pyc against"
    assert (built.task_dir / "pydantic" / "__pycache__" / "main.cpython-311.pyc").is_file()
    assert not list((built.task_dir / "kubernetes").rglob("*.pyc")), "the zip must stay under 50 MB"

    broken = altered(built.task_dir, tmp_path / "task",
                     {"chalicelib/api/versions.py": "raise RuntimeError('the source ran, not the bytecode')\n"})
    function = start(built, site, "api_handler", broken)  # app.py imports chalicelib.api.versions at init
    token = mint_token(site.signing_secret, ALL_SCOPES)
    reply = api_reply(function.invoke(api_event("GET", INVENTORY, headers={"Authorization": f"Bearer {token}"})))
    assert reply.status == 200 and reply.json()["oCloudId"], reply.body
    assert snapshot(built.task_dir) == built.files, "Lambda's /var/task is read-only: nothing may write there"
