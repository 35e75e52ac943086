"""`api_versions` for every O2 service, in both forms of docs/o2-conventions.md §1: the service's own lists every
version it serves; each version's names itself."""

from __future__ import annotations

import functools

from chalice import Blueprint

from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.inventory_versions import INVENTORY_SERVICE, InventoryVersion
from chalicelib.domain.models import ApiVersion, ApiVersions

API_VERSION = "1.0.0"
SERVICES: dict[str, Scope] = {
    INVENTORY_SERVICE: Scope.IMS_READ,
    "/o2ims-infrastructureMonitoring": Scope.IMS_READ,
    "/o2ims-infrastructureProvisioning": Scope.IMS_READ,
    "/o2ims-infrastructureArtifacts": Scope.IMS_READ,
    "/o2dms": Scope.DMS_READ,
}

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="versions")


# The versions each service serves, by path segment and semantic version; v1 first (the root's uriPrefix).
_SERVED: dict[str, dict[str, str]] = {
    INVENTORY_SERVICE: {v.value: v.semver for v in InventoryVersion},
    # O2ims_infrastructureProvisioning 1.2.0 (R005-v11): the per-resource provisioning statuses
    "/o2ims-infrastructureProvisioning": {"v1": "1.2.0"},
}


def _register(service: str, scope: Scope) -> None:
    served = _SERVED.get(service, {"v1": API_VERSION})
    _route(f"{service}/api_versions", f"{service}/v1", list(served.values()), scope)
    for segment, semver in served.items():
        _route(f"{service}/{segment}/api_versions", f"{service}/{segment}", [semver], scope)


def _route(path: str, uri_prefix: str, versions: list[str], scope: Scope) -> None:
    @router.route(path, "GET", summary=f"API versions ({uri_prefix})", scope=scope, response=ApiVersions)
    def api_versions() -> dict[str, object]:
        return _answer(uri_prefix, tuple(versions))


@functools.cache
def _answer(uri_prefix: str, versions: tuple[str, ...]) -> dict[str, object]:
    """Built on the first call, not at import: building the models' serialisers is a cold start's cost otherwise."""
    return ApiVersions(uri_prefix=uri_prefix, api_versions=[ApiVersion(version=v) for v in versions]).to_wire()


for _service, _scope in SERVICES.items():
    _register(_service, _scope)
