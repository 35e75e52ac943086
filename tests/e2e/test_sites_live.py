"""On the running local stack, a v2 SMO reads the pools and resolves each pool's O-Cloud site and location."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.conftest import LocalStack, eventually

pytestmark = pytest.mark.xdist_group("stack")
V2 = "/o2ims-infrastructureInventory/v2"


def test_a_v2_client_resolves_every_pools_site_and_location(stack: LocalStack) -> None:
    with stack.client() as client:
        pools = eventually(lambda: client.get(f"{V2}/resourcePools").json())
        assert pools, "no pool ever appeared"
        for pool in pools:
            assert "globalLocationId" not in pool  # v2: the location is the site's
            site_path = f"{V2}/oCloudSites/{pool['oCloudSiteId']}"
            site = eventually(partial(_found, client, site_path))
            assert pool["resourcePoolId"] in site["resourcePools"]
            reply = client.get(f"{V2}/locations/{quote(site['globalLocationId'], safe='')}")
            assert reply.status_code == 200, reply.text
            assert site["oCloudSiteId"] in reply.json()["oCloudSiteIds"]
        new_york = client.get(f"{V2}/locations/{quote('geo:40.7128,-74.0060', safe='')}").json()
        assert new_york["coordinate"]["coordinates"] == [-74.006, 40.7128]  # config/gateway.yaml's demo location


def _found(client: httpx.Client, path: str) -> Any:
    """The body of a 200, else None (the sites follow the pools by one poll)."""
    reply = client.get(path)
    return reply.json() if reply.status_code == 200 else None
