"""Redfish events end to end (docs/redfish-backend.md "Events"): the `redfish` backend subscribes each simulated
iDRAC once, the simulator's SubmitTestEvent POSTs over real HTTP to netweave's receiver route, and a good event asks
EventBridge (moto) for an immediate poll of that backend. Bad tokens and unknown backends are refused."""

from __future__ import annotations

import base64
import json
import os
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.bootstrap import Components
from chalicelib.domain.inventory import ObjectType
from chalicelib.domain.redfish_events import TOKEN_HEADER
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.settings import settings_from_environment
from devtools.localstack.provision import provision
from devtools.redfish_sim.process import RedfishSim, start_redfish_sim
from tests.functional.conftest import Api, assert_problem, serving
from tests.waiting import wait_until

TOKEN = "e" * 64
BMC_AUTH = {"Authorization": "Basic " + base64.b64encode(b"root:calvin").decode()}
EVENT = {"Events": [{"EventType": "Alert", "MessageId": "iDRAC.2.9.SYS1003",
                     "OriginOfCondition": {"@odata.id": "/redfish/v1/Systems/System.Embedded.1"}}]}


@pytest.fixture()
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedfishSim]:
    monkeypatch.setenv("NETWEAVE_TEST_REDFISH_PASSWORD", "calvin")
    monkeypatch.setenv("NETWEAVE_TEST_EVENT_TOKEN", TOKEN)
    fleet = start_redfish_sim(servers=2)
    yield fleet
    fleet.stop()


def gateway(tmp_path: Path, sim: RedfishSim, destination: str, events: bool = True,
            token: dict[str, str] | None = None) -> Components:
    """A gateway whose only IMS backend is two simulated iDRACs, with tables of its own; `token` says where the
    event token is kept (default: the environment variable the `sim` fixture sets)."""
    options: dict[str, Any] = {
        "username": "root", "passwordEnv": "NETWEAVE_TEST_REDFISH_PASSWORD", "retryDelaySeconds": 0,
        "endpoints": [{"name": tag, "url": url} for tag, url in sorted(sim.bmcs.items())]}
    if events:
        options["events"] = {"destination": destination, **(token or {"tokenEnv": "NETWEAVE_TEST_EVENT_TOKEN"})}
    config = {"oCloud": {"name": "redfish-site"},
              "imsAdapters": [{"id": "fleet", "type": "redfish", "default": True, "options": options}]}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    settings = settings_from_environment({**os.environ, "NETWEAVE_STAGE": f"t{uuid.uuid4().hex[:8]}",
                                          "NETWEAVE_GATEWAY_CONFIG": str(tmp_path / "gateway.yaml")})
    provision(settings, boto3.session.Session())
    return Components(settings)


def bmc_get(url: str) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=BMC_AUTH), timeout=10) as response:
        return json.loads(response.read())


def subscriptions(bmc: str) -> list[dict[str, Any]]:
    collection = bmc_get(f"{bmc}/redfish/v1/EventService/Subscriptions")
    return [bmc_get(f"{bmc}{m['@odata.id']}") for m in collection["Members"]]


def requests_served(sim: RedfishSim) -> dict[str, int]:
    counts: dict[str, int] = sim.knob("fleet")["requests"]
    return {tag: counts[tag] for tag in sim.bmcs}


class PollRequests:
    """What the gateway's EventBridgePollTrigger asks for, seen as the AWS rule `poll_inventory_on_change` would
    see it: a moto EventBridge rule on the same pattern, delivering to an SQS queue the test reads."""

    def __init__(self, backend: str) -> None:
        name = f"polls-{uuid.uuid4().hex[:8]}"
        self.sqs = boto3.client("sqs")
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        events = boto3.client("events")
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["netweave"],
                                                            "detail": {"adapterId": [backend]}}))
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def received(self) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        self.seen += [json.loads(m["Body"]) for m in reply.get("Messages", [])]
        return self.seen


