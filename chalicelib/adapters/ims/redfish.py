"""The `redfish` IMS backend: bare-metal servers read from their BMCs (iDRAC, iLO, XCC, OpenBMC) or a Redfish
aggregator, through `sushy` (docs/redfish-backend.md).

sushy (imported inside the methods that use it) owns the connection: TLS verification, the Redfish session (one
per BMC, kept between polls: BMCs cap concurrent sessions; refreshed once on a 401), retries and its error classes.
Collections are read here from the documents sushy's connector returns, because sushy neither follows
`Members@odata.nextLink` nor expands collections other than storage and chassis; `redfish_mapping` (pure) turns the
documents into O2ims objects. Endpoints are read in parallel; one that fails keeps its last known systems, marked
`bmcReachable: false`, and never empties the others. Last known means this process's previous reading, else (a cold
container) what the stored snapshot holds for that endpoint (`redfish_last_known`), read through the `snapshot` port.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.adapters.ims import redfish_mapping as mapping
from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.ims.redfish_components import AdapterReading, PcieReading, SystemReading, odata_id
from chalicelib.adapters.ims.redfish_events import EventSubscriptions
from chalicelib.adapters.ims.redfish_last_known import endpoint_systems, stored_facts
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.redfish_events import EventsOptions
from chalicelib.observability import logger
from chalicelib.settings import AdapterConfig

Doc = dict[str, Any]
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_EXPAND = "$expand=.($levels=1)"
_MAX_PAGES = 1000  # a nextLink loop on a broken BMC ends here


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    username: str | None = None
    password_env: str | None = Field(default=None, alias="passwordEnv")  # the variable holding the password
    password_file: str | None = Field(default=None, alias="passwordFile")  # e.g. a mounted secret
    # An SSM SecureString, or a Secrets Manager secret as /aws/reference/secretsmanager/<name>
    password_ssm_parameter: str | None = Field(default=None, alias="passwordSsmParameter")


class EndpointOptions(Credentials):
    name: str = Field(pattern=_NAME)
    url: str = Field(pattern=r"^https?://")  # the BMC's (or aggregator's) base URL; /redfish/v1/ is appended
    verify_tls: bool | str | None = Field(default=None, alias="verifyTls")  # None: the adapter's


class PoolOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=_NAME)
    systems: list[str] = Field(default_factory=list)  # Redfish Id, UUID, service tag or serial number
    match: dict[str, str] = Field(default_factory=dict)  # `/`-separated path into the ComputerSystem -> value
    dell: dict[str, str] = Field(default_factory=dict)  # shorthand for match on Oem/Dell/DellSystem/<key>
    location: str | None = None
    global_location_id: str | None = Field(default=None, alias="globalLocationId")

    @model_validator(mode="after")
    def _selects_something(self) -> PoolOptions:
        if not (self.systems or self.match or self.dell):
            raise ValueError(f"pool {self.name!r} needs `systems`, `match` or `dell`")
        return self


class RedfishOptions(Credentials):
    """`options` of a `redfish` IMS adapter in config/gateway.yaml (docs/redfish-backend.md "Configuration")."""

    endpoints: list[EndpointOptions] = Field(min_length=1)
    verify_tls: bool | str = Field(default=True, alias="verifyTls")  # False, or a CA bundle path
    auth: Literal["session", "basic"] = "session"
    pools: list[PoolOptions] = Field(default_factory=list)
    location: str | None = None
    global_location_id: str | None = Field(default=None, alias="globalLocationId")
    expand: bool = True  # use $expand on collections when the service root advertises it
    request_timeout_seconds: float = Field(default=10.0, alias="requestTimeoutSeconds", gt=0)
    server_side_retries: int = Field(default=1, alias="serverSideRetries", ge=1, le=10)
    retry_delay_seconds: float = Field(default=1.0, alias="retryDelaySeconds", ge=0)
    parallel_reads: int = Field(default=8, alias="parallelReads", ge=1, le=64)
    events: EventsOptions | None = None  # EventService subscriptions where BMCs offer them (off by default)

    @model_validator(mode="after")
    def _unique_names(self) -> RedfishOptions:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        return self


@dataclass
class _Client:
    root: Any  # sushy.Sushy: the service root, read (and the session made) when it was built
    connector: Any  # its sushy.connector.Connector: every read goes through it (auth, retries, error classes)
    auth: Any  # its sushy.auth object: closing it logs the session out

    def get(self, path: str) -> Doc:
        document: Doc = self.connector.get(path).json()
        return document


class EndpointUnavailable(Exception):
    pass


class StoredSnapshot(Protocol):
    """The part of the inventory store a cold container reads last known servers from (InventoryStore)."""

    def stored_entries(self, backend: str) -> Mapping[tuple[str, str], object]: ...

    def documents(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]: ...


SecretReader = Callable[[str], str]  # SSM parameter name -> its decrypted value (raises BackendUnavailable)


class RedfishInventoryAdapter:
    """`InventoryAdapter` for one or more Redfish services (docs/architecture.md §3)."""

    def __init__(self, config: AdapterConfig, snapshot: StoredSnapshot | None = None,
                 secret: SecretReader | None = None) -> None:
        self.adapter_id = config.id
        try:
            self.options = RedfishOptions.model_validate(config.options)
            if self.options.events is not None:
                self.options.events.check_destination(config.id)
        except ValueError as error:  # pydantic's ValidationError is one
            raise ConfigurationError(f"ims adapter '{config.id}': {error}") from error
        if secret is None and any(c.password_ssm_parameter for c in (self.options, *self.options.endpoints)):
            raise ConfigurationError(f"ims adapter '{config.id}': passwordSsmParameter needs the gateway's SSM "
                                     "access (build the adapter through the composition root)")
        self._snapshot, self._secret = snapshot, secret
        events = self.options.events
        self.events = None if events is None else EventSubscriptions(config.id, events, secret)
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._last: dict[str, list[SystemReading]] = {}  # last successful reading per endpoint (this process)
        self._stored: dict[str, list[mapping.SystemFacts]] | None = None  # per endpoint, read once when needed
        self.settings_pools = tuple(
            mapping.PoolRule(name=p.name, systems=tuple(p.systems), location=p.location,
                             global_location_id=p.global_location_id,
                             match={**p.match, **{f"Oem/Dell/DellSystem/{k}": v for k, v in p.dell.items()}})
            for p in self.options.pools)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.INVENTORY})

    def cluster_profile(self, deployment_manager_id: str) -> dict[str, Any] | None:
        return None  # servers are no deployment manager

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        endpoints = self.options.endpoints
        with ThreadPoolExecutor(max_workers=min(len(endpoints), self.options.parallel_reads)) as pool:
            outcomes = list(pool.map(self._read_or_error, endpoints))
        self._last.update({e.name: o for e, o in zip(endpoints, outcomes, strict=True) if not isinstance(o, str)})
        readings: list[tuple[SystemReading, bool]] = []
        known: list[mapping.SystemFacts] = []
        for endpoint, outcome in zip(endpoints, outcomes, strict=True):
            if not isinstance(outcome, str):
                readings += [(reading, True) for reading in outcome]
                continue
            logger.warning("redfish endpoint unreachable", extra={"backend": self.adapter_id, "error": outcome})
            last = self._last.get(endpoint.name)
            if last is not None:
                readings += [(reading, False) for reading in last]
            else:  # never read in this process (a cold container): what the store holds for it
                known += self._stored_systems(endpoint.name, outcome)
        failures = [o for o in outcomes if isinstance(o, str)]
        if len(failures) == len(outcomes) and not (readings or known):  # nothing answered, nothing is known
            raise BackendUnavailable(f"Redfish backend '{self.adapter_id}': {'; '.join(failures)}")
        settings = mapping.FleetSettings(
            adapter_id=self.adapter_id, o_cloud_id=context.o_cloud_id, pools=self.settings_pools,
            default_location=self.options.location, default_global_location_id=self.options.global_location_id)
        return mapping.map_fleet(readings, settings, known)

    def _stored_systems(self, endpoint: str, outcome: str) -> list[mapping.SystemFacts]:
        """The stored servers of an endpoint this process never read. Without the store (no port, or it fails),
        dropping the endpoint would delete its stored servers: the whole backend is reported unreachable instead,
        and the poll keeps its stored inventory as it is."""
        if self._stored is None:
            try:
                self._stored = self._read_snapshot()
            except Exception as error:  # any storage failure: never guess, keep what is stored
                raise BackendUnavailable(f"Redfish backend '{self.adapter_id}': {outcome}; its last known state "
                                         f"could not be read from the stored snapshot ({type(error).__name__})"
                                         ) from error
        return self._stored.get(endpoint, [])

    def _read_snapshot(self) -> dict[str, list[mapping.SystemFacts]]:
        if self._snapshot is None:
            raise LookupError("no stored snapshot port")
        keys = [k for k in self._snapshot.stored_entries(self.adapter_id) if k[0] == ObjectType.RESOURCE.value]
        resources = list(self._snapshot.documents(keys).values())
        pools = [rule.name for rule in self.settings_pools]
        return {e.name: [stored_facts(d, self.adapter_id, pools) for d in endpoint_systems(resources, e.name)]
                for e in self.options.endpoints}

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            _logout(client)

    # --- connection -------------------------------------------------------------------------------------------------

    def _read_or_error(self, endpoint: EndpointOptions) -> list[SystemReading] | str:
        import sushy.exceptions

        try:
            return self._read_endpoint(endpoint, self._client(endpoint))
        except (sushy.exceptions.SushyError, EndpointUnavailable, BackendUnavailable, OSError, ValueError) as error:
            self._drop(endpoint.name)  # the next poll starts with a fresh connection and session
            return f"endpoint {endpoint.name} ({endpoint.url}) is unreachable: {_why(error)}"

    def _client(self, endpoint: EndpointOptions) -> _Client:
        with self._lock:
            client = self._clients.get(endpoint.name)
        if client is None:
            client = self._connect(endpoint)
            with self._lock:
                self._clients[endpoint.name] = client
        return client

    def _connect(self, endpoint: EndpointOptions) -> _Client:
        import sushy
        from sushy import auth as sushy_auth
        from sushy import connector as sushy_connector

        username = endpoint.username or self.options.username
        password = self._password(endpoint) or self._password(self.options)
        if not username or password is None:
            raise EndpointUnavailable("no credentials: set `username` and `passwordEnv`, `passwordFile` or "
                                      "`passwordSsmParameter`")
        kind = sushy_auth.BasicAuth if self.options.auth == "basic" else sushy_auth.SessionOrBasicAuth
        auth = kind(username=username, password=password)
        verify = self.options.verify_tls if endpoint.verify_tls is None else endpoint.verify_tls
        connector = sushy_connector.Connector(
            endpoint.url.rstrip("/"), verify=verify, default_request_timeout=self.options.request_timeout_seconds,
            connect_timeout=self.options.request_timeout_seconds,
            server_side_retries=self.options.server_side_retries,
            server_side_retries_delay=self.options.retry_delay_seconds)
        root = sushy.Sushy(endpoint.url.rstrip("/"), auth=auth, connector=connector)
        return _Client(root, connector, auth)

    def _password(self, credentials: Credentials) -> str | None:
        """Read at connect time only (sessions are kept between polls), so a rotated password works from the next
        log-in: after a refusal the endpoint is dropped and connected again."""
        if credentials.password_ssm_parameter and self._secret is not None:
            return self._secret(credentials.password_ssm_parameter)
        if credentials.password_env:
            return os.environ.get(credentials.password_env)
        if credentials.password_file:
            path = Path(credentials.password_file).expanduser()
            return path.read_text().rstrip("\n") if path.exists() else None
        return None

    def _drop(self, name: str) -> None:
        with self._lock:
            client = self._clients.pop(name, None)
        if client is not None:
            _logout(client)

    # --- reads -------------------------------------------------------------------------------------------------------

    def _read_endpoint(self, endpoint: EndpointOptions, client: _Client) -> list[SystemReading]:
        service: Doc = client.root.json
        expand = self.options.expand and bool(
            ((service.get("ProtocolFeaturesSupported") or {}).get("ExpandQuery") or {}).get("NoLinks"))
        reader = RedfishReader(client, expand)
        systems = [reader.system(endpoint.name, doc) for doc in reader.collection(odata_id(service.get("Systems")))]
        if self.events is not None:  # after the read: a BMC that cannot be read is not subscribed to
            self.events.ensure(endpoint.name, service, client.connector, reader)
        return systems


class Documents(Protocol):
    def get(self, path: str) -> Doc: ...


class RedfishReader:
    """Reads one service's documents; optional parts that the BMC refuses are recorded, not fatal."""

    def __init__(self, client: Documents, expand: bool) -> None:
        self.client, self.expand = client, expand

    def collection(self, path: str) -> list[Doc]:
        """Every member of a collection: page after page (`Members@odata.nextLink`), expanded in one request per
        page where the service can, else one GET per member. A refused `$expand` (400/404/405/501) is retried once
        without it: iDRAC does not expand every URI it serves."""
        import sushy.exceptions

        if not path:
            return []
        if self.expand:
            try:
                return self._pages(f"{path}?{_EXPAND}")
            except sushy.exceptions.HTTPError as error:
                if error.status_code not in (400, 404, 405, 501):
                    raise
        return self._pages(path)

    def _pages(self, url: str) -> list[Doc]:
        members: list[Doc] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen and len(seen) < _MAX_PAGES:
            seen.add(next_url)
            page = self.client.get(next_url)
            members += [m for m in page.get("Members") or [] if isinstance(m, dict)]
            next_url = page.get("Members@odata.nextLink")
        return [m if _expanded(m) else self.client.get(odata_id(m)) for m in members if odata_id(m)]

    def linked(self, value: Any) -> list[Doc]:
        """A link to a collection, or (older schemas: PCIeDevices, Drives) a list of links."""
        if isinstance(value, list):
            return [m if _expanded(m) else self.client.get(odata_id(m)) for m in value if odata_id(m)]
        return self.collection(odata_id(value)) if isinstance(value, dict) else []

    def system(self, endpoint: str, system: Doc) -> SystemReading:
        import sushy.exceptions

        unreadable: list[str] = []

        def optional(kind: str, read: Any) -> Any:
            try:
                return read()
            except sushy.exceptions.HTTPError:  # 404, 5xx, 501, or a licence/privilege refusal of one part
                unreadable.append(kind)
                return None

        links = system.get("Links") or {}
        chassis = optional("chassis", lambda: self._first(links.get("Chassis")))
        manager = optional("manager", lambda: self._first(links.get("ManagedBy")))
        storage = optional("storage", lambda: self.linked(system.get("Storage"))) or []
        pcie = optional("pcieDevices", lambda: [
            PcieReading(d, tuple(self.linked(d.get("PCIeFunctions") or (d.get("Links") or {}).get("PCIeFunctions"))))
            for d in self.linked(system.get("PCIeDevices"))]) or []
        adapters = optional("networkAdapters", lambda: [
            AdapterReading(a, tuple(self.linked(a.get("Ports") or a.get("NetworkPorts"))))
            for a in self.linked((chassis or {}).get("NetworkAdapters"))]) or []
        return SystemReading(
            endpoint=endpoint, system=system, chassis=chassis, manager=manager,
            processors=tuple(optional("processors", lambda: self.linked(system.get("Processors"))) or []),
            memory=tuple(optional("memory", lambda: self.linked(system.get("Memory"))) or []),
            ethernet_interfaces=tuple(optional("ethernetInterfaces",
                                               lambda: self.linked(system.get("EthernetInterfaces"))) or []),
            network_adapters=tuple(adapters),
            drives=tuple(d for s in storage for d in (optional("drives", lambda s=s: self.linked(s.get("Drives")))
                                                      or [])),
            pcie_devices=tuple(pcie), unreadable=tuple(sorted(set(unreadable))))

    def _first(self, links: Any) -> Doc | None:
        items = links if isinstance(links, list) else [links] if isinstance(links, dict) else []
        return self.client.get(odata_id(items[0])) if items and odata_id(items[0]) else None


def _expanded(member: Doc) -> bool:
    return any(key != "@odata.id" for key in member)


def _logout(client: _Client) -> None:
    import sushy.exceptions

    # The BMC is gone or the session expired: nothing is left to log out of.
    with contextlib.suppress(sushy.exceptions.SushyError, OSError):
        client.auth.close()  # DELETE of the session, if one was made


def _why(error: BaseException) -> str:
    """One clear phrase for the poll report; never the password."""
    import sushy.exceptions

    if isinstance(error, sushy.exceptions.AccessError):
        return f"it rejected our credentials (HTTP {error.status_code})"
    if isinstance(error, sushy.exceptions.HTTPError):
        return f"it answered HTTP {error.status_code} ({error.detail or error.code})"
    if isinstance(error, BackendUnavailable):
        return error.detail  # the password's SSM parameter could not be read
    if isinstance(error, sushy.exceptions.ConnectionError):
        cause = str(error)
        if "CERTIFICATE_VERIFY_FAILED" in cause or "SSLError" in cause:
            return "its TLS certificate is not trusted (set `verifyTls` to a CA bundle path)"
        return "connection refused" if "refused" in cause.lower() else f"cannot connect ({cause[:200]})"
    return f"{type(error).__name__}: {error}"
