"""The `netweave` command line against httpx.MockTransport: output forms, exit codes, the non-interactive progress
display of `--wait`, where it finds the gateway and token, and `listen` verifying signatures."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from netweave_client.cli import app
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

Handler = Callable[[httpx.Request], httpx.Response]
POOL = {"resourcePoolId": "p1", "name": "far-edge-du", "description": "", "oCloudId": "oc",
        "globalLocationId": "loc", "location": "edge-1", "extensions": {"status": "ready"}}


def operation(status: str, progress: list[str], error: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"operationId": "op1", "deploymentId": "d1", "operationType": "scale", "status": status,
            "createdAt": "2026-12-07T00:00:00Z", "progress": [{"at": "12:00", "message": m} for m in progress]}
    return {**body, "error": error} if error else body


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["--url", "http://gw.test", "--token", "tok", *args])


def test_pools_in_the_three_output_forms(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    seen = requests(lambda r: httpx.Response(200, json=[POOL]))
    as_json = run("inventory", "pools", "--filter", "(eq,name,far-edge-du)", "-o", "json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == [POOL]
    assert seen[0].url.params["filter"] == "(eq,name,far-edge-du)"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert yaml.safe_load(run("inventory", "pools", "-o", "yaml").stdout) == [POOL]
    assert run("inventory", "pools", "-o", "id").stdout == "p1\n"
    table = run("inventory", "pools", "--fields", "extensions/status").stdout
    assert table.split("\n")[0].split() == ["ID", "NAME", "LOCATION", "STATUS", "READY", "DESIRED"]
    assert table.split("\n")[1].split() == ["p1", "far-edge-du", "edge-1", "ready"]
    assert seen[-1].url.params["fields"] == "extensions/status"


def test_a_problem_exits_1_with_the_problem_on_stderr(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    problem = {"type": "https://netweave.io/problems/not-found", "title": "Not Found", "status": 404,
               "detail": "no resource pool x", "requestId": "r1"}
    requests(lambda r: httpx.Response(404, json=problem))
    result = run("pools", "resize", "x", "3")
    assert result.exit_code == 1
    assert json.loads(result.stderr) == problem


def test_wait_shows_progress_lines_when_not_a_terminal(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    answers = iter([operation("queued", []), operation("running", ["helm upgrade started"]),
                    operation("succeeded", ["helm upgrade started", "3/3 replicas ready"])])
    requests(lambda r: httpx.Response(202 if r.method == "POST" else 200, json=next(answers)))
    result = run("deploy", "scale", "d1", "3", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("waiting for the operation")
    # the POST answered the queued operation; each poll after it adds its new messages and state, once each
    assert [ln.strip() for ln in lines[1:]] == ["12:00 helm upgrade started", "scale running",
                                                 "12:00 3/3 replicas ready", "scale succeeded",
                                                 "operation op1 succeeded"]
    assert json.loads(result.stdout)["operationId"] == "op1"  # stdout holds only the JSON


def test_a_failed_operation_exits_1_with_its_problem(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    error = {"title": "upgrade failed", "status": 422, "detail": "context deadline exceeded"}
    answers = iter([operation("queued", []), operation("failed", ["helm upgrade started"], error)])
    requests(lambda r: httpx.Response(200, json=next(answers)))
    result = run("deploy", "rollback", "d1", "--wait")
    assert result.exit_code == 1
    reported = json.loads(result.stderr[result.stderr.index("{"):])
    assert reported == {"operationId": "op1", "operationType": "scale", **error}


def test_wait_timing_out_exits_3(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    requests(lambda r: httpx.Response(200, json=operation("running", [])))
    assert run("deploy", "operation", "op1", "--wait", "--timeout", "0").exit_code == 3


def test_an_unreachable_gateway_exits_4(requests: Callable[[Handler], list[httpx.Request]]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    requests(refuse)
    assert run("inventory", "ocloud").exit_code == 4


def test_flags_then_environment_then_profile(requests: Callable[[Handler], list[httpx.Request]],
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = requests(lambda r: httpx.Response(200, json=[]))
    profiles = tmp_path / "profiles.yaml"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    profiles.write_text(yaml.safe_dump({"default": {"url": "http://default.test", "token": "p-default"},
                                        "lab": {"url": "http://lab.test", "tokenFile": str(token_file)}}))
    monkeypatch.setenv("NETWEAVE_CONFIG", str(profiles))
    runner = CliRunner()
    runner.invoke(app, ["inventory", "types"])
    runner.invoke(app, ["--profile", "lab", "inventory", "types"])
    monkeypatch.setenv("NETWEAVE_URL", "http://env.test")
    monkeypatch.setenv("NETWEAVE_TOKEN", "env-token")
    runner.invoke(app, ["--profile", "lab", "inventory", "types"])
    runner.invoke(app, ["--url", "http://flag.test", "--token", f"@{token_file}", "inventory", "types"])
    assert [(r.url.host, r.headers["Authorization"]) for r in seen] == [
        ("default.test", "Bearer p-default"), ("lab.test", "Bearer from-file"), ("env.test", "Bearer env-token"),
        ("flag.test", "Bearer from-file")]
    unknown = runner.invoke(app, ["--profile", "nope", "inventory", "types"])
    assert unknown.exit_code == 2 and "nope" in unknown.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_listen_verifies_signatures_and_rejects_forgeries() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    port = free_port()
    outcome: dict[str, Any] = {}
    listener = threading.Thread(target=lambda: outcome.update(result=CliRunner().invoke(
        app, ["listen", "--port", str(port), "--secret", secret, "--count", "2", "-o", "json"])))
    listener.start()
    body = json.dumps({"notificationId": "n1", "eventType": "DeploymentReady", "deploymentId": "d1"}).encode()
    now = datetime.now(UTC)
    headers = {"webhook-id": "n1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign("n1", now, body), "content-type": "application/json"}
    statuses = []
    for attempt in range(50):  # until the listener is up
        try:
            statuses.append(httpx.post(f"http://127.0.0.1:{port}/", content=body, headers=headers).status_code)
            break
        except httpx.ConnectError:
            time.sleep(0.1 * (attempt < 49))
    forged = {**headers, "webhook-signature": "v1,AAAA"}
    statuses.append(httpx.post(f"http://127.0.0.1:{port}/", content=body, headers=forged).status_code)
    listener.join(timeout=10)
    assert statuses == [204, 401]
    printed = [json.loads(line) for line in outcome["result"].stdout.splitlines()]
    assert [p["verdict"] for p in printed] == ["verified", "REJECTED"]
    assert printed[0]["notification"]["deploymentId"] == "d1"


def alarm(alarm_id: str, changed: str, acknowledged: bool = False) -> dict[str, Any]:
    return {"alarmEventRecordId": alarm_id, "alarmDefinitionID": "def", "probableCauseID": "cause",
            "alarmRaisedTime": "t0", "alarmChangedTime": changed, "alarmAcknowledged": acknowledged,
            "perceivedSeverity": 1, "resourceTypeID": "rt", "resourceID": "r"}


def test_alarms_watch_prints_only_what_appeared_or_changed(requests: Callable[[Handler], list[httpx.Request]]
                                                           ) -> None:
    polls = iter([[alarm("a1", "t1")], [alarm("a1", "t1"), alarm("a2", "t2")],
                  [alarm("a1", "t3", acknowledged=True), alarm("a2", "t2")]])
    seen = requests(lambda r: httpx.Response(200, json=next(polls)))
    result = run("alarms", "list", "--watch", "--polls", "3", "--interval", "0", "-o", "json",
                 "--filter", "(lte,perceivedSeverity,1)")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["alarmEventRecordId"], a["alarmAcknowledged"]) for a in printed] == [
        ("a1", False), ("a2", False), ("a1", True)]
    assert len(seen) == 3 and all(r.url.params["filter"] == "(lte,perceivedSeverity,1)" for r in seen)


def test_deploy_values_from_a_file_and_set(requests: Callable[[Handler], list[httpx.Request]],
                                          tmp_path: Path) -> None:
    deployment = {"deploymentId": "d1", "name": "vdu", "namespace": "oran-du", "packageId": "p1",
                  "packageVersion": "1.0.0", "status": "pending", "createdAt": "t", "updatedAt": "t",
                  "extensions": {"activeOperationId": "op1"}}
    seen = requests(lambda r: httpx.Response(202, json=deployment))
    values = tmp_path / "values.yaml"
    values.write_text("cellId: '12345'\nimage: {tag: '1.0'}\n")
    result = run("deploy", "create", "vdu", "-n", "oran-du", "-p", "p1", "--values", str(values),
                 "--set", "image.tag=2.0", "--set", "replicaCount=3", "-o", "id")
    assert result.exit_code == 0 and result.stdout == "d1\n"
    assert json.loads(seen[0].content) == {"name": "vdu", "namespace": "oran-du", "packageId": "p1",
                                           "values": {"cellId": "12345", "image": {"tag": 2.0},
                                                      "replicaCount": 3}}
    assert run("deploy", "create", "vdu", "-n", "oran-du", "-p", "p1", "--set", "novalue").exit_code == 2
