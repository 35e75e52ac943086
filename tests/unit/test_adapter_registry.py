"""Choosing a backend per request, from configuration, and refusing what a backend cannot do."""

from dataclasses import dataclass

import pytest

from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.domain.capabilities import Capability, require
from chalicelib.domain.errors import CapabilityNotSupported, ConfigurationError, NotFound
from chalicelib.settings import AdapterConfig, GatewayConfig, RoutingRule


@dataclass
class FakeAdapter:
    adapter_id: str
    capabilities: frozenset[Capability]


built: list[str] = []


def helm_like(config: AdapterConfig) -> FakeAdapter:
    built.append(config.id)
    return FakeAdapter(config.id, frozenset({Capability.DEPLOY, Capability.ROLLBACK}))


def gitops_like(config: AdapterConfig) -> FakeAdapter:
    return FakeAdapter(config.id, frozenset({Capability.DEPLOY}))


FACTORIES = {"helm": helm_like, "argocd": gitops_like}


def registry(routing: list[RoutingRule] | None = None) -> AdapterRegistry[FakeAdapter]:
    configs = [AdapterConfig(id="helm-a", type="helm"), AdapterConfig(id="argo", type="argocd", default=True)]
    return AdapterRegistry("dms", configs, FACTORIES, routing)


def test_default_backend_is_the_one_marked_default() -> None:
    assert registry().get().adapter_id == "argo"


def test_adapters_are_built_once_and_only_when_needed() -> None:
    built.clear()
    reg = registry()
    assert built == []
    reg.get("helm-a")
    reg.get("helm-a")
    assert built == ["helm-a"]


def test_unknown_backend_id_is_not_found() -> None:
    with pytest.raises(NotFound, match="nope"):
        registry().get("nope")


def test_routing_rules_pick_by_namespace_labels_and_type_first_match_wins() -> None:
    rules = [
        RoutingRule(adapter="helm-a", namespace="oran-du", labels={"tier": "edge"}),
        RoutingRule(adapter="helm-a", deployment_type="helm"),
    ]
    reg = registry(rules)
    assert reg.route(namespace="oran-du", labels={"tier": "edge"}).adapter_id == "helm-a"
    assert reg.route(namespace="oran-du", labels={"tier": "core"}).adapter_id == "argo"
    assert reg.route(deployment_type="helm").adapter_id == "helm-a"
    assert reg.route().adapter_id == "argo"


def test_missing_capability_is_501() -> None:
    with pytest.raises(CapabilityNotSupported, match="rollback") as raised:
        require(registry().get("argo"), Capability.ROLLBACK)
    assert raised.value.status == 501
    require(registry().get("helm-a"), Capability.ROLLBACK)


@pytest.mark.parametrize(
    ("configs", "rules", "message"),
    [
        ([AdapterConfig(id="x", type="flux")], [], "unknown type 'flux'"),
        ([AdapterConfig(id="x", type="helm"), AdapterConfig(id="x", type="helm")], [], "unique"),
        (
            [AdapterConfig(id="a", type="helm", default=True), AdapterConfig(id="b", type="helm", default=True)],
            [],
            "at most one",
        ),
        ([AdapterConfig(id="a", type="helm")], [RoutingRule(adapter="ghost")], "unknown dms adapter 'ghost'"),
    ],
)
def test_configuration_mistakes_are_reported_at_load_time(configs: list[AdapterConfig], rules: list[RoutingRule],
                                                           message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AdapterRegistry("dms", configs, FACTORIES, rules)


def test_registry_from_gateway_config_and_lazy_import_by_dotted_name() -> None:
    gateway = GatewayConfig.model_validate({"imsAdapters": [{"id": "one", "type": "fake"}]})
    reg: AdapterRegistry[FakeAdapter] = AdapterRegistry("ims", gateway.ims_adapters,
                                                        {"fake": "tests.unit.test_adapter_registry:helm_like"})
    assert reg.get().adapter_id == "one"
    assert reg.ids == ["one"]
