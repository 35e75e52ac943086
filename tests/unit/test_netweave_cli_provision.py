"""`netweave provision ...` against httpx.MockTransport: the templates table, create with --param and --wait (a
progress line per phase and message, FAILED exits 1 with the reason), refused parameters one per line, resize as a
PUT of the same request with the new size, and delete --wait until the 404. The network is the `requests` fixture
(tests/unit/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from netweave_client.cli import app
from typer.testing import CliRunner

Handler = Callable[[httpx.Request], httpx.Response]
Install = Callable[[Handler], list[httpx.Request]]
REQUESTS = "/o2ims-infrastructureProvisioning/v1/provisioningRequests"
RID = "0b6f7c1e-0000-4000-8000-000000000001"


def info(phase: str, message: str, size: int = 1) -> dict[str, Any]:
    return {"provisioningRequestId": RID, "name": "", "description": "", "templateName": "eks-nodegroup-pool",
            "templateVersion": "1.0.0", "templateParameters": {"size": size, "location": "edge-site-5"},
            "provisioningRequestReference": "ref-1",
            "status": {"updateTime": "t", "message": message, "provisioningPhase": phase},
            "provisionedResourceSet": {"infrastructureResourceIds": ["n1"] if phase == "FULFILLED" else []},
            "extensions": {"resourcePoolIds": ["pool-1"], "imsAdapter": "edge-aws"}}


def replies(*bodies: tuple[int, Any]) -> Handler:
    queue = iter(bodies)

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = next(queue)
        return httpx.Response(status, json=body)

    return answer


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["--url", "http://gw.test", "--token", "tok", *args])


def test_templates_table_names_kind_and_backend(requests: Install) -> None:
    template = {"artifactResourceId": "a1", "name": "eks-nodegroup-pool", "version": "1.0.0", "description": "",
                "parameterSchema": {}, "extensions": {"templateKind": "eks-nodegroup", "imsAdapter": "edge-aws"}}
    requests(replies((200, [template])))
    lines = run("provision", "templates").stdout.splitlines()
    assert [line.split() for line in lines] == [["NAME", "VERSION", "KIND", "BACKEND"],
                                               ["eks-nodegroup-pool", "1.0.0", "eks-nodegroup", "edge-aws"]]


def test_create_with_params_waits_showing_each_phase(requests: Install) -> None:
    seen = requests(replies((201, info("PENDING", "accepted; waiting for backend edge-aws")),
                            (200, info("PROGRESSING", "backend edge-aws working (CREATING)")),
                            (200, info("PROGRESSING", "backend edge-aws working (CREATING)")),
                            (200, info("FULFILLED", "1 of 1 resources in the inventory"))))
    result = run("provision", "create", "--template", "eks-nodegroup-pool:1.0.0", "--param", "size=1",
                 "--param", "location=edge-site-5", "--id", RID, "--wait", "-o", "id")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{RID}\n"
    assert json.loads(seen[0].content) == {"provisioningRequestId": RID, "templateName": "eks-nodegroup-pool",
                                           "templateVersion": "1.0.0",
                                           "templateParameters": {"size": 1, "location": "edge-site-5"}}
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"waiting for provisioning request {RID} to be FULFILLED")
    assert [line.strip() for line in lines[1:]] == [
        "PROGRESSING backend edge-aws working (CREATING)", "FULFILLED 1 of 1 resources in the inventory",
        f"provisioning request {RID} FULFILLED"]


def test_a_failed_request_exits_1_with_its_message(requests: Install) -> None:
    requests(replies((201, info("PENDING", "accepted")), (200, info("FAILED", "instance type m9.huge unknown"))))
    result = run("provision", "create", "-t", "eks-nodegroup-pool:1.0.0", "--param", "size=1", "--wait")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"provisioning request {RID} failed: instance type m9.huge unknown"


def test_refused_parameters_are_printed_one_per_line(requests: Install) -> None:
    invalid = [{"name": "templateParameters.colour", "reason": "is not a parameter of template eks-nodegroup-pool"},
               {"name": "templateParameters.size", "reason": "-1 is less than the minimum of 0"}]
    problem = {"type": "https://netweave.io/problems/invalid-template-parameters", "title": "Bad Request",
               "status": 400, "detail": "…", "invalidParams": invalid}
    requests(replies((400, problem)))
    result = run("provision", "create", "-t", "eks-nodegroup-pool:1.0.0", "--param", "size=-1", "--param",
                 "colour=red")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [f"invalid {p['name']}: {p['reason']}" for p in invalid]
    assert json.loads(result.stderr[result.stderr.index("{"):]) == problem  # the problem itself follows


def test_a_template_without_a_version_is_a_usage_error(requests: Install) -> None:
    seen = requests(replies())
    assert run("provision", "create", "--template", "eks-nodegroup-pool", "--param", "size=1").exit_code == 2
    assert run("provision", "create", "-t", "eks-nodegroup-pool:1.0.0", "--param", "size").exit_code == 2
    assert seen == []


def test_list_and_show(requests: Install) -> None:
    requests(replies((200, [info("FULFILLED", "done")]), (200, info("FULFILLED", "done"))))
    table = run("provision", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "TEMPLATE", "PHASE", "RESOURCES", "MESSAGE"]
    assert table[1].split() == [RID, "eks-nodegroup-pool:1.0.0", "FULFILLED", "1", "done"]
    shown = json.loads(run("provision", "show", RID, "-o", "json").stdout)
    assert shown["status"]["provisioningPhase"] == "FULFILLED"


def test_resize_puts_the_same_request_with_the_new_size(requests: Install) -> None:
    seen = requests(replies((200, info("FULFILLED", "done")), (200, info("PROGRESSING", "replaced", size=3)),
                            (200, info("FULFILLED", "done", size=3))))
    result = run("provision", "resize", RID, "--size", "3", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [(r.method, r.url.path) for r in seen[:2]] == [("GET", f"{REQUESTS}/{RID}"), ("PUT", f"{REQUESTS}/{RID}")]
    put = json.loads(seen[1].content)
    assert put["templateParameters"] == {"size": 3, "location": "edge-site-5"}
    assert put["templateName"] == "eks-nodegroup-pool" and "status" not in put


def test_delete_waits_until_the_request_answers_404(requests: Install) -> None:
    gone = {"type": "https://netweave.io/problems/not-found", "title": "Not Found", "status": 404, "detail": "gone"}
    seen = requests(replies((202, info("DELETING", "deleting")), (200, info("DELETING", "deleting")), (404, gone)))
    result = run("provision", "delete", RID, "--wait")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"deleting {RID}\n"
    assert result.stderr.splitlines()[-1].strip() == f"provisioning request {RID} gone"
    assert [r.method for r in seen] == ["DELETE", "GET", "GET"]
