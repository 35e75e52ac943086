"""A subscription `filter` given as a JSON object of attribute → value, as the O2dms extension's own examples write
it (`{"resourcePoolId": "pool-vdu-123"}`), translated into the O2 filter text that is stored, evaluated and shown
(docs/subscriptions.md, "Filters as objects").

The object says what the subscriber wants to hear about: every attribute equal to its value (a list: any of its
values). An O2ims filter (inventory, alarm) names the events NOT to report, so the object becomes its negation, one
`neq`/`nin` term per attribute joined by `|`: an event is skipped as soon as one attribute differs (or is missing).
A DMS filter selects, so there the object becomes the `eq`/`in` terms joined by `;`.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.query import Term
from chalicelib.domain.subscriptions import SubscriptionKind

MAX_ATTRIBUTES = 16
MAX_VALUES = 32


def object_filter(kind: SubscriptionKind, selection: dict[str, Any]) -> str:
    """The O2 filter text for `selection`; 400 naming the member for anything that is not attribute → value(s)."""
    if not selection or len(selection) > MAX_ATTRIBUTES:
        raise BadRequest(f"filter: an object filter names 1 to {MAX_ATTRIBUTES} attributes")
    selects = kind is SubscriptionKind.DMS
    terms = [_term(name, value, selects) for name, value in selection.items()]
    return (";" if selects else "|").join(term.to_text() for term in terms)


def _term(name: str, value: Any, selects: bool) -> Term:
    values = value if isinstance(value, list) else [value]
    if not name or not values or len(values) > MAX_VALUES or not all(isinstance(v, str) and v for v in values):
        raise BadRequest(f"filter.{name[:80]}: a non-empty string, or a list of 1 to {MAX_VALUES} non-empty strings")
    single = len(values) == 1
    op = ("eq" if single else "in") if selects else ("neq" if single else "nin")
    return Term(op, (name,), tuple(values))
