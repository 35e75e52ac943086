"""Reading the infrastructure templates (docs/provisioning.md "Templates"): the O2ims Infrastructure Artifacts API's
`managedInfrastructureTemplates`. The registry is in memory; its lists go through the same paging, filter and
selector code as every stored collection (`services/paging.py`), over its sorted templates."""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.domain.infrastructure_templates import (
    TEMPLATE_SELECTOR_SCHEMA,
    ManagedInfrastructureTemplate,
    TemplateRegistry,
)
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.services.paging import ListRequest, Page, list_models

Key = dict[str, Any]
_KEY_ATTRIBUTES = frozenset({"name", "version"})


def list_templates(registry: TemplateRegistry, request: ListRequest) -> Page:
    def fetch(limit: int, start: Key | None) -> tuple[list[ManagedInfrastructureTemplate], Key | None]:
        rest = registry.all() if start is None else registry.after(start["name"]["S"], start["version"]["S"])
        chunk = rest[:limit]
        more = len(rest) > limit
        return [t.wire_model() for t in chunk], (_key(chunk[-1].name, chunk[-1].version) if more else None)

    return list_models(request, TEMPLATE_SELECTOR_SCHEMA, fetch, lambda m: _key(m.name, m.version),
                       scope="managedInfrastructureTemplates", key_attributes=_KEY_ATTRIBUTES)


def _key(name: str, version: str) -> Key:
    """Shaped like a DynamoDB key, as the paging markers carry (domain/paging.py)."""
    return {"name": {"S": name}, "version": {"S": version}}


def get_template(registry: TemplateRegistry, template_id: str, selection: Selection) -> dict[str, Any]:
    validate_selection(selection, TEMPLATE_SELECTOR_SCHEMA)
    return apply_selection(registry.find(template_id).to_wire(), selection, TEMPLATE_SELECTOR_SCHEMA)


def template_defaults(registry: TemplateRegistry, template_id: str) -> dict[str, Any]:
    """netweave's answer for `/defaults`: `{"templateDefaults": {...}}` (oran-o2ims answers its cluster and policy
    defaults; a pool template has one set)."""
    return {"templateDefaults": copy.deepcopy(registry.find(template_id).defaults)}
