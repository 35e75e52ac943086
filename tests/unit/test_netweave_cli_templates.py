"""`netweave templates ...` (deployment templates) and `netweave deploy create|upgrade --template` against
httpx.MockTransport: a template file stored as written, NAME:VERSION found by a filtered list, deploying with --param
(read like --set), refused parameters one per line, and the usage errors of mixing the two forms. The network is the
`requests` fixture (tests/unit/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from netweave_client.cli import app
from typer.testing import CliRunner

Handler = Callable[[httpx.Request], httpx.Response]
Install = Callable[[Handler], list[httpx.Request]]
TEMPLATES = "/o2dms/v1/deploymentTemplates"
DATA: dict[str, Any] = {"name": "du", "version": "1.0.0", "packageName": "vdu", "packageVersion": "2.1.0",
                        "parameterSchema": {"type": "object", "required": ["site"],
                                            "properties": {"site": {"type": "string"}}},
                        "placement": {"namespace": "du-{site}"}}
STORED = {**DATA, "deploymentTemplateId": "t1", "createdAt": "t", "updatedAt": "t"}
DEPLOYMENT = {"deploymentId": "d1", "name": "du", "namespace": "du-edge-5", "packageId": "p1",
              "packageVersion": "2.1.0", "status": "pending", "createdAt": "t", "updatedAt": "t",
              "extensions": {"activeOperationId": "op1"}}
OPERATION = {"operationId": "op2", "deploymentId": "d1", "operationType": "upgrade", "status": "queued",
             "createdAt": "t"}


def by_path(routes: dict[tuple[str, str], tuple[int, Any]]) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        status, body = routes[(request.method, request.url.path)]
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    return answer


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["--url", "http://gw.test", "--token", "tok", *args])


def test_create_from_a_yaml_file_list_and_show_by_name_version(requests: Install, tmp_path: Path) -> None:
    seen = requests(by_path({("POST", TEMPLATES): (201, STORED), ("GET", TEMPLATES): (200, [STORED]),
                             ("GET", f"{TEMPLATES}/t1"): (200, STORED)}))
    document = tmp_path / "du.yaml"
    document.write_text(yaml.safe_dump(DATA))
    created = run("templates", "create", "-f", str(document), "-o", "id")
    assert created.exit_code == 0 and created.stdout == "t1\n"
    assert json.loads(seen[0].content) == DATA
    table = run("templates", "list").stdout.splitlines()
    assert [line.split() for line in table] == [["ID", "NAME", "VERSION", "PACKAGE", "NAMESPACE"],
                                               ["t1", "du", "1.0.0", "vdu:2.1.0", "du-{site}"]]
    shown = run("templates", "show", "du:1.0.0", "-o", "json")
    assert json.loads(shown.stdout)["deploymentTemplateId"] == "t1"
    assert seen[-2].url.params["filter"] == "(eq,name,du);(eq,version,1.0.0)"


def test_a_file_that_is_not_a_template_object_is_a_usage_error(requests: Install, tmp_path: Path) -> None:
    seen = requests(by_path({}))
    document = tmp_path / "list.json"
    document.write_text("[1, 2]")
    assert run("templates", "create", "-f", str(document)).exit_code == 2
    assert seen == []


def test_delete_by_name_version_and_an_unknown_one_exits_1(requests: Install) -> None:
    seen = requests(by_path({("GET", TEMPLATES): (200, [STORED]), ("DELETE", f"{TEMPLATES}/t1"): (204, None)}))
    result = run("templates", "delete", "du:1.0.0")
    assert result.exit_code == 0 and result.stdout == "deleted t1\n"
    assert seen[-1].method == "DELETE"
    requests(by_path({("GET", TEMPLATES): (200, [])}))
    missing = run("templates", "delete", "du:9.9.9")
    assert missing.exit_code == 1 and "no deployment template du 9.9.9" in missing.stderr


def test_deploy_create_from_a_template_sends_its_parameters(requests: Install) -> None:
    seen = requests(by_path({("GET", TEMPLATES): (200, [STORED]),
                             ("POST", "/o2dms/v1/deployments"): (202, DEPLOYMENT)}))
    result = run("deploy", "create", "--template", "du:1.0.0", "--param", "site=edge-5", "--param", "cell.id='7'",
                 "--param", "cell.count=2", "-o", "id")
    assert result.exit_code == 0, result.output
    assert result.stdout == "d1\n"
    assert json.loads(seen[-1].content) == {"deploymentTemplateId": "t1",
                                            "parameters": {"site": "edge-5", "cell": {"id": "7", "count": 2}}}


def test_deploy_with_refused_parameters_prints_each(requests: Install) -> None:
    invalid = [{"name": "parameters.site", "reason": "is required"},
               {"name": "parameters.cells", "reason": "is not a parameter of template du 1.0.0"}]
    problem = {"type": "https://netweave.io/problems/invalid-deployment-parameters", "title": "Bad Request",
               "status": 400, "detail": "…", "invalidParams": invalid}
    requests(by_path({("POST", "/o2dms/v1/deployments"): (400, problem)}))
    result = run("deploy", "create", "--template", "t1", "--param", "cells=2")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == ["invalid parameters.site: is required",
                                              "invalid parameters.cells: is not a parameter of template du 1.0.0"]


def test_deploy_upgrade_to_a_template(requests: Install) -> None:
    seen = requests(by_path({("POST", "/o2dms/v1/deployments/d1/upgrade"): (202, OPERATION)}))
    assert run("deploy", "upgrade", "d1", "--template", "t2", "--param", "site=edge-6").exit_code == 0
    assert run("deploy", "upgrade", "d1", "--template", "t2").exit_code == 0
    assert [json.loads(r.content) for r in seen] == [
        {"deploymentTemplateId": "t2", "parameters": {"site": "edge-6"}}, {"deploymentTemplateId": "t2"}]


def test_mixing_the_template_and_package_forms_is_a_usage_error(requests: Install) -> None:
    seen = requests(by_path({}))
    assert run("deploy", "create", "vdu", "--template", "t1", "-n", "ns").exit_code == 2
    assert run("deploy", "create", "--param", "site=x").exit_code == 2
    assert run("deploy", "create", "vdu", "-n", "ns", "-p", "p1", "--param", "site=x").exit_code == 2
    assert run("deploy", "upgrade", "d1", "--template", "t1", "-p", "p2").exit_code == 2
    assert run("deploy", "upgrade", "d1").exit_code == 2
    assert seen == []
