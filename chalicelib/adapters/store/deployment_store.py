"""Deployments, their operations and revisions in DynamoDB (`resources.DEPLOYMENTS`, keys pk/sk, GSI byStatus).

Item kinds, by partition:
- `Deployment` / <deploymentId>: the wire document (`doc`), `status`, `packageId`, and `activeOperationId` while an
  operation holds the deployment. That attribute is the lock: starting an operation is a conditional write on its
  absence, so two mutating calls can never both be accepted.
- `Name` / <adapter>/<namespace>/<name>: the claim on a release name, written in the same transaction as the
  deployment, so two deployments can never install the same release.
- `Operation` / <operationId>: the operation document; `status` puts operations in `byStatus` (shared with
  deployments' statuses: readers keep only `Operation` items), where the poller finds any whose message was lost.
- `Revisions#<deploymentId>` / <revision, zero-padded>: which package and values each release revision was made of,
  so a rollback restores them on the deployment and history can name packages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.deployments import Deployment, DeploymentExists, Operation, OperationInProgress
from chalicelib.domain.errors import NotFound

DEPLOYMENT, NAME, OPERATION = "Deployment", "Name", "Operation"
TEMPLATE_ID = "deploymentTemplateId"  # extensions member and item attribute: the template a deployment came from
_LOCK = "activeOperationId"
_OWNER = "owner"  # the tenant (docs/o2-conventions.md §6), an attribute beside the document


def _owner(item: dict[str, Any]) -> str | None:
    value = item.get(_OWNER)
    return str(value["S"]) if value else None


def _deployment(item: dict[str, Any]) -> Deployment:
    return Deployment.model_validate(json.loads(item["doc"]["S"])).model_copy(update={"owner": _owner(item)})


def _operation(item: dict[str, Any]) -> Operation:
    return Operation.model_validate(json.loads(item["doc"]["S"])).model_copy(update={"owner": _owner(item)})


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _doc(model: Deployment | Operation) -> str:
    return json.dumps(model.to_wire(), separators=(",", ":"), ensure_ascii=False)


def name_claim(adapter_id: str, namespace: str, name: str) -> str:
    return f"{adapter_id}/{namespace}/{name}"


def _revisions_pk(deployment_id: str) -> str:
    return f"Revisions#{deployment_id}"


class DeploymentStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    # --- items -------------------------------------------------------------------------------------------------------

    def _deployment_item(self, deployment: Deployment) -> dict[str, Any]:
        item = {"pk": _s(DEPLOYMENT), "sk": _s(deployment.deployment_id), "status": _s(deployment.status.value),
                "packageId": _s(deployment.package_id), "updatedAt": _s(deployment.updated_at),
                "doc": _s(_doc(deployment))}
        if deployment.active_operation_id:
            item[_LOCK] = _s(deployment.active_operation_id)
        if deployment.owner is not None:  # written at creation only: later document writes never touch it
            item[_OWNER] = _s(deployment.owner)
        template_id = deployment.extensions.get(TEMPLATE_ID)
        if template_id:  # the template it was made from: a template in use is not deleted or changed
            item[TEMPLATE_ID] = _s(str(template_id))
        return item

    def _operation_put(self, operation: Operation) -> dict[str, Any]:
        item = {"pk": _s(OPERATION), "sk": _s(operation.operation_id), "status": _s(operation.status.value),
                "deploymentId": _s(operation.deployment_id), "doc": _s(_doc(operation))}
        if operation.lease_until is not None:
            item["leaseUntil"] = {"N": str(operation.lease_until)}
        if operation.owner is not None:
            item[_OWNER] = _s(operation.owner)
        return {"Put": {"TableName": self.table, "Item": item}}

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(pk), "sk": _s(sk)}

    # --- deployments -------------------------------------------------------------------------------------------------

    def create(self, deployment: Deployment, operation: Operation) -> None:
        claim = name_claim(deployment.adapter_id, deployment.namespace, deployment.name)
        absent = "attribute_not_exists(pk)"
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table, "ConditionExpression": absent,
                         "Item": {"pk": _s(NAME), "sk": _s(claim), "deploymentId": _s(deployment.deployment_id)}}},
                {"Put": {"TableName": self.table, "Item": self._deployment_item(deployment),
                         "ConditionExpression": absent}},
                self._operation_put(operation),
            ])
        except self.client.exceptions.TransactionCanceledException:
            raise DeploymentExists(
                f"a deployment named '{deployment.name}' already exists in namespace '{deployment.namespace}'"
            ) from None

    def get(self, deployment_id: str) -> Deployment | None:
        item = self.client.get_item(TableName=self.table, Key=self._key(DEPLOYMENT, deployment_id),
                                    ConsistentRead=True).get("Item")
        return _deployment(item) if item else None

    def assign_owner(self, deployment_id: str, owner: str) -> bool:
        """Make `owner` the deployment's tenant; False if there is no such deployment. Its operations follow: while
        the deployment exists, its owner decides who reads them."""
        try:
            self.client.update_item(TableName=self.table, Key=self._key(DEPLOYMENT, deployment_id),
                                    UpdateExpression="SET #o = :o", ConditionExpression="attribute_exists(pk)",
                                    ExpressionAttributeNames={"#o": _OWNER},
                                    ExpressionAttributeValues={":o": _s(owner)})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def page(self, limit: int, start_key: dict[str, Any] | None = None) -> tuple[list[Deployment],
                                                                                 dict[str, Any] | None]:
        query: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk", "Limit": limit,
                                 "ExpressionAttributeValues": {":pk": _s(DEPLOYMENT)}, "ConsistentRead": True}
        if start_key:
            query["ExclusiveStartKey"] = start_key
        reply = self.client.query(**query)
        found = [_deployment(i) for i in reply.get("Items", [])]
        return found, reply.get("LastEvaluatedKey")

    def all(self) -> Iterator[Deployment]:
        start: dict[str, Any] | None = None
        while True:
            found, start = self.page(100, start)
            yield from found
            if not start:
                return

    def uses_package(self, package_id: str) -> bool:
        query: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk", "FilterExpression": "packageId = :p",
            "ExpressionAttributeValues": {":pk": _s(DEPLOYMENT), ":p": _s(package_id)}, "ConsistentRead": True,
            "ProjectionExpression": "sk",
        }
        while True:
            reply = self.client.query(**query)
            if reply.get("Items"):
                return True
            if not reply.get("LastEvaluatedKey"):
                return False
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def using_template(self, template_id: str) -> list[str]:
        """The ids of the deployments made from (or upgraded to) this deployment template."""
        query: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk", "FilterExpression": "#t = :t",
            "ExpressionAttributeNames": {"#t": TEMPLATE_ID},
            "ExpressionAttributeValues": {":pk": _s(DEPLOYMENT), ":t": _s(template_id)}, "ConsistentRead": True,
            "ProjectionExpression": "sk",
        }
        found: list[str] = []
        while True:
            reply = self.client.query(**query)
            found += [item["sk"]["S"] for item in reply.get("Items", [])]
            if not reply.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def _update_deployment(self, deployment: Deployment, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        lock = deployment.active_operation_id
        sets = "#d = :doc, #st = :status, packageId = :pkg, updatedAt = :upd" + (f", {_LOCK} = :lock" if lock else "")
        expression = f"SET {sets}" + ("" if lock else f" REMOVE {_LOCK}")
        attribute_values = {":doc": _s(_doc(deployment)), ":status": _s(deployment.status.value),
                            ":pkg": _s(deployment.package_id), ":upd": _s(deployment.updated_at), **values}
        if lock:
            attribute_values[":lock"] = _s(lock)
        if deployment.extensions.get(TEMPLATE_ID):  # an upgrade may move it to another version of its template
            expression = expression.replace("SET ", f"SET {TEMPLATE_ID} = :tpl, ", 1)
            attribute_values[":tpl"] = _s(str(deployment.extensions[TEMPLATE_ID]))
        return {"Update": {"TableName": self.table, "Key": self._key(DEPLOYMENT, deployment.deployment_id),
                           "UpdateExpression": expression, "ConditionExpression": condition,
                           "ExpressionAttributeNames": {"#d": "doc", "#st": "status"},
                           "ExpressionAttributeValues": attribute_values}}

    def start_operation(self, deployment: Deployment, operation: Operation) -> None:
        """Lock `deployment` for `operation` (its document already names the operation) and record the operation;
        409 if another operation holds the lock, 404 if the deployment is gone."""
        update = self._update_deployment(deployment, f"attribute_exists(pk) AND attribute_not_exists({_LOCK})", {})
        try:
            self.client.transact_write_items(TransactItems=[update, self._operation_put(operation)])
        except self.client.exceptions.TransactionCanceledException:
            current = self.get(deployment.deployment_id)
            if current is None:
                raise NotFound(f"no deployment with id '{deployment.deployment_id}'") from None
            raise OperationInProgress(deployment.deployment_id, current.active_operation_id or "?") from None

    def save_progress(self, deployment: Deployment, operation_id: str) -> bool:
        """Write the deployment while `operation_id` holds it; False if it does not (any more)."""
        update = self._update_deployment(deployment, f"{_LOCK} = :held", {":held": _s(operation_id)})["Update"]
        try:
            self.client.update_item(**update)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish(self, deployment: Deployment, operation: Operation) -> None:
        """Release the lock with the deployment's new state, and record the finished operation, atomically."""
        update = self._update_deployment(deployment, f"{_LOCK} = :held", {":held": _s(operation.operation_id)})
        try:
            self.client.transact_write_items(TransactItems=[update, self._operation_put(operation)])
        except self.client.exceptions.TransactionCanceledException:
            self.save_operation(operation)  # the lock was no longer ours (deployment gone): keep the record

    def remove(self, deployment: Deployment, operation: Operation) -> None:
        """A finished delete: deployment, name claim and revisions go; the operation record stays."""
        claim = name_claim(deployment.adapter_id, deployment.namespace, deployment.name)
        self.client.transact_write_items(TransactItems=[
            {"Delete": {"TableName": self.table, "Key": self._key(DEPLOYMENT, deployment.deployment_id)}},
            {"Delete": {"TableName": self.table, "Key": self._key(NAME, claim)}},
            self._operation_put(operation),
        ])
        history = _revisions_pk(deployment.deployment_id)
        for revision in self.revisions(deployment.deployment_id):
            self.client.delete_item(TableName=self.table, Key=self._key(history, f"{revision['revision']:08d}"))

    def observe(self, deployment: Deployment, read_updated_at: str) -> bool:
        """A poller's write: only if no operation holds the deployment and nothing wrote it since the poller read it
        (every write sets `updatedAt`, so an operation that started and finished meanwhile is detected too)."""
        condition = f"attribute_not_exists({_LOCK}) AND updatedAt = :was"
        update = self._update_deployment(deployment, condition, {":was": _s(read_updated_at)})["Update"]
        try:
            self.client.update_item(**update)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- operations --------------------------------------------------------------------------------------------------

    def get_operation(self, operation_id: str) -> Operation | None:
        item = self.client.get_item(TableName=self.table, Key=self._key(OPERATION, operation_id),
                                    ConsistentRead=True).get("Item")
        return _operation(item) if item else None

    def save_operation(self, operation: Operation) -> None:
        self.client.put_item(**self._operation_put(operation)["Put"])

    def claim_operation(self, operation: Operation, now: int) -> bool:
        """Take `operation` (already marked running, with a lease) if it is queued, or running under an expired
        lease (its worker died); False if another worker holds it or it finished."""
        put = self._operation_put(operation)["Put"]
        put["ConditionExpression"] = "#st = :queued OR (#st = :running AND leaseUntil < :now)"
        put["ExpressionAttributeNames"] = {"#st": "status"}
        put["ExpressionAttributeValues"] = {":queued": _s("queued"), ":running": _s("running"),
                                            ":now": {"N": str(now)}}
        try:
            self.client.put_item(**put)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def operations_in(self, status: str) -> list[tuple[Operation, int | None]]:
        """Every operation with `status`, with its lease (epoch seconds) where one was taken."""
        query: dict[str, Any] = {"TableName": self.table, "IndexName": "byStatus", "KeyConditionExpression": "#st = :s",
                                 "ExpressionAttributeNames": {"#st": "status"},
                                 "ExpressionAttributeValues": {":s": _s(status)}}
        found: list[tuple[Operation, int | None]] = []
        while True:
            reply = self.client.query(**query)
            found.extend((_operation(i),
                          int(i["leaseUntil"]["N"]) if "leaseUntil" in i else None)
                         for i in reply.get("Items", []) if i["pk"]["S"] == OPERATION)
            if not reply.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def queued_operations(self) -> list[Operation]:
        return [operation for operation, _ in self.operations_in("queued")]

    # --- revisions ---------------------------------------------------------------------------------------------------

    def record_revision(self, deployment_id: str, revision: int, package_id: str, package_version: str,
                        values: dict[str, Any], operation_id: str) -> None:
        record = {"revision": revision, "packageId": package_id, "packageVersion": package_version,
                  "values": values, "operationId": operation_id, "recordedAt": int(time.time())}
        self.client.put_item(TableName=self.table, Item={
            "pk": _s(_revisions_pk(deployment_id)), "sk": _s(f"{revision:08d}"),
            "doc": _s(json.dumps(record, separators=(",", ":"), ensure_ascii=False))})

    def revisions(self, deployment_id: str) -> list[dict[str, Any]]:
        """Every recorded revision, oldest first."""
        query: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                 "ExpressionAttributeValues": {":pk": _s(_revisions_pk(deployment_id))},
                                 "ConsistentRead": True}
        found: list[dict[str, Any]] = []
        while True:
            reply = self.client.query(**query)
            found.extend(json.loads(i["doc"]["S"]) for i in reply.get("Items", []))
            if not reply.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


START_KEY_ATTRIBUTES = frozenset({"pk", "sk"})  # of start_key_after's keys


def start_key_after(deployment: Deployment) -> dict[str, Any]:
    return {"pk": _s(DEPLOYMENT), "sk": _s(deployment.deployment_id)}
