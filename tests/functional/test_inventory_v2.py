"""Locations, O-Cloud sites and `/o2ims-infrastructureInventory/v2` over a polled demo site, as an SMO reads them;
every v2 answer is checked against the peer's OpenAPI (tests/contract/peer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.bootstrap import Components
from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource
from chalicelib.domain.notifications import inventory_notification
from chalicelib.handlers import inventory as inventory_handlers
from tests.functional.conftest import Api, assert_problem
from tests.functional.inventory_fixtures import Site, site_environment
from tests.peer_schema import get_paths, response_errors

V1, V2, SHORT = "/o2ims-infrastructureInventory/v1", "/o2ims-infrastructureInventory/v2", "/o2ims/v1"
PARIS = "geo:48.8566,2.3522"
# What no backend knows: the operator's names and addresses, and a site being built (no pools yet).
OPERATOR_CONFIG = f"""locations:
  - globalLocationId: us-east-1
    name: US East (N. Virginia)
    address: Ashburn, Virginia
    civicAddress: [{{caType: 1, caValue: US}}, {{caType: 3, caValue: Virginia}}]
  - {{globalLocationId: "{PARIS}", name: Paris lab}}
sites:
  - {{globalLocationId: "{PARIS}", name: Paris lab site, description: Being built}}
"""


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site_environment(tmp_path_factory.mktemp("v2"), more_adapters=OPERATOR_CONFIG)


@pytest.fixture()
def components(site: Site) -> Components:
    return site.components


@pytest.fixture(autouse=True)
def polled(site: Site) -> None:
    inventory_handlers.poll_inventory(site.components)


@pytest.mark.parametrize("root", [V1, SHORT, V2])
def test_every_pools_site_and_location_resolve(api: Api, root: str) -> None:
    pools = api.get(f"{V1}/resourcePools").json()
    assert pools
    for pool in pools:
        site = api.get(f"{root}/oCloudSites/{pool['oCloudSiteId']}").json()
        assert pool["resourcePoolId"] in site["resourcePools"]
        assert site["globalLocationId"] == pool["globalLocationId"]
        location = api.get(f"{root}/locations/{quote(pool['globalLocationId'], safe='')}").json()
        assert pool["oCloudSiteId"] in location["oCloudSiteIds"]


def test_operator_knowledge_completes_what_backends_report(api: Api) -> None:
    east = api.get(f"{V1}/locations/us-east-1").json()
    assert (east["name"], east["address"]) == ("US East (N. Virginia)", "Ashburn, Virginia")
    assert east["civicAddress"][0] == {"caType": 1, "caValue": "US"}
    paris = api.get(f"{V1}/locations/{quote(PARIS, safe='')}").json()
    assert paris["coordinate"] == {"type": "Point", "coordinates": [2.3522, 48.8566]}  # GeoJSON: longitude first
    [paris_site] = paris["oCloudSiteIds"]
    built = api.get(f"{V1}/oCloudSites/{paris_site}").json()
    assert (built["name"], built["description"], built["resourcePools"]) == ("Paris lab site", "Being built", [])


def test_filters_selectors_and_paging_work_on_locations_and_sites(api: Api) -> None:
    [paris] = api.get(f"{V2}/locations?filter=(eq,name,'Paris lab')").json()
    assert paris["globalLocationId"] == PARIS
    first = api.get(f"{V2}/locations?limit=1")
    assert len(first.json()) == 1 and 'rel="next"' in (first.header("link") or "")
    sites = api.get(f"{V2}/oCloudSites?filter=(eq,globalLocationId,us-east-1)&exclude_fields=resourcePools").json()
    assert sites and all("resourcePools" not in s and s["globalLocationId"] == "us-east-1" for s in sites)
    assert_problem(api.get(f"{V2}/oCloudSites?fields=nope"), 400)
    assert_problem(api.get(f"{V2}/locations/nowhere"), 404, "no location")


def _v2_path(api: Api, path: str, subscription_id: str) -> str:
    """The path with the ids of real objects of the site."""
    pool = api.get(f"{V2}/resourcePools").json()[0]
    type_with_dictionary = next(t for t in api.get(f"{V2}/resourceTypes").json() if "alarmDictionaryId" in t)
    ids = {
        "{resourcePoolId}": pool["resourcePoolId"],
        "{resourceId}": api.get(f"{V2}/resourcePools/{pool['resourcePoolId']}/resources").json()[0]["resourceId"],
        "{resourceTypeId}": type_with_dictionary["resourceTypeId"],
        "{deploymentManagerId}": api.get(f"{V2}/deploymentManagers").json()[0]["deploymentManagerId"],
        "{alarmDictionaryId}": api.get(f"{V2}/alarmDictionaries").json()[0]["alarmDictionaryId"],
        "{globalLocationId}": "us-east-1",
        "{oCloudSiteId}": pool["oCloudSiteId"],
        "{subscriptionId}": subscription_id,
    }
    for name, value in ids.items():
        path = path.replace(name, value)
    return path


def test_every_v2_path_answers_what_the_peer_schema_promises(api: Api) -> None:
    created = api.request("POST", f"{V2}/subscriptions", body={"callback": "https://93.184.215.14/smo/v2-paths"})
    assert created.status == 201, created.body
    paths = get_paths("inventory-v2.yaml")
    assert len(paths) == 20
    for path in paths:
        reply = api.get(_v2_path(api, path, created.json()["subscriptionId"]))
        assert reply.status == 200, (path, reply.body)
        assert response_errors("inventory-v2.yaml", path, reply.json()) == [], path


def test_v2_pools_leave_their_location_to_their_site(api: Api) -> None:
    v1 = {p["resourcePoolId"]: p for p in api.get(f"{V1}/resourcePools").json()}
    for pool in api.get(f"{V2}/resourcePools").json():
        assert "globalLocationId" not in pool and "location" not in pool
        assert pool["oCloudSiteId"] == v1[pool["resourcePoolId"]]["oCloudSiteId"]


def test_a_v2_subscription_is_notified_in_v2_shape_and_paths(api: Api, site: Site) -> None:
    created = api.request("POST", f"{V2}/subscriptions", body={"callback": "https://93.184.215.14/smo/v2-notify"})
    record = site.components.subscription_store.get(created.json()["subscriptionId"])
    assert record is not None and record.api_version == "v2"
    assert api.get(f"{V1}/subscriptions/{record.subscription_id}").status == 200  # one store: v1 sees it too
    pool: dict[str, Any] = api.get(f"{V1}/resourcePools?all_fields").json()[0]
    event = ChangeEvent(event_id="e1", source=EventSource.IMS, object_type="ResourcePoolInfo",
                        object_id=pool["resourcePoolId"], event_type=ChangeType.MODIFIED, backend="site-a",
                        at="2026-12-07T12:00:00Z",
                        prior=pool, post={**pool, "description": "changed"})
    body = inventory_notification(event, record, "n1")
    assert body["objectRef"] == f"{V2}/resourcePools/{pool['resourcePoolId']}"
    assert "globalLocationId" not in body["postObjectState"] and "oCloudSiteId" in body["postObjectState"]


def test_the_openapi_document_shows_every_path_of_both_versions(api: Api) -> None:
    served = api.get("/openapi.json").json()["paths"]
    for name in ("inventory-v1.yaml", "inventory-v2.yaml"):
        assert set(get_paths(name)) <= {path for path, item in served.items() if "get" in item}, name
