"""The `redfish` backend against a second Redfish implementation: sushy-tools' `sushy-emulator --fake` (no libvirt,
no OpenStack), with an htpasswd file so it refuses requests without credentials.

What the emulator serves (devtools reference findings, docs/redfish-backend.md "Validation"): Systems with power state
and EthernetInterfaces, a Manager and a Chassis; Memory answers 404, Storage 500 without configuration, and there are
no Processors links, NetworkAdapters, PCIe devices or SessionService. The test asserts each of those facts, so a new
emulator release that serves more (or less) shows up here instead of passing silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.ims.redfish import RedfishInventoryAdapter
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.inventory import ObjectType
from chalicelib.settings import AdapterConfig
from tests.functional.conftest import free_port
from tests.waiting import wait_until

SYSTEMS = {"27946b59-9e44-4fa7-8e91-f3527a1ef094": ("fake-du-1", "On", "00:5c:52:31:3a:9c"),
           "48295861-2522-3561-6729-621118518810": ("fake-cu-1", "Off", "00:5c:52:31:3a:ad")}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("sushy-emulator")
    port = free_port()
    # cost 4: the emulator checks the bcrypt hash on every request, and the default cost makes each take ~0.3 s
    (directory / "htpasswd").write_text(f"admin:{bcrypt.hashpw(b'password', bcrypt.gensalt(4)).decode()}\n")
    fakes = [{"uuid": uuid, "name": name, "power_state": power, "nics": [{"mac": mac, "ip": "192.0.2.10"}]}
             for uuid, (name, power, mac) in SYSTEMS.items()]
    (directory / "emulator.conf").write_text(
        f"SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {port}\n"
        f"SUSHY_EMULATOR_FAKE_DRIVER = True\nSUSHY_EMULATOR_FAKE_SYSTEMS = {fakes!r}\n"
        f"SUSHY_EMULATOR_AUTH_FILE = {str(directory / 'htpasswd')!r}\n")
    binary = shutil.which("sushy-emulator", path=str(Path(sys.executable).parent))
    assert binary, "sushy-emulator is not installed (requirements-dev.txt: sushy-tools)"
    process = subprocess.Popen([binary, "--config", str(directory / "emulator.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        def root_answers() -> bool:
            try:
                return requests.get(f"{url}/redfish/v1/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(root_answers, timeout=30, what="sushy-emulator's service root")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def adapter(url: str, password: str, monkeypatch: pytest.MonkeyPatch) -> RedfishInventoryAdapter:
    monkeypatch.setenv("NETWEAVE_TEST_EMULATOR_PASSWORD", password)
    return RedfishInventoryAdapter(AdapterConfig(id="emulated", type="redfish", options={
        "username": "admin", "passwordEnv": "NETWEAVE_TEST_EMULATOR_PASSWORD", "retryDelaySeconds": 0,
        "endpoints": [{"name": "emulator", "url": url}]}))


def test_the_adapter_maps_what_the_emulator_offers(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = adapter(emulator, "password", monkeypatch)
    objects = reader.read_inventory(InventoryContext(o_cloud_id="oc"))
    reader.close()
    resources = [o.document for o in objects if o.object_type is ObjectType.RESOURCE]
    systems = {d["extensions"]["uuid"]: d for d in resources if "parentId" not in d}
    assert set(systems) == set(SYSTEMS)
    for uuid, (_, power, mac) in SYSTEMS.items():
        system = systems[uuid]
        assert system["extensions"]["powerState"] == power
        assert system["extensions"]["manufacturer"] == "Sushy Emulator"
        assert system["globalAssetId"] == uuid  # no service tag or serial number: the UUID
        # the emulator's gaps are named, not mistaken for a server without memory or disks
        assert system["extensions"]["unreadable"] == ["memory", "storage"]
        [nic] = [d for d in resources if d.get("parentId") == system["resourceId"]]
        assert nic["extensions"]["macAddress"] == mac
    kinds = sorted(d["extensions"].get("component", "system") for d in
                   (o.document for o in objects if o.object_type is ObjectType.RESOURCE_TYPE))
    assert kinds == ["ethernet-interface", "system"]


def test_the_emulator_refuses_wrong_credentials(emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendUnavailable, match="rejected our credentials"):
        adapter(emulator, "wrong", monkeypatch).read_inventory(InventoryContext(o_cloud_id="oc"))
