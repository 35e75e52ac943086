"""`client.dms.templates` and deploying from a template, against httpx.MockTransport: the template CRUD on
`/o2dms/v1/deploymentTemplates` (a template.yaml's document sent as written), `deploy_template` and `upgrade(...,
template_id=...)` sending only the template and its parameters, refused parameters named one by one; blocking and
asyncio alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from netweave_client import AsyncClient, BadRequest, Client
from netweave_client.template_models import DeploymentTemplateData, Placement

BASE = "http://gw.test"
TEMPLATES = "/o2dms/v1/deploymentTemplates"
Handler = Callable[[httpx.Request], httpx.Response]
DATA: dict[str, Any] = {"name": "du", "version": "1.0.0", "packageName": "vdu", "packageVersion": "2.1.0",
                        "defaultValues": {"replicaCount": 1}, "parameterSchema": {
                            "type": "object", "required": ["site"], "properties": {"site": {"type": "string"}}},
                        "placement": {"namespace": "du-{site}"}, "lifecycle": {"rollbackOnFailure": True}}
STORED = {**DATA, "deploymentTemplateId": "t1", "description": "", "extensions": {}, "createdAt": "t",
          "updatedAt": "t"}
DEPLOYMENT = {"deploymentId": "d1", "name": "du", "namespace": "du-edge-5", "packageId": "p1",
              "packageVersion": "2.1.0", "status": "pending", "createdAt": "t", "updatedAt": "t",
              "extensions": {"activeOperationId": "op1"}}
OPERATION = {"operationId": "op2", "deploymentId": "d1", "operationType": "upgrade", "status": "queued",
             "createdAt": "t"}


def client(replies: list[httpx.Response], seen: list[httpx.Request]) -> Client:
    queue = iter(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(queue)

    return Client(BASE, "tok", transport=httpx.MockTransport(handle), sleep=lambda _: None)


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_template_crud_sends_the_document_as_written() -> None:
    seen: list[httpx.Request] = []
    replies = [httpx.Response(201, json=STORED), httpx.Response(200, json=[STORED]), httpx.Response(200, json=STORED),
               httpx.Response(200, json=STORED), httpx.Response(204)]
    with client(replies, seen) as nw:
        created = nw.dms.templates.create(DATA)
        listed = nw.dms.templates.list(filter="(eq,name,du)").all()
        one = nw.dms.templates.get("t1")
        model = DeploymentTemplateData(name="du", version="1.0.1", package_id="p9",
                                       parameter_schema={"type": "object"}, placement=Placement(namespace="du"))
        nw.dms.templates.replace("t1", model)
        nw.dms.templates.delete("t1")
    assert created.deployment_template_id == "t1" and one.placement.namespace == "du-{site}"
    assert [t.name for t in listed] == ["du"] and seen[1].url.params["filter"] == "(eq,name,du)"
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", TEMPLATES), ("GET", TEMPLATES), ("GET", f"{TEMPLATES}/t1"), ("PUT", f"{TEMPLATES}/t1"),
        ("DELETE", f"{TEMPLATES}/t1")]
    assert sent(seen[0]) == DATA  # nothing the file left out is added: the gateway's defaults apply
    assert sent(seen[3]) == {"name": "du", "version": "1.0.1", "packageId": "p9", "parameterSchema": {"type": "object"},
                             "placement": {"namespace": "du"}}


def test_deploying_and_upgrading_from_a_template_send_only_template_and_parameters() -> None:
    seen: list[httpx.Request] = []
    replies = [httpx.Response(202, json=DEPLOYMENT), httpx.Response(202, json=OPERATION),
               httpx.Response(202, json=OPERATION)]
    with client(replies, seen) as nw:
        deployment = nw.dms.deploy_template("t1", {"site": "edge-5"})
        nw.dms.upgrade("d1", template_id="t2", parameters={"site": "edge-5", "cells": 2})
        operation = nw.dms.upgrade("d1", template_id="t2")
    assert deployment.namespace == "du-edge-5" and operation.operation_type.value == "upgrade"
    assert (seen[0].url.path, sent(seen[0])) == ("/o2dms/v1/deployments",
                                                 {"deploymentTemplateId": "t1", "parameters": {"site": "edge-5"}})
    assert (seen[1].url.path, sent(seen[1])) == ("/o2dms/v1/deployments/d1/upgrade", {
        "deploymentTemplateId": "t2", "parameters": {"site": "edge-5", "cells": 2}})
    assert sent(seen[2]) == {"deploymentTemplateId": "t2"}  # the deployment's own parameters are re-checked


def test_an_upgrade_names_a_package_or_a_template_not_both() -> None:
    with client([], []) as nw:
        for wrong in ({"package_id": "p2", "template_id": "t2"}, {}, {"template_id": "t2", "values": {"a": 1}},
                      {"package_id": "p2", "parameters": {"site": "x"}}):
            with pytest.raises(ValueError):
                nw.dms.upgrade("d1", **wrong)


def test_refused_deployment_parameters_are_named() -> None:
    invalid = [{"name": "parameters.site", "reason": "is required"}]
    body = {"type": "https://netweave.io/problems/invalid-deployment-parameters", "title": "Bad Request",
            "status": 400, "detail": "parameters.site: is required", "invalidParams": invalid}
    with client([httpx.Response(400, json=body)], []) as nw, pytest.raises(BadRequest) as raised:
        nw.dms.deploy_template("t1", {})
    assert [(p.name, p.reason) for p in raised.value.invalid_params] == [("parameters.site", "is required")]


def test_the_async_client_has_the_same_template_calls() -> None:
    seen: list[httpx.Request] = []
    replies = iter([httpx.Response(201, json=STORED), httpx.Response(202, json=DEPLOYMENT), httpx.Response(204)])

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(replies)

    async def scenario() -> str:
        async with AsyncClient(BASE, "tok", transport=httpx.MockTransport(handle)) as nw:
            template = await nw.dms.templates.create(DATA)
            deployment = await nw.dms.deploy_template(template.deployment_template_id, {"site": "edge-5"})
            await nw.dms.templates.delete(template.deployment_template_id)
            return deployment.deployment_id

    assert asyncio.run(scenario()) == "d1"
    assert [r.method for r in seen] == ["POST", "POST", "DELETE"]
    assert sent(seen[1]) == {"deploymentTemplateId": "t1", "parameters": {"site": "edge-5"}}
