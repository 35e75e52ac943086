"""How the redfish backend reads collections (redfish.RedfishReader) from a service that pages, expands only some URIs,
uses older link lists, or refuses a part: on a fake connector that answers like those BMCs, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sushy import exceptions

from chalicelib.adapters.ims.redfish import RedfishReader


class Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code, self.body = status, body

    def json(self) -> dict[str, Any]:
        return self.body


class Service:
    """Documents by URL; `$expand` refused with 400 (as iDRAC does on some URIs) unless `expands`."""

    def __init__(self, docs: dict[str, dict[str, Any]], expands: bool = False,
                 refused: frozenset[str] = frozenset()) -> None:
        self.docs, self.expands, self.refused = docs, expands, refused
        self.requests: list[str] = []

    def get(self, path: str) -> dict[str, Any]:
        self.requests.append(path)
        base, _, query = path.partition("?")
        if base in self.refused:
            raise exceptions.ServerSideError("GET", path, Response(501, {"error": {"message": "not implemented"}}))
        if "$expand" in query and not self.expands:
            raise exceptions.BadRequestError("GET", path, Response(400, {"error": {"message": "no $expand here"}}))
        if path not in self.docs and base not in self.docs:
            raise exceptions.ResourceNotFoundError("GET", path, Response(404, {}))
        doc = self.docs.get(path) or self.docs[base]
        if "$expand" in query and "Members" in doc:
            return {**doc, "Members": [self.docs[m["@odata.id"]] for m in doc["Members"]]}
        return doc


def dimm(n: int) -> dict[str, Any]:
    return {"@odata.id": f"/m/{n}", "Id": f"DIMM{n}", "CapacityMiB": 32768}


PAGED: dict[str, dict[str, Any]] = {
    "/m": {"Members": [{"@odata.id": "/m/1"}, {"@odata.id": "/m/2"}], "Members@odata.nextLink": "/m?$skip=2"},
    "/m?$skip=2": {"Members": [{"@odata.id": "/m/3"}]}, "/m/1": dimm(1), "/m/2": dimm(2), "/m/3": dimm(3)}


def test_every_page_is_read_and_a_refused_expand_falls_back_to_one_get_per_member() -> None:
    service = Service(PAGED)
    members = RedfishReader(service, expand=True).collection("/m")
    assert [m["Id"] for m in members] == ["DIMM1", "DIMM2", "DIMM3"]
    assert service.requests[0] == "/m?$expand=.($levels=1)"  # tried once, refused, then read plainly


def test_an_expanded_page_needs_no_member_requests() -> None:
    service = Service({"/m": {"Members": [{"@odata.id": "/m/1"}]}, "/m/1": dimm(1)}, expands=True)
    assert [m["Id"] for m in RedfishReader(service, expand=True).collection("/m")] == ["DIMM1"]
    assert service.requests == ["/m?$expand=.($levels=1)"]


def test_a_next_link_loop_ends() -> None:
    looping = {"/m": {"Members": [{"@odata.id": "/m/1"}], "Members@odata.nextLink": "/m"}, "/m/1": dimm(1)}
    assert len(RedfishReader(Service(looping), expand=False).collection("/m")) == 1


def test_link_lists_and_refused_parts() -> None:
    """Older schemas list PCIe devices and drives as link arrays; a part answering 501 is named, not fatal."""
    docs: dict[str, dict[str, Any]] = {"/s/pcie/1": {"@odata.id": "/s/pcie/1", "Id": "1", "Model": "ACC100"},
                                       "/m": {"Members": []}}
    system = {"@odata.id": "/s", "Id": "S", "PCIeDevices": [{"@odata.id": "/s/pcie/1"}],
              "Processors": {"@odata.id": "/s/cpus"}, "Memory": {"@odata.id": "/m"}}
    reading = RedfishReader(Service(docs, refused=frozenset({"/s/cpus"})), expand=False).system("bmc", system)
    assert [d.device["Model"] for d in reading.pcie_devices] == ["ACC100"]
    assert reading.unreadable == ("processors",) and reading.memory == ()


def test_a_refusal_other_than_a_missing_feature_is_not_retried() -> None:
    class Denied(Service):
        def get(self, path: str) -> dict[str, Any]:
            raise exceptions.AccessError("GET", path, Response(403, {}))

    with pytest.raises(exceptions.AccessError):
        RedfishReader(Denied({}), expand=True).collection("/m")
