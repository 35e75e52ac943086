"""`client.provisioning` of the SMO client library against httpx.MockTransport: provisioning requests (create with
the SMO's UUID, replace as a resize, delete), the infrastructure templates they name, `wait` through the phases to
FULFILLED or to the 404 after a delete, FAILED as an error carrying the request's message, and refused template
parameters named one by one; blocking and asyncio alike."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from netweave_client import AsyncClient, BadRequest, Client, NotFound, ProvisioningFailed, WaitTimeout
from netweave_client.models import ProvisioningPhase, ProvisioningRequestInfo
from netweave_client.provisioning import resized

BASE = "http://gw.test"
REQUESTS = "/o2ims-infrastructureProvisioning/v1/provisioningRequests"
TEMPLATES = "/o2ims-infrastructureArtifacts/v1/managedInfrastructureTemplates"
RID = "0b6f7c1e-0000-4000-8000-000000000001"
Handler = Callable[[httpx.Request], httpx.Response]


def info(phase: str = "PENDING", message: str = "accepted", size: int = 1, ids: int = 0) -> dict[str, Any]:
    return {"provisioningRequestId": RID, "name": "edge pool", "description": "", "templateName": "eks-nodegroup-pool",
            "templateVersion": "1.0.0", "templateParameters": {"size": size, "location": "edge-site-5"},
            "provisioningRequestReference": "ref-1",
            "status": {"updateTime": "t", "message": message, "provisioningPhase": phase},
            "provisionedResourceSet": {"infrastructureResourceIds": [f"node-{n}" for n in range(ids)]},
            "extensions": {"resourcePoolIds": ["pool-1"], "imsAdapter": "edge-aws"}}


TEMPLATE = {"artifactResourceId": "e30fb48a-14fc-5587-9ce9-7b9080c2f7de", "name": "eks-nodegroup-pool",
            "version": "1.0.0", "description": "EKS node group", "parameterSchema": {"type": "object"},
            "extensions": {"templateKind": "eks-nodegroup", "imsAdapter": "edge-aws"}}


def problem(status: int, **extra: Any) -> httpx.Response:
    body = {"type": f"https://netweave.io/problems/{status}", "title": "t", "status": status, "detail": "d", **extra}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


def client(handler: Handler, seen: list[httpx.Request] | None = None) -> Client:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return Client(BASE, "tok", transport=httpx.MockTransport(record), sleep=lambda _: None)


def answers(*responses: httpx.Response) -> Handler:
    queue = iter(responses)
    return lambda request: next(queue)


def test_create_sends_the_template_and_parameters_under_a_new_uuid() -> None:
    seen: list[httpx.Request] = []
    with client(answers(httpx.Response(201, json=info())), seen) as nw:
        created = nw.provisioning.requests.create("eks-nodegroup-pool", "1.0.0",
                                                  {"size": 1, "location": "edge-site-5"}, name="edge pool")
    assert created.status.provisioning_phase is ProvisioningPhase.PENDING
    sent = json.loads(seen[0].content)
    assert (seen[0].method, seen[0].url.path) == ("POST", REQUESTS)
    assert uuid.UUID(sent.pop("provisioningRequestId")).version == 4
    assert sent == {"name": "edge pool", "templateName": "eks-nodegroup-pool", "templateVersion": "1.0.0",
                    "templateParameters": {"size": 1, "location": "edge-site-5"}}


def test_the_callers_id_is_kept_and_reads_list_and_get() -> None:
    seen: list[httpx.Request] = []
    replies = answers(httpx.Response(201, json=info()), httpx.Response(200, json=[info(), info()]),
                      httpx.Response(200, json=info("FULFILLED", ids=1)))
    with client(replies, seen) as nw:
        nw.provisioning.requests.create("eks-nodegroup-pool", "1.0.0", {"size": 1}, request_id=RID)
        listed = nw.provisioning.requests.list(filter="(eq,templateName,eks-nodegroup-pool)").all()
        one = nw.provisioning.requests.get(RID)
    assert json.loads(seen[0].content)["provisioningRequestId"] == RID
    assert len(listed) == 2 and seen[1].url.params["filter"] == "(eq,templateName,eks-nodegroup-pool)"
    assert seen[2].url.path == f"{REQUESTS}/{RID}"
    assert one.provisioned_resource_set.infrastructure_resource_ids == ["node-0"]


def test_replace_sends_a_gets_answer_back_as_data_only() -> None:
    seen: list[httpx.Request] = []
    with client(answers(httpx.Response(200, json=info("PROGRESSING", size=3))), seen) as nw:
        current = ProvisioningRequestInfo.model_validate(info("FULFILLED"))
        replaced = nw.provisioning.requests.replace(RID, resized(current, 3))
    sent = json.loads(seen[0].content)
    assert (seen[0].method, seen[0].url.path) == ("PUT", f"{REQUESTS}/{RID}")
    assert sent["templateParameters"] == {"size": 3, "location": "edge-site-5"}
    assert not {"status", "provisioningRequestReference", "provisionedResourceSet"} & set(sent)
    assert replaced.status.provisioning_phase is ProvisioningPhase.PROGRESSING


def test_templates_list_get_and_defaults() -> None:
    seen: list[httpx.Request] = []
    replies = answers(httpx.Response(200, json=[TEMPLATE]), httpx.Response(200, json=TEMPLATE),
                      httpx.Response(200, json={"templateDefaults": {"instanceType": "m5.large"}}))
    with client(replies, seen) as nw:
        listed = nw.provisioning.templates.list().all()
        one = nw.provisioning.templates.get("eks-nodegroup-pool.1.0.0")
        defaults = nw.provisioning.templates.defaults("eks-nodegroup-pool.1.0.0")
    assert [t.name for t in listed] == ["eks-nodegroup-pool"] and one.version == "1.0.0"
    assert defaults == {"instanceType": "m5.large"}
    assert [r.url.path for r in seen] == [TEMPLATES, f"{TEMPLATES}/eks-nodegroup-pool.1.0.0",
                                          f"{TEMPLATES}/eks-nodegroup-pool.1.0.0/defaults"]


def test_refused_parameters_are_named_one_by_one() -> None:
    invalid = [{"name": "templateParameters.size", "reason": "-1 is less than the minimum of 0"},
               {"name": "templateParameters.colour", "reason": "is not a parameter of template eks-nodegroup-pool"}]
    with client(answers(problem(400, invalidParams=invalid))) as nw, pytest.raises(BadRequest) as raised:
        nw.provisioning.requests.create("eks-nodegroup-pool", "1.0.0", {"size": -1, "colour": "red"})
    assert [(p.name, p.reason) for p in raised.value.invalid_params] == [(p["name"], p["reason"]) for p in invalid]


def test_wait_follows_the_phases_to_fulfilled_reporting_each() -> None:
    phases: list[str] = []
    replies = answers(httpx.Response(200, json=info("PENDING")), httpx.Response(200, json=info("PROGRESSING")),
                      httpx.Response(200, json=info("FULFILLED", ids=1)))
    with client(replies) as nw:
        done = nw.provisioning.wait(RID, progress=lambda r: phases.append(r.status.provisioning_phase if r else ""))
    assert phases == ["PENDING", "PROGRESSING", "FULFILLED"]
    assert done is not None and done.provisioned_resource_set.infrastructure_resource_ids == ["node-0"]


def test_wait_raises_the_failed_requests_message() -> None:
    message = "backend edge-aws refused: instance type m9.huge unknown; PUT the request again to retry"
    replies = answers(httpx.Response(200, json=info("PROGRESSING")), httpx.Response(200, json=info("FAILED", message)))
    with client(replies) as nw, pytest.raises(ProvisioningFailed) as raised:
        nw.provisioning.wait(RID)
    assert message in str(raised.value) and raised.value.request.provisioning_request_id == RID


def test_wait_gone_ends_at_the_404_and_a_404_otherwise_is_an_error() -> None:
    with client(answers(httpx.Response(200, json=info("DELETING")), problem(404))) as nw:
        assert nw.provisioning.wait(RID, "GONE") is None
    with client(answers(problem(404))) as nw, pytest.raises(NotFound):
        nw.provisioning.wait(RID)
    with client(answers(httpx.Response(200, json=info("PROGRESSING")))) as nw:
        with pytest.raises(WaitTimeout):
            nw.provisioning.wait(RID, timeout=0)
        with pytest.raises(ValueError, match="FULFILED"):
            nw.provisioning.wait(RID, "FULFILED")


def test_the_async_client_creates_deletes_and_waits_for_the_404() -> None:
    seen: list[httpx.Request] = []
    replies = iter([httpx.Response(201, json=info()), httpx.Response(202, json=info("DELETING")),
                    httpx.Response(200, json=info("DELETING")), problem(404)])

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(replies)

    async def nap(seconds: float) -> None:
        return None

    async def scenario() -> tuple[str, object]:
        async with AsyncClient(BASE, "tok", transport=httpx.MockTransport(handle), sleep=nap) as nw:
            created = await nw.provisioning.requests.create("eks-nodegroup-pool", "1.0.0", {"size": 1},
                                                            request_id=RID)
            deleting = await nw.provisioning.requests.delete(created.provisioning_request_id)
            return deleting.status.provisioning_phase.value, await nw.provisioning.wait(RID, "GONE", interval=0)

    assert asyncio.run(scenario()) == ("DELETING", None)
    assert [r.method for r in seen] == ["POST", "DELETE", "GET", "GET"]
