"""Label and field selectors, parsed from query strings or from ``LabelSelector`` objects."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from devtools.kubesim.errors import bad_request

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]
Requirement = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    terms: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms if t.strip()]


def _set_requirement(key: str, op: str, raw: str) -> Requirement:
    values = {v.strip() for v in raw.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def _equality_requirement(term: str) -> Requirement | None:
    op = next((candidate for candidate in ("!=", "==", "=") if candidate in term), None)
    if op is None:
        return None
    key, value = (part.strip() for part in term.split(op, 1))
    if op == "!=":
        return lambda labels: labels.get(key) != value
    return lambda labels: labels.get(key) == value


def _requirement(term: str) -> Requirement:
    match = _SET_RE.match(term)
    if match:
        return _set_requirement(*match.groups())
    equality = _equality_requirement(term)
    if equality is not None:
        return equality
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if not term or " " in term:
        raise bad_request(f"unable to parse requirement: {term!r}")
    return lambda labels: term in labels


def parse_labels(text: str | None) -> Requirement | None:
    """Parse a ``labelSelector`` query value; ``None`` means everything matches."""
    if not text:
        return None
    reqs = [_requirement(t) for t in _split_terms(text)]
    return lambda labels: all(r(labels) for r in reqs)


def label_predicate(text: str | None) -> Predicate | None:
    req = parse_labels(text)
    if req is None:
        return None
    return lambda obj: req(obj.get("metadata", {}).get("labels") or {})


def matches_selector(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """Evaluate a structured ``LabelSelector`` (matchLabels + matchExpressions); empty selects everything."""
    if not selector:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_holds(expr, labels) for expr in selector.get("matchExpressions") or [])


def _expression_holds(expr: Obj, labels: Mapping[str, str]) -> bool:
    key, op, values = str(expr.get("key")), expr.get("operator"), set(expr.get("values") or [])
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    return key not in labels if op == "DoesNotExist" else True


def selector_string(selector: Obj | None) -> str:
    """Render a ``LabelSelector`` as the string form the Scale subresource reports."""
    parts = [f"{k}={v}" for k, v in sorted((selector or {}).get("matchLabels", {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(sorted(expr.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": f"{key}", "DoesNotExist": f"!{key}"}.get(op, ""))
    return ",".join(p for p in parts if p)


def field_value(obj: Obj, path: str) -> str | None:
    """Read a dotted field path the way field selectors compare it (as a string)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    return None if isinstance(current, (dict, list)) else str(current)


def field_predicate(text: str | None) -> Predicate | None:
    """Parse a ``fieldSelector``: equality/inequality terms over any dotted path (metadata.name, spec.nodeName...)."""
    if not text:
        return None
    checks: list[Predicate] = []
    for term in _split_terms(text):
        negate = "!=" in term
        op = "!=" if negate else ("==" if "==" in term else "=")
        if op not in term:
            raise bad_request(f"invalid field selector: {term!r}")
        path, value = (part.strip() for part in term.split(op, 1))
        checks.append(_field_check(path, value, negate))
    return lambda obj: all(check(obj) for check in checks)


def _field_check(path: str, value: str, negate: bool) -> Predicate:
    def check(obj: Obj) -> bool:
        actual = field_value(obj, path)
        # An absent namespace on a cluster-scoped object compares as the empty string.
        actual = "" if actual is None else actual
        return (actual != value) if negate else (actual == value)

    return check


def combine(*predicates: Predicate | None) -> Predicate | None:
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
