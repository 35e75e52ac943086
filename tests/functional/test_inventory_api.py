"""The O2ims Inventory API over a polled demo site (kubesim + moto), as an SMO reads it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.bootstrap import Components
from chalicelib.handlers import inventory as inventory_handlers
from tests.functional.conftest import Api, assert_problem, token_with
from tests.functional.inventory_fixtures import Site, site_environment

ROOT = "/o2ims-infrastructureInventory/v1"


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site_environment(tmp_path_factory.mktemp("site"))


@pytest.fixture()
def components(site: Site) -> Components:
    """The API and the handlers serve this module's site."""
    return site.components


@pytest.fixture(autouse=True)
def polled(site: Site) -> None:
    inventory_handlers.poll_inventory(site.components)


def pools_by_name(api: Api) -> dict[str, dict[str, Any]]:
    return {pool["name"]: pool for pool in api.get(f"{ROOT}/resourcePools").json()}


def test_pools_types_and_deployment_manager_of_the_demo_site(api: Api, site: Site) -> None:
    pools = pools_by_name(api)
    assert {"far-edge-du", "general-compute"} <= set(pools)
    for pool in pools.values():
        assert {"resourcePoolId", "name", "description", "oCloudId", "globalLocationId", "location",
                "extensions"} <= set(pool)
    types = api.get(f"{ROOT}/resourceTypes").json()
    assert types and all(t["resourceClass"] in ("COMPUTE", "NETWORKING", "STORAGE", "UNDEFINED") for t in types)
    assert all("alarmDictionary" not in t for t in types)  # large complex attribute: left out by default
    managers = api.get(f"{ROOT}/deploymentManagers").json()
    assert [m["serviceUri"] for m in managers] == [site.kubesim.url]


def test_a_pools_resources_include_servers_and_their_components(api: Api) -> None:
    du_pool = pools_by_name(api)["far-edge-du"]
    reply = api.get(f"{ROOT}/resourcePools/{du_pool['resourcePoolId']}/resources?limit=1000")
    items = reply.json()
    servers = [r for r in items if "parentId" not in r]
    components = [r for r in items if "parentId" in r]
    assert len(servers) >= 12
    assert components, "child resources (CPU, memory, NICs, accelerators) are listed in the pool"
    parents = {c["parentId"] for c in components}
    assert parents <= {r["resourceId"] for r in items}  # a server, or the NIC of a port
    assert {c["parentId"] for c in components if c["extensions"]["category"] != "network"} <= {
        s["resourceId"] for s in servers}
    assert all("elements" not in r for r in items)


def test_elements_come_with_all_fields_and_fields(api: Api) -> None:
    """docs/o2-conventions.md §3: the default representation leaves out the large `elements`; `all_fields` and
    `fields=elements` add them and change nothing else; `exclude_default` is the default representation;
    `exclude_fields` selects from all attributes, identifiers always kept."""
    du_pool = pools_by_name(api)["far-edge-du"]["resourcePoolId"]
    server = next(r for r in api.get(f"{ROOT}/resourcePools/{du_pool}/resources").json() if "parentId" not in r)
    path = f"{ROOT}/resourcePools/{du_pool}/resources/{server['resourceId']}"
    default = api.get(path).json()
    assert default == server and "elements" not in default
    everything = api.get(path + "?all_fields").json()
    components = everything.pop("elements")
    assert everything == default
    assert components and all(c["parentId"] == server["resourceId"] for c in components)
    assert {c["resourceId"] for c in components} <= {
        r["resourceId"] for r in api.get(f"{ROOT}/resourcePools/{du_pool}/resources?limit=1000").json()}
    assert api.get(path + "?fields=elements").json() == {**default, "elements": components}
    assert api.get(path + "?exclude_default").json() == default
    slim = api.get(path + "?exclude_fields=description,extensions,resourceId").json()
    assert slim == {k: v for k, v in {**default, "elements": components}.items() if k not in ("description",
                                                                                             "extensions")}
    listed = api.get(f"{ROOT}/resourcePools/{du_pool}/resources?fields=elements&filter=(eq,resourceId,"
                     f"{server['resourceId']})").json()
    assert listed == [{**default, "elements": components}]


def test_filter_selects_by_attribute(api: Api) -> None:
    reply = api.get(f"{ROOT}/resourcePools?filter=(eq,name,far-edge-du)")
    assert [p["name"] for p in reply.json()] == ["far-edge-du"]
    none = api.get(f"{ROOT}/resourcePools?filter=(eq,name,'no such pool')")
    assert none.status == 200 and none.json() == []


