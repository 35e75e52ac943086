"""Deployment templates in DynamoDB (`resources.DEPLOYMENT_TEMPLATES`, key deploymentTemplateId; docs/dms.md,
"Deployment templates").

Besides the templates (server-assigned UUIDs), `#name#<name>#<version>` items make name + version unique: written
in the same transaction as the template, conditional on not existing, so two concurrent POSTs of one name and
version cannot both land; `#owner#<sha256 of the tenant>` items count each tenant's templates for its quota.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.store.owner_counts import count_update, counter_id, failed_at
from chalicelib.domain.deployment_templates import DeploymentTemplate
from chalicelib.domain.errors import Conflict, Forbidden

_KEY = "deploymentTemplateId"
_OWNER = "#owner#"
_NAME = "#name#"
_COUNTER = 2  # the owner counter's place in a create or delete transaction


class DeploymentTemplateExists(Conflict):
    slug = "deployment-template-exists"


class DeploymentTemplateQuotaExceeded(Forbidden):
    slug = "quota-exceeded"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def name_key(name: str, version: str) -> str:
    return f"{_NAME}{name}#{version}"


def owner_key(owner: str) -> str:
    return counter_id(_OWNER, owner)


class DeploymentTemplateStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    def _key(self, key: str) -> dict[str, Any]:
        return {_KEY: _s(key)}

    def _claim(self, template: DeploymentTemplate) -> dict[str, Any]:
        return {"Put": {"TableName": self.table, "ConditionExpression": f"attribute_not_exists({_KEY})",
                        "Item": {_KEY: _s(name_key(template.name, template.version)),
                                 "target": _s(template.deployment_template_id)}}}

    def create(self, template: DeploymentTemplate, max_per_owner: int | None) -> None:
        """Store it unless its name + version exist (409) or its owner holds `max_per_owner` templates (403)."""
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": _item(template),
                     "ConditionExpression": f"attribute_not_exists({_KEY})"}},
            self._claim(template),
        ]
        if template.owner is not None:
            writes.append({"Update": count_update(self.table, self._key(owner_key(template.owner)), +1,
                                                  max_per_owner)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if failed_at(error, _COUNTER):
                raise DeploymentTemplateQuotaExceeded(f"quota exceeded: at most {max_per_owner} deployment templates "
                                                      "per client; delete one first") from None
            raise DeploymentTemplateExists(f"a deployment template '{template.name}' version '{template.version}' "
                                           "already exists") from None

    def get(self, template_id: str) -> DeploymentTemplate | None:
        if template_id.startswith("#"):
            return None
        item = self.client.get_item(TableName=self.table, Key=self._key(template_id), ConsistentRead=True).get("Item")
        return _template(item) if item else None

    def find_by_name(self, name: str, version: str) -> DeploymentTemplate | None:
        claim = self.client.get_item(TableName=self.table, Key=self._key(name_key(name, version)),
                                     ConsistentRead=True).get("Item")
        return self.get(claim["target"]["S"]) if claim else None

    def replace(self, current: DeploymentTemplate, new: DeploymentTemplate) -> None:
        """PUT: the new data under the same id; a new name or version moves its claim (409 if taken)."""
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": _item(new),
                                                 "ConditionExpression": f"attribute_exists({_KEY})"}}]
        if (current.name, current.version) != (new.name, new.version):
            writes += [self._claim(new), {"Delete": {"TableName": self.table,
                                                     "Key": self._key(name_key(current.name, current.version))}}]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException:
            raise DeploymentTemplateExists(f"a deployment template '{new.name}' version '{new.version}' already "
                                           "exists") from None

    def delete(self, template: DeploymentTemplate) -> None:
        writes: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.table, "Key": self._key(template.deployment_template_id)}},
            {"Delete": {"TableName": self.table, "Key": self._key(name_key(template.name, template.version))}},
        ]
        if template.owner is not None:
            writes.append({"Update": count_update(self.table, self._key(owner_key(template.owner)), -1, None)})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            if not failed_at(error, _COUNTER):
                raise
            self.client.transact_write_items(TransactItems=writes[:_COUNTER])

    def page(self, limit: int, start_key: dict[str, Any] | None = None
             ) -> tuple[list[DeploymentTemplate], dict[str, Any] | None]:
        """One Scan page of templates (the claim and counter items are skipped)."""
        scan: dict[str, Any] = {"TableName": self.table, "Limit": limit, "ConsistentRead": True}
        if start_key:
            scan["ExclusiveStartKey"] = start_key
        reply = self.client.scan(**scan)
        found = [_template(item) for item in reply.get("Items", []) if not item[_KEY]["S"].startswith("#")]
        return found, reply.get("LastEvaluatedKey")


def start_key_after(template: DeploymentTemplate) -> dict[str, Any]:
    return {_KEY: _s(template.deployment_template_id)}


START_KEY_ATTRIBUTES = frozenset({_KEY})


def _item(template: DeploymentTemplate) -> dict[str, Any]:
    item: dict[str, Any] = {_KEY: _s(template.deployment_template_id), "name": _s(template.name),
                            "version": _s(template.version),
                            "doc": _s(json.dumps(template.to_wire(), separators=(",", ":")))}
    if template.owner is not None:
        item["owner"] = _s(template.owner)
    return item


def _template(item: dict[str, Any]) -> DeploymentTemplate:
    owner = item.get("owner", {}).get("S")
    return DeploymentTemplate.model_validate({**json.loads(item["doc"]["S"]), "owner": owner})
