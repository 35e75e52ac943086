"""One machine seen by several backends is one listed resource, linked to its other views (o2-conventions §10)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.server_identity import AssetEntry, asset_keys, entries_of, is_merged, link_servers
from chalicelib.services.server_identity import ServerLinker, precedence

TAG, UUID = "7XR11A1", "4C4C4544-0037-5810-8031-B7C04F313141"


def server(resource_id: str, gid: str, keys: frozenset[str], parent: str | None = None) -> InventoryObject:
    document: dict[str, Any] = {"resourceId": resource_id, "globalAssetId": gid, "extensions": {"name": resource_id}}
    if parent:
        document["parentId"] = parent
    return InventoryObject(ObjectType.RESOURCE, resource_id, document, "pool", asset_keys=keys)


def dtias_view() -> list[InventoryObject]:
    return [server("d-srv", f"dell:servicetag:{TAG}", asset_keys(TAG, "CN7" + TAG, UUID)),
            server("d-nic", "x/nic", frozenset(), parent="d-srv"),
            server("d-port", "x/port", frozenset(), parent="d-nic")]


def redfish_view() -> list[InventoryObject]:
    return [server("r-sys", TAG, asset_keys(TAG.lower(), None, UUID.lower())),
            server("r-cpu", "x/cpu", frozenset(), parent="r-sys")]


def test_keys_agree_across_spellings_and_ignore_firmware_placeholders() -> None:
    assert asset_keys("7xr11a1 ", None, UUID) == asset_keys("7XR11A1", "", UUID.lower())
    assert asset_keys(None, "To Be Filled By O.E.M.", "00000000-0000-0000-0000-000000000000") == frozenset()
    assert asset_keys(None, "Not Specified", "03000200-0400-0500-0006-000700080009") == frozenset()


def test_the_lower_ranked_view_is_hidden_with_its_components_and_both_are_linked() -> None:
    dtias_entries = entries_of("dc-fleet", 2, dtias_view())
    linked = {o.object_id: o.document for o in link_servers("bare-metal", 3, redfish_view(), dtias_entries)}
    assert linked["r-sys"]["extensions"]["mergedInto"] == "d-srv"
    assert linked["r-cpu"]["extensions"]["mergedInto"] == "d-srv"  # a component of the hidden view
    assert linked["r-sys"]["extensions"]["sameAs"] == [
        {"backend": "dc-fleet", "resourcePoolId": "pool", "resourceId": "d-srv"}]
    assert linked["r-sys"]["globalAssetId"] == f"dell:servicetag:{TAG}"  # the service-tag holder of higher rank

    redfish_entries = entries_of("bare-metal", 3, redfish_view())
    listed = {o.object_id: o.document for o in link_servers("dc-fleet", 2, dtias_view(), redfish_entries)}
    assert not any(is_merged(d) for d in listed.values())
    assert listed["d-srv"]["extensions"]["sameAs"] == [
        {"backend": "bare-metal", "resourcePoolId": "pool", "resourceId": "r-sys"}]
    assert listed["d-srv"]["globalAssetId"] == f"dell:servicetag:{TAG}"


def test_a_cluster_node_matching_only_by_uuid_takes_the_whole_machine_transitively() -> None:
    node = [server("k-node", "aws:///zone/i-0abc", asset_keys(system_uuid=UUID))]
    stored = [*entries_of("dc-fleet", 2, dtias_view()),
              AssetEntry("bare-metal", "r-sys", 3, asset_keys(TAG, None, None), TAG)]  # no UUID: linked through DTIAS
    (linked,) = link_servers("cluster", 0, node, stored)
    assert not is_merged(linked.document)
    assert [link["resourceId"] for link in linked.document["extensions"]["sameAs"]] == ["d-srv", "r-sys"]
    assert linked.document["globalAssetId"] == f"dell:servicetag:{TAG}"
    redfish = link_servers("bare-metal", 3, redfish_view(), [*stored, *entries_of("cluster", 0, node)])
    assert redfish[0].document["extensions"]["mergedInto"] == "k-node"


def test_unrelated_servers_and_a_backend_without_servers_are_left_untouched() -> None:
    other = [AssetEntry("dc-fleet", "d-other", 2, asset_keys("ZZZZZZZ", None, None), "dell:servicetag:ZZZZZZZ")]
    objects = redfish_view()
    assert link_servers("bare-metal", 3, objects, other) == objects
    assert [o.document for o in link_servers("bare-metal", 3, objects, other)] == [o.document for o in objects]


def test_precedence_is_configured_ids_then_type_then_id() -> None:
    adapters = [("bare-metal", "redfish"), ("dc-fleet", "dtias"), ("edge-aws", "aws"), ("demo", "kubernetes")]
    rank = precedence(adapters)
    assert [a for a, _ in sorted(adapters, key=lambda a: rank(a[0]))] == ["demo", "edge-aws", "dc-fleet", "bare-metal"]
    rank = precedence(adapters, ["bare-metal"])
    assert rank("bare-metal") < rank("demo")


class FakeIndex:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], AssetEntry] = {}
        self.reads = 0

    def entries(self, generation: int | None = None) -> list[AssetEntry]:
        self.reads += 1
        return list(self.items.values())

    def replace(self, backend: str, current: list[AssetEntry], stored: list[AssetEntry]) -> int:
        before = {k: v for k, v in self.items.items() if k[0] == backend}
        for key in before:
            del self.items[key]
        self.items.update({(e.backend, e.resource_id): e for e in current})
        return sum(1 for e in current if before.get((backend, e.resource_id)) != e) + len(
            before.keys() - {(backend, e.resource_id) for e in current})


def test_the_linker_converges_within_one_round_and_unlinks_when_a_view_goes() -> None:
    index = FakeIndex()
    linker = ServerLinker(index, precedence([("bare-metal", "redfish"), ("dc-fleet", "dtias")]))

    def poll(backend: str, objects: list[InventoryObject], changed: bool = True) -> list[InventoryObject]:
        linked = linker.link(backend, objects)
        linker.record(backend, linked, changed)
        return linked

    assert not is_merged(poll("bare-metal", redfish_view())[0].document)  # first ever poll: DTIAS not seen yet
    assert poll("dc-fleet", dtias_view())[0].document["extensions"]["sameAs"]
    assert is_merged(poll("bare-metal", redfish_view())[0].document)  # the next round hides the lower view
    poll("dc-fleet", [])  # DTIAS forgets the server: its entry leaves the index
    assert [key for key in index.items if key[0] == "dc-fleet"] == []
    assert not is_merged(poll("bare-metal", redfish_view())[0].document)


def test_a_backend_without_servers_costs_no_index_request_when_unchanged() -> None:
    index = FakeIndex()
    linker = ServerLinker(index, precedence([("eks", "aws")]))
    vms = [InventoryObject(ObjectType.RESOURCE, "vm", {"resourceId": "vm"}, "pool")]
    assert linker.link("eks", vms) == vms
    assert linker.record("eks", vms, changed=False) == 0
    assert index.reads == 0
