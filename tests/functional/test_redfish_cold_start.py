"""The `redfish` backend in a cold container (a fresh `Components` on the same tables, as Lambda starts a new one)
with a BMC down, and BMC passwords from SSM or Secrets Manager (moto), against the simulator in its own process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.bootstrap import Components
from chalicelib.domain.inventory import ObjectType
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services.alarm_evaluation import reachability_scope
from chalicelib.settings import Settings, settings_from_environment
from devtools.localstack.provision import provision
from devtools.redfish_sim.process import RedfishSim, start_redfish_sim

PASSWORD_ENV = "NETWEAVE_TEST_REDFISH_COLD_PASSWORD"


@pytest.fixture()
def sim(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedfishSim]:
    monkeypatch.setenv(PASSWORD_ENV, "calvin")
    fleet = start_redfish_sim(servers=5)
    yield fleet
    fleet.stop()


def site(tmp_path: Path, sim: RedfishSim, **credentials: Any) -> Settings:
    """Settings of a gateway whose only IMS backend is two simulated iDRACs, with tables of its own."""
    stage = f"t{uuid.uuid4().hex[:8]}"
    credentials = credentials or {"passwordEnv": PASSWORD_ENV}
    endpoints = [{"name": "du-1", "url": sim.bmcs["7XR11A1"]}, {"name": "cu-1", "url": sim.bmcs["9R750B1"]}]
    config = {"oCloud": {"name": "redfish-site"}, "imsAdapters": [{
        "id": "fleet", "type": "redfish", "default": True,
        "options": {"username": "root", "retryDelaySeconds": 0, "endpoints": endpoints,
                    **{k: v.replace("<stage>", stage) for k, v in credentials.items()}}}]}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    settings = settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage,
                                          "NETWEAVE_GATEWAY_CONFIG": str(tmp_path / "gateway.yaml")})
    provision(settings, boto3.session.Session())
    return settings


def poll(parts: Components) -> dict[str, Any]:
    [report] = [r for r in inventory_handlers.poll_inventory(parts) if r["backend"] == "fleet"]
    return report


def servers(parts: Components) -> dict[str, dict[str, Any]]:
    store = parts.inventory_store
    return {d["extensions"]["serviceTag"]: d for (kind, _), d in store.documents(store.stored_entries("fleet")).items()
            if kind == ObjectType.RESOURCE.value and "parentId" not in d}


def alarm_names(parts: Components) -> list[str]:
    return sorted(str(r.extensions["alarmName"]) for r in parts.alarm_store.open_records("fleet"))


def test_a_cold_container_with_a_bmc_down_serves_the_others_and_keeps_the_down_ones_last_known(
        tmp_path: Path, sim: RedfishSim) -> None:
    settings = site(tmp_path, sim)
    assert poll(Components(settings))["status"] == "changed"
    before = Components(settings).inventory_store.stored_entries("fleet")

    sim.set_down("7XR11A1", True)
    sim.knob("servers/9R750B1/power", {"powerState": "Off"})  # a change on the BMC that still answers
    cold = Components(settings)  # a new container: nothing of du-1 in memory
    report = poll(cold)
    # Served, not "unreachable": cu-1's change arrived, du-1's server only turned unreachable; nothing else moved.
    assert (report["status"], report["created"], report["modified"], report["deleted"]) == ("changed", 0, 2, 0)
    stored = servers(cold)
    assert stored["7XR11A1"]["extensions"]["bmcReachable"] is False
    assert stored["7XR11A1"]["extensions"]["health"] == "OK" and len(stored["7XR11A1"]["elements"]) > 5
    assert stored["9R750B1"]["extensions"]["powerState"] == "Off"
    after = cold.inventory_store.stored_entries("fleet")
    assert set(after) == set(before)  # every component of the down server is still listed
    assert alarm_names(cold) == ["BmcUnreachable"]

    sim.set_down("7XR11A1", False)
    again = Components(settings)
    poll(again)
    assert servers(again)["7XR11A1"]["extensions"]["bmcReachable"] is True
    assert alarm_names(again) == []


def test_the_bmc_password_comes_from_ssm_or_secrets_manager(tmp_path: Path, sim: RedfishSim) -> None:
    settings = site(tmp_path, sim, passwordSsmParameter="/netweave/<stage>/bmc/password")
    stage = settings.stage
    boto3.client("ssm").put_parameter(Name=f"/netweave/{stage}/bmc/password", Value="calvin", Type="SecureString")
    assert poll(Components(settings))["status"] == "changed"
    assert sorted(servers(Components(settings))) == ["7XR11A1", "9R750B1"]

    # A Secrets Manager secret, named through SSM's reference path as the gateway's own secrets are
    other = site(tmp_path, sim, passwordSsmParameter="/aws/reference/secretsmanager/netweave/<stage>/bmc")
    boto3.client("secretsmanager").create_secret(Name=f"netweave/{other.stage}/bmc", SecretString="calvin")
    assert poll(Components(other))["status"] == "changed"
    assert len(servers(Components(other))) == 2


def test_a_missing_password_parameter_is_an_outage_the_smo_is_told_of(tmp_path: Path, sim: RedfishSim) -> None:
    settings = site(tmp_path, sim, passwordSsmParameter="/netweave/<stage>/bmc/none")
    parts = Components(settings)
    report = poll(parts)
    assert report["status"] == "unreachable" and "cannot read SSM parameter" in report["error"]
    assert "calvin" not in report["error"]
    # Nothing was ever stored, so no pool carries a BackendUnreachable alarm yet (docs/alarms.md)
    assert parts.alarm_store.open_records(reachability_scope("fleet")) == []
