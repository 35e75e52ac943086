"""A server seen by Kubernetes, DTIAS and Redfish is one listed resource (docs/o2-conventions.md §10): the DTIAS and
Redfish simulators describe two of the same machines (7XR11A1, 7XR11A2), and a bare-metal kubesim node is one of
them. Polled by the real handler into moto, read through the API."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.bootstrap import Components
from chalicelib.handlers import inventory as inventory_handlers
from devtools.dtias_sim import DtiasSim, start_dtias_sim
from devtools.dtias_sim.process import PASSWORD, USERNAME
from devtools.kubesim.seed import make_node
from devtools.redfish_sim.fleet import system_uuid
from devtools.redfish_sim.process import RedfishSim, start_redfish_sim
from tests.functional.conftest import Api
from tests.functional.inventory_fixtures import Site, site_environment

POOLS = "/o2ims-infrastructureInventory/v1/resourcePools"
DTIAS_PASSWORD_ENV, REDFISH_PASSWORD_ENV = "NETWEAVE_TEST_ID_DTIAS_PASSWORD", "NETWEAVE_TEST_ID_REDFISH_PASSWORD"
NODE = "du-metal-1"  # a kubeadm node on the machine with service tag 7XR11A2


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DtiasSim, RedfishSim]]:
    dtias = start_dtias_sim(tmp_path_factory.mktemp("dtias"))
    redfish = start_redfish_sim(servers=2)  # 7XR11A1 and 7XR11A2, which DTIAS also manages
    try:
        yield dtias, redfish
    finally:
        dtias.stop()
        redfish.stop()


@pytest.fixture(scope="module")
def site(moto_url: str, sims: tuple[DtiasSim, RedfishSim], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    dtias, redfish = sims
    more = (f"  - id: dc-fleet\n    type: dtias\n    options:\n      baseUrl: {dtias.url}\n      username: {USERNAME}\n"
            f"      passwordEnv: {DTIAS_PASSWORD_ENV}\n"
            f"  - id: bare-metal\n    type: redfish\n    options:\n      username: root\n"
            f"      passwordEnv: {REDFISH_PASSWORD_ENV}\n      retryDelaySeconds: 0\n"
            f"      endpoints:\n        - {{name: fleet, url: '{redfish.aggregator}'}}\n")
    os.environ.update({DTIAS_PASSWORD_ENV: PASSWORD, REDFISH_PASSWORD_ENV: "calvin"})
    try:
        yield from site_environment(Path(tmp_path_factory.mktemp("identity-site")), nodes=2, more_adapters=more)
    finally:
        for name in (DTIAS_PASSWORD_ENV, REDFISH_PASSWORD_ENV):
            os.environ.pop(name, None)


@pytest.fixture(scope="module")
def polled(site: Site) -> Components:
    """A bare-metal node joins, then two poll rounds: the first records each backend's servers, the second links
    the views the first round saw in the other order."""
    def add(cluster: Any) -> Any:
        node = make_node("identity", "far-edge-du", 1, time.time())
        node["metadata"]["name"] = NODE
        for label in ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"):
            node["metadata"]["labels"].pop(label, None)
        node["spec"].pop("providerID")  # kubeadm on a server: no cloud provider
        node["status"]["nodeInfo"]["systemUUID"] = system_uuid("7XR11A2").upper()  # as dmidecode prints it
        return copy.deepcopy(cluster.create(cluster.resource("", "nodes"), None, node))

    site.kubesim.call(add)
    inventory_handlers.poll_inventory(site.components)
    inventory_handlers.poll_inventory(site.components)
    return site.components


@pytest.fixture()
def components(polled: Components) -> Components:
    return polled


def every(api: Api, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    reply = api.get(f"{path}?limit=100")
    while True:
        assert reply.status == 200, reply.body
        found.extend(reply.json())
        link = reply.header("Link")
        if not link:
            return found
        url = urlparse(link[link.index("<") + 1: link.index(">")])
        reply = api.get(f"{url.path}?{url.query}")


def listed_servers(api: Api) -> list[dict[str, Any]]:
    """Every server the SMO lists: each pool's resources without the components."""
    pools = every(api, POOLS)
    return [r for pool in pools for r in every(api, f"{POOLS}/{pool['resourcePoolId']}/resources")
            if "parentId" not in r]


def listed(api: Api, tag: str) -> list[dict[str, Any]]:
    return [r for r in listed_servers(api) if r["globalAssetId"] == f"dell:servicetag:{tag}"]


def view(api: Api, link: dict[str, str]) -> dict[str, Any]:
    reply = api.get(f"{POOLS}/{link['resourcePoolId']}/resources/{link['resourceId']}")
    assert reply.status == 200, reply.body  # a hidden view stays readable by id
    document: dict[str, Any] = reply.json()
    return document


def test_a_server_dtias_and_redfish_both_see_is_listed_once_as_dtias_sees_it(api: Api) -> None:
    (server,) = listed(api, "7XR11A1")
    assert server["extensions"]["dtiasServerId"] == system_uuid("7XR11A1")  # the DTIAS view: it ranks higher
    (link,) = server["extensions"]["sameAs"]
    assert link["backend"] == "bare-metal"
    hidden = view(api, link)
    assert hidden["extensions"]["mergedInto"] == server["resourceId"]
    assert hidden["globalAssetId"] == server["globalAssetId"] == "dell:servicetag:7XR11A1"
    assert hidden["extensions"]["bmcReachable"] is True


def test_a_bare_metal_node_takes_the_machine_and_its_hardware_views_are_linked(api: Api) -> None:
    (node,) = listed(api, "7XR11A2")  # the node carries the group's service-tag identity, not its own UUID
    assert node["extensions"]["name"] == NODE
    assert [link["backend"] for link in node["extensions"]["sameAs"]] == ["dc-fleet", "bare-metal"]
    for link in node["extensions"]["sameAs"]:
        assert view(api, link)["extensions"]["mergedInto"] == node["resourceId"]


def test_lists_leave_out_every_hidden_view_and_its_components(api: Api) -> None:
    pools = every(api, POOLS)
    everything = [r for pool in pools for r in every(api, f"{POOLS}/{pool['resourcePoolId']}/resources")]
    assert everything and not [r for r in everything if r["extensions"].get("mergedInto")]
    tags = [r["extensions"].get("serviceTag") for r in everything if "parentId" not in r]
    assert tags.count("7XR11A1") == 1 and tags.count("7XR11A2") == 0  # 7XR11A2 is listed as the node
    assert len([r for r in everything if "parentId" not in r and r["extensions"].get("serviceTag")]) == 24 - 1


def test_a_dtias_outage_keeps_the_machine_listed_once(api: Api, site: Site, sims: tuple[DtiasSim, RedfishSim]) -> None:
    dtias, _ = sims
    dtias.knob("settings", {"down": True})
    try:
        inventory_handlers.poll_inventory(site.components)
        (server,) = listed(api, "7XR11A1")
        assert server["extensions"]["dtiasServerId"] == system_uuid("7XR11A1")  # last known, still the listed view
    finally:
        dtias.knob("settings", {"down": False})
