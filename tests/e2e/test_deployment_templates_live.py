"""Issue 23's "done when", on the running local stack over HTTP as an SMO uses it: a vDU template with a parameter
schema, three sites deployed from it with only `{site, cellId}` each, a bad `cellId` refused naming the field with
nothing deployed, one site upgraded to the template's next version, and the template undeletable while sites use it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.chart_repo import build_repository
from tests.e2e.conftest import LocalStack
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
DMS = "/o2dms/v1"
OPERATION_TIMEOUT = 120
SITES = ("a", "b", "c")
SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["site", "cellId"],
    "properties": {"site": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,20}$"},
                   "cellId": {"type": "string", "pattern": "^[0-9]{5}$"},
                   "bandwidth": {"enum": ["20MHz", "40MHz", "100MHz"]}},
}


def upload(client: httpx.Client, archive: Path) -> dict[str, Any]:
    reply = client.post(f"{DMS}/deploymentPackages", content=archive.read_bytes(),
                        headers={"Content-Type": "application/gzip"})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def template(client: httpx.Client, name: str, version: str, package: dict[str, Any],
             defaults: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(f"{DMS}/deploymentTemplates", json={
        "name": name, "version": version, "description": "vDU, one per site", "packageId": package["packageId"],
        "defaultValues": defaults, "parameterSchema": SCHEMA,
        "placement": {"name": "vdu-{site}", "namespace": f"{name}-{{site}}"},
        "lifecycle": {"timeoutSeconds": 90}})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def settled(client: httpx.Client, deployment_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any]:
        current = dict(client.get(f"{DMS}/deployments/{deployment_id}").json())
        return current if "activeOperationId" not in current["extensions"] else {}

    return wait_until(done, OPERATION_TIMEOUT, interval=0.5, what=f"deployment {deployment_id} settled")


@pytest.mark.timeout(900)
def test_a_vdu_template_rolls_out_to_three_sites_and_one_is_upgraded(stack: LocalStack, tmp_path: Path) -> None:
    # a chart of its own: the other tests of this stack upload `vdu` 1.0.0 and 1.1.0 and expect them new
    chart = f"vdu-rollout-{uuid.uuid4().hex[:6]}"
    charts = build_repository(tmp_path, [(chart, "1.0.0"), (chart, "1.1.0")])
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    with stack.client() as client:
        v1_package, v2_package = (upload(client, charts / f"{chart}-{v}.tgz") for v in ("1.0.0", "1.1.0"))
        v1 = template(client, name, "1.0.0", v1_package, {"replicaCount": 1, "bandwidth": "100MHz"})
        v2 = template(client, name, "1.1.0", v2_package, {"replicaCount": 2, "bandwidth": "100MHz"})

        bad = client.post(f"{DMS}/deployments", json={"deploymentTemplateId": v1["deploymentTemplateId"],
                                                       "parameters": {"site": "a", "cellId": "12x45"}})
        assert bad.status_code == 400, bad.text
        assert [p["name"] for p in bad.json()["invalidParams"]] == ["parameters.cellId"]
        listed = client.get(f"{DMS}/deployments?filter=(eq,namespace,{name}-a)").json()
        assert listed == [], "a refused deployment leaves nothing behind"

        deployed = {}
        for index, site in enumerate(SITES):
            reply = client.post(f"{DMS}/deployments", json={"deploymentTemplateId": v1["deploymentTemplateId"],
                                                            "parameters": {"site": site, "cellId": f"1000{index}"}})
            assert reply.status_code == 202, reply.text
            deployed[site] = reply.json()["deploymentId"]
        for index, site in enumerate(SITES):
            current = settled(client, deployed[site])
            assert current["status"] == "deployed", current
            assert (current["name"], current["namespace"]) == (f"vdu-{site}", f"{name}-{site}")
            assert current["values"] == {"replicaCount": 1, "bandwidth": "100MHz", "site": site,
                                         "cellId": f"1000{index}"}
            assert current["extensions"]["deploymentTemplateVersion"] == "1.0.0"

        upgraded = client.post(f"{DMS}/deployments/{deployed['b']}/upgrade",
                               json={"deploymentTemplateId": v2["deploymentTemplateId"]})
        assert upgraded.status_code == 202, upgraded.text
        site_b = settled(client, deployed["b"])
        assert (site_b["status"], site_b["packageVersion"]) == ("deployed", "1.1.0"), site_b
        assert site_b["values"]["replicaCount"] == 2 and site_b["values"]["cellId"] == "10001"
        assert site_b["extensions"]["deploymentTemplateVersion"] == "1.1.0"
        assert settled(client, deployed["a"])["packageVersion"] == "1.0.0"

        refused = client.delete(f"{DMS}/deploymentTemplates/{v1['deploymentTemplateId']}")
        assert refused.status_code == 409, refused.text
        assert deployed["a"] in refused.json()["detail"] and deployed["c"] in refused.json()["detail"]

        for deployment_id in deployed.values():
            assert client.delete(f"{DMS}/deployments/{deployment_id}").status_code == 202
        def all_gone() -> bool:
            return all(client.get(f"{DMS}/deployments/{d}").status_code == 404 for d in deployed.values())

        wait_until(all_gone, OPERATION_TIMEOUT, interval=0.5, what="the three sites' deployments deleted")
        for version in (v1, v2):
            assert client.delete(f"{DMS}/deploymentTemplates/{version['deploymentTemplateId']}").status_code == 204
        for package in (v1_package, v2_package):
            assert client.delete(f"{DMS}/deploymentPackages/{package['packageId']}").status_code == 204
