"""The Redfish services of the simulated fleet: one per BMC (iDRAC-shaped) and one aggregator, each on its own port.

Plain `http.server` threads: a BMC answers a handful of requests per poll, and a BMC that "goes down" must refuse
connections, which is simplest with a listening socket of its own that is closed and reopened.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import urllib.request
import uuid
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools.redfish_sim.fleet import ROOT, Doc, Ids, ServerState, collection, link, render_server

_EXPAND = re.compile(r"^[.*~](\(\$levels=1\))?$")
_EVENT_TYPES = ["Alert", "StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved"]
MAX_SUBSCRIPTIONS = 20  # iDRAC's limit per BMC (iDRAC user's guide); the next POST is refused


class Service:
    """One Redfish service: its servers, sessions and event subscriptions."""

    def __init__(self, name: str, servers: list[tuple[ServerState, Ids]], fleet: Fleet) -> None:
        self.name, self.servers, self.fleet = name, servers, fleet
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"redfish-sim/{name}"))
        self.sessions: dict[str, str] = {}  # token -> session id
        self.subscriptions: dict[str, Doc] = {}
        self.requests = 0  # Redfish requests served (not knobs): tests compare the cost of $expand and paging
        self.lock = threading.Lock()

    def documents(self) -> dict[str, Doc]:
        docs: dict[str, Doc] = {}
        for server, ids in self.servers:
            docs.update(render_server(server, ids))
        systems = [f"{ROOT}/Systems/{ids.system}" for _, ids in self.servers]
        docs[f"{ROOT}/Systems"] = collection(f"{ROOT}/Systems", "ComputerSystemCollection", "Computer System "
                                             "Collection", systems)
        docs[f"{ROOT}/Chassis"] = collection(f"{ROOT}/Chassis", "ChassisCollection", "Chassis Collection",
                                             [f"{ROOT}/Chassis/{ids.chassis}" for _, ids in self.servers])
        docs[f"{ROOT}/Managers"] = collection(f"{ROOT}/Managers", "ManagerCollection", "Manager Collection",
                                              [f"{ROOT}/Managers/{ids.manager}" for _, ids in self.servers])
        with self.lock:
            sessions, subscriptions = dict(self.sessions), dict(self.subscriptions)
        docs[f"{ROOT}/SessionService/Sessions"] = collection(
            f"{ROOT}/SessionService/Sessions", "SessionCollection", "Session Collection",
            [f"{ROOT}/SessionService/Sessions/{s}" for s in sorted(sessions.values())])
        for session in sessions.values():
            docs[f"{ROOT}/SessionService/Sessions/{session}"] = {
                "@odata.id": f"{ROOT}/SessionService/Sessions/{session}", "@odata.type": "#Session.v1_6_0.Session",
                "Id": session, "Name": "User Session", "UserName": self.fleet.username}
        docs[f"{ROOT}/EventService/Subscriptions"] = collection(
            f"{ROOT}/EventService/Subscriptions", "EventDestinationCollection", "Event Subscriptions",
            [d["@odata.id"] for d in subscriptions.values()])
        docs.update({d["@odata.id"]: d for d in subscriptions.values()})
        docs.update(self._service_documents())
        return docs

    def _service_documents(self) -> dict[str, Doc]:
        root = {"@odata.id": f"{ROOT}/", "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot", "Id": "RootService",
                "Name": "Root Service", "RedfishVersion": "1.17.0", "UUID": self.uuid, "Vendor": "Dell",
                "Product": "Integrated Dell Remote Access Controller" if len(self.servers) == 1 else
                "netweave Redfish simulator aggregator",
                "ProtocolFeaturesSupported": {"ExpandQuery": {"ExpandAll": True, "Levels": True, "Links": True,
                                                              "NoLinks": True, "MaxLevels": 1},
                                              "SelectQuery": False, "FilterQuery": False},
                "Systems": link(f"{ROOT}/Systems"), "Chassis": link(f"{ROOT}/Chassis"),
                "Managers": link(f"{ROOT}/Managers"), "SessionService": link(f"{ROOT}/SessionService"),
                "EventService": link(f"{ROOT}/EventService"),
                "Links": {"Sessions": link(f"{ROOT}/SessionService/Sessions")}}
        sessions = {"@odata.id": f"{ROOT}/SessionService", "@odata.type": "#SessionService.v1_1_8.SessionService",
                    "Id": "SessionService", "Name": "Session Service", "ServiceEnabled": True,
                    "SessionTimeout": 1800, "Sessions": link(f"{ROOT}/SessionService/Sessions")}
        events = {"@odata.id": f"{ROOT}/EventService", "@odata.type": "#EventService.v1_10_0.EventService",
                  "Id": "EventService", "Name": "Event Service", "ServiceEnabled": True,
                  "DeliveryRetryAttempts": 3, "DeliveryRetryIntervalSeconds": 30,
                  "EventTypesForSubscription": _EVENT_TYPES, "RegistryPrefixes": ["Base", "iDRAC"],
                  "Subscriptions": link(f"{ROOT}/EventService/Subscriptions"),
                  "Actions": {"#EventService.SubmitTestEvent": {
                      "target": f"{ROOT}/EventService/Actions/EventService.SubmitTestEvent"}}}
        return {f"{ROOT}/": root, f"{ROOT}/SessionService": sessions, f"{ROOT}/EventService": events}

    # --- sessions and events -------------------------------------------------------------------------------------

    def login(self) -> tuple[str, str]:
        token, session = secrets.token_hex(16), secrets.token_hex(4)
        with self.lock:
            self.sessions[token] = session
        return token, f"{ROOT}/SessionService/Sessions/{session}"

    def logout(self, session: str) -> bool:
        with self.lock:
            token = next((t for t, s in self.sessions.items() if s == session), None)
            return token is not None and self.sessions.pop(token, None) is not None

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def subscribe(self, body: Doc) -> str:
        subscription = secrets.token_hex(4)
        path = f"{ROOT}/EventService/Subscriptions/{subscription}"
        doc = {"@odata.id": path, "@odata.type": "#EventDestination.v1_13_0.EventDestination", "Id": subscription,
               "Name": "EventSubscription", "Destination": body["Destination"], "Protocol": "Redfish",
               "Context": body.get("Context", ""), "EventTypes": body.get("EventTypes") or ["Alert"],
               "SubscriptionType": "RedfishEvent"}
        with self.lock:
            self.subscriptions[subscription] = {**doc, "HttpHeaders": []}
            self.subscriptions[subscription]["\0headers"] = body.get("HttpHeaders") or []
        return path

    def unsubscribe(self, subscription: str) -> bool:
        with self.lock:
            return self.subscriptions.pop(subscription, None) is not None

    def publish(self, event_type: str, message_id: str, message: str, severity: str, origin: str) -> int:
        """POST one Event to every subscription that asked for `event_type`, each in its own thread."""
        with self.lock:
            targets = [d for d in self.subscriptions.values() if event_type in d["EventTypes"]]
        for target in targets:
            body = {"@odata.type": "#Event.v1_7_0.Event", "Id": secrets.token_hex(4), "Name": "Event Array",
                    "Context": target["Context"],
                    "Events": [{"EventType": event_type, "EventId": secrets.token_hex(4), "Severity": severity,
                                "MessageSeverity": severity, "Message": message, "MessageId": message_id,
                                "MessageArgs": [], "OriginOfCondition": link(origin)}]}
            threading.Thread(target=_deliver, args=(target, body), daemon=True).start()
        return len(targets)


def _deliver(target: Doc, body: Doc) -> None:
    headers = {"Content-Type": "application/json"}
    for header in target["\0headers"]:
        headers.update({str(k): str(v) for k, v in header.items()})
    request = urllib.request.Request(target["Destination"], json.dumps(body).encode(), headers, method="POST")
    with contextlib.suppress(OSError):  # a failed delivery is not retried here (no retry policy is simulated)
        urllib.request.urlopen(request, timeout=5).close()


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("\0")}


class Fleet:
    """Every server, the aggregator service over all of them, and one iDRAC-shaped service per server."""

    def __init__(self, servers: list[ServerState], username: str, password: str, page_size: int) -> None:
        self.servers = {s.spec.service_tag: s for s in servers}
        self.username, self.password, self.page_size = username, password, page_size
        self.aggregator = Service("aggregator", [(s, Ids.aggregated(s.spec.service_tag)) for s in servers], self)
        self.bmcs = {s.spec.service_tag: Service(s.spec.service_tag, [(s, Ids())], self) for s in servers}

    def authorised(self, service: Service, headers: Any) -> bool:
        token = headers.get("X-Auth-Token")
        if token:
            with service.lock:
                return token in service.sessions
        scheme, _, value = str(headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(f"{user}:{password}", f"{self.username}:{self.password}")

    def degrade(self, tag: str, health: str, rollup: str | None) -> None:
        server = self.servers[tag]
        server.health, server.rollup = health, (rollup if health != "OK" else None)
        origin = f"{ROOT}/Systems/System.Embedded.1"
        message = f"The system health is {health}" + (f" ({rollup})" if rollup else "")
        self.bmcs[tag].publish("Alert", "iDRAC.2.9.SYS1003", message, health, origin)
        self.aggregator.publish("Alert", "iDRAC.2.9.SYS1003", message, health, f"{ROOT}/Systems/{tag}")


def error_body(status: int, message: str, code: str | None = None) -> Doc:
    code = code or {400: "Base.1.12.QueryParameterValueFormatError", 401: "Base.1.12.NoValidSession",
                    404: "Base.1.12.ResourceMissingAtURI", 405: "Base.1.12.ActionNotSupported"}.get(
        status, "Base.1.12.GeneralError")
    return {"error": {"code": code, "message": message,
                      "@Message.ExtendedInfo": [{"MessageId": code, "Message": message, "Severity": "Critical"}]}}


def page(doc: Doc, query: dict[str, list[str]], page_size: int) -> Doc:
    """Server-driven paging of a collection: at most `page_size` members (or `$top`), from `$skip`, with
    `Members@odata.nextLink` while more follow. `Members@odata.count` is always the whole collection's."""
    members = doc["Members"]
    skip = int(query.get("$skip", ["0"])[0])
    top = min(int(query.get("$top", [str(page_size)])[0]), page_size)
    shown = {**doc, "Members": members[skip:skip + top]}
    if skip + top < len(members):
        expand = f"&$expand={query['$expand'][0]}" if "$expand" in query else ""
        shown["Members@odata.nextLink"] = f"{doc['@odata.id']}?$skip={skip + top}&$top={top}{expand}"
    return shown


