"""A DynamoDB that does no work: a loopback HTTP server answering the inventory table's Query and GetItem (and SSM
GetParameter, and a JWKS document) from items rendered once at start, so a bench measures the client, not a database.

    .venv/bin/python -m devtools.dynamodb_responder --resources 10000 [--jwks FILE] [--parameter NAME=VALUE ...]

prints `PORT <n>` once it listens, then serves until it is killed. Items are the ones the inventory poll writes
(`chalicelib/adapters/store/inventory_store.py`): one resource pool and its resources, in a process of its own, so the
CPU a bench reads with `time.process_time()` is the client's alone. The same request always gets the same bytes (each
page is rendered once and cached), which is what lets a bench compare two clients: only their own work differs.
"""

from __future__ import annotations

import argparse
import bisect
import json
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

POOL_ID = "pool-bench"
BACKEND = "bench-cluster"
PARENT_INDEX = "byParent"


def resource_id(number: int) -> str:
    return f"res-{number:06d}"


def inventory_items(resources: int) -> list[dict[str, Any]]:
    """The pool and its `resources` resources as DynamoDB items, written the way the poll writes them."""
    from chalicelib.adapters.store.inventory_store import object_item
    from chalicelib.domain.events import ChangeType
    from chalicelib.domain.inventory import Resource, ResourcePool, inventory_object
    from chalicelib.domain.snapshot import Change

    pool = ResourcePool(resource_pool_id=POOL_ID, name="bench", description="bench pool", o_cloud_id="o",
                        global_location_id="g", location="l")
    objects = [inventory_object(pool)] + [
        inventory_object(Resource(resource_id=resource_id(i), resource_pool_id=POOL_ID, resource_type_id="t",
                                  global_asset_id=f"asset-{i}", description=f"server {i}",
                                  extensions={"labels": {"rack": f"r{i % 40}", "zone": "a"}, "cpu": "64"}))
        for i in range(resources)
    ]
    # the store's own item writer: the point is to serve byte for byte what the poll stores
    return [object_item(BACKEND, Change(ChangeType.CREATED, (o.object_type.value, o.object_id), o, None), 1)
            for o in objects]


@dataclass
class Partition:
    """One partition (of the table or of the byParent index): its items' sort keys and their rendered JSON."""

    keys: list[str] = field(default_factory=list)
    rendered: list[bytes] = field(default_factory=list)


@dataclass
class Responder:
    table: dict[str, Partition]
    parents: dict[str, Partition]
    by_key: dict[tuple[str, str], bytes]
    parameters: dict[str, str]
    jwks: bytes
    pages: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, items: list[dict[str, Any]], parameters: dict[str, str], jwks: bytes) -> Responder:
        table: dict[str, Partition] = {}
        parents: dict[str, Partition] = {}
        by_key = {}
        for item in sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"])):
            rendered = json.dumps(item, separators=(",", ":")).encode()
            by_key[(item["pk"]["S"], item["sk"]["S"])] = rendered
            targets = [table.setdefault(item["pk"]["S"], Partition())]
            if "parentKey" in item:
                targets.append(parents.setdefault(item["parentKey"]["S"], Partition()))
            for partition in targets:
                partition.keys.append(item["sk"]["S"])
                partition.rendered.append(rendered)
        return cls(table, parents, by_key, parameters, jwks)

    def answer(self, target: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        if target == "DynamoDB_20120810.Query":
            # the same query gets the same bytes, rendered once (whatever the order its client wrote the keys in)
            canonical = json.dumps(request, sort_keys=True)
            if canonical not in self.pages:
                self.pages[canonical] = self._query(request)
            return 200, self.pages[canonical]
        if target == "DynamoDB_20120810.GetItem":
            found = self.by_key.get((request["Key"]["pk"]["S"], request["Key"]["sk"]["S"]))
            return 200, b'{"Item":' + found + b"}" if found else b"{}"
        if target == "AmazonSSM.GetParameter" and request["Name"] in self.parameters:
            return 200, json.dumps({"Parameter": {
                "Name": request["Name"], "Type": "SecureString", "Value": self.parameters[request["Name"]],
                "Version": 1, "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{request['Name']}"}}).encode()
        return 400, json.dumps({"__type": "com.amazon.coral.validate#ValidationException",
                                "message": f"the bench responder does not answer {target}"}).encode()

    def _query(self, request: dict[str, Any]) -> bytes:
        """A key-condition query `<key> = :p` in sort-key order from an exclusive start key, up to Limit items."""
        by_parent = request.get("IndexName") == PARENT_INDEX
        value = next(iter(request["ExpressionAttributeValues"].values()))["S"]
        partition = (self.parents if by_parent else self.table).get(value, Partition())
        start = request.get("ExclusiveStartKey")
        first = bisect.bisect_right(partition.keys, start["sk"]["S"]) if start else 0
        last = min(len(partition.keys), first + int(request.get("Limit", 1_000_000)))
        page = b'{"Count":%d,"Items":[%s]' % (last - first, b",".join(partition.rendered[first:last]))
        if last < len(partition.keys):
            key: dict[str, Any] = {"pk": json.loads(partition.rendered[last - 1])["pk"],
                                   "sk": {"S": partition.keys[last - 1]}}
            if by_parent:
                key["parentKey"] = {"S": value}
            page += b',"LastEvaluatedKey":' + json.dumps(key, separators=(",", ":")).encode()
        return page + b',"ScannedCount":%d}' % (last - first)


def handler_for(responder: Responder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: botocore and PyJWT reuse their connections, as against AWS
        disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stall on either side

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, reply = responder.answer(self.headers.get("X-Amz-Target", ""), body)
            content_type = "application/x-amz-json-1.1" if "SSM" in self.headers.get("X-Amz-Target", "") \
                else "application/x-amz-json-1.0"
            self._send(status, reply, content_type, {"x-amz-crc32": str(zlib.crc32(reply))})

        def do_GET(self) -> None:
            self._send(200, responder.jwks, "application/json", {})

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)),
                                "x-amzn-RequestId": uuid.uuid4().hex, **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--jwks", type=Path, help="the JSON document to answer every GET with")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="an SSM parameter to answer GetParameter with (repeatable)")
    args = parser.parse_args(argv)
    parameters = dict(item.split("=", 1) for item in args.parameter)
    jwks = args.jwks.read_bytes() if args.jwks else b'{"keys":[]}'
    responder = Responder.of(inventory_items(args.resources), parameters, jwks)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(responder))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
