"""API overhead (issue 20): a page of 100 out of 10,000 resources through the API function's handler vs the bare
boto3 query for the same page, both against devtools/dynamodb_responder.py, which answers the same query with the same
bytes and does no work of its own. What differs is netweave's own work: parsing the API Gateway event, the RS256
token checked against the JWKS (keys cached after the first request), the marker, the query's parameters, turning
100 items into the wire JSON, logs and the metric. Target: the handler costs at most 1.5 x the bare query.

    .venv/bin/python bench/api_overhead.py [--resources 10000] [--samples 1000] [--quick]

The handler is the Lambda entry point itself (app.py's Chalice app called with an API Gateway REST proxy event and
a Lambda context), in this process, kept warm as Lambda keeps a container; the responder runs in a process of its
own, so `time.process_time()` here counts only the client's CPU. Both sides talk HTTP to it on loopback with kept-
alive connections (AWS: HTTPS; TLS would add the same cost to both). The handler's logs and metrics (Lambda writes
them to stdout, CloudWatch reads them) go to /dev/null while measuring. Prints figures; never fails on a target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (`make bench`)

from bench.common import IdentityProvider, Responder, percentile, start_responder, stdout_to  # noqa: E402
from devtools.dynamodb_responder import PARENT_INDEX, POOL_ID, resource_id  # noqa: E402

TARGET_RATIO = 1.5
PAGE = 100
INVENTORY = "/o2ims-infrastructureInventory/v1"
ROUTE = f"{INVENTORY}/resourcePools/{{resourcePoolId}}/resources"
# what .chalice/config.json gives every function
LAMBDA_ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "netweave", "POWERTOOLS_METRICS_NAMESPACE": "netweave",
                      "POWERTOOLS_LOG_LEVEL": "INFO"}


@dataclass
class Sample:
    wall: float
    cpu: float


def timed(call: Callable[..., Any], *args: Any) -> Sample:
    wall, cpu = time.perf_counter(), time.process_time()
    call(*args)
    return Sample(time.perf_counter() - wall, time.process_time() - cpu)


@contextmanager
def stdout_discarded() -> Iterator[None]:
    """The handler's log lines and EMF metrics, written as in Lambda, but not onto the bench's output."""
    with open(os.devnull, "w") as null, stdout_to(null):
        yield


class Sides:
    """The two clients of one page: the bare boto3 query and the API function's handler."""

    def __init__(self, responder: Responder, provider: IdentityProvider, resources: int) -> None:
        import boto3

        import app
        from chalicelib.adapters.store.inventory_store import StoredObject, start_key_after
        from chalicelib.domain.inventory import ObjectType
        from chalicelib.domain.paging import MarkerCodec
        from chalicelib.resources import INVENTORY as TABLE
        from chalicelib.settings import settings_from_environment
        from devtools.lambda_sim.runtime import Context

        settings = settings_from_environment()
        before_middle = StoredObject(ObjectType.RESOURCE.value, resource_id(resources // 2 - 1), "", {}, POOL_ID)
        self.start_key = start_key_after(before_middle, by_parent=True)
        codec = MarkerCodec(settings.marker_key(lambda _: responder.marker_secret))
        self.marker = codec.encode(f"inventory/{ObjectType.RESOURCE.value}/{POOL_ID}", self.start_key)
        self.table = settings.table_name(TABLE)
        self.client = boto3.session.Session().client("dynamodb")
        self.handler, self.context = app.app, Context
        self.token = provider.token()

    def bare(self) -> Any:
        return self.client.query(TableName=self.table, IndexName=PARENT_INDEX, Limit=PAGE,
                                 KeyConditionExpression="parentKey = :p",
                                 ExpressionAttributeValues={":p": {"S": POOL_ID}}, ExclusiveStartKey=self.start_key)

    def event(self) -> dict[str, Any]:
        """What API Gateway hands the function (built outside the clock: API Gateway's work, not netweave's)."""
        from devtools.lambda_sim.package import api_event

        return api_event("GET", f"{INVENTORY}/resourcePools/{POOL_ID}/resources", ROUTE,
                         headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                         query={"limit": [str(PAGE)], "nextpage_opaque_marker": [self.marker]})

    def api(self, event: dict[str, Any]) -> Any:
        return self.handler(event, self.context(28_000))


def check(sides: Sides, resources: int) -> None:
    """Both sides read the same page: the 100 resources from the middle of the pool."""
    import json

    wanted = [resource_id(i) for i in range(resources // 2, resources // 2 + PAGE)]
    bare = [item["sk"]["S"] for item in sides.bare()["Items"]]
    with stdout_discarded():
        reply = sides.api(sides.event())
    assert reply["statusCode"] == 200, reply
    served = [item["resourceId"] for item in json.loads(reply["body"])]
    assert bare == served == wanted, (bare[:3], served[:3])


def measure(sides: Sides, samples: int) -> tuple[list[Sample], list[Sample]]:
    """Interleaved, the order swapped each round, so drift in the machine's load hits both sides alike."""
    bare: list[Sample] = []
    api: list[Sample] = []
    with stdout_discarded():
        for round_ in range(samples):
            event = sides.event()
            if round_ % 2:
                bare.append(timed(sides.bare))
                api.append(timed(sides.api, event))
            else:
                api.append(timed(sides.api, event))
                bare.append(timed(sides.bare))
    return bare, api


def figures(samples: list[Sample]) -> dict[str, float]:
    walls, cpus = [s.wall * 1000 for s in samples], [s.cpu * 1000 for s in samples]
    return {"wall p50": statistics.median(walls), "wall p99": percentile(walls, 0.99),
            "CPU p50": statistics.median(cpus), "CPU p99": percentile(cpus, 0.99)}


def report(bare: list[Sample], api: list[Sample], resources: int) -> None:
    rows = {"bare boto3 query": figures(bare), "through the API handler": figures(api)}
    print(f"page of {PAGE} out of {resources} resources (middle of the pool), {len(bare)} samples each, "
          f"ms per request:")
    print(f"  {'':<26}" + "".join(f"{name:>10}" for name in rows["bare boto3 query"]))
    for side, values in rows.items():
        print(f"  {side:<26}" + "".join(f"{value:>10.2f}" for value in values.values()))
    ratios = {name: rows["through the API handler"][name] / rows["bare boto3 query"][name]
              for name in rows["bare boto3 query"]}
    print(f"  {'ratio handler / bare':<26}" + "".join(f"{value:>10.2f}" for value in ratios.values()))
    own = statistics.median(s.wall for s in api) - statistics.median(s.wall for s in bare)
    print(f"  netweave's own work per request (p50 wall, handler minus bare): {own * 1000:.2f} ms")
    for name in ("wall p50", "CPU p50"):
        verdict = "met" if ratios[name] <= TARGET_RATIO else "not met"
        print(f"  target {name} ratio <= {TARGET_RATIO}: {verdict} ({ratios[name]:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="1,000 resources, 30 samples (CI)")
    args = parser.parse_args(argv)
    resources, samples = (1_000, 30) if args.quick else (args.resources, args.samples)
    with tempfile.TemporaryDirectory(prefix="netweave-api-bench-") as scratch:
        provider = IdentityProvider(Path(scratch))
        responder = start_responder(resources, provider)
        try:
            os.environ.update({**LAMBDA_ENVIRONMENT, **responder.environment()})
            print(f"netweave API overhead, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; DynamoDB, SSM and "
                  f"the JWKS: devtools/dynamodb_responder.py on {responder.url}")
            sides = Sides(responder, provider, resources)
            check(sides, resources)
            measure(sides, 20)  # warm-up, discarded: the first request builds the clients and reads the keys
            report(*measure(sides, samples), resources)
        finally:
            responder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
