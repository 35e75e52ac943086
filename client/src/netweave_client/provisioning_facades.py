"""`client.provisioning`: provisioning requests (`.requests`), the templates they name (`.templates`) and `wait`,
sent blocking (`Provisioning`) or awaited (`AsyncProvisioning`). The calls are described once in `provisioning`."""

from __future__ import annotations

from typing import Any, Unpack

from netweave_client import provisioning as calls
from netweave_client._engine import AsyncEngine, AsyncPager, Pager, SyncEngine
from netweave_client._queries import ItemQuery, ListQuery
from netweave_client.models import ManagedInfrastructureTemplate, ProvisioningRequestData, ProvisioningRequestInfo
from netweave_client.waiting import (
    Progress,
    WaitPlan,
    provisioning_fetch,
    provisioning_fetch_async,
    provisioning_reached,
    wait_async,
    wait_sync,
)

Replacement = ProvisioningRequestData | ProvisioningRequestInfo
Parameters = dict[str, Any] | None


class ProvisioningRequests:
    """`client.provisioning.requests`: blocking."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine

    def get(self, request_id: str, **q: Unpack[ItemQuery]) -> ProvisioningRequestInfo:
        return self._e.run(calls.request(request_id, q))

    def create(self, template_name: str, template_version: str, parameters: Parameters = None, *,
               request_id: str | None = None, name: str | None = None, description: str | None = None,
               extensions: dict[str, Any] | None = None) -> ProvisioningRequestInfo:
        """The request as stored (PENDING); `request_id` defaults to a new UUID. Parameters the template refuses
        raise BadRequest, each named in `invalid_params`."""
        data = calls.new_request(template_name, template_version, parameters, request_id, name, description,
                                 extensions)
        return self._e.run(calls.create(data))

    def replace(self, request_id: str, request: Replacement) -> ProvisioningRequestInfo:
        """PUT: a new size resizes; the same data retries a FAILED request (a GET's answer may be sent back)."""
        return self._e.run(calls.replace(request_id, calls.as_data(request)))

    def delete(self, request_id: str) -> ProvisioningRequestInfo:
        """The request as DELETING; `wait(request_id, "GONE")` waits for its 404."""
        return self._e.run(calls.delete(request_id))

    def list(self, **q: Unpack[ListQuery]) -> Pager[ProvisioningRequestInfo]:
        return Pager(self._e, calls.requests(q))


class InfrastructureTemplates:
    """`client.provisioning.templates`: the O2ims Infrastructure Artifacts API (read-only)."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine

    def get(self, template_id: str, **q: Unpack[ItemQuery]) -> ManagedInfrastructureTemplate:
        """`template_id`: the `artifactResourceId`, or `<name>.<version>` (`eks-nodegroup-pool.1.0.0`)."""
        return self._e.run(calls.template(template_id, q))

    def defaults(self, template_id: str) -> dict[str, Any]:
        return self._e.run(calls.defaults(template_id))

    def list(self, **q: Unpack[ListQuery]) -> Pager[ManagedInfrastructureTemplate]:
        return Pager(self._e, calls.templates(q))


class Provisioning:
    """`client.provisioning`: blocking."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine
        self.requests = ProvisioningRequests(engine)
        self.templates = InfrastructureTemplates(engine)

    def wait(self, request_id: str, phase: str = "FULFILLED", *, timeout: float = 900, interval: float = 2,
             progress: Progress[ProvisioningRequestInfo | None] | None = None) -> ProvisioningRequestInfo | None:
        """Until the request is in `phase` (returned) or, for "GONE", answers 404 (None returned). FAILED raises
        ProvisioningFailed with the request's message; WaitTimeout. `progress` gets the request after every poll."""
        done = provisioning_reached(phase)
        fetch = provisioning_fetch(lambda: self.requests.get(request_id), phase)
        return wait_sync(fetch, done, f"provisioning request {request_id} ({phase})", WaitPlan(timeout, interval),
                         progress, self._e.sleep)


class AsyncProvisioningRequests:
    """`client.provisioning.requests` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine

    async def get(self, request_id: str, **q: Unpack[ItemQuery]) -> ProvisioningRequestInfo:
        return await self._e.run(calls.request(request_id, q))

    async def create(self, template_name: str, template_version: str, parameters: Parameters = None, *,
                     request_id: str | None = None, name: str | None = None, description: str | None = None,
                     extensions: dict[str, Any] | None = None) -> ProvisioningRequestInfo:
        data = calls.new_request(template_name, template_version, parameters, request_id, name, description,
                                 extensions)
        return await self._e.run(calls.create(data))

    async def replace(self, request_id: str, request: Replacement) -> ProvisioningRequestInfo:
        return await self._e.run(calls.replace(request_id, calls.as_data(request)))

    async def delete(self, request_id: str) -> ProvisioningRequestInfo:
        return await self._e.run(calls.delete(request_id))

    def list(self, **q: Unpack[ListQuery]) -> AsyncPager[ProvisioningRequestInfo]:
        return AsyncPager(self._e, calls.requests(q))


class AsyncInfrastructureTemplates:
    """`client.provisioning.templates` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine

    async def get(self, template_id: str, **q: Unpack[ItemQuery]) -> ManagedInfrastructureTemplate:
        return await self._e.run(calls.template(template_id, q))

    async def defaults(self, template_id: str) -> dict[str, Any]:
        return await self._e.run(calls.defaults(template_id))

    def list(self, **q: Unpack[ListQuery]) -> AsyncPager[ManagedInfrastructureTemplate]:
        return AsyncPager(self._e, calls.templates(q))


class AsyncProvisioning:
    """`client.provisioning` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine
        self.requests = AsyncProvisioningRequests(engine)
        self.templates = AsyncInfrastructureTemplates(engine)

    async def wait(self, request_id: str, phase: str = "FULFILLED", *, timeout: float = 900, interval: float = 2,
                   progress: Progress[ProvisioningRequestInfo | None] | None = None
                   ) -> ProvisioningRequestInfo | None:
        done = provisioning_reached(phase)
        fetch = provisioning_fetch_async(lambda: self.requests.get(request_id), phase)
        return await wait_async(fetch, done, f"provisioning request {request_id} ({phase})",
                                WaitPlan(timeout, interval), progress, self._e.sleep)
