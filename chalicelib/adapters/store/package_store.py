"""Deployment packages: metadata in DynamoDB (`resources.PACKAGES`), chart archives in S3 (`resources.PACKAGES_BUCKET`).

Archives are content-addressed (`charts/sha256/<hex>.tgz`), so writing one twice is harmless, and writing it before
the metadata means a failed metadata write leaves at worst an unreferenced object under its own digest — never a
package whose archive is missing.

A package item is keyed by its id; a marker item keyed `dedupe#<hash of name, version>` is written in the same
transaction, both conditional on not existing, so two packages with one name and version can never both exist,
however many uploads race. Markers carry no `name`, so they stay out of the `byName` index.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.domain.packages import DeploymentPackage, DuplicatePackage

_DEDUPE = "dedupe#"
_OWNER = "owner"  # the uploader's tenant, beside the document (docs/o2-conventions.md §6)
ARCHIVE_CONTENT_TYPE = "application/gzip"


CHART_INDEX_KEY = "charts/index.yaml"  # the Helm repository index of the archives (see domain/chart_index.py)
INDEX_CONTENT_TYPE = "application/x-yaml"


def archive_key(digest: str) -> str:
    return f"charts/sha256/{digest}.tgz"


def dedupe_key(name: str, version: str) -> str:
    return _DEDUPE + hashlib.sha256(json.dumps([name, version]).encode()).hexdigest()


class PackageStore:
    def __init__(self, dynamodb_client: Any, s3_client: Any, table_name: str, bucket_name: str) -> None:
        self.client = dynamodb_client
        self.s3 = s3_client
        self.table = table_name
        self.bucket = bucket_name

    def put_archive(self, digest: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=archive_key(digest), Body=data, ContentType=ARCHIVE_CONTENT_TYPE)

    def read_archive(self, digest: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=archive_key(digest))["Body"].read()
        return body

    def delete_archive(self, digest: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=archive_key(digest))

    def put_index(self, text: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=CHART_INDEX_KEY, Body=text.encode(),
                           ContentType=INDEX_CONTENT_TYPE, CacheControl="no-cache")

    def read_index(self) -> str | None:
        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket, Key=CHART_INDEX_KEY)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return body.decode()

    def all_packages(self) -> list[DeploymentPackage]:
        packages: list[DeploymentPackage] = []
        start: dict[str, Any] | None = None
        while True:
            page, start = self.page(500, start)
            packages.extend(page)
            if start is None:
                return packages

    def create(self, package: DeploymentPackage) -> None:
        absent = "attribute_not_exists(packageId)"
        marker = {"packageId": {"S": dedupe_key(package.name, package.version)}, "target": {"S": package.package_id}}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": _item(package), "ConditionExpression": absent}},
                    {"Put": {"TableName": self.table, "Item": marker, "ConditionExpression": absent}},
                ]
            )
        except self.client.exceptions.TransactionCanceledException:
            raise _duplicate(package.name, package.version) from None

    def find_by_name(self, name: str, version: str) -> DeploymentPackage | None:
        reply = self.client.query(
            TableName=self.table,
            IndexName="byName",
            KeyConditionExpression="#n = :n AND #v = :v",
            ExpressionAttributeNames={"#n": "name", "#v": "version"},
            ExpressionAttributeValues={":n": {"S": name}, ":v": {"S": version}},
            Limit=1,
        )
        items = reply.get("Items", [])
        return _package(items[0]) if items else None

    def get(self, package_id: str) -> DeploymentPackage | None:
        if package_id.startswith(_DEDUPE):
            return None
        item = self.client.get_item(
            TableName=self.table, Key={"packageId": {"S": package_id}}, ConsistentRead=True
        ).get("Item")
        return _package(item) if item else None

    def delete(self, package: DeploymentPackage) -> None:
        self.client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self.table, "Key": {"packageId": {"S": package.package_id}}}},
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"packageId": {"S": dedupe_key(package.name, package.version)}},
                    }
                },
            ]
        )

    def assign_owner(self, package_id: str, owner: str) -> bool:
        """Make `owner` the package's tenant; False if there is no such package."""
        if package_id.startswith(_DEDUPE):
            return False
        try:
            self.client.update_item(TableName=self.table, Key={"packageId": {"S": package_id}},
                                    UpdateExpression="SET #o = :o", ConditionExpression="attribute_exists(packageId)",
                                    ExpressionAttributeNames={"#o": _OWNER},
                                    ExpressionAttributeValues={":o": {"S": owner}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def page(
        self, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[DeploymentPackage], dict[str, Any] | None]:
        """One Scan page of packages (markers skipped), and where the next page starts. A Scan, not a Query: the
        collection has no common partition, and package counts stay small (charts, not releases)."""
        scan: dict[str, Any] = {"TableName": self.table, "Limit": limit, "ConsistentRead": True}
        if start_key:
            scan["ExclusiveStartKey"] = start_key
        reply = self.client.scan(**scan)
        packages = [_package(i) for i in reply.get("Items", []) if not i["packageId"]["S"].startswith(_DEDUPE)]
        return packages, reply.get("LastEvaluatedKey")


START_KEY_ATTRIBUTES = frozenset({"packageId"})  # of start_key_after's keys


def start_key_after(package: DeploymentPackage) -> dict[str, Any]:
    return {"packageId": {"S": package.package_id}}


def _duplicate(name: str, version: str) -> DuplicatePackage:
    return DuplicatePackage(f"a deployment package named '{name}' with version '{version}' already exists")


def _item(package: DeploymentPackage) -> dict[str, Any]:
    item = {
        "packageId": {"S": package.package_id},
        "name": {"S": package.name},
        "version": {"S": package.version},
        "doc": {"S": json.dumps(package.to_wire(), separators=(",", ":"))},
    }
    if package.owner is not None:
        item[_OWNER] = {"S": package.owner}
    return item


def _package(item: dict[str, Any]) -> DeploymentPackage:
    owner = item[_OWNER]["S"] if _OWNER in item else None
    return DeploymentPackage.model_validate(json.loads(item["doc"]["S"])).model_copy(update={"owner": owner})
