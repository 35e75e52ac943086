"""`api_versions` for every O2 service, in both forms of docs/o2-conventions.md §1."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Router
from chalicelib.domain.auth import Scope
from chalicelib.domain.models import ApiVersion, ApiVersions

API_VERSION = "1.0.0"
SERVICES: dict[str, Scope] = {
    "/o2ims-infrastructureInventory": Scope.IMS_READ,
    "/o2ims-infrastructureMonitoring": Scope.IMS_READ,
    "/o2dms": Scope.DMS_READ,
}

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="versions")


def _versions(uri_prefix: str) -> ApiVersions:
    return ApiVersions(uri_prefix=uri_prefix, api_versions=[ApiVersion(version=API_VERSION)])


def _register(service: str, scope: Scope) -> None:
    uri_prefix = f"{service}/v1"
    for path in (f"{service}/api_versions", f"{service}/v1/api_versions"):

        @router.route(path, "GET", summary=f"API versions of {service}", scope=scope, response=ApiVersions)
        def api_versions() -> dict[str, object]:
            return _versions(uri_prefix).to_wire()


for _service, _scope in SERVICES.items():
    _register(_service, _scope)