def test_a_filter_value_with_unquoted_spaces_selects_as_the_quoted_one(api: Api) -> None:
    """The peer OpenAPI's example form `(eq,name,my cluster)`: words joined by spaces need no quotes, sent as a
    client sends them (%20 or '+'); what stays ambiguous (a trailing space) is a 400 naming the fix
    (docs/query-language.md)."""
    pools = api.get(f"{ROOT}/resourcePools").json()
    phrase = " ".join(pools[0]["description"].split(" ")[:3])
    assert " " in phrase and not set(phrase) & set(",/()';|"), phrase
    expected = sorted(p["resourcePoolId"] for p in pools if phrase in p["description"])
    for spaced in (phrase.replace(" ", "%20"), phrase.replace(" ", "+")):
        reply = api.get(f"{ROOT}/resourcePools?filter=(cont,description,{spaced})")
        assert reply.status == 200, reply.body
        assert sorted(p["resourcePoolId"] for p in reply.json()) == expected
    quoted = api.get(f"{ROOT}/resourcePools?filter=(cont,description,'{phrase.replace(' ', '%20')}')").json()
    assert sorted(p["resourcePoolId"] for p in quoted) == expected
    assert_problem(api.get(f"{ROOT}/resourcePools?filter=(eq,name,far-edge-du%20)"), 400, "may not end with a space")


def test_selector_flags_take_true_and_false(api: Api) -> None:
    """A schema-driven client sends `all_fields=false` / `exclude_default=true`: false is the flag left out."""
    du_pool = pools_by_name(api)["far-edge-du"]["resourcePoolId"]
    listing = f"{ROOT}/resourcePools/{du_pool}/resources?limit=5"
    default = api.get(listing).json()
    assert default and all("elements" not in r for r in default)
    for query in ("all_fields=false", "exclude_default=true", "exclude_default=false", "all_fields=false&"
                  "exclude_default=true"):
        assert api.get(f"{listing}&{query}").json() == default, query
    with_elements = api.get(f"{listing}&all_fields=true").json()
    assert [{k: v for k, v in r.items() if k != "elements"} for r in with_elements] == default
    assert any("elements" in r for r in with_elements)
    assert_problem(api.get(f"{listing}&all_fields=no"), 400, "'all_fields' is a flag")


def test_paging_walks_every_resource_exactly_once(api: Api) -> None:
    pool = pools_by_name(api)["general-compute"]["resourcePoolId"]
    everything = [r["resourceId"] for r in api.get(f"{ROOT}/resourcePools/{pool}/resources?limit=1000").json()]
    seen: list[str] = []
    url = f"{ROOT}/resourcePools/{pool}/resources?limit=7"
    for _ in range(100):
        reply = api.get(url)
        seen += [r["resourceId"] for r in reply.json()]
        link = reply.header("link")
        if not link:
            break
        next_link = re.match(r"<([^>]+)>; rel=\"next\"", link)
        assert next_link is not None, link
        target = urlparse(next_link.group(1))
        assert parse_qs(target.query)["limit"] == ["7"]
        url = f"{target.path}?{target.query}"
    assert seen == everything and len(everything) > 7


def test_a_marker_of_one_pool_is_refused_by_another_pool_and_by_other_lists(api: Api) -> None:
    pools = pools_by_name(api)
    compute, du = pools["general-compute"]["resourcePoolId"], pools["far-edge-du"]["resourcePoolId"]
    link = api.get(f"{ROOT}/resourcePools/{compute}/resources?limit=1").header("Link")
    assert link is not None
    marker = parse_qs(urlparse(link[1 : link.index(">")]).query)["nextpage_opaque_marker"][0]
    assert api.get(f"{ROOT}/resourcePools/{compute}/resources?limit=1&nextpage_opaque_marker={marker}").status == 200
    for elsewhere in (f"resourcePools/{du}/resources", "resourcePools", "resourceTypes"):
        reply = api.get(f"{ROOT}/{elsewhere}?limit=1&nextpage_opaque_marker={marker}")
        assert_problem(reply, 400, "nextpage_opaque_marker: invalid")


def test_numeric_markers_page_by_number(api: Api) -> None:
    pool = pools_by_name(api)["general-compute"]["resourcePoolId"]
    base = f"{ROOT}/resourcePools/{pool}/resources"
    everything = [r["resourceId"] for r in api.get(f"{base}?limit=1000").json()]
    second = [r["resourceId"] for r in api.get(f"{base}?limit=5&nextpage_opaque_marker=2").json()]
    assert second == everything[5:10]
    assert api.get(f"{base}?limit=5&nextpage_opaque_marker=999").json() == []