def expand(doc: Doc, docs: dict[str, Doc]) -> Doc:
    """`$expand` of a collection, one level: each member's full document in place of its link."""
    return {**doc, "Members": [public(docs[m["@odata.id"]]) for m in doc["Members"] if m["@odata.id"] in docs]}


def check_query(path: str, doc: Doc, query: dict[str, list[str]]) -> str | None:
    """Why the query cannot be served, or None. Like iDRAC9: `$expand` only on collections here (iDRAC refuses it on
    `/Systems/<id>`), no `$select`/`$filter` (this simulator serves neither), integers for `$top`/`$skip`."""
    for key in query:
        if key not in ("$expand", "$top", "$skip"):
            return f"the query parameter {key} is not supported"
    if "$expand" in query and not _EXPAND.match(query["$expand"][0]):
        return f"$expand={query['$expand'][0]} is not supported (one level only)"
    if "$expand" in query and "Members" not in doc:
        return f"$expand is not supported on {path}"
    for key in ("$top", "$skip"):
        if key in query and (not query[key][0].isdigit() or "Members" not in doc):
            return f"{key} must be a non-negative integer on a collection"
    return None


def split(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    return (f"{ROOT}/" if path == ROOT else path), parse_qs(parts.query, keep_blank_values=True)


class Handler(BaseHTTPRequestHandler):
    server: RedfishHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.access_log:
            super().log_message(format, *args)

    def reply(self, status: int, body: Doc | None = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if str(self.headers.get("Connection") or "").lower() == "close":  # sushy asks for it on every request
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json;odata.metadata=minimal;charset=utf-8")
            self.send_header("OData-Version", "4.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> Doc:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            parsed = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def do_GET(self) -> None:
        self.handle_request("GET")

    def do_POST(self) -> None:
        self.handle_request("POST")

    def do_DELETE(self) -> None:
        self.handle_request("DELETE")

    def do_PATCH(self) -> None:
        self.handle_request("PATCH")

    def handle_request(self, method: str) -> None:
        from devtools.redfish_sim.routes import route

        path, query = split(self.path)
        if not path.startswith("/_sim/"):
            with self.server.service.lock:
                self.server.service.requests += 1
        status, body, headers = route(self.server, method, path, query, self.headers, self.body)
        self.reply(status, body, headers)


class RedfishHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service, fleet: Fleet, control: Any = None,
                 access_log: bool = False) -> None:
        super().__init__(address, Handler)
        self.service, self.fleet, self.control, self.access_log = service, fleet, control, access_log
