"""Checking a JSON document against a JSON Schema (Draft 2020-12) and naming every error for a client: the one
place both kinds of template (infrastructure templates, docs/provisioning.md; deployment templates, docs/dms.md) turn
jsonschema's errors into `{name, reason}` entries. Pure; jsonschema is imported when a document is checked, not at
import (a cold start that checks nothing does not pay for it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def errors(schema: dict[str, Any], document: Any, root: str, owner: str, partial: bool = False) -> list[dict[str, str]]:
    """Every error of `document` against `schema`, as `{name, reason}` sorted by path; names start with `root`
    (`templateParameters.size`). `owner` names the schema's holder in messages ("template x.1"). `partial`: the
    document need not hold the required members (a template's defaults)."""
    from jsonschema import Draft202012Validator

    found: list[tuple[tuple[tuple[int, str], ...], dict[str, str]]] = []
    for error in Draft202012Validator(schema).iter_errors(document):
        if partial and error.validator == "required" and not error.absolute_path:
            continue
        for path, reason in _named(error, root, owner):
            found.append((tuple(_sortable(p) for p in path), {"name": _name(root, path), "reason": reason}))
    return [entry for _, entry in sorted(found, key=lambda item: (item[0], item[1]["reason"]))]


def check_schema(schema: Any) -> str | None:
    """Why `schema` is not a usable JSON Schema (an object schema, valid under Draft 2020-12), or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict):
        return "must be a JSON Schema object"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return f"is not a valid JSON Schema: {error.message}"
    return None


def _named(error: Any, root: str, owner: str) -> list[tuple[list[Any], str]]:
    """The member(s) an error is about: a missing or unknown property is named itself, not its parent object."""
    path, instance = list(error.absolute_path), error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = next((p for p in error.validator_value if p not in instance and error.message.startswith(repr(p))),
                       None)
        if missing is not None:
            return [([*path, missing], "is required")]
    if (error.validator == "additionalProperties" and error.validator_value is False and isinstance(instance, dict)
            and "patternProperties" not in error.schema):
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(instance) - set(known))
        where = owner if not path else _name(root, path)
        return [([*path, name], f"is not a parameter of {where} (known: {', '.join(known) or 'none'})")
                for name in unknown]
    return [(path, str(error.message))]


def _name(root: str, path: Sequence[Any]) -> str:
    return ".".join([root, *(str(p) for p in path)])


def _sortable(part: Any) -> tuple[int, str]:
    return (0, f"{part:012d}") if isinstance(part, int) else (1, str(part))
