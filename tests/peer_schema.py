"""Validating netweave's answers against the peer's OpenAPI files (tests/contract/peer, docs/o2-conformance.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PEER = Path(__file__).parent / "contract" / "peer"
_BASE = "file:///peer/"
_COMMON_REF = "../../common/api/openapi.yaml#"  # the peer's own layout, mapped to our copy


@cache
def document(name: str) -> dict[str, Any]:
    text = (PEER / name).read_text().replace(_COMMON_REF, "common.yaml#")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@cache
def _registry() -> Registry:
    names = ("common.yaml", "inventory-v1.yaml", "inventory-v2.yaml", "monitoring-v1.yaml")
    return Registry().with_resources(
        (_BASE + name, Resource.from_contents(document(name), DRAFT202012)) for name in names
    )


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def self_contained(name: str) -> dict[str, Any]:
    """The file with common.yaml's components merged in and its references made local (what a fuzzer loads)."""
    # default=str: YAML reads unquoted example timestamps as datetimes
    merged = yaml.safe_load(json.dumps(document(name), default=str).replace('"common.yaml#', '"#'))
    for section, items in document("common.yaml")["components"].items():
        merged["components"].setdefault(section, {}).update(items)
    return cast(dict[str, Any], merged)


def get_paths(name: str) -> list[str]:
    """Every path of the file that answers GET."""
    return [path for path, item in document(name)["paths"].items() if "get" in item]


# Deviations docs/o2-conformance.md declares and justifies, as the validator words them.
DECLARED = (
    "'elements' is a required property",  # Resource `elements`: outside the default representation (SOL 013)
)


def response_errors(name: str, path: str, body: Any, method: str = "get", status: str = "200") -> list[str]:
    """Why `body` is not what the peer's file promises for `method path` answering `status` (empty: it is)."""
    pointer = _pointer("paths", path, method, "responses", status, "content", "application/json", "schema")
    validator = Draft202012Validator({"$ref": f"{_BASE}{name}#/{pointer}"}, registry=_registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)
            if e.message not in DECLARED]


def schema_errors(name: str, schema: str, body: Any) -> list[str]:
    """Why `body` is not a valid `components/schemas/<schema>` of the file."""
    validator = Draft202012Validator({"$ref": f"{_BASE}{name}#/components/schemas/{schema}"}, registry=_registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
