"""The adapter registry: which backend of one kind serves a request.

Built by the composition root from `config/gateway.yaml` (`imsAdapters`, `dmsAdapters`, `routing`) and a table of
factories per backend type. Adapters are constructed on first use and, where a factory is given as "module:callable",
their modules imported only then, so the API function never imports `kubernetes` or `pyhelm3` for a request that
does not need them (docs/architecture.md §3).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar, cast

from chalicelib.domain.capabilities import Capable
from chalicelib.domain.errors import ConfigurationError, NotFound
from chalicelib.settings import AdapterConfig, PoolRoutingRule, RoutingRule

Kind = Literal["ims", "dms"]
AdapterT = TypeVar("AdapterT", bound=Capable)
# A backend type's factory, or "module:callable" naming it, imported when an adapter of that type is first needed.
Factory = Callable[[AdapterConfig], AdapterT] | str


class AdapterRegistry(Generic[AdapterT]):
    def __init__(
        self,
        kind: Kind,
        configs: list[AdapterConfig],
        factories: Mapping[str, Factory[AdapterT]],
        routing: list[RoutingRule] | None = None,
        pool_routing: list[PoolRoutingRule] | None = None,
        pool_types: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self._configs = {c.id: c for c in configs}
        self._factories = dict(factories)
        self._adapters: dict[str, AdapterT] = {}
        self._routing = routing or []
        self._pool_routing = pool_routing or []
        self._validate(configs)
        self._validate_pool_routing(pool_types)
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

    def _validate_pool_routing(self, pool_types: frozenset[str]) -> None:
        """`routing.ims` rules may name only backends whose type can create pools (`pool_types`)."""
        for rule in self._pool_routing:
            config = self._configs.get(rule.adapter)
            if config is None:
                raise ConfigurationError(f"routing.ims rule names unknown ims adapter '{rule.adapter}'")
            if config.type not in pool_types:
                raise ConfigurationError(f"routing.ims rule names ims adapter '{rule.adapter}' of type "
                                         f"'{config.type}', which cannot create resource pools")

    @property
    def ids(self) -> list[str]:
        return list(self._configs)

    def get(self, adapter_id: str | None = None) -> AdapterT:
        chosen = adapter_id or self.default_id
        if chosen is None:
            raise NotFound(f"no {self.kind} backend is configured")
        if chosen not in self._configs:
            raise NotFound(f"no {self.kind} backend with id '{chosen}'")
        if chosen not in self._adapters:
            self._adapters[chosen] = self._build(self._configs[chosen])
        return self._adapters[chosen]

    def ids_of_type(self, adapter_type: str) -> list[str]:
        """The configured adapters of one type, in configuration order."""
        return [adapter_id for adapter_id, config in self._configs.items() if config.type == adapter_type]

    def all(self) -> list[AdapterT]:
        return [self.get(adapter_id) for adapter_id in self._configs]

    def _build(self, config: AdapterConfig) -> AdapterT:
        factory = self._factories[config.type]
        if isinstance(factory, str):
            module_name, _, attribute = factory.partition(":")
            imported = getattr(importlib.import_module(module_name), attribute)
            factory = cast(Callable[[AdapterConfig], AdapterT], imported)
        return factory(config)

    def route(
        self, namespace: str | None = None, labels: Mapping[str, str] | None = None, deployment_type: str | None = None,
        package_type: str | None = None,
    ) -> AdapterT:
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

    def route_pool(self, location: str | None, extensions: Mapping[str, Any]) -> str | None:
        """The backend id the first matching `routing.ims` rule names for a new pool, or None (the default)."""
        for rule in self._pool_routing:
            if rule.location is not None and rule.location != location:
                continue
            if rule.location_prefix is not None and not (location or "").startswith(rule.location_prefix):
                continue
            if any(key not in extensions or extensions[key] != value for key, value in rule.extensions.items()):
                continue
            return rule.adapter
        return None
