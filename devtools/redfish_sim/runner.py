"""Start the fleet's services, and the `/_sim/` knobs that change it (served on the aggregator's port)."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from devtools.redfish_sim.fleet import SEED, Doc, ServerState, system_uuid
from devtools.redfish_sim.server import Fleet, RedfishHttpServer, Service, error_body

_HEALTH = ("OK", "Warning", "Critical")


class Listener:
    """One service on one port; `stop()` closes the listening socket (connections are refused), `start()` reopens
    it on the same port."""

    def __init__(self, host: str, port: int, service: Service, fleet: Fleet, control: Control | None,
                 access_log: bool, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.service, self.fleet = host, port, service, fleet
        self.control, self.access_log, self.tls = control, access_log, tls
        self.httpd: RedfishHttpServer | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> None:
        if self.httpd is None:
            self.httpd = RedfishHttpServer((self.host, self.port), self.service, self.fleet, self.control,
                                           self.access_log)
            self.port = self.httpd.server_address[1]
            if self.tls:  # BMCs serve https only; the handshake happens when a connection is accepted
                self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
            threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class Control:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.aggregator: Listener | None = None
        self.bmcs: dict[str, Listener] = {}

    def describe(self) -> Doc:
        return {"aggregator": self.aggregator.url if self.aggregator else None,
                "bmcs": {tag: listener.url for tag, listener in self.bmcs.items()},
                "requests": {"aggregator": self.fleet.aggregator.requests,
                             **{tag: service.requests for tag, service in self.fleet.bmcs.items()}},
                "servers": {tag: {"health": s.health, "rollup": s.rollup, "powerState": s.power, "down": s.down,
                                  "uuid": s.uuid} for tag, s in self.fleet.servers.items()}}

    def knob(self, method: str, path: str, body: Doc) -> tuple[int, Doc | None, dict[str, str]]:
        parts = path.strip("/").split("/")  # _sim, servers, TAG, what
        if method == "GET" and parts == ["_sim", "fleet"]:
            return 200, self.describe(), {}
        if method == "POST" and parts == ["_sim", "sessions", "expire"]:
            for service in [self.fleet.aggregator, *self.fleet.bmcs.values()]:
                service.expire_sessions()
            return 204, None, {}
        if method == "POST" and parts == ["_sim", "reset"]:
            for tag, server in self.fleet.servers.items():
                server.reset()
                self.bmcs[tag].start()
            return 204, None, {}
        if method != "POST" or len(parts) != 4 or parts[1] != "servers" or parts[2] not in self.fleet.servers:
            return 404, error_body(404, f"no knob {method} {path}"), {}
        return self._server_knob(parts[2], parts[3], body)

    def _server_knob(self, tag: str, what: str, body: Doc) -> tuple[int, Doc | None, dict[str, str]]:
        server = self.fleet.servers[tag]
        if what == "health" and body.get("health") in _HEALTH:
            self.fleet.degrade(tag, str(body["health"]), body.get("rollup"))
        elif what == "power" and body.get("powerState") in ("On", "Off"):
            server.power = str(body["powerState"])
        elif what == "down" and isinstance(body.get("down"), bool):
            server.down = bool(body["down"])
            (self.bmcs[tag].stop if server.down else self.bmcs[tag].start)()
        else:
            return 400, error_body(400, f"bad knob {what} {body}"), {}
        return 200, self.describe()["servers"][tag], {}


def build(count: int, host: str, port: int, username: str, password: str, page_size: int,
          access_log: bool = False, tls_ca_file: Path | None = None) -> Control:
    """The fleet of the first `count` seed servers: the aggregator (and knobs) on `port`, the BMCs on the ports that
    follow it (all free ports when `port` is 0). With `tls_ca_file`, the BMCs serve https with a certificate of a
    throwaway CA written there (the aggregator, which also serves the knobs, stays plain http)."""
    if not 1 <= count <= len(SEED):
        raise SystemExit(f"--servers must be between 1 and {len(SEED)}")
    servers = [ServerState(spec, uuid=system_uuid(spec.service_tag)) for spec in SEED[:count]]
    fleet = Fleet(servers, username, password, page_size)
    control = Control(fleet)
    control.aggregator = Listener(host, port, fleet.aggregator, fleet, control, access_log)
    tls = None
    if tls_ca_file is not None:
        from devtools.kubesim.tls import make

        certificates = make(host)
        tls_ca_file.write_bytes(certificates.ca_pem)
        tls = certificates.context
    for index, (tag, service) in enumerate(fleet.bmcs.items()):
        control.bmcs[tag] = Listener(host, port + index + 1 if port else 0, service, fleet, None, access_log, tls)
    return control


def start(control: Control) -> None:
    for listener in [control.aggregator, *control.bmcs.values()]:
        if listener is not None:
            listener.start()


def stop(control: Control) -> None:
    for listener in [control.aggregator, *control.bmcs.values()]:
        if listener is not None:
            listener.stop()

