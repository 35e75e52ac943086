"""The `dtias` IMS backend: a Dell DTIAS's bare-metal fleet as O2ims inventory, and pools as DTIAS resource groups
(docs/dtias-backend.md).

Reading: locations, sites, resource pools (`POST search/resourcepools`), resource groups and every server with its
full inventory; `dtias_mapping` (pure) turns them into O2 objects. Any failure to read is `BackendUnavailable`, so
the poller keeps the last-known inventory (services/inventory_poll.py) instead of emptying it.

Pool management (a netweave extension, docs/o2-conventions.md §7): creating an O2 pool allocates `replicas` free
servers of one DTIAS resource pool at the requested site into a new resource group (`POST resourcegroups` + job);
deleting releases it (`DELETE resourcegroups/{id}` + job). DTIAS has no call to resize a resource group, so a
resize is 501. Only groups netweave created (id prefix `netweave-`) are changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
from collections.abc import Callable
from functools import cached_property
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.adapters.ims import dtias_mapping as mapping
from chalicelib.adapters.ims.dtias_client import COMPLETED, FAILED, Credentials, DtiasClient, JobResult
from chalicelib.adapters.ims.dtias_provisioning import DtiasProvisioning
from chalicelib.adapters.ims.port import InventoryContext, PoolRequest
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import (
    BackendUnavailable,
    BadRequest,
    CapabilityNotSupported,
    ConfigurationError,
    Conflict,
    NotFound,
)
from chalicelib.domain.inventory import InventoryObject, ResourcePool
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig

_GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,52}$")  # a wire name that still fits DTIAS ids with our prefix


class DtiasJobFailed(Conflict):
    """DTIAS accepted the request but its job failed (no free servers, a profile that does not apply, ...)."""

    slug = "backend-job-failed"


class DtiasOptions(BaseModel):
    """`options` of a `dtias` IMS adapter in gateway.yaml (docs/dtias-backend.md "Configuration")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    base_url: str = Field(alias="baseUrl", min_length=1)
    tenant: str = Field(default="default_tenant", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    client_id: str = Field(default="dtias-client", alias="clientId")
    username: str | None = None
    username_env: str | None = Field(default=None, alias="usernameEnv")
    password_env: str | None = Field(default=None, alias="passwordEnv")
    password_ssm_parameter: str | None = Field(default=None, alias="passwordSsmParameter")
    verify_tls: bool = Field(default=True, alias="verifyTls")
    ca_bundle: str | None = Field(default=None, alias="caBundle")  # PEM file of a private CA
    page_size: int = Field(default=50, ge=1, le=100, alias="pageSize")
    request_timeout_seconds: float = Field(default=10.0, gt=0, alias="requestTimeoutSeconds")
    job_wait_seconds: float = Field(default=60.0, ge=0, alias="jobWaitSeconds")
    job_poll_seconds: float = Field(default=2.0, gt=0, alias="jobPollSeconds")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class DtiasInventoryAdapter(DtiasProvisioning):
    """`InventoryAdapter`, `PoolManager` and (dtias_provisioning) `PoolProvisioner` for one DTIAS tenant."""

    def __init__(self, config: AdapterConfig, secret: Callable[[str], str] | None = None) -> None:
        self.adapter_id = config.id
        self._secret = secret  # SSM parameter name -> decrypted value, read at every log-in (AwsClients)
        try:
            self.options = DtiasOptions.model_validate(config.options)
        except ValidationError as error:
            raise ConfigurationError(f"ims adapter '{config.id}' (dtias): {error}") from error
        url = urlsplit(self.options.base_url)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ConfigurationError(f"ims adapter '{config.id}' (dtias): baseUrl must be an http(s) URL")
        if url.scheme == "http" and not _loopback(url.hostname):
            # Bearer tokens and the password travel on this connection: plain http only to this machine (simulator).
            raise ConfigurationError(f"ims adapter '{config.id}' (dtias): baseUrl must use https (http is allowed "
                                     "for loopback addresses only)")
        if not (self.options.password_env or self.options.password_ssm_parameter):
            raise ConfigurationError(f"ims adapter '{config.id}' (dtias): set passwordEnv or passwordSsmParameter")
        if self.options.password_ssm_parameter and secret is None:
            raise ConfigurationError(f"ims adapter '{config.id}' (dtias): passwordSsmParameter needs the gateway's "
                                     "SSM access (build the adapter through the composition root)")
        self._last: tuple[str, list[InventoryObject]] | None = None  # (hash of the fleet read, its mapping)
        self._group_ids: dict[str, str] = {}  # pool id -> resource group id (dtias_provisioning)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.INVENTORY, Capability.POOL_MANAGEMENT})

    @cached_property
    def client(self) -> DtiasClient:
        o = self.options
        return DtiasClient(self.adapter_id, o.base_url, o.tenant, self._credentials, self._tls(),
                           o.request_timeout_seconds, o.page_size)

    def _tls(self) -> ssl.SSLContext | bool:
        if not self.options.verify_tls:
            return False  # documented as unsafe: the operator's explicit choice (docs/security.md)
        if self.options.ca_bundle:
            return ssl.create_default_context(cafile=self.options.ca_bundle)
        return True

    def _credentials(self) -> Credentials:
        """Read on every log-in, never cached beyond the token: a rotated password takes effect at the next one."""
        o = self.options
        username = o.username or (os.environ.get(o.username_env) if o.username_env else None)
        password: str | None
        if o.password_ssm_parameter:
            password = self._ssm_secret(o.password_ssm_parameter)
        else:
            password = os.environ.get(str(o.password_env)) or None
        if not username or not password:
            raise BackendUnavailable(f"DTIAS backend '{self.adapter_id}': no credentials (set username/usernameEnv "
                                     "and the password's environment variable or SSM parameter)")
        return Credentials(o.client_id, username, password)

    def _ssm_secret(self, name: str) -> str:
        assert self._secret is not None  # checked at construction
        try:
            return self._secret(name)
        except BackendUnavailable as error:
            raise BackendUnavailable(f"DTIAS backend '{self.adapter_id}': {error.detail}") from error

    # --- reading ------------------------------------------------------------------------------------------------

    def _fleet(self, servers: bool = True) -> mapping.Fleet:
        """Everything a poll maps; without `servers`, the sites, pools and groups a pool request resolves against."""
        c = self.client
        locations = c.get("list locations", "/inventory/locations").get("Locations") or []
        sites = c.get("list sites", "/inventory/sites").get("Sites") or []
        return mapping.Fleet(locations, sites, c.resource_pools(), c.resource_groups(), c.servers() if servers else [])

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        try:
            fleet = self._fleet()
        except (NotFound, BadRequest, Conflict) as error:
            # A refusal while listing (a tenant that does not exist) leaves nothing to map: an outage to the poller.
            raise BackendUnavailable(error.detail) from error
        # An unchanged fleet (most polls) reuses the last mapping: the poller runs every minute, or every second
        # locally, and mapping a fleet costs more than comparing what DTIAS answered.
        key = hashlib.sha256(json.dumps([context.o_cloud_id, fleet.__dict__], sort_keys=True,
                                        default=str).encode()).hexdigest()
        if self._last is None or self._last[0] != key:
            self._last = (key, mapping.build_inventory(self.adapter_id, context.o_cloud_id, fleet))
        return list(self._last[1])

    def cluster_profile(self, deployment_manager_id: str) -> dict[str, Any] | None:
        return None  # bare metal: no deployment manager

    # --- pool management ------------------------------------------------------------------------------------------

    def _site(self, request: PoolRequest, fleet: mapping.Fleet, context: InventoryContext) -> mapping.Site:
        found = mapping.sites(fleet, context.o_cloud_id)
        if request.location is None:
            if len(found) == 1:
                return next(iter(found.values()))
            raise BadRequest(f"location is required: backend '{self.adapter_id}' has sites "
                             f"{', '.join(sorted(s.name for s in found.values()))}")
        site = next((s for s in found.values() if request.location in (s.name, s.site_id)), None)
        if site is None:
            raise BadRequest(f"location: no DTIAS site '{request.location}' in backend '{self.adapter_id}' (sites: "
                             f"{', '.join(sorted(s.name for s in found.values()))})")
        return site

    @staticmethod
    def _source_pool(request: PoolRequest, fleet: mapping.Fleet, site: mapping.Site) -> dict[str, Any]:
        """`extensions.sourcePool` (a DTIAS resource pool name or id at the site), else the site's default pool."""
        at_site = [p for p in fleet.pools if str(p.get("SiteId")) == site.site_id]
        named = request.extensions.get("sourcePool")
        if named is not None:
            chosen = next((p for p in at_site if named in (p.get("Name"), p.get("Id"))), None)
            if chosen is None:
                raise BadRequest(f"extensions.sourcePool: no DTIAS resource pool '{named}' at site {site.name} "
                                 f"(pools: {', '.join(sorted(str(p.get('Name')) for p in at_site))})")
            return dict(chosen)
        default = next((p for p in at_site if p.get("DefaultRp") or p.get("IsDefault")), None)
        if default is None:
            raise BadRequest(f"extensions.sourcePool is required: site {site.name} has no default resource pool")
        return dict(default)

    @staticmethod
    def _replicas(request: PoolRequest) -> int:
        value = request.replicas if request.replicas is not None else request.extensions.get("replicas")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadRequest("extensions.replicas must be an integer >= 1 (the number of servers to allocate)")
        return value

    @staticmethod
    def _labels(request: PoolRequest) -> list[dict[str, str]]:
        labels = request.extensions.get("serverLabels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise BadRequest("extensions.serverLabels must be an object of strings")
        return [{"Key": str(k), "Value": v} for k, v in sorted(labels.items())]

    def _start_group(self, request: PoolRequest, context: InventoryContext, token: str | None
                     ) -> tuple[dict[str, Any], mapping.Site, str | None]:
        """(group, site, job id): POST the resource group of a pool request, or, for a retry with the same
        `token`, find the group the earlier call posted (job id None)."""
        if not isinstance(request.name, str) or not _GROUP_NAME.fullmatch(request.name):
            raise BadRequest("name must be 1-53 lowercase letters, digits or '-', starting with a letter or digit")
        replicas, labels = self._replicas(request), self._labels(request)
        profile = request.extensions.get("resourceProfileId", "")
        fleet = self._fleet(servers=False)
        site = self._site(request, fleet, context)
        source = self._source_pool(request, fleet, site)
        group_id = f"{mapping.OWNED_PREFIX}{request.name}"
        existing = next((g for g in fleet.groups if g.get("id") == group_id), None)
        if existing is not None:
            if token is not None and str(existing.get("description", "")).endswith(token_marker(token)):
                return dict(existing), site, None
            raise Conflict(f"a resource pool named '{request.name}' (DTIAS resource group {group_id}) already exists")
        selector = {"rpId": source["Id"], "ResourceProfileId": str(profile), "numResources": replicas,
                    "filters": {"include": {"labels": labels}} if labels else {}}
        description = f"O2 resource pool {request.name} (netweave)" + (token_marker(token) if token else "")
        group = {"id": group_id, "name": request.name, "description": description,
                 "resourceTypeId": "COMPUTE", "resourceSelectors": {"worker": selector}}
        reply = self.client.call(f"create resource group {group_id}", "POST", "/resourcegroups", ok=(200, 201, 202),
                                 json={"Tenant": self.options.tenant, "resourceGroup": group})
        return group, site, self._job_id(reply.json(), f"allocating {replicas} servers of {source.get('Name')} "
                                                       f"to {request.name}")

    def create_resource_pool(self, request: PoolRequest, context: InventoryContext) -> ResourcePool:
        group, site, job_id = self._start_group(request, context, None)
        assert job_id is not None  # without a token an existing group is a Conflict
        job = self._wait(job_id, f"allocating servers to {request.name}")
        if job.status == COMPLETED:
            group = self.client.get(f"read resource group {group['id']}", f"/resourcegroups/{group['id']}")
        return mapping.group_pool(self.adapter_id, context.o_cloud_id, group, site,
                                  {"jobId": job.job_id, "jobStatus": job.status})

    def _job_id(self, answer: Any, what: str) -> str:
        job_id = str(answer.get("jobid") or "") if isinstance(answer, dict) else ""
        if not job_id:
            raise BackendUnavailable(f"DTIAS backend '{self.adapter_id}': {what}: the answer names no job")
        return job_id

    def _wait(self, job_id: str, what: str, gone_is_done: bool = False) -> JobResult:
        job = self.client.wait_job(job_id, self.options.job_wait_seconds, self.options.job_poll_seconds, gone_is_done)
        if job.status == FAILED:
            raise DtiasJobFailed(f"{what}: DTIAS job {job.job_id} failed: {job.fail_reason or 'no reason given'}")
        return job

    def _owned_group(self, resource_pool_id: str) -> dict[str, Any]:
        groups = self.client.resource_groups()
        group = next((g for g in groups if mapping.group_pool_id(self.adapter_id, str(g.get("id"))) ==
                      resource_pool_id), None)
        if group is None:
            pools = self.client.resource_pools()
            if any(mapping.pool_id(self.adapter_id, str(p.get("Id"))) == resource_pool_id for p in pools):
                raise NotOwned(f"resource pool '{resource_pool_id}' is a DTIAS resource pool, which netweave lists "
                               "but never changes or deletes; nothing was changed")
            raise NotFound(f"no resource pool '{resource_pool_id}' in backend '{self.adapter_id}'")
        if not mapping.owned(group):
            raise NotOwned(f"DTIAS resource group '{group.get('id')}' was not created by netweave (its id does not "
                           f"start with '{mapping.OWNED_PREFIX}') and is not changed or deleted through O2; nothing "
                           "was changed")
        return group

    def update_resource_pool(self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
                             ) -> ResourcePool:
        group = self._owned_group(resource_pool_id)
        if request.name and request.name != group.get("name"):
            raise BadRequest("name: a resource pool cannot be renamed")
        wanted = request.replicas if request.replicas is not None else request.extensions.get("replicas")
        current = sum(int(s.get("numResources") or 0) for _, _, s in mapping.selectors([group]))
        if wanted is not None and wanted != current:
            raise CapabilityNotSupported("DTIAS has no call to resize a resource group: delete the pool and create "
                                         f"it again with {wanted} servers")
        fleet = self._fleet(servers=False)
        site = mapping.group_site(group, {str(p["Id"]): p for p in fleet.pools}, mapping.sites(
            fleet, context.o_cloud_id), context.o_cloud_id)
        if request.location and request.location not in (site.name, site.site_id):
            raise BadRequest("location: the site of a resource pool cannot be changed")
        return mapping.group_pool(self.adapter_id, context.o_cloud_id, group, site)

    def _start_deletion(self, resource_pool_id: str) -> tuple[str, str | None]:
        """(group id, the job releasing it; None where DTIAS deleted at once, answering without one)."""
        group_id = str(self._owned_group(resource_pool_id)["id"])
        reply = self.client.call(f"delete resource group {group_id}", "DELETE", f"/resourcegroups/{group_id}",
                                 ok=(200, 202, 204))
        return group_id, self._job_id(reply.json(), f"releasing resource group {group_id}") if reply.content else None

    def delete_resource_pool(self, resource_pool_id: str) -> None:
        group_id, job_id = self._start_deletion(resource_pool_id)
        if job_id is not None:
            self._wait(job_id, f"releasing resource group {group_id}", gone_is_done=True)


def token_marker(token: str) -> str:
    """Where a resource group carries the provisioning request it was created for: the end of its description,
    which DTIAS keeps as given (docs/dtias-backend.md "Provisioning requests")."""
    return f" [provisioning {token}]"
