"""Attribute selectors (docs/o2-conventions.md §3; SOL013 §5.3) as an SMO uses them."""

from typing import Any

import pytest

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.selectors import SelectorSchema, apply_selection, parse_selection

SCHEMA = SelectorSchema(
    attributes=frozenset({"id", "name", "vendor", "elements", "extensions"}),
    identifiers=frozenset({"id"}),
    excluded_by_default=(("elements",), ("extensions", "profileData")),
)
OBJECT: dict[str, Any] = {
    "id": "r1",
    "name": "du-1",
    "vendor": "Dell",
    "elements": [{"id": "cpu"}],
    "extensions": {"zone": "a", "profileData": {"secret": "x"}},
}


def select(**raw: str) -> dict[str, Any]:
    return apply_selection(OBJECT, parse_selection(**raw), SCHEMA)


def test_default_representation_leaves_out_large_complex_attributes() -> None:
    result = select()
    assert "elements" not in result
    assert result["extensions"] == {"zone": "a"}
    assert result["name"] == "du-1"


def test_all_fields_returns_everything() -> None:
    assert select(all_fields="") == OBJECT


def test_exclude_default_equals_default_representation() -> None:
    assert select(exclude_default="") == select()


@pytest.mark.parametrize("spelling", ["", "true", "TRUE", "True"])
def test_flags_given_as_true_are_set(spelling: str) -> None:
    assert select(all_fields=spelling) == OBJECT
    assert select(exclude_default=spelling) == select()


@pytest.mark.parametrize("spelling", ["false", "False"])
def test_flags_given_as_false_are_not_set(spelling: str) -> None:
    """A schema-driven client sends `all_fields=false` for "not all fields": the default representation."""
    assert select(all_fields=spelling) == select()
    assert select(all_fields=spelling, fields="elements") == select(fields="elements")
    assert select(exclude_default=spelling) == select()
    assert parse_selection(all_fields=spelling, exclude_default=spelling) == parse_selection()


def test_fields_adds_complex_attributes_to_the_default() -> None:
    result = select(fields="elements")
    assert result["elements"] == [{"id": "cpu"}]
    assert result["vendor"] == "Dell"  # naming a complex attribute does not strip the simple ones
    assert "profileData" not in result["extensions"]


def test_fields_naming_a_simple_attribute_changes_nothing() -> None:
    assert select(fields="name") == select()


def test_fields_with_nested_path_brings_back_that_member() -> None:
    assert select(fields="extensions/profileData")["extensions"]["profileData"] == {"secret": "x"}


def test_exclude_fields_removes_from_all_attributes() -> None:
    result = select(exclude_fields="vendor")
    assert "vendor" not in result
    assert result["elements"] == [{"id": "cpu"}]
    assert result["extensions"]["profileData"] == {"secret": "x"}


def test_exclusion_wins_over_inclusion() -> None:
    assert "elements" not in select(fields="elements", exclude_fields="elements")


def test_identifiers_are_never_removed() -> None:
    assert select(exclude_fields="id,name")["id"] == "r1"


def test_nested_exclusion_removes_only_that_member() -> None:
    assert select(all_fields="", exclude_fields="extensions/zone")["extensions"] == {"profileData": {"secret": "x"}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fields": "nope"}, "unknown attribute 'nope'"),
        ({"exclude_fields": "name,bogus"}, "unknown attribute 'bogus'"),
        ({"fields": "name/inner"}, "does not name an attribute"),
        ({"fields": "a,,b"}, "empty attribute name"),
        ({"all_fields": "yes"}, "'all_fields' is a flag: give it no value, or true or false"),
        ({"exclude_default": "0"}, "'exclude_default' is a flag"),
    ],
)
def test_bad_selectors_are_rejected_with_a_message_naming_the_problem(raw: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        select(**raw)


def test_selection_does_not_modify_the_stored_object() -> None:
    select(exclude_fields="extensions/zone", all_fields="")
    assert OBJECT["extensions"]["zone"] == "a"
