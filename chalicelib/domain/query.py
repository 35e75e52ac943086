"""The O2 filter language (docs/o2-conventions.md §3 and §4, ETSI NFV-SOL 013 §5.2) as a pure module: parse,
print, validate.

    filter := group ('|' group)*            -- '|' (OR) only in subscription filters
    group  := term (';' term)*              -- ';' is AND
    term   := '(' op ',' path ',' value (',' value)* ')'
    path   := segment ('/' segment)*        -- '~1' in a segment is '/', '~0' is '~' (as in JSON Pointer)
    value  := 'null' | bare (' '+ bare)* | "'" (char | "''")* "'"

A bare value or segment may not contain , / ( ) ' ; | or white space; values that do are single-quoted, with a quote
inside doubled. One liberty, because the O2 specification's own examples write `(eq,name,my cluster)`: spaces
*between* bare words of a value need no quotes. Spaces before or after a value still do (padding or part of the
value? the filter does not say), and so does every other special character. Unquoted `null` is "no value"; `'null'`
is the string. Filters longer than MAX_FILTER_LENGTH are refused before parsing. Every problem is an `InvalidQuery`
naming it and, for syntax, its 1-based position. `Filter.to_text` always quotes, so stored canonical text reads the
same under the strict grammar.
How terms are evaluated is in `query_eval.py`; docs/query-language.md is the SMO-facing description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.query_eval import term_matches

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "cont", "ncont", "in", "nin")
SINGLE_VALUE_OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte"})
# Operators for which "no value" means something; `(gt,x,null)` has no sensible reading.
NULL_OPERATORS = frozenset({"eq", "neq", "in", "nin"})
OBJECT_TYPES = frozenset({"CloudInfo", "ResourceTypeInfo", "ResourcePoolInfo", "DeploymentManagerInfo", "ResourceInfo",
                          "LocationInfo", "OCloudSiteInfo"})
SUBSCRIPTION_PSEUDO_ATTRIBUTES: Mapping[str, frozenset[str]] = {"objectType": OBJECT_TYPES}
# Well above any realistic filter, low enough that a hostile query string costs next to nothing to refuse.
MAX_FILTER_LENGTH = 4096

_SPECIAL = frozenset(",/()';|")
_QUOTE_HINT = "single-quote values that contain , / ( ) ; | ' tabs or line breaks, or start or end with a space"
# A timestamp whose offset sign arrived as a space: an unencoded '+' in a URL query is a space. Read as text it would
# silently compare as a string; refused, it tells the client what to fix.
_PLUS_AS_SPACE = re.compile(r"\d{4}-\d\d-\d\d[T ][0-9:.]+ \d\d(:?\d\d)?")

Value = str | None
Path = tuple[str, ...]


def _needs_quotes(text: str) -> bool:
    return text in ("", "null") or any(c in _SPECIAL or c.isspace() for c in text)


def _value_text(value: Value) -> str:
    if value is None:
        return "null"
    if _needs_quotes(value):
        return "'" + value.replace("'", "''") + "'"
    return value


def path_text(path: Path) -> str:
    """The path as written in a filter: segments joined by '/', with '~' and '/' inside a segment escaped."""
    return "/".join(segment.replace("~", "~0").replace("/", "~1") for segment in path)


@dataclass(frozen=True)
class Term:
    """One `(op,attr,value...)`. A value is the text as given (unquoted), or None for the bare word `null`."""

    op: str
    path: Path
    values: tuple[Value, ...]

    def to_text(self) -> str:
        return f"({self.op},{path_text(self.path)},{','.join(_value_text(v) for v in self.values)})"


@dataclass(frozen=True)
class Filter:
    """An OR of AND-groups of terms; a query filter always has exactly one group.

    `pseudo_attributes` names the attributes (subscription `objectType`) that are not read from the document but
    from the `context` given to `matches`.
    """

    groups: tuple[tuple[Term, ...], ...]
    pseudo_attributes: frozenset[str] = frozenset()

    def to_text(self) -> str:
        """Canonical text; parsing it (in the same mode) gives back an equal Filter."""
        return "|".join(";".join(term.to_text() for term in group) for group in self.groups)

    def matches(self, document: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> bool:
        """Whether a wire document (camelCase dict) satisfies the filter. Never raises on JSON-like input."""
        return any(all(self._term_matches(term, document, context or {}) for term in group) for group in self.groups)

    def _term_matches(self, term: Term, document: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        source = context if term.path[0] in self.pseudo_attributes else document
        return term_matches(term.op, term.path, term.values, source)

    def equality_terms(self) -> tuple[tuple[str, str], ...]:
        """`(attribute, value)` of each `(eq,attr,value)` on a top-level attribute that every match must satisfy, so
        a store can narrow candidates with an index (e.g. on resourcePoolId). Empty when the filter has OR groups.
        A store must still run `matches` on what the index returns: `eq` compares in the attribute's type (numbers,
        timestamps), which a string index does not, so push down only identifier-like string attributes."""
        if len(self.groups) != 1:
            return ()
        return tuple(
            (term.path[0], value)
            for term in self.groups[0]
            for value in term.values
            if term.op == "eq"
            and len(term.path) == 1
            and value is not None
            and term.path[0] not in self.pseudo_attributes
        )


def parse_filter(
    text: str,
    *,
    allow_or: bool = False,
    pseudo_attributes: Mapping[str, frozenset[str]] | None = None,
) -> Filter:
    """Parse a filter. `allow_or` admits '|'; `pseudo_attributes` maps each pseudo attribute to its allowed values."""
    if not text:
        raise InvalidQuery("filter: is empty; leave the parameter out to select everything")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidQuery(f"filter: longer than {MAX_FILTER_LENGTH} characters ({len(text)})")
    return _Parser(text, allow_or, pseudo_attributes or {}).parse()


def parse_subscription_filter(text: str) -> Filter:
    """A subscription filter (docs/o2-conventions.md §4): OR groups with '|' and the pseudo attribute `objectType`."""
    return parse_filter(text, allow_or=True, pseudo_attributes=SUBSCRIPTION_PSEUDO_ATTRIBUTES)


class AttributeSchema(Protocol):
    """What validation needs of one object type; `selectors.SelectorSchema` fits as well."""

    @property
    def attributes(self) -> frozenset[str]: ...

    @property
    def open_attributes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class FilterSchema:
    """Top-level attribute names of one object type; below an open attribute any path is accepted."""

    attributes: frozenset[str]
    open_attributes: frozenset[str] = frozenset({"extensions"})


def validate_filter(flt: Filter, schema: AttributeSchema, *more: AttributeSchema) -> None:
    """Reject a term naming an attribute that none of the given object types has. Several schemas serve a
    subscription filter, which may speak of any object type."""
    schemas = (schema, *more)
    for group in flt.groups:
        for term in group:
            if term.path[0] not in flt.pseudo_attributes:
                _validate_path(term.path, schemas)


def _validate_path(path: Path, schemas: tuple[AttributeSchema, ...]) -> None:
    head = path[0]
    known = [s for s in schemas if head in s.attributes or head in s.open_attributes]
    if not known:
        names = sorted(set().union(*(s.attributes | s.open_attributes for s in schemas)))
        raise InvalidQuery(f"filter: unknown attribute '{path_text(path)}'; known attributes: {', '.join(names)}")
    if len(path) > 1 and not any(head in s.open_attributes for s in known):
        raise InvalidQuery(f"filter: attribute '{head}' has no nested attributes (in '{path_text(path)}')")


class _Parser:
    """Single pass, no recursion, so neither long nor deeply nested input can raise anything but InvalidQuery."""

    def __init__(self, text: str, allow_or: bool, pseudo: Mapping[str, frozenset[str]]) -> None:
        self.text = text
        self.pos = 0
        self.allow_or = allow_or
        self.pseudo = pseudo

    def parse(self) -> Filter:
        groups = [self._group()]
        while self._peek() == "|":
            if not self.allow_or:
                self._fail("'|' (OR) is only allowed in subscription filters")
            self.pos += 1
            groups.append(self._group())
        if self.pos < len(self.text):
            joiners = "';' or '|'" if self.allow_or else "';'"
            self._fail(f"unexpected {self._found()} after a term", hint=f"expected {joiners} or the end")
        return Filter(tuple(groups), frozenset(self.pseudo))

    def _group(self) -> tuple[Term, ...]:
        terms = [self._term()]
        while self._peek() == ";":
            self.pos += 1
            terms.append(self._term())
        return tuple(terms)

    def _term(self) -> Term:
        start = self.pos
        if self._peek() in ("", ";", "|"):
            self._fail("empty term")
        if self._peek() != "(":
            self._fail(f"expected '(' to start a term, found {self._found()}")
        self.pos += 1
        op = self._operator()
        self._expect(",", f"after operator '{op}'")
        path = self._path()
        if self._peek() == ")":
            self._fail(f"operator '{op}' needs a value after attribute '{path_text(path)}'")
        self._expect(",", f"after attribute '{path_text(path)}'")
        term = Term(op, path, self._values(start))
        self._check(term, start)
        return term

    def _operator(self) -> str:
        start = self.pos
        op = self._token()
        if not op:
            self._fail(f"expected an operator, found {self._found()}")
        if op not in OPERATORS:
            self._fail(f"unknown operator '{op}'", start, f"expected one of {', '.join(OPERATORS)}")
        return op

    def _path(self) -> Path:
        segments = [self._segment()]
        while self._peek() == "/":
            self.pos += 1
            segments.append(self._segment())
        return tuple(segments)

    def _segment(self) -> str:
        chars: list[str] = []
        while (c := self._peek()) and c not in _SPECIAL and not c.isspace():
            if c == "~":
                c = {"~0": "~", "~1": "/"}.get(self.text[self.pos : self.pos + 2], "")
                if not c:
                    self._fail("invalid escape in attribute name", hint="write ~0 for '~' and ~1 for '/'")
                self.pos += 1
            chars.append(c)
            self.pos += 1
        if not chars:
            self._fail(f"expected an attribute name, found {self._found()}")
        return "".join(chars)

    def _values(self, start: int) -> tuple[Value, ...]:
        values = [self._value(start)]
        while self._peek() == ",":
            self.pos += 1
            values.append(self._value(start))
        if self._peek() == ")":
            self.pos += 1
            return tuple(values)
        if not self._peek():
            self._fail("missing ')'", hint=f"the term opened at position {start + 1} is not closed")
        if self._peek() == " ":
            spaces = self.pos
            while self._peek() == " ":
                self.pos += 1
            if self._peek() in ("", ",", ")"):
                self._fail("a value may not end with a space", spaces, "quote the value if the space belongs to it")
        self._fail(f"expected ',' or ')' after a value, found {self._found()}", hint=_QUOTE_HINT)

    def _value(self, start: int) -> Value:
        if self._peek() == "'":
            return self._quoted()
        begin = self.pos
        token = self._bare()
        if token == "null":
            return None
        if _PLUS_AS_SPACE.fullmatch(token):
            self._fail("a space inside a timestamp", begin, hint="a '+' in a URL query is a space; write it as %2B")
        if token:
            return token
        if self._peek() in (",", ")"):
            self._fail("empty value", hint="write '' for the empty string")
        if not self._peek():
            self._fail("missing value and ')'", hint=f"the term opened at position {start + 1} is not closed")
        if self._peek() == " ":
            self._fail("a value may not start with a space", hint="quote the value if the space belongs to it")
        self._fail(f"expected a value, found {self._found()}", hint=_QUOTE_HINT)

    def _bare(self) -> str:
        """Bare words joined by single spaces or runs of them; spaces not followed by another word are left unread
        (the caller refuses them: trailing padding is ambiguous)."""
        start = self.pos
        self._token()
        while self.pos > start and self._peek() == " ":
            word_end = self.pos
            while self._peek() == " ":
                self.pos += 1
            if not self._token():
                self.pos = word_end
                break
        return self.text[start : self.pos]

    def _quoted(self) -> str:
        start, parts = self.pos, []
        self.pos += 1
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                self._fail("unterminated quoted value", start)
            parts.append(self.text[self.pos : end])
            self.pos = end + 1
            if self._peek() != "'":
                return "".join(parts)
            parts.append("'")  # a doubled quote stands for one quote
            self.pos += 1

    def _token(self) -> str:
        start = self.pos
        while (c := self._peek()) and c not in _SPECIAL and not c.isspace():
            self.pos += 1
        return self.text[start : self.pos]

    def _check(self, term: Term, start: int) -> None:
        where = f" (term at position {start + 1})"
        if term.op in SINGLE_VALUE_OPERATORS and len(term.values) != 1:
            raise InvalidQuery(f"filter: operator '{term.op}' takes exactly one value, got {len(term.values)}{where}")
        if None in term.values and term.op not in NULL_OPERATORS:
            raise InvalidQuery(f"filter: null cannot be used with '{term.op}'; write 'null' for the string{where}")
        if term.path[0] in self.pseudo:
            self._check_pseudo(term, where)

    def _check_pseudo(self, term: Term, where: str) -> None:
        name, allowed = term.path[0], self.pseudo[term.path[0]]
        if len(term.path) > 1 or term.op not in NULL_OPERATORS:
            raise InvalidQuery(f"filter: '{name}' takes only eq, neq, in, nin and has no nested attributes{where}")
        for value in term.values:
            if value not in allowed:
                shown = "null" if value is None else f"'{value}'"
                raise InvalidQuery(f"filter: {name} {shown} is not one of {', '.join(sorted(allowed))}{where}")

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _found(self) -> str:
        return f"'{self._peek()}'" if self._peek() else "the end of the filter"

    def _expect(self, char: str, context: str) -> None:
        if self._peek() != char:
            self._fail(f"expected '{char}' {context}, found {self._found()}")
        self.pos += 1

    def _fail(self, message: str, pos: int | None = None, hint: str = "") -> NoReturn:
        at = self.pos if pos is None else pos
        raise InvalidQuery(f"filter: {message} at position {at + 1}" + (f"; {hint}" if hint else ""))
