"""Properties of the O2 filter language that must hold for any input an SMO (or an attacker) can send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.query import (
    MAX_FILTER_LENGTH,
    NULL_OPERATORS,
    OBJECT_TYPES,
    OPERATORS,
    SINGLE_VALUE_OPERATORS,
    Filter,
    Term,
    parse_filter,
    parse_subscription_filter,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters a bare attribute segment may hold; '/' and '~' are allowed because they are escaped in the text.
# Excluding these categories removes exactly the characters str.isspace() accepts (and other control characters).
_SEGMENT_CHARS = st.characters(codec="utf-8", exclude_characters=",()';|", exclude_categories=("Cc", "Zs", "Zl", "Zp"))
SEGMENTS = st.one_of(
    st.sampled_from(["name", "extensions", "zone", "a", "b", "labels", "a/b", "~", "~1", "null"]),
    st.text(_SEGMENT_CHARS, min_size=1, max_size=6),
)
TEXT_VALUES = st.one_of(
    st.sampled_from(["", "null", "true", "false", "0", "-1.5e3", "2024-05-01T10:00:00Z", "a b", "'", "''", ",/()"]),
    st.text(max_size=8),
)
NAMED_KEYS = ["a", "b", "name", "zone", "extensions", "tags"]


@st.composite
def terms(draw: st.DrawFn, segments: st.SearchStrategy[str] = SEGMENTS) -> Term:
    op = draw(st.sampled_from(OPERATORS))
    values = st.none() | TEXT_VALUES if op in NULL_OPERATORS else TEXT_VALUES
    count = 1 if op in SINGLE_VALUE_OPERATORS else draw(st.integers(1, 3))
    path = tuple(draw(st.lists(segments, min_size=1, max_size=3)))
    return Term(op, path, tuple(draw(values) for _ in range(count)))


OBJECT_TYPE_TERMS = st.builds(
    Term,
    st.sampled_from(sorted(NULL_OPERATORS)),
    st.just(("objectType",)),
    st.lists(st.sampled_from(sorted(OBJECT_TYPES)), min_size=1, max_size=1).map(tuple),
)


def query_filters(segments: st.SearchStrategy[str] = SEGMENTS) -> st.SearchStrategy[Filter]:
    group = st.lists(terms(segments), min_size=1, max_size=4).map(tuple)
    return group.map(lambda g: Filter((g,)))


def subscription_filters() -> st.SearchStrategy[Filter]:
    plain = terms().filter(lambda t: t.path[0] != "objectType")
    group = st.lists(st.one_of(plain, OBJECT_TYPE_TERMS), min_size=1, max_size=3).map(tuple)
    return st.lists(group, min_size=1, max_size=3).map(lambda gs: Filter(tuple(gs), frozenset({"objectType"})))


@FAST
@given(query_filters())
def test_query_filters_print_and_parse_back_unchanged(flt: Filter) -> None:
    assert parse_filter(flt.to_text()) == flt


@FAST
@given(subscription_filters())
def test_subscription_filters_print_and_parse_back_unchanged(flt: Filter) -> None:
    text = flt.to_text()
    assert parse_subscription_filter(text) == flt
    assert parse_subscription_filter(text).to_text() == text


GRAMMAR_TOKENS = st.sampled_from(
    ["(", ")", ",", ";", "|", "'", "''", "/", "~", "~0", "~1", " ", "null", "'null'", "a", "extensions", "objectType",
     "ResourceInfo", "1", "-2.5", "2024-05-01T10:00:00Z", "\x00", "é", *OPERATORS]
)  # fmt: skip


@st.composite
def damaged_filters(draw: st.DrawFn) -> str:
    """A valid subscription filter with up to three short stretches replaced by grammar tokens: near misses."""
    text = draw(subscription_filters()).to_text()
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 3)))
        text = text[:start] + draw(st.lists(GRAMMAR_TOKENS, max_size=2).map("".join)) + text[end:]
    return text


NOISE = st.one_of(st.text(max_size=40), st.lists(GRAMMAR_TOKENS, max_size=30).map("".join), damaged_filters())


@settings(max_examples=500, deadline=None)
@given(NOISE)
def test_arbitrary_text_is_either_a_filter_or_an_invalid_query(text: str) -> None:
    for parse in (parse_filter, parse_subscription_filter):
        try:
            flt = parse(text)
        except InvalidQuery as error:
            assert error.detail.startswith("filter: ")
        else:
            assert parse(flt.to_text()) == flt  # whatever is accepted has a canonical spelling


@settings(max_examples=20, deadline=None)
@given(st.text(st.sampled_from("(),;|'/~ e"), min_size=3000, max_size=6000))
def test_long_hostile_input_is_refused_cleanly(text: str) -> None:
    # No operator can be spelled from this alphabet, so every such input is invalid; over the limit it is refused
    # for its length before any parsing.
    with pytest.raises(InvalidQuery) as caught:
        parse_subscription_filter(text)
    assert ("longer than" in caught.value.detail) == (len(text) > MAX_FILTER_LENGTH)


def _json(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMED_KEYS) | st.text(), inner),
        max_leaves=8,
    )


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["2024-05-01T10:00:00+02:00", "64", "0123", "true", "null"]),
)
DOCUMENTS = st.dictionaries(st.sampled_from(NAMED_KEYS), _json(JSON_LEAVES), max_size=5)
MATCHING_VALUES = ["1", "64", "0.5", "-1e400", "true", "false", "2024-05-01", "2024-05-01T08:00:00Z", "a", "", "null"]


@st.composite
def terms_on_documents(draw: st.DrawFn) -> Term:
    op = draw(st.sampled_from(OPERATORS))
    path = tuple(draw(st.lists(st.sampled_from(NAMED_KEYS), min_size=1, max_size=3)))
    pool = [*MATCHING_VALUES, None] if op in NULL_OPERATORS else MATCHING_VALUES
    count = 1 if op in SINGLE_VALUE_OPERATORS else draw(st.integers(1, 3))
    return Term(op, path, tuple(draw(st.sampled_from(pool)) for _ in range(count)))


@FAST
@given(st.lists(terms_on_documents(), min_size=1, max_size=3), DOCUMENTS)
def test_matching_never_raises_and_negated_operators_are_exact_opposites(term_list: list[Term], doc: Any) -> None:
    flt = parse_filter(Filter((tuple(term_list),)).to_text())
    assert isinstance(flt.matches(doc), bool)
    negation = {"eq": "neq", "neq": "eq", "in": "nin", "nin": "in", "cont": "ncont", "ncont": "cont"}
    for term in term_list:
        if term.op in negation:
            opposite = Term(negation[term.op], term.path, term.values)
            assert Filter(((term,),)).matches(doc) != Filter(((opposite,),)).matches(doc)


@FAST
@given(subscription_filters(), DOCUMENTS, st.sampled_from(sorted(OBJECT_TYPES)))
def test_subscription_matching_never_raises(flt: Filter, doc: Any, object_type: str) -> None:
    assert isinstance(flt.matches(doc, {"objectType": object_type}), bool)


# --- the liberal form: spaces between bare words (docs/query-language.md "Values") ------------------------------------

# A bare word: any character but the grammar's own and white space (a quote, too, is grammar).
_WORD = st.text(st.characters(codec="utf-8", exclude_characters=",/()';|", exclude_categories=("Cc", "Zs", "Zl", "Zp")),
                min_size=1, max_size=5)
SPACED_VALUES = st.lists(_WORD, min_size=2, max_size=4).flatmap(
    lambda words: st.lists(st.integers(1, 3), min_size=len(words) - 1, max_size=len(words) - 1).map(
        lambda gaps: words[0] + "".join(" " * gap + word for gap, word in zip(gaps, words[1:], strict=True))
    )
)


@st.composite
def liberal_terms(draw: st.DrawFn) -> tuple[str, Term]:
    """A term written as an SMO might, with unquoted spaces inside values, and the term it means."""
    op = draw(st.sampled_from(OPERATORS))
    count = 1 if op in SINGLE_VALUE_OPERATORS else draw(st.integers(1, 3))
    values = tuple(draw(st.one_of(SPACED_VALUES, _WORD.filter(lambda w: w != "null"))) for _ in range(count))
    path = tuple(draw(st.lists(st.sampled_from(NAMED_KEYS), min_size=1, max_size=2)))
    return f"({op},{'/'.join(path)},{','.join(values)})", Term(op, path, values)


@FAST
@given(st.lists(liberal_terms(), min_size=1, max_size=3))
def test_unquoted_spaces_mean_what_quoting_them_means(written: list[tuple[str, Term]]) -> None:
    text = ";".join(t for t, _ in written)
    expected = Filter((tuple(term for _, term in written),))
    for parse in (parse_filter, parse_subscription_filter):
        flt = parse(text)
        assert flt.groups == expected.groups
        canonical = flt.to_text()
        assert parse(canonical) == flt  # the canonical (quoted) form re-parses to the same filter
        assert parse(canonical).to_text() == canonical


@FAST
@given(liberal_terms(), st.sampled_from(["leading", "trailing"]))
def test_a_space_at_either_end_of_a_bare_value_is_refused(written: tuple[str, Term], where: str) -> None:
    text, _ = written
    head, _, last = text[:-1].rpartition(",")
    padded = f"{head}, {last})" if where == "leading" else f"{head},{last} )"
    with pytest.raises(InvalidQuery) as caught:
        parse_filter(padded)
    assert f"may not {'start' if where == 'leading' else 'end'} with a space" in caught.value.detail
