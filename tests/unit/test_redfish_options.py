"""What an operator may write in a `redfish` backend's options: mistakes are refused when the gateway starts, with
the backend named, and nothing connects to a BMC before a poll."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.ims.redfish import RedfishInventoryAdapter
from chalicelib.domain.errors import ConfigurationError
from chalicelib.settings import AdapterConfig

ENDPOINT = {"name": "du-1", "url": "https://10.20.0.11"}


def build(**options: Any) -> RedfishInventoryAdapter:
    return RedfishInventoryAdapter(AdapterConfig(id="bare-metal", type="redfish", options=options))


def test_a_valid_configuration_builds_without_touching_a_bmc() -> None:
    adapter = build(endpoints=[ENDPOINT], username="svc", passwordEnv="BMC_PASSWORD",
                    pools=[{"name": "core", "dell": {"SystemGeneration": "16G Monolithic"}}])
    assert adapter.options.verify_tls is True  # TLS verification is on unless the operator turns it off
    [pool] = adapter.settings_pools
    assert dict(pool.match) == {"Oem/Dell/DellSystem/SystemGeneration": "16G Monolithic"}


@pytest.mark.parametrize(("options", "complaint"), [
    ({}, "endpoints"),
    ({"endpoints": [ENDPOINT, ENDPOINT]}, "unique"),
    ({"endpoints": [{"name": "du-1", "url": "10.20.0.11"}]}, "url"),
    ({"endpoints": [ENDPOINT], "pools": [{"name": "empty"}]}, "needs `systems`, `match` or `dell`"),
    ({"endpoints": [ENDPOINT], "pools": [{"name": "du pool", "systems": ["X"]}]}, "name"),
    ({"endpoints": [ENDPOINT], "password": "in-the-file"}, "password"),  # never in gateway.yaml
    ({"endpoints": [ENDPOINT], "serverSideRetries": 0}, "serverSideRetries"),
    ({"endpoints": [ENDPOINT], "events": {"destination": "https://o2.example.net/ops/redfish-events/other",
                                          "tokenEnv": "T"}}, "must end with /ops/redfish-events/bare-metal"),
    ({"endpoints": [ENDPOINT], "events": {"destination": "https://o2.example.net/ops/redfish-events/bare-metal"}},
     "exactly one of `tokenEnv` and `tokenSsmParameter`"),
])
def test_mistakes_are_refused_naming_the_backend(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match="bare-metal") as error:
        build(**options)
    assert complaint in str(error.value)