@pytest.fixture()
def relay(api: Api) -> Iterator[tuple[str, list[int]]]:
    """A real HTTP listener in front of the Chalice test client: what the BMC POSTs goes to the app's route as
    sent (path, headers, body), and the route's status is recorded. Yields its base URL and the statuses."""
    statuses: list[int] = []

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = api.request("POST", self.path, token=None, body=raw, headers=dict(self.headers.items()))
            statuses.append(reply.status)
            self.send_response(reply.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", statuses
    server.shutdown()
    server.server_close()


def test_each_bmc_gets_one_subscription_which_costs_one_get_per_poll(moto_url: str, tmp_path: Path,
                                                                     sim: RedfishSim) -> None:
    destination = "https://o2.example.net/ops/redfish-events/fleet"
    subscribed = gateway(tmp_path, sim, destination)
    (tmp_path / "plain").mkdir()
    plain = gateway(tmp_path / "plain", sim, destination, events=False)
    costs: list[dict[str, dict[str, int]]] = []
    for _ in range(2):
        cost = {}
        for name, components in (("events", subscribed), ("plain", plain)):
            before = requests_served(sim)
            inventory_handlers.poll_inventory(components)
            cost[name] = {tag: n - before[tag] for tag, n in requests_served(sim).items()}
        costs.append(cost)

    for bmc in sim.bmcs.values():
        [ours] = subscriptions(bmc)  # two polls, one subscription
        assert ours["Context"] == "netweave:fleet" and ours["Destination"] == destination
        assert ours["Protocol"] == "Redfish" and "Alert" in ours["EventTypes"]
        assert TOKEN not in json.dumps(ours)  # the BMC never shows the token back
    # Once the subscription is known, a poll costs one more request per BMC than polling alone: the GET of the
    # Subscriptions collection. (Figures in the report: the first poll costs 3 more, EventService + collection + POST.)
    assert {tag: costs[1]["events"][tag] - costs[1]["plain"][tag] for tag in sim.bmcs} == dict.fromkeys(sim.bmcs, 1)
    assert {tag: costs[0]["events"][tag] - costs[0]["plain"][tag] for tag in sim.bmcs} == dict.fromkeys(sim.bmcs, 3)


@pytest.mark.parametrize("kept_in", ["env", "ssm"])
def test_a_test_event_from_a_bmc_reaches_the_route_and_asks_for_a_poll(
        moto_url: str, tmp_path: Path, sim: RedfishSim, relay: tuple[str, list[int]], kept_in: str) -> None:
    base, statuses = relay
    token = None
    if kept_in == "ssm":  # the adapter (poll role) and the route (API role) both read it from SSM
        name = f"/netweave/dev/bmc-events-{uuid.uuid4().hex[:8]}"
        boto3.client("ssm").put_parameter(Name=name, Value="s" * 48, Type="SecureString")
        token = {"tokenSsmParameter": name}
    components = gateway(tmp_path, sim, f"{base}/ops/redfish-events/fleet", token=token)
    polls = PollRequests("fleet")
    with serving(components):
        inventory_handlers.poll_inventory(components)  # subscribes both iDRACs
        bmc = sim.bmcs["7XR11A1"]
        urllib.request.urlopen(urllib.request.Request(
            f"{bmc}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
            json.dumps({"EventType": "Alert", "MessageId": "TST100"}).encode(),
            {**BMC_AUTH, "Content-Type": "application/json"}, method="POST"), timeout=10).close()
        [request] = wait_until(polls.received, timeout=10, what="the poll request")
    assert request["detail-type"] == "Inventory Changed" and request["detail"] == {"adapterId": "fleet"}
    assert statuses == [204]  # the token in the subscription's HttpHeaders was accepted


@pytest.fixture()
def components(moto_url: str, tmp_path: Path, sim: RedfishSim) -> Components:
    """What the `api` fixture serves here: the gateway with the simulated fleet, events on."""
    return gateway(tmp_path, sim, "https://o2.example.net/ops/redfish-events/fleet")


def post_event(api: Api, backend: str, token: str | None, body: Any = EVENT) -> Any:
    headers = {TOKEN_HEADER: token} if token is not None else {}
    return api.request("POST", f"/ops/redfish-events/{backend}", token=None, body=body, headers=headers)


def test_the_receiver_route_takes_the_token_not_a_jwt(api: Api) -> None:
    polls = PollRequests("fleet")
    reply = post_event(api, "fleet", TOKEN)
    assert reply.status == 204 and reply.body == b""
    assert [r["detail"] for r in wait_until(polls.received, timeout=10, what="the poll request")] == [
        {"adapterId": "fleet"}]

    for token in ("wrong", None, TOKEN[:-1]):
        problem = assert_problem(post_event(api, "fleet", token), 401)
        assert TOKEN not in json.dumps(problem)
    assert_problem(post_event(api, "fleet", "Bearer " + api.token), 401)  # a gateway JWT is no event token
    for backend in ("nope", "fleet2"):
        assert_problem(post_event(api, backend, TOKEN), 404)
    assert_problem(post_event(api, "fleet", TOKEN, body=b"x" * (70 * 1024)), 413)
    assert_problem(post_event(api, "fleet", TOKEN, body={"Events": []}), 400)
    assert polls.received() == polls.seen and len(polls.seen) == 1  # only the good event asked for a poll


def test_the_route_is_in_the_openapi_document_without_a_jwt(api: Api) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/ops/redfish-events/{backendId}"]["post"]
    assert operation["security"] == []
    assert {"204", "400", "401", "404", "413"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == [TOKEN_HEADER]


def test_a_full_bmc_refuses_the_subscription_and_the_poll_goes_on(moto_url: str, tmp_path: Path,
                                                                 sim: RedfishSim) -> None:
    bmc = sim.bmcs["7XR11A1"]
    for n in range(20):  # iDRAC's limit, taken by other subscribers
        request = urllib.request.Request(f"{bmc}/redfish/v1/EventService/Subscriptions", json.dumps({
            "Destination": f"https://siem-{n}.example.net/", "Protocol": "Redfish", "Context": "siem"}).encode(),
            {**BMC_AUTH, "Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).close()
    components = gateway(tmp_path, sim, "https://o2.example.net/ops/redfish-events/fleet")
    reports = inventory_handlers.poll_inventory(components)
    assert [r["status"] for r in reports if r["backend"] == "fleet"] == ["changed"]  # both servers read
    store = components.inventory_store
    servers = {d["extensions"]["serviceTag"] for (kind, _), d in store.documents(store.stored_entries("fleet")).items()
               if kind == ObjectType.RESOURCE.value and "parentId" not in d}
    assert servers == set(sim.bmcs)
    assert {s["Context"] for s in subscriptions(bmc)} == {"siem"}  # refused: still 20, none of ours
    [other] = [url for tag, url in sim.bmcs.items() if tag != "7XR11A1"]
    assert [s["Context"] for s in subscriptions(other)] == ["netweave:fleet"]  # the other BMC is subscribed
