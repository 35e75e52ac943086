"""O2ims provisioning requests, as the API changes them (docs/provisioning.md). The API only records what the SMO
wants and asks for a poll of the backend; the inventory poll's reconciler (services/provisioning_reconcile.py) does
the backend's work, so a backend that is down when the SMO asks delays the request instead of failing it.

Checked before anything is stored: the template exists, its parameters satisfy its schema (every bad parameter
named), the gateway's pool limits allow the size and instance type, and the tenant's quota has room.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.ims.port import InventoryContext, InventoryRegistry, PoolRequest
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.adapters.store.provisioning_store import START_KEY_ATTRIBUTES, ProvisioningStore, start_key_after
from chalicelib.domain.errors import Conflict, NotFound, UnprocessableContent
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.infrastructure_templates import (
    BACKEND_TYPES,
    InfrastructureTemplate,
    TemplateRegistry,
    pool_request_fields,
    resolve_parameters,
)
from chalicelib.domain.provisioning import (
    PROVISIONING_SELECTOR_SCHEMA,
    ProvisioningPhase,
    ProvisioningRequestData,
    ProvisioningStatus,
)
from chalicelib.domain.provisioning_record import ProvisionedPool, ProvisioningRecord
from chalicelib.domain.tenancy import Access
from chalicelib.services.paging import ListRequest, Page, list_models
from chalicelib.services.resource_pools import PoolLimits, check_limits

PollTrigger = Callable[[str], None]
_SIZE_FIELDS = ("replicas",)


class ParameterNotChangeable(UnprocessableContent):
    slug = "parameter-not-changeable"


@dataclass(frozen=True)
class ProvisioningPorts:
    store: ProvisioningStore
    templates: TemplateRegistry
    registry: InventoryRegistry
    context: InventoryContext
    inventory: InventoryStore
    trigger_poll: PollTrigger
    limits: PoolLimits
    max_per_tenant: int
    clock: Callable[[], str] = utc_now_iso


@dataclass(frozen=True)
class Resolved:
    """A request's template parameters as the gateway will carry them out."""

    template: InfrastructureTemplate
    backend: str
    fields: dict[str, Any]  # PoolRequest fields besides name and size
    pool_name: str | None
    size: int


def resolve(ports: ProvisioningPorts, data: ProvisioningRequestData) -> Resolved:
    template = ports.templates.get(data.template_name, data.template_version)
    merged = resolve_parameters(template, data.template_parameters)
    fields = pool_request_fields(merged)
    backend = _backend(ports.registry, template)
    name, size = fields.pop("name", None), fields.pop("replicas", None)
    size = int(size) if isinstance(size, int) and not isinstance(size, bool) else 1
    check_limits(_pool_request(fields, name or "request", size), ports.limits, creating=True)
    return Resolved(template, backend, fields, name, size)


def _backend(registry: InventoryRegistry, template: InfrastructureTemplate) -> str:
    """The registry bound each template to its backend (the configured one, else the first of its kind's type)."""
    if template.backend is None or template.backend not in registry.ids:
        raise UnprocessableContent(f"template {template.template_id} needs a '{BACKEND_TYPES[template.kind]}' "
                                   "backend that can create pools; this gateway has none")
    return template.backend


def _pool_request(fields: dict[str, Any], name: str, size: int) -> PoolRequest:
    extensions = dict(fields.get("extensions") or {})
    return PoolRequest(name=name, location=fields.get("location"), instance_type=fields.get("instance_type"),
                       replicas=size, extensions=extensions)


def pool_request(record: ProvisioningRecord, pool: ProvisionedPool, size: int | None = None) -> PoolRequest:
    """What the reconciler asks the backend for, for one of the request's pools."""
    return _pool_request(record.pool_fields, pool.name, pool.size if size is None else size)


# What GET adds to a request's extensions: a GET's answer sent back in a PUT must not store them as the SMO's own.
_SHOWN_EXTENSIONS = ("resourcePoolIds", "imsAdapter")


def stored_data(data: ProvisioningRequestData) -> dict[str, Any]:
    stored = data.model_dump(by_alias=True, mode="json")
    stored["extensions"] = {k: v for k, v in data.extensions.items() if k not in _SHOWN_EXTENSIONS}
    return stored


def create_request(ports: ProvisioningPorts, data: ProvisioningRequestData, access: Access) -> ProvisioningRecord:
    resolved = resolve(ports, data)
    name = resolved.pool_name or default_pool_name(data.provisioning_request_id)
    record = ProvisioningRecord(
        data=stored_data(data), reference=str(uuid.uuid4()), owner=access.tenant,
        backend=resolved.backend, kind=str(resolved.template.kind), pool_fields=resolved.fields,
        pools=[ProvisionedPool(name=name, size=resolved.size)],
        status=_status(ports, ProvisioningPhase.PENDING, f"accepted; waiting for backend {resolved.backend}"))
    ports.store.create(record, ports.max_per_tenant)
    ports.trigger_poll(record.backend)
    return record


def default_pool_name(request_id: str) -> str:
    """A name both backends accept (EKS node groups, DTIAS groups: lower-case letters, digits, '-')."""
    return f"pr-{request_id.replace('-', '')[:12]}"


def get_request(store: ProvisioningStore, request_id: str, access: Access) -> ProvisioningRecord:
    record = store.get(request_id)
    if record is None or not access.sees(record.owner):
        raise NotFound(f"no provisioning request '{request_id}'")
    return record


