"""The seed's pool extension as a shorthand of provisioning requests (docs/provisioning.md, "The pool extension"):
`POST /o2ims/v1/resourcePools` creates the pool at once, as it always did, and records a provisioning request from
the backend's shipped template for it, so the pool also shows in the provisioning API and is followed to FULFILLED
like any request. PATCH keeps the request's size, DELETE makes it DELETING.

The request's id is derived from the pool's (a UUID 5), so PATCH and DELETE find it without an index. Recording is
best effort: the pool exists whatever happens to its record (a failure is logged, and the pool still answers 201).
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.adapters.ims.port import PoolRequest
from chalicelib.adapters.store.provisioning_store import ProvisioningStore
from chalicelib.domain.errors import NetweaveError
from chalicelib.domain.infrastructure_templates import BACKEND_TYPES, TemplateKind
from chalicelib.domain.provisioning import REQUESTS_PATH, ProvisioningPhase, ProvisioningStatus
from chalicelib.domain.provisioning_record import ProvisionedPool, ProvisioningRecord
from chalicelib.domain.shipped_templates import DTIAS_BAREMETAL_POOL, EKS_NODEGROUP_POOL
from chalicelib.domain.tenancy import Access
from chalicelib.observability import logger
from chalicelib.services import resource_pools
from chalicelib.services.provisioning import ProvisioningPorts
from chalicelib.services.resource_pools import PoolLimits

_SHORTHAND = uuid.UUID("6f1d2c3b-4a5e-5f60-8a7b-9c0d1e2f3a4b")
_TEMPLATES = {TemplateKind.EKS_NODEGROUP: EKS_NODEGROUP_POOL, TemplateKind.DTIAS_RESOURCE_GROUP: DTIAS_BAREMETAL_POOL}
CREATED_BY = "POST /o2ims/v1/resourcePools"


def request_id_of(resource_pool_id: str) -> str:
    return str(uuid.uuid5(_SHORTHAND, resource_pool_id))


def request_href(resource_pool_id: str) -> str:
    return f"{REQUESTS_PATH}/{request_id_of(resource_pool_id)}"


def record_created_pool(ports: ProvisioningPorts, access: Access, backend: str, request: PoolRequest,
                        pool: dict[str, Any]) -> str | None:
    """Record the pool the extension just created as a provisioning request; its id, or None if not recorded."""
    kind = next((k for k, t in BACKEND_TYPES.items() if backend in ports.registry.ids_of_type(t)), None)
    if kind is None:
        return None
    template = _TEMPLATES[kind]
    extensions = {k: v for k, v in request.extensions.items() if k not in ("imsAdapter", "replicas", "instanceType")}
    size = request.replicas if request.replicas is not None else request.extensions.get("replicas", 1)
    parameters = {"poolName": request.name, "size": size, **extensions,
                  **({"location": request.location} if request.location else {}),
                  **({"instanceType": request.instance_type or request.extensions.get("instanceType")}
                     if kind is TemplateKind.EKS_NODEGROUP else {})}
    request_id = request_id_of(pool["resourcePoolId"])
    pool_extensions = pool.get("extensions") or {}
    record = ProvisioningRecord(
        data={"provisioningRequestId": request_id, "name": request.name, "description": f"created by {CREATED_BY}",
              "templateName": template["name"], "templateVersion": template["version"],
              "templateParameters": {k: v for k, v in parameters.items() if v is not None},
              "extensions": {"createdBy": CREATED_BY}},
        reference=str(uuid.uuid4()), owner=access.tenant, backend=backend, kind=str(kind),
        pool_fields={"location": request.location, "instance_type": request.instance_type, "extensions": extensions},
        pools=[ProvisionedPool(name=request.name, size=int(size) if isinstance(size, int) else 1,
                               resource_pool_id=pool["resourcePoolId"],
                               backend_state=str(pool_extensions.get("nodegroupStatus") or
                                                 pool_extensions.get("status") or ""))],
        status=ProvisioningStatus(update_time=ports.clock(), message=f"pool created by {CREATED_BY}",
                                  provisioning_phase=ProvisioningPhase.PROGRESSING).to_wire())
    try:
        ports.store.create(record, None)  # the extension's pools were never counted against a quota
    except NetweaveError as error:
        logger.warning("pool created but not recorded as a provisioning request",
                       extra={"resourcePoolId": pool["resourcePoolId"], "error": error.detail})
        return None
    return request_id


def pool_resized(store: ProvisioningStore, resource_pool_id: str, size: int) -> None:
    record = store.get(request_id_of(resource_pool_id))
    if record is None or record.deleting or not record.pools:
        return
    parameters = {**record.data.get("templateParameters", {}), "size": size}
    first = record.pools[0].model_copy(update={"size": size})
    changed = record.model_copy(update={
        "data": {**record.data, "templateParameters": parameters}, "pools": [first, *record.pools[1:]],
        "status": {**record.status, "provisioningPhase": ProvisioningPhase.PROGRESSING.value,
                   "message": "resized by PATCH /o2ims/v1/resourcePools"}})
    if store.save(changed) is not None:
        store.mark_open(record.backend, record.request_id)


def pool_deleted(store: ProvisioningStore, resource_pool_id: str) -> None:
    """The extension started the deletion itself: the request only follows it to the end."""
    record = store.get(request_id_of(resource_pool_id))
    if record is None or record.deleting:
        return
    changed = record.model_copy(update={
        "deleting": True, "pools": [p.model_copy(update={"deleting": True}) for p in record.pools],
        "status": {**record.status, "provisioningPhase": ProvisioningPhase.DELETING.value,
                   "message": "deleted by DELETE /o2ims/v1/resourcePools"}})
    if store.save(changed) is not None:
        store.mark_open(record.backend, record.request_id)


# --- the extension's three calls, each recorded ---------------------------------------------------------------------

def create_pool(ports: ProvisioningPorts, access: Access, request: PoolRequest, backend_id: str | None,
                limits: PoolLimits) -> tuple[dict[str, Any], str | None]:
    """The pool (as the extension always answered) and the id of the provisioning request recorded for it."""
    pool = resource_pools.create_pool(ports.registry, ports.context, request, backend_id, ports.trigger_poll, limits)
    backend = resource_pools.choose_backend(ports.registry, request, backend_id) or ports.registry.default_id
    return pool, record_created_pool(ports, access, str(backend), request, pool)


def resize_pool(ports: ProvisioningPorts, pool_id: str, changes: dict[str, Any],
                limits: PoolLimits) -> dict[str, Any]:
    pool = resource_pools.resize_pool(ports.registry, ports.inventory, ports.context, pool_id, changes,
                                      ports.trigger_poll, limits)
    size = (changes.get("extensions") or {}).get("replicas")
    if isinstance(size, int) and not isinstance(size, bool):
        pool_resized(ports.store, pool_id, size)
    return pool


def delete_pool(ports: ProvisioningPorts, pool_id: str) -> None:
    resource_pools.delete_pool(ports.registry, ports.inventory, pool_id, ports.trigger_poll)
    pool_deleted(ports.store, pool_id)
