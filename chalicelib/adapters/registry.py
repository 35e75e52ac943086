"""The adapter registry: which backend serves a request, and what each backend can do.

Built from `config/gateway.yaml` (`imsAdapters`, `dmsAdapters`, `routing`). Adapters are constructed on first use
and their modules imported only then, so the API function never imports `kubernetes` or `pyhelm3` for a request
that does not need them. A backend lacking a capability answers 501 (docs/architecture.md §3).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Literal, Protocol

from chalicelib.config import AdapterConfig, GatewayConfig, RoutingRule
from chalicelib.domain.errors import CapabilityNotSupported, ConfigurationError, NotFound

Kind = Literal["ims", "dms"]


class Capability(StrEnum):
    INVENTORY = "inventory"  # read resource types, pools, resources, deployment managers
    POOL_MANAGEMENT = "pool-management"  # create, resize, delete resource pools
    CHANGE_EVENTS = "change-events"  # the backend can push change notifications (not only be polled)
    PACKAGES = "packages"
    DEPLOY = "deploy"
    SCALE = "scale"
    UPGRADE = "upgrade"
    ROLLBACK = "rollback"
    STATUS = "status"
    LOGS = "logs"


class Adapter(Protocol):
    adapter_id: str

    @property
    def capabilities(self) -> frozenset[Capability]: ...


AdapterFactory = Callable[[AdapterConfig], Adapter]

# Backend type -> "module:callable", imported when an adapter of that type is first needed. A type appears here
# once its adapter exists; configuring any other type is a configuration error naming the known ones.
ADAPTER_TYPES: dict[Kind, dict[str, str]] = {
    "ims": {
        "aws": "chalicelib.adapters.ims.aws:AwsInventoryAdapter",
        "kubernetes": "chalicelib.adapters.ims.kubernetes:KubernetesInventoryAdapter",
    },
    "dms": {
        "helm": "chalicelib.adapters.dms.helm:HelmDeploymentAdapter",
        "argocd": "chalicelib.adapters.dms.argocd:ArgoCDDeploymentAdapter",
        "flux": "chalicelib.adapters.dms.flux:FluxDeploymentAdapter",
    },
}


def _import_factory(target: str) -> AdapterFactory:
    module_name, _, attribute = target.partition(":")
    factory: AdapterFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


class AdapterRegistry:
    def __init__(
        self,
        kind: Kind,
        configs: list[AdapterConfig],
        factories: Mapping[str, AdapterFactory | str],
        routing: list[RoutingRule] | None = None,
    ) -> None:
        self.kind = kind
        self._configs = {c.id: c for c in configs}
        self._factories = dict(factories)
        self._adapters: dict[str, Adapter] = {}
        self._routing = routing or []
        self._validate(configs)
        defaults = [c.id for c in configs if c.default]
        self.default_id = defaults[0] if defaults else (configs[0].id if configs else None)

    def _validate(self, configs: list[AdapterConfig]) -> None:
        if len(self._configs) != len(configs):
            raise ConfigurationError(f"{self.kind} adapter ids must be unique")
        if sum(c.default for c in configs) > 1:
            raise ConfigurationError(f"at most one {self.kind} adapter may be the default")
        for config in configs:
            if config.type not in self._factories:
                known = ", ".join(sorted(self._factories)) or "none yet"
                raise ConfigurationError(
                    f"{self.kind} adapter '{config.id}' has unknown type '{config.type}' (known: {known})"
                )
        for rule in self._routing:
            if rule.adapter not in self._configs:
                raise ConfigurationError(f"routing rule names unknown {self.kind} adapter '{rule.adapter}'")

    @property
    def ids(self) -> list[str]:
        return list(self._configs)

    def get(self, adapter_id: str | None = None) -> Adapter:
        chosen = adapter_id or self.default_id
        if chosen is None:
            raise NotFound(f"no {self.kind} backend is configured")
        if chosen not in self._configs:
            raise NotFound(f"no {self.kind} backend with id '{chosen}'")
        if chosen not in self._adapters:
            self._adapters[chosen] = self._build(self._configs[chosen])
        return self._adapters[chosen]

    def all(self) -> list[Adapter]:
        return [self.get(adapter_id) for adapter_id in self._configs]

    def _build(self, config: AdapterConfig) -> Adapter:
        factory = self._factories[config.type]
        return (_import_factory(factory) if isinstance(factory, str) else factory)(config)

    def route(
        self, namespace: str | None = None, labels: Mapping[str, str] | None = None, deployment_type: str | None = None,
        package_type: str | None = None,
    ) -> Adapter:
        """First matching routing rule wins; without a match, the default backend."""
        labels = labels or {}
        for rule in self._routing:
            if rule.namespace is not None and rule.namespace != namespace:
                continue
            if rule.namespace_prefix is not None and not (namespace or "").startswith(rule.namespace_prefix):
                continue
            if rule.deployment_type is not None and rule.deployment_type != deployment_type:
                continue
            if rule.package_type is not None and rule.package_type != package_type:
                continue
            if any(labels.get(key) != value for key, value in rule.labels.items()):
                continue
            return self.get(rule.adapter)
        return self.get()


def require(adapter: Adapter, capability: Capability) -> None:
    if capability not in adapter.capabilities:
        raise CapabilityNotSupported(f"backend '{adapter.adapter_id}' does not support {capability.value}")


def build_registry(kind: Kind, gateway: GatewayConfig, factories: Mapping[str, Any] | None = None) -> AdapterRegistry:
    configs = gateway.ims_adapters if kind == "ims" else gateway.dms_adapters
    routing = gateway.routing if kind == "dms" else []
    return AdapterRegistry(kind, configs, factories if factories is not None else ADAPTER_TYPES[kind], routing)