def list_requests(store: ProvisioningStore, request: ListRequest, access: Access) -> Page:
    return list_models(request, PROVISIONING_SELECTOR_SCHEMA, store.page, start_key_after,
                       scope="provisioningRequests", key_attributes=START_KEY_ATTRIBUTES,
                       visible=lambda record: access.sees(record.owner), wire=lambda record: record.to_wire())


def replace_request(ports: ProvisioningPorts, request_id: str, data: ProvisioningRequestData,
                    access: Access) -> ProvisioningRecord:
    """PUT: the new data replaces the old. The size may change (EKS resizes the node group; DTIAS grows by a resource
    group of the difference and cannot shrink); what else the parameters set is fixed once a pool exists. The same
    data PUT again retries a FAILED request."""
    if data.provisioning_request_id != request_id:
        raise UnprocessableContent(f"provisioningRequestId: the body names '{data.provisioning_request_id}', the "
                                   f"path '{request_id}'; a request's id cannot change")
    record = get_request(ports.store, request_id, access)
    if record.deleting:
        raise Conflict(f"provisioning request '{request_id}' is being deleted")
    resolved = resolve(ports, data)
    replaced = _replaced(record, resolved, data)
    saved = ports.store.save(replaced)
    if saved is None:
        raise Conflict(f"provisioning request '{request_id}' changed while it was replaced; read it and PUT again")
    ports.store.mark_open(saved.backend, request_id)
    ports.trigger_poll(saved.backend)
    return saved


def _replaced(record: ProvisioningRecord, resolved: Resolved, data: ProvisioningRequestData) -> ProvisioningRecord:
    started = any(pool.started for pool in record.pools)
    if not started:  # nothing exists at the backend yet: the new data replaces everything
        name = resolved.pool_name or record.pools[0].name
        pools = [ProvisionedPool(name=name, size=resolved.size)]
        backend, kind = resolved.backend, str(resolved.template.kind)
    else:
        _check_unchanged(record, resolved)
        pools = _resized(record, resolved.size)
        backend, kind = record.backend, record.kind
    pools = [_retried(pool, kind) for pool in pools]
    return record.model_copy(update={
        "data": stored_data(data), "backend": backend, "kind": kind,
        "pool_fields": resolved.fields if not started else record.pool_fields, "pools": pools,
        "status": {**record.status, "provisioningPhase": ProvisioningPhase.PROGRESSING.value if started else
                   ProvisioningPhase.PENDING.value, "message": "replaced; waiting for the backend"}})


def _retried(pool: ProvisionedPool, kind: str) -> ProvisionedPool:
    """A PUT retries what failed: a refusal is forgotten; a DTIAS group whose job failed is gone (DTIAS releases it),
    so it is started again; an EKS node group is observed again (EKS keeps a failed one, with its health issues)."""
    update: dict[str, Any] = {"failure": None, "awaiting_resources": False, "failed": False}
    if pool.failed and kind == "dtias-resource-group":
        update.update(resource_pool_id=None, job_id=None, backend_state="")
    return pool.model_copy(update=update)


def _check_unchanged(record: ProvisioningRecord, resolved: Resolved) -> None:
    if resolved.backend != record.backend or resolved.template.kind != record.kind:
        raise ParameterNotChangeable(f"templateName: the request's pools exist at backend '{record.backend}'; a "
                                     "template of another kind or backend needs a new request")
    if resolved.pool_name and resolved.pool_name != record.pools[0].name:
        raise ParameterNotChangeable("templateParameters.poolName cannot change once the pool exists")
    for key in sorted(set(resolved.fields) | set(record.pool_fields)):
        if resolved.fields.get(key) != record.pool_fields.get(key):
            shown = key if key != "extensions" else _changed_extension(resolved.fields, record.pool_fields)
            raise ParameterNotChangeable(f"templateParameters.{shown} cannot change once the pool exists (only the "
                                         "size can); delete the request and create a new one")


def _changed_extension(new: dict[str, Any], old: dict[str, Any]) -> str:
    a, b = new.get("extensions") or {}, old.get("extensions") or {}
    return next((k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)), "extensions")


def _resized(record: ProvisioningRecord, size: int) -> list[ProvisionedPool]:
    pools = list(record.pools)
    current = record.desired_size
    if size == current:
        return pools
    if record.kind != "dtias-resource-group":
        first = pools[0]
        pools[0] = first.model_copy(update={"size": size, "resize_to": size})
        return pools
    if size < current:
        raise ParameterNotChangeable(f"templateParameters.size: DTIAS cannot shrink a resource group ({current} "
                                     f"servers held); delete the request and create one of {size}")
    pools.append(ProvisionedPool(name=f"{pools[0].name}-{len(pools) + 1}", size=size - current))
    return pools


def delete_request(ports: ProvisioningPorts, request_id: str, access: Access) -> ProvisioningRecord:
    """202: the request shows DELETING until its backend's pools are gone, then 404."""
    record = get_request(ports.store, request_id, access)
    if not record.deleting:
        marked = record.model_copy(update={"deleting": True, "status": {
            **record.status, "provisioningPhase": ProvisioningPhase.DELETING.value, "updateTime": ports.clock(),
            "message": "deletion requested"}})
        saved = ports.store.save(marked)
        if saved is None:
            raise Conflict(f"provisioning request '{request_id}' changed while it was deleted; DELETE again")
        record = saved
    ports.store.mark_open(record.backend, request_id)
    ports.trigger_poll(record.backend)
    return record


def _status(ports: ProvisioningPorts, phase: ProvisioningPhase, message: str) -> dict[str, Any]:
    return ProvisioningStatus(update_time=ports.clock(), message=message, provisioning_phase=phase).to_wire()
