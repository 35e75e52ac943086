"""PATCH semantics: JSON merge patch, JSON patch, and a strategic merge patch good enough for kubectl and helm.

Strategic merge needs per-field list merge keys, which a real server reads from Go struct tags. We keep a table
keyed by field name instead: the same field name means the same merge key throughout the built-in types helm and
kubectl touch (containers by name, env by name, ports by containerPort/port, ...). Unknown lists are replaced.
"""

from __future__ import annotations

import copy
from typing import Any

from devtools.kubesim.errors import ApiError, bad_request

Obj = dict[str, Any]

# Field name -> merge key for lists of objects that strategic merge patch merges element-wise.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "hostAliases": ("ip",),
    "addresses": ("type",),
    "taints": ("key",),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
}
# Lists of scalars that merge as sets rather than being replaced.
SET_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _get(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, list):
        return parent.pop(int(last))
    return parent.pop(last)


def json_patch(target: Obj, ops: Any) -> Obj:
    """RFC 6902 operations: add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    doc: Any = copy.deepcopy(target)
    try:
        for op in ops:
            doc = _apply_op(doc, op)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        message = f"the server rejected our request due to an error in our request: {exc!r}"
        raise ApiError(422, "Invalid", message) from exc
    if not isinstance(doc, dict):
        raise bad_request("json patch must produce an object")
    return doc


def _apply_op(doc: Any, op: Obj) -> Any:
    kind, parts = op.get("op"), _pointer(op.get("path", ""))
    if kind == "add":
        return _add(doc, parts, copy.deepcopy(op.get("value")))
    if kind == "remove":
        _remove(doc, parts)
        return doc
    if kind == "replace":
        _get(doc, parts)  # the target must exist
        if not parts:
            return copy.deepcopy(op.get("value"))
        _remove(doc, parts)
        return _add(doc, parts, copy.deepcopy(op.get("value")))
    if kind in ("move", "copy"):
        source = _pointer(op.get("from", ""))
        value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
        return _add(doc, parts, value)
    if kind == "test":
        if _get(doc, parts) != op.get("value"):
            raise ValueError(f"test failed at {op.get('path')}")
        return doc
    raise ValueError(f"unknown json patch op {kind!r}")


def strategic_merge(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch including the directives kubectl and helm emit."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result: Obj = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$"):
            _directive(result, key, value, orders)
        else:
            merged = None if value is None else _merge_field(key, result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        result = {k: v for k, v in result.items() if k in keep}
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(field, result[field], order)
    return result


def _directive(result: Obj, key: str, value: Any, orders: dict[str, list[Any]]) -> None:
    # "$patch" and "$retainKeys" are handled by the caller; other "$..." keys name a field after the slash.
    name, _, field = key.partition("/")
    if name == "$setElementOrder":
        orders[field] = value
    elif name == "$deleteFromPrimitiveList":
        result[field] = [v for v in result.get(field) or [] if v not in value]


def _merge_field(key: str, current: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return strategic_merge(current, value)
    if isinstance(value, list):
        return _merge_list(key, current if isinstance(current, list) else [], value)
    return copy.deepcopy(value)


def _merge_key(field: str, items: list[Any]) -> str | None:
    for candidate in MERGE_KEYS.get(field, ()):
        if any(isinstance(i, dict) and candidate in i for i in items):
            return candidate
    return None


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in SET_LISTS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, patch + current)
    if key is None:
        return copy.deepcopy(patch)
    result = copy.deepcopy(current)
    for item in patch:
        index = next((i for i, c in enumerate(result) if isinstance(c, dict) and c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _merge_key(field, order + items)
    if key is None:
        return items
    rank = {entry.get(key): i for i, entry in enumerate(order) if isinstance(entry, dict)}
    return sorted(items, key=lambda item: rank.get(item.get(key), len(rank)) if isinstance(item, dict) else len(rank))