def test_a_resource_asked_for_under_the_wrong_pool_is_404(api: Api) -> None:
    pools = pools_by_name(api)
    du, general = pools["far-edge-du"]["resourcePoolId"], pools["general-compute"]["resourcePoolId"]
    server = api.get(f"{ROOT}/resourcePools/{du}/resources?limit=1").json()[0]
    reply = api.get(f"{ROOT}/resourcePools/{du}/resources/{server['resourceId']}")
    assert reply.status == 200 and reply.json() == server
    reply = api.get(f"{ROOT}/resourcePools/{general}/resources/{server['resourceId']}")
    assert reply.status == 404 and reply.header("content-type") == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [f"{ROOT}/resourcePools/00000000-0000-0000-0000-000000000000",
     f"{ROOT}/resourcePools/00000000-0000-0000-0000-000000000000/resources",
     f"{ROOT}/resourceTypes/nope", f"{ROOT}/deploymentManagers/nope", f"{ROOT}/alarmDictionaries/nope"],
)
def test_unknown_ids_are_404_problem_details(api: Api, path: str) -> None:
    reply = api.get(path)
    assert reply.status == 404 and reply.json()["status"] == 404


@pytest.mark.parametrize(
    ("query", "named"),
    [("filter=(eq,nosuch,x)", "nosuch"), ("filter=(zz,name,x)", "zz"), ("filter=(eq,name", "filter"),
     ("fields=bogus", "bogus"), ("limit=0", "limit"), ("nextpage_opaque_marker=garbage!", "marker")],
)
def test_bad_queries_are_400_naming_the_problem(api: Api, query: str, named: str) -> None:
    reply = api.get(f"{ROOT}/resourcePools?{query}")
    assert reply.status == 400
    assert named in reply.json()["detail"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_standard_pool_collection_is_read_only(api: Api, method: str) -> None:
    assert api.request(method, f"{ROOT}/resourcePools", body={} if method != "DELETE" else None).status == 405


def test_short_form_serves_the_same_objects(api: Api) -> None:
    assert api.get("/o2ims/v1/resourcePools").json() == api.get(f"{ROOT}/resourcePools").json()


def test_profile_needs_the_deploy_scope_and_then_gives_cluster_access(api: Api, site: Site) -> None:
    manager = api.get(f"{ROOT}/deploymentManagers").json()[0]
    path = f"{ROOT}/deploymentManagers/{manager['deploymentManagerId']}"
    assert "profileData" not in api.get(path).json().get("extensions", {})
    assert api.get(path + "?profile=native_k8sapi", token=token_with("o2ims:read")).status == 403
    reply = api.get(path + "?profile=k8s", token=token_with("o2ims:read", "o2dms:deploy"))
    assert reply.status == 200
    body = reply.json()
    assert body["extensions"]["profileName"] == "native_k8sapi"
    assert body["extensions"]["profileData"]["cluster_api_endpoint"] == site.kubesim.url
    assert api.get(path + "?profile=other", token=token_with("o2ims:read", "o2dms:deploy")).status == 400


def test_resource_types_lead_to_complete_alarm_dictionaries(api: Api) -> None:
    with_dictionary = [t for t in api.get(f"{ROOT}/resourceTypes?limit=1000").json() if "alarmDictionaryId" in t]
    assert with_dictionary
    type_id = with_dictionary[0]["resourceTypeId"]
    dictionary = api.get(f"{ROOT}/resourceTypes/{type_id}/alarmDictionary").json()
    assert dictionary["alarmDictionaryId"] == with_dictionary[0]["alarmDictionaryId"]
    assert dictionary["managementInterfaceId"] == ["O2IMS"]
    for definition in dictionary["alarmDefinition"]:
        assert {"alarmDefinitionId", "alarmName", "alarmLastChange", "alarmChangeType", "alarmDescription",
                "proposedRepairActions", "clearingType"} <= set(definition)
    default = api.get(f"{ROOT}/resourceTypes/{type_id}").json()
    assert "alarmDictionary" not in default and api.get(f"{ROOT}/resourceTypes/{type_id}?exclude_default").json() == (
        default)
    for query in ("all_fields", "fields=alarmDictionary"):
        assert api.get(f"{ROOT}/resourceTypes/{type_id}?{query}").json() == {**default, "alarmDictionary": dictionary}


def test_an_smo_finds_every_fec_accelerator_and_where_a_vdu_fits(api: Api) -> None:
    du_pool = pools_by_name(api)["far-edge-du"]["resourcePoolId"]
    base = f"{ROOT}/resourcePools/{du_pool}/resources"
    servers = [r for r in api.get(f"{base}?limit=1000&filter=(eq,parentId,null)").json()]
    accelerators = api.get(f"{base}?limit=1000&filter=(eq,extensions/category,accelerator)").json()
    assert servers and all("parentId" not in r for r in servers)
    assert len(accelerators) == len(servers)  # one FEC card per DU server
    assert all(a["extensions"]["model"] in ("ACC100", "ACC200") and a["extensions"]["vfCount"] == 16
               for a in accelerators)
    assert {a["parentId"] for a in accelerators} == {s["resourceId"] for s in servers}
    numa = f"{base}?limit=1000&filter=(eq,extensions/category,cpu)"
    big = api.get(f"{numa};(gte,extensions/resources/cpu/availableValue,60)").json()
    small = api.get(f"{numa};(lt,extensions/resources/cpu/availableValue,60)").json()
    zones = api.get(numa).json()
    assert len(big) + len(small) == len(zones) == 2 * len(servers)  # two NUMA nodes per server
    assert big and small and all(r["extensions"]["resources"]["cpu"]["availableValue"] >= 60 for r in big)


def test_an_smo_places_a_vdu_on_a_server_whose_fronthaul_port_has_vfs(api: Api) -> None:
    """The placement question of issue 16: which server has a NIC port with free fronthaul VFs, and on which NIC."""
    du_pool = pools_by_name(api)["far-edge-du"]["resourcePoolId"]
    base = f"{ROOT}/resourcePools/{du_pool}/resources"
    ports = api.get(f"{base}?limit=1000&filter=(eq,extensions/resourceName,'openshift.io/sriov_fh_nic');"
                    f"(gte,extensions/vfCount,4)").json()
    assert ports and all(p["extensions"]["resourceName"] == "openshift.io/sriov_fh_nic" for p in ports)
    port = ports[1]
    nic = api.get(f"{base}/{port['parentId']}").json()
    server = api.get(f"{base}/{nic['parentId']}").json()
    assert nic["extensions"]["category"] == "network" and nic["extensions"]["model"] == "E810-XXV"
    assert "parentId" not in server and server["extensions"]["name"] == port["extensions"]["node"]
    with_elements = api.get(f"{base}/{nic['resourceId']}?fields=elements").json()
    assert port["resourceId"] in {e["resourceId"] for e in with_elements["elements"]}
    assert len(with_elements["elements"]) == 2  # dual-port cards


def test_every_listed_name_filters_unquoted(api: Api) -> None:
    """Issue 16: an SMO builds filters from the names it lists; each must select exactly its object unquoted."""
    for collection, key in (("resourceTypes", "resourceTypeId"), ("resourcePools", "resourcePoolId")):
        listed = api.get(f"{ROOT}/{collection}?limit=1000").json()
        names = [item["name"] for item in listed]
        assert len(names) == len(set(names)) > 1, f"{collection} names are not unique"
        for item in listed:
            reply = api.get(f"{ROOT}/{collection}?filter=(eq,name,{item['name']})")
            assert reply.status == 200, (item["name"], reply.json())
            assert [found[key] for found in reply.json()] == [item[key]], item["name"]
    types = {t["name"] for t in api.get(f"{ROOT}/resourceTypes?limit=1000").json()}
    assert {"c6i.metal-amd64", "c6i.metal-amd64-sriov-nic", "c6i.metal-amd64-sriov-nic-port",
            "c6i.metal-amd64-fec-accelerator", "c6i.metal-amd64-numa-node", "c6i.metal-amd64-disk",
            "c6i.metal-amd64-hugepages-1Gi"} <= types


def test_the_du_pool_needs_a_second_page(api: Api) -> None:
    """Twelve DU servers with their NUMA nodes, NICs, ports, FEC cards and disks exceed the default page (100)."""
    du_pool = pools_by_name(api)["far-edge-du"]["resourcePoolId"]
    first = api.get(f"{ROOT}/resourcePools/{du_pool}/resources")
    assert len(first.json()) == 100
    link = first.header("link")
    assert link is not None
    target = urlparse(link[1 : link.index(">")])
    second = api.get(f"{target.path}?{target.query}").json()
    everything = api.get(f"{ROOT}/resourcePools/{du_pool}/resources?limit=1000").json()
    assert len(everything) > 150
    assert [r["resourceId"] for r in first.json() + second] == [r["resourceId"] for r in everything]
