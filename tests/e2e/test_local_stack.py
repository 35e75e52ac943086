"""What a new user sees after `make run`: an authenticated O2 endpoint, a demo cluster kubectl and helm can use."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStack, binary

pytestmark = pytest.mark.xdist_group("stack")
ROOT = "/o2ims-infrastructureInventory/v1"


def test_banner_tells_the_api_url_and_a_token(stack: LocalStack) -> None:
    assert stack.api in stack.banner
    assert stack.token in stack.banner


def test_root_with_the_printed_token_has_every_required_field(stack: LocalStack) -> None:
    with stack.client() as client:
        reply = client.get(ROOT)
    assert reply.status_code == 200
    body = reply.json()
    for name in ("oCloudId", "globalCloudId", "globalcloudId", "name", "description", "serviceUri", "extensions"):
        assert name in body
    assert body["serviceUri"] == stack.api


def test_without_a_token_the_answer_is_401_problem_details(stack: LocalStack) -> None:
    with stack.client(token=None) as client:
        reply = client.get(ROOT)
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["status"] == 401


def test_unknown_path_is_404_and_wrong_method_is_405_both_problem_details(stack: LocalStack) -> None:
    with stack.client() as client:
        missing = client.get(ROOT + "/nope")
        wrong = client.post(ROOT, json={})
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
    assert (wrong.status_code, wrong.headers["content-type"]) == (405, "application/problem+json")
    assert wrong.headers["allow"] == "GET"
    assert missing.json()["status"] == 404 and wrong.json()["status"] == 405


@pytest.mark.parametrize("verb", ["TRACE", "PROPFIND", "CONNECT", "BREW"])
def test_a_verb_no_route_has_is_405_problem_details_with_allow_like_any_other(stack: LocalStack, verb: str) -> None:
    """Issue 16: the local server answered TRACE and other unknown verbs with an HTML 501 page. Now they answer as
    a known path answers any method it does not serve (405, `Allow`), with or without a token; an unknown path 404."""
    with stack.client() as client, stack.client(token=None) as anyone:
        served = client.post(ROOT + "/subscriptions", json={})  # a method the path does not serve: the reference
        pools = client.request(verb, ROOT + "/resourcePools/")
        subscriptions = anyone.request(verb, ROOT + "/subscriptions", content=b"x" * 10)
        missing = client.request(verb, ROOT + "/nope")
        after = client.get(ROOT)  # the connection is still usable after a refused verb with a body
    assert served.status_code == 400  # POST is served there: it is just a bad body
    for reply, allow in ((pools, "GET"), (subscriptions, "GET, POST")):
        assert (reply.status_code, reply.headers["content-type"]) == (405, "application/problem+json"), reply.text
        assert reply.headers["allow"] == allow
        body = reply.json()
        assert (body["status"], body["title"]) == (405, "Method Not Allowed")
        assert body["detail"] == f"{verb} is not supported here; allowed: {allow}"
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
    assert after.status_code == 200


def test_ready_sees_the_emulated_aws(stack: LocalStack) -> None:
    with stack.client() as operator:  # the local stack's token carries netweave:operate: the checks are shown
        reply = operator.get("/ready")
    assert reply.status_code == 200, reply.text
    assert reply.json()["checks"] and all(check["ok"] for check in reply.json()["checks"])
    with stack.client(token=None) as anyone:
        assert anyone.get("/ready").json() == {"status": "ready"}  # a verdict, no table or queue names


def test_kubectl_lists_the_demo_site_nodes(stack: LocalStack) -> None:
    out = subprocess.run(
        [binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    nodes = json.loads(out)["items"]
    pools: dict[str, int] = {}
    for node in nodes:
        pool = node["metadata"]["labels"].get("netweave.io/resource-pool", "")
        pools[pool] = pools.get(pool, 0) + 1
    assert pools.get("far-edge-du", 0) >= 12 and pools.get("general-compute", 0) >= 12


def test_helm_installs_a_chart_into_the_demo_cluster(stack: LocalStack, tmp_path: Path) -> None:
    helm = binary("helm")
    subprocess.run([helm, "create", str(tmp_path / "demo")], check=True, capture_output=True, timeout=60)
    install = subprocess.run(
        [
            helm,
            "--kubeconfig",
            str(stack.kubeconfig),
            "install",
            "demo",
            str(tmp_path / "demo"),
            "--wait",
            "--timeout",
            "60s",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [helm, "--kubeconfig", str(stack.kubeconfig), "list", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert [(r["name"], r["status"]) for r in json.loads(listed)] == [("demo", "deployed")]
