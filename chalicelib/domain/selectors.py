"""ETSI NFV-SOL 013 §5.3 attribute selectors (docs/o2-conventions.md §3): `all_fields`, `fields`, `exclude_fields`,
`exclude_default`. Pure functions over the wire dict of one object.

Semantics: the default representation is every attribute except the type's large complex ones; `fields` adds named
attributes to it; `exclude_fields` removes from *all* attributes; `all_fields` is everything; exclusion wins over
inclusion; identifiers are never removed; naming an attribute the type does not have is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import InvalidQuery

Path = tuple[str, ...]


@dataclass(frozen=True)
class SelectorSchema:
    """What selectors need to know of one object type."""

    attributes: frozenset[str]
    identifiers: frozenset[str]
    excluded_by_default: tuple[Path, ...] = ()
    # Attributes whose inner structure is free-form: any path below them is a valid selector.
    open_attributes: frozenset[str] = frozenset({"extensions"})


@dataclass(frozen=True)
class Selection:
    all_fields: bool = False
    exclude_default: bool = False
    fields: tuple[Path, ...] = ()
    exclude_fields: tuple[Path, ...] = ()


def parse_selection(
    all_fields: str | None = None,
    fields: str | None = None,
    exclude_fields: str | None = None,
    exclude_default: str | None = None,
) -> Selection:
    """Build a Selection from raw query values; a bare flag arrives as the empty string."""
    return Selection(
        all_fields=_flag("all_fields", all_fields),
        exclude_default=_flag("exclude_default", exclude_default),
        fields=_paths("fields", fields),
        exclude_fields=_paths("exclude_fields", exclude_fields),
    )


def _flag(name: str, value: str | None) -> bool:
    """SOL 013 writes these as bare flags; a schema-driven client sends the boolean it was given (`=true`, `=false`),
    so both spellings are read. Anything else is refused: `=yes` or `=0` might mean either."""
    if value is None:
        return False
    spelled = value.strip().lower()
    if spelled in ("", "true"):
        return True
    if spelled == "false":
        return False
    raise InvalidQuery(f"'{name}' is a flag: give it no value, or true or false (got '{value[:40]}')")


def _paths(name: str, value: str | None) -> tuple[Path, ...]:
    if value is None:
        return ()
    paths = []
    for item in value.split(","):
        parts = tuple(p.strip() for p in item.strip().split("/"))
        if not all(parts):
            raise InvalidQuery(f"'{name}' has an empty attribute name in '{value}'")
        paths.append(parts)
    return tuple(paths)


def validate_selection(selection: Selection, schema: SelectorSchema) -> None:
    # The detail names the parameter: a client sending both must know which one to fix.
    named = [("fields", p) for p in selection.fields] + [("exclude_fields", p) for p in selection.exclude_fields]
    for parameter, path in named:
        head, shown = path[0], ascii("/".join(path))  # ascii(): a control character must not reach a log line raw
        if head not in schema.attributes:
            raise InvalidQuery(f"{parameter}: unknown attribute {shown} in attribute selector")
        if len(path) > 1 and head not in schema.open_attributes and path not in schema.excluded_by_default:
            raise InvalidQuery(f"{parameter}: {shown} does not name an attribute that can be selected")


def apply_selection(document: dict[str, Any], selection: Selection, schema: SelectorSchema,
                    *, owned: bool = False, checked: bool = False) -> dict[str, Any]:
    """The document as `selection` shows it. `owned`: the caller's own copy (just parsed from the store), which is
    then cut in place rather than copied first. `checked`: the caller validated `selection` against `schema` once
    for a whole page, so it is not checked again for each of its documents."""
    if not checked:
        validate_selection(selection, schema)
    result: dict[str, Any] = document if owned else _copied(document)
    if not (selection.all_fields or selection.exclude_fields):
        for path in schema.excluded_by_default:
            if not any(_covers(chosen, path) for chosen in selection.fields):
                _remove(result, path)
    for path in selection.exclude_fields:
        if path[0] not in schema.identifiers:
            _remove(result, path)
    return result


def _copied(node: Any) -> Any:
    """A copy of a JSON document's containers (the scalars are immutable): what `copy.deepcopy` makes of it, a few
    times faster, which a page of 100 objects notices (docs/performance.md, "API overhead")."""
    if isinstance(node, dict):
        return {key: _copied(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copied(value) for value in node]
    if isinstance(node, tuple):
        return tuple(_copied(value) for value in node)
    return node


def _covers(chosen: Path, path: Path) -> bool:
    """Choosing `extensions` brings back `extensions/profileData` too; choosing the path itself does as well."""
    return path[: len(chosen)] == chosen


def _remove(document: dict[str, Any], path: Path) -> None:
    node: Any = document
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)
