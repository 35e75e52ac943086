"""The Redfish simulator itself answers as its README says: event subscriptions deliver test events and health
alerts to a real receiver, and the refusals iDRAC documents are refusals here too."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools.redfish_sim.process import RedfishSim, start_redfish_sim
from tests.waiting import wait_until

AUTH = {"Authorization": "Basic " + base64.b64encode(b"root:calvin").decode(), "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RedfishSim]:
    fleet = start_redfish_sim(servers=2)
    yield fleet
    fleet.stop()


@pytest.fixture()
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"body": json.loads(body), "context": self.headers.get("X-Context")})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", received
    server.shutdown()
    server.server_close()


def call(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, AUTH, method=method), timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def test_subscriptions_receive_test_events_and_health_alerts(
        sim: RedfishSim, receiver: tuple[str, list[dict[str, Any]]]) -> None:
    destination, received = receiver
    bmc = sim.bmcs["7XR11A1"]
    status, headers, created = call("POST", f"{bmc}/redfish/v1/EventService/Subscriptions", {
        "Destination": destination, "Protocol": "Redfish", "Context": "netweave", "EventTypes": ["Alert"],
        "HttpHeaders": [{"X-Context": "from-the-subscription"}]})
    assert status == 201 and headers["Location"] == created["@odata.id"]

    assert call("POST", f"{bmc}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
                {"EventType": "Alert", "MessageId": "TST100", "Severity": "Warning"})[0] == 204
    wait_until(lambda: len(received) == 1, timeout=10, what="the test event")
    [event] = received[0]["body"]["Events"]
    assert event["MessageId"] == "TST100" and received[0]["body"]["Context"] == "netweave"
    assert received[0]["context"] == "from-the-subscription"

    sim.set_health("7XR11A1", "Critical", rollup="StorageRollupStatus")
    wait_until(lambda: len(received) == 2, timeout=10, what="the health alert")
    [alert] = received[1]["body"]["Events"]
    assert alert["Severity"] == "Critical"
    assert alert["OriginOfCondition"]["@odata.id"] == "/redfish/v1/Systems/System.Embedded.1"
    sim.set_health("7XR11A1", "OK")

    assert call("DELETE", f"{bmc}{created['@odata.id']}")[0] == 204
    assert call("GET", f"{bmc}{created['@odata.id']}")[0] == 404


def test_queries_the_service_cannot_serve_are_refused(sim: RedfishSim) -> None:
    bmc = sim.bmcs["7XR11A1"]
    # iDRAC9 refuses $expand on a system; so does the simulator (the adapter expands collections only)
    assert call("GET", f"{bmc}/redfish/v1/Systems/System.Embedded.1?$expand=.")[0] == 400
    assert call("GET", f"{bmc}/redfish/v1/Systems?$filter=PowerState%20eq%20On")[0] == 400
    assert call("GET", f"{bmc}/redfish/v1/Systems?$expand=*($levels=3)")[0] == 400
    status, _, page = call("GET", f"{sim.aggregator}/redfish/v1/Systems?$top=1")
    assert status == 200 and page["Members@odata.count"] == 2 and len(page["Members"]) == 1
    assert page["Members@odata.nextLink"] == "/redfish/v1/Systems?$skip=1&$top=1"


def test_a_bmc_that_goes_down_refuses_connections_until_it_comes_back(sim: RedfishSim) -> None:
    bmc = sim.bmcs["7XR11A2"]
    sim.set_down("7XR11A2", True)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{bmc}/redfish/v1/", timeout=5)
    sim.set_down("7XR11A2", False)
    assert call("GET", f"{bmc}/redfish/v1/Systems")[0] == 200
