"""Evaluation of O2 filter terms (see `query.py`) against one wire document: the camelCase dict the API returns.

Kept apart from the parser so each stays small. Works on plain values (operator, path, value texts) so it does not
import the data model. Typing rules, decided here and documented in docs/query-language.md:

- a filter value is text; it is read in the type of the attribute it is compared with, never the other way round;
- bool attribute: the value must be `true` or `false`; ordering and `cont` never match a bool;
- number attribute: the value must be a decimal number, else no match (not an error: one filter runs over many types);
- string attribute: `eq` is string equality, or the same instant when both sides are ISO 8601 timestamps; ordering is
  time order when both are timestamps, numeric when both are numbers (Kubernetes quantities such as "64"), otherwise
  code-point order; `cont` is a case-sensitive substring test;
- list attribute: `eq`/`in`/`cont` match when any element equals a value (`cont` is membership), ordering when any
  element satisfies it; a path through a list (`elements/resourceTypeId`) looks into every element;
- `neq`, `nin`, `ncont` are exact negations of `eq`, `in`, `cont`, so an absent attribute satisfies them;
- `null` (unquoted) matches an absent attribute or a JSON null.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

# Stands for "no such attribute" while walking a path; distinct from a stored JSON null.
_MISSING: Any = object()

NEGATIONS = {"neq": "eq", "nin": "in", "ncont": "cont"}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
# ASCII digits only: Decimal and fromisoformat would otherwise accept other scripts' digits, which no SMO means.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_EPOCH = datetime(1, 1, 1)


def term_matches(op: str, path: Sequence[str], values: Sequence[str | None], document: Any) -> bool:
    """True when `document` satisfies the term `(op, path, values)`."""
    positive = NEGATIONS.get(op, op)
    hit = any(_leaf_matches(positive, leaf, values) for leaf in resolve(document, path))
    return not hit if op in NEGATIONS else hit


def resolve(document: Any, path: Sequence[str]) -> list[Any]:
    """Every value the path reaches, with `_MISSING` where it reaches nothing. Lists on the way are fanned out;
    the final value is returned as is, so the operator can tell a list attribute from a scalar one."""
    nodes = [document]
    for key in path:
        nodes = [node.get(key, _MISSING) if isinstance(node, Mapping) else _MISSING for node in _flatten(nodes)]
    return nodes or [_MISSING]


def _flatten(nodes: list[Any]) -> list[Any]:
    # Iterative, so a deeply nested list in a document cannot exhaust the recursion limit.
    out: list[Any] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(reversed(node))
        else:
            out.append(node)
    return out


def _leaf_matches(op: str, leaf: Any, values: Sequence[str | None]) -> bool:
    if op in ("eq", "in"):
        return any(_equals(leaf, value) for value in values)
    if op == "cont":
        return any(_contains(leaf, value) for value in values)
    if op in _ORDER and values and values[0] is not None:
        elements = leaf if isinstance(leaf, list | tuple) else [leaf]
        return any(_ordered(op, element, values[0]) for element in elements)
    return False


def _equals(leaf: Any, value: str | None) -> bool:
    if value is None:
        return leaf is _MISSING or leaf is None
    if isinstance(leaf, list | tuple):
        return any(_scalar_equals(element, value) for element in leaf)
    return _scalar_equals(leaf, value)


def _contains(leaf: Any, value: str | None) -> bool:
    if value is None:
        return False
    if isinstance(leaf, str):
        return value in leaf
    if isinstance(leaf, list | tuple):
        return any(_scalar_equals(element, value) for element in leaf)
    return False


def _scalar_equals(stored: Any, text: str) -> bool:
    if isinstance(stored, bool):  # before int: bool is an int subclass
        return text == ("true" if stored else "false")
    if isinstance(stored, int | float):
        number = _number(text, stored)
        return number is not None and stored == number
    if isinstance(stored, str):
        if stored == text:
            return True
        instant = _instant(stored)
        return instant is not None and instant == _instant(text)
    return False


def _ordered(op: str, stored: Any, text: str) -> bool:
    keys = _order_keys(stored, text)
    return keys is not None and _ORDER[op](*keys)


def _order_keys(stored: Any, text: str) -> tuple[Any, Any] | None:
    """The pair to compare for an ordering operator, or None when the two cannot be ordered."""
    if isinstance(stored, bool):
        return None
    if isinstance(stored, int | float):
        number = _number(text, stored)
        return None if number is None else (stored, number)
    if not isinstance(stored, str):
        return None
    left, right = _instant(stored), _instant(text)
    if left is not None and right is not None:
        return left, right
    left_number, right_number = _number(stored, 0), _number(text, 0)
    if left_number is not None and right_number is not None:
        return left_number, right_number
    return stored, text


def _number(text: str, like: Any) -> Decimal | float | None:
    """`text` as a number comparable with `like`: float for float attributes (so 0.1 equals 0.1), exact Decimal
    otherwise (so large integers keep every digit)."""
    if not _NUMBER.fullmatch(text):
        return None
    if isinstance(like, float):
        return float(text)
    try:
        return Decimal(text)
    except ArithmeticError:  # an exponent beyond what Decimal can hold
        return None


def _instant(text: str) -> tuple[int, int] | None:
    """(seconds, microseconds) since 0001-01-01 UTC. Built by hand so naive and aware timestamps can be compared
    (a timestamp without offset is taken as UTC) and no offset arithmetic can overflow near year 1 or 9999."""
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    offset = moment.utcoffset() or timedelta(0)
    delta = moment.replace(tzinfo=None) - _EPOCH
    return delta.days * 86400 + delta.seconds - offset // timedelta(seconds=1), delta.microseconds
