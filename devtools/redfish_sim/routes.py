"""What each request gets: Redfish reads, sessions, subscriptions, actions, and the `/_sim/` knobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devtools.redfish_sim.fleet import ROOT, Doc
from devtools.redfish_sim.server import MAX_SUBSCRIPTIONS, check_query, error_body, expand, page, public

if TYPE_CHECKING:
    from devtools.redfish_sim.server import RedfishHttpServer

Answer = tuple[int, Doc | None, dict[str, str]]
_OPEN = (f"{ROOT}/", "/redfish", f"{ROOT}/odata", f"{ROOT}/$metadata")  # the service root needs no authentication
_RESET = {"On": "On", "ForceOn": "On", "ForceOff": "Off", "GracefulShutdown": "Off", "PowerCycle": "On",
          "ForceRestart": "On", "GracefulRestart": "On"}


def route(server: RedfishHttpServer, method: str, path: str, query: dict[str, list[str]], headers: Any,
          read_body: Callable[[], Doc]) -> Answer:
    if path.startswith("/_sim/"):
        return _knob(server, method, path, read_body)
    if path == "/redfish":
        return 200, {"v1": f"{ROOT}/"}, {}
    if method == "POST" and path == f"{ROOT}/SessionService/Sessions":
        return _login(server, read_body())
    if path not in _OPEN and not server.fleet.authorised(server.service, headers):
        return 401, error_body(401, "Authentication is required (Basic or X-Auth-Token)"), {
            "WWW-Authenticate": 'Basic realm="RedfishService"'}
    handlers = {"GET": lambda: _get(server, path, query), "DELETE": lambda: _delete(server, path),
                "POST": lambda: _post(server, path, read_body())}
    if method in handlers:
        return handlers[method]()
    return 405, error_body(405, f"{method} is not allowed on {path}"), {"Allow": "GET"}


def _knob(server: RedfishHttpServer, method: str, path: str, read_body: Callable[[], Doc]) -> Answer:
    if server.control is None:
        return 404, error_body(404, "the knobs are served on the aggregator's port"), {}
    return server.control.knob(method, path, read_body())  # type: ignore[no-any-return]


def _login(server: RedfishHttpServer, body: Doc) -> Answer:
    fleet = server.fleet
    if body.get("UserName") != fleet.username or body.get("Password") != fleet.password:
        return 401, error_body(401, "Unable to create a session: the user name or password is wrong"), {}
    token, location = server.service.login()
    session = {"@odata.id": location, "Id": location.rsplit("/", 1)[1], "UserName": fleet.username}
    return 201, session, {"X-Auth-Token": token, "Location": location}


def _get(server: RedfishHttpServer, path: str, query: dict[str, list[str]]) -> Answer:
    docs = server.service.documents()
    doc = docs.get(path)
    if doc is None:
        return 404, error_body(404, f"The resource at {path} does not exist"), {}
    refusal = check_query(path, doc, query)
    if refusal:
        return 400, error_body(400, refusal), {}
    doc = public(doc)
    if "Members" in doc:
        doc = page(doc, query, server.fleet.page_size)
        if "$expand" in query:
            doc = expand(doc, docs)
    return 200, doc, {}


def _delete(server: RedfishHttpServer, path: str) -> Answer:
    service = server.service
    head, _, last = path.rpartition("/")
    if head == f"{ROOT}/SessionService/Sessions" and service.logout(last):
        return 204, None, {}
    if head == f"{ROOT}/EventService/Subscriptions" and service.unsubscribe(last):
        return 204, None, {}
    return 404, error_body(404, f"The resource at {path} does not exist"), {}


def _post(server: RedfishHttpServer, path: str, body: Doc) -> Answer:
    service = server.service
    if path == f"{ROOT}/EventService/Subscriptions":
        return _subscribe(server, body)
    if path == f"{ROOT}/EventService/Actions/EventService.SubmitTestEvent":
        service.publish(str(body.get("EventType") or "Alert"), str(body.get("MessageId") or "TestEventId"),
                        str(body.get("Message") or "Test event"), str(body.get("Severity") or "OK"),
                        str(body.get("OriginOfCondition") or f"{ROOT}/"))
        return 204, None, {}
    if path.endswith("/Actions/ComputerSystem.Reset"):
        system = path.removesuffix("/Actions/ComputerSystem.Reset")
        target = next((s for s, ids in service.servers if f"{ROOT}/Systems/{ids.system}" == system), None)
        reset = _RESET.get(str(body.get("ResetType")))
        if target is None or reset is None:
            return 400, error_body(400, f"ResetType {body.get('ResetType')!r} is not allowed here"), {}
        target.power = reset
        return 204, None, {}
    return 405, error_body(405, f"POST is not allowed on {path}"), {"Allow": "GET"}


def _subscribe(server: RedfishHttpServer, body: Doc) -> Answer:
    service = server.service
    if not str(body.get("Destination") or "").startswith(("http://", "https://")):
        return 400, error_body(400, "Destination must be an http(s) URI"), {}
    if body.get("Protocol") != "Redfish":  # required on create (EventDestination schema)
        return 400, error_body(400, "Protocol must be Redfish", "Base.1.12.PropertyMissing"), {}
    if len(service.subscriptions) >= MAX_SUBSCRIPTIONS:
        return 400, error_body(400, f"at most {MAX_SUBSCRIPTIONS} subscriptions",
                               "Base.1.12.CreateLimitReachedForResource"), {}
    location = service.subscribe(body)
    return 201, public(service.documents()[location]), {"Location": location}
