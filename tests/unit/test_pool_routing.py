"""IMS routing (docs/architecture.md §3): which backend creates a resource pool, and the rules checked at load time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.ims.port import PoolRequest
from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.bootstrap import IMS_ADAPTER_TYPES, IMS_POOL_TYPES
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BadRequest, ConfigurationError
from chalicelib.services.resource_pools import choose_backend
from chalicelib.settings import AdapterConfig, GatewayConfig, PoolRoutingRule, load_gateway_config


@dataclass
class FakeBackend:
    adapter_id: str
    capabilities: frozenset[Capability]


def _fake(config: AdapterConfig) -> FakeBackend:
    return FakeBackend(config.id, frozenset({Capability.INVENTORY}))


CONFIGS = [AdapterConfig(id="cluster", type="kubernetes", default=True), AdapterConfig(id="edge-aws", type="aws"),
           AdapterConfig(id="core-aws", type="aws")]
RULES: list[dict[str, Any]] = [
    {"adapter": "edge-aws", "locationPrefix": "edge-"},
    {"adapter": "core-aws", "extensions": {"cpuPinning": True}},
    {"adapter": "core-aws", "location": "core-site-1"},
]


def registry(rules: list[dict[str, Any]]) -> AdapterRegistry[Any]:
    parsed = [PoolRoutingRule.model_validate(rule) for rule in rules]
    return AdapterRegistry("ims", CONFIGS, {"kubernetes": _fake, "aws": _fake}, pool_routing=parsed,
                           pool_types=IMS_POOL_TYPES)


@pytest.mark.parametrize(("location", "extensions", "backend", "chosen"), [
    pytest.param("edge-site-1", {"cpuPinning": True}, None, "edge-aws", id="location-prefix-first-match-wins"),
    pytest.param("core-site-2", {"cpuPinning": True}, None, "core-aws", id="extension-value"),
    pytest.param("core-site-2", {"cpuPinning": False}, None, None, id="extension-value-differs-default"),
    pytest.param("core-site-1", {}, None, "core-aws", id="exact-location"),
    pytest.param(None, {}, None, None, id="no-location-default"),
    pytest.param("edge-site-1", {"imsAdapter": "core-aws"}, None, "core-aws", id="extensions-imsAdapter-wins"),
    pytest.param("edge-site-1", {}, "cluster", "cluster", id="backend-field-wins"),
])
def test_a_pool_goes_to_the_named_backend_else_the_first_matching_rule_else_the_default(
        location: str | None, extensions: dict[str, Any], backend: str | None, chosen: str | None) -> None:
    request = PoolRequest(name="p", location=location, extensions=extensions)
    assert choose_backend(registry(RULES), request, backend) == chosen


def test_an_imsAdapter_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"extensions\.imsAdapter"):
        choose_backend(registry(RULES), PoolRequest(name="p", extensions={"imsAdapter": 7}), None)


def test_rules_naming_an_unknown_backend_or_one_that_cannot_create_pools_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown ims adapter 'nope'"):
        registry([{"adapter": "nope", "locationPrefix": "x"}])
    with pytest.raises(ConfigurationError, match="'cluster' of type 'kubernetes', which cannot create"):
        registry([{"adapter": "cluster", "locationPrefix": "x"}])


def test_the_seed_layout_routing_ims_and_dms_side_by_side(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("routing:\n  ims:\n    - {adapter: edge-aws, locationPrefix: edge-}\n"
                    "  dms:\n    - {adapter: argocd, deploymentType: gitops}\n")
    gateway = load_gateway_config(path, {})
    assert [(r.adapter, r.location_prefix) for r in gateway.ims_routing] == [("edge-aws", "edge-")]
    assert [r.adapter for r in gateway.routing] == ["argocd"]
    with pytest.raises(ValueError, match="locationprefix"):
        GatewayConfig.model_validate({"routing": {"ims": [{"adapter": "a", "locationprefix": "x"}]}})


def test_the_pool_types_table_matches_the_backends_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    """IMS_POOL_TYPES lets the registry check rules without building a backend: it must say what they declare."""
    import importlib

    required = {  # options a backend cannot lack
        "redfish": {"endpoints": [{"name": "bmc", "url": "https://bmc.example"}]},
        "dtias": {"baseUrl": "https://dtias.example", "usernameEnv": "U", "passwordEnv": "P"},
    }
    for backend_type, factory in IMS_ADAPTER_TYPES.items():
        module, _, name = factory.partition(":")
        config = AdapterConfig(id="x", type=backend_type, options=required.get(backend_type, {}))
        adapter = getattr(importlib.import_module(module), name)(config)
        assert (Capability.POOL_MANAGEMENT in adapter.capabilities) == (backend_type in IMS_POOL_TYPES)


def test_the_shipped_configuration_routes_edge_locations_to_the_aws_backend() -> None:
    gateway = load_gateway_config(None, {})
    reg: AdapterRegistry[Any] = AdapterRegistry("ims", gateway.ims_adapters, {t: _fake for t in IMS_ADAPTER_TYPES},
                                                pool_routing=gateway.ims_routing, pool_types=IMS_POOL_TYPES)
    assert choose_backend(reg, PoolRequest(name="p", location="edge-site-1"), None) == "edge-aws"
    assert choose_backend(reg, PoolRequest(name="p", location="dc-newark-1"), None) == "dc-fleet"
