"""The O2 filter language (docs/o2-conventions.md §3, §4; SOL013 §5.2) as an SMO writes it: what matches, what is
refused and why."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.query import (
    MAX_FILTER_LENGTH,
    Filter,
    FilterSchema,
    Term,
    parse_filter,
    parse_subscription_filter,
    validate_filter,
)
from chalicelib.domain.selectors import SelectorSchema

RESOURCE: dict[str, Any] = {
    "resourceId": "r-1",
    "resourcePoolId": "pool-a",
    "resourceTypeId": "t-server",
    "description": "edge pool 1, rack (A); row|B / 'left'",
    "elements": [
        {"resourceId": "cpu-0", "resourceTypeId": "t-cpu", "extensions": {"cores": 32}},
        {"resourceId": "fec-0", "resourceTypeId": "t-fec", "parentId": "r-1", "extensions": {"cores": 0}},
    ],
    "tags": ["edge", "du"],
    "groups": [],
    "extensions": {
        "zone": "zone-a",
        "cpus": 64,
        "ratio": 0.1,
        "memoryGi": "512",
        "serial": "0123",
        "sriov": True,
        "schedulable": False,
        "optional": None,
        "bootTime": "2024-05-01T10:00:00Z",
        "labels": {"node.kubernetes.io/instance-type": "m5.large", "a~b": "tilde", "x~1y": "literal"},
    },
}


def matches(text: str, document: dict[str, Any] = RESOURCE) -> bool:
    return parse_filter(text).matches(document)


def refused(text: str, *, subscription: bool = False) -> str:
    with pytest.raises(InvalidQuery) as caught:
        (parse_subscription_filter if subscription else parse_filter)(text)
    return caught.value.detail


# --- strings ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,resourcePoolId,pool-a)", True),
        ("(eq,resourcePoolId,pool-b)", False),
        ("(eq,resourcePoolId,POOL-A)", False),  # case-sensitive
        ("(neq,resourcePoolId,pool-b)", True),
        ("(neq,resourcePoolId,pool-a)", False),
        ("(cont,resourcePoolId,ool)", True),
        ("(cont,resourcePoolId,xyz,ool)", True),  # several values: contains any
        ("(cont,resourcePoolId,xyz,abc)", False),
        ("(ncont,resourcePoolId,xyz,abc)", True),  # several values: contains none
        ("(ncont,resourcePoolId,xyz,ool)", False),
        ("(in,resourcePoolId,pool-b,pool-a)", True),
        ("(in,resourcePoolId,pool-b,pool-c)", False),
        ("(nin,resourcePoolId,pool-b,pool-c)", True),
        ("(nin,resourcePoolId,pool-b,pool-a)", False),
        ("(gt,resourcePoolId,pool-0)", True),  # code-point order for plain strings
        ("(gte,resourcePoolId,pool-a)", True),
        ("(lt,resourcePoolId,pool-a)", False),
        ("(lte,resourcePoolId,pool-a)", True),
        ("(lt,resourcePoolId,pool-b)", True),
    ],
)
def test_string_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


# --- numbers ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,extensions/cpus,64)", True),
        ("(eq,extensions/cpus,64.0)", True),  # numerically, not textually
        ("(eq,extensions/cpus,6.4e1)", True),
        ("(eq,extensions/cpus,+64)", True),
        ("(neq,extensions/cpus,63)", True),
        ("(gt,extensions/cpus,9)", True),  # 64 > 9 although "64" < "9" as text
        ("(gt,extensions/cpus,64)", False),
        ("(gte,extensions/cpus,64)", True),
        ("(lt,extensions/cpus,100)", True),
        ("(lte,extensions/cpus,63.99)", False),
        ("(in,extensions/cpus,32,64)", True),
        ("(nin,extensions/cpus,32,64)", False),
        ("(eq,extensions/ratio,0.1)", True),  # a float attribute equals its own decimal spelling
        ("(lt,extensions/ratio,.2)", True),
        ("(gt,extensions/cpus,-1e400)", True),
        ("(lt,extensions/cpus,1e999999999999999999999)", False),  # beyond Decimal: not a number, no error
    ],
)
def test_number_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_a_non_numeric_value_never_matches_a_number_and_is_not_an_error() -> None:
    # One filter may run over several object types, so a type mismatch is "no match", not a 400.
    assert not matches("(eq,extensions/cpus,many)")
    assert not matches("(gt,extensions/cpus,many)")
    assert matches("(neq,extensions/cpus,many)")
    assert not matches("(cont,extensions/cpus,6)")  # cont is for strings and lists only


def test_numeric_strings_order_numerically_but_compare_equal_only_as_text() -> None:
    assert matches("(gt,extensions/memoryGi,64)")  # "512" > "64" as numbers (as text it would be smaller)
    assert matches("(lte,extensions/memoryGi,512.0)")
    assert matches("(eq,extensions/memoryGi,512)")
    assert not matches("(eq,extensions/memoryGi,512.0)")  # identifiers such as "0123" must not equal "123"
    assert not matches("(eq,extensions/serial,123)")
    assert matches("(gt,extensions/memoryGi,abc)") is False  # "512" < "abc" in code-point order


def test_non_finite_and_huge_numbers_in_documents_do_not_break_matching() -> None:
    document = {"a": float("nan"), "b": float("inf"), "c": 10**400, "d": -0.0}
    assert not matches("(eq,a,1)", document)
    assert matches("(gt,b,1e308)", document)
    assert matches("(gt,c,1e399)", document)
    assert matches("(eq,d,0)", document)


# --- booleans --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,extensions/sriov,true)", True),
        ("(eq,extensions/sriov,false)", False),
        ("(eq,extensions/schedulable,false)", True),
        ("(neq,extensions/sriov,true)", False),
        ("(in,extensions/sriov,true,false)", True),
        ("(eq,extensions/sriov,1)", False),  # a bool is not the number 1
        ("(eq,extensions/sriov,True)", False),  # JSON spelling only
        ("(gt,extensions/sriov,false)", False),  # booleans are not ordered
        ("(cont,extensions/sriov,true)", False),
    ],
)
def test_boolean_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_a_string_true_is_compared_as_a_string() -> None:
    assert matches("(eq,flag,true)", {"flag": "true"})
    assert not matches("(eq,flag,true)", {"flag": "yes"})


# --- timestamps ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(gt,extensions/bootTime,2024-05-01T09:59:59Z)", True),
        ("(gt,extensions/bootTime,2024-05-01T10:00:00Z)", False),
        ("(gte,extensions/bootTime,2024-05-01T10:00:00Z)", True),
        ("(lt,extensions/bootTime,2024-05-01T11:00:00+00:30)", True),  # 10:30 UTC
        ("(lt,extensions/bootTime,2024-05-01T11:00:00+02:00)", False),  # 09:00 UTC, though "11" > "10" as text
        ("(eq,extensions/bootTime,2024-05-01T12:00:00+02:00)", True),  # the same instant, spelled differently
        ("(eq,extensions/bootTime,2024-05-01T10:00:00.000Z)", True),
        ("(eq,extensions/bootTime,2024-05-01T10:00:00)", True),  # no offset: read as UTC
        ("(neq,extensions/bootTime,2024-05-01T12:00:00+02:00)", False),
        ("(gt,extensions/bootTime,2024-05-01)", True),  # a date is midnight UTC
        ("(lt,extensions/bootTime,2024-05-02)", True),
        ("(gt,extensions/bootTime,2024-13-45T00:00:00Z)", False),  # no such date: compared as text, "05" < "13"
    ],
)
def test_timestamp_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_alarm_records_can_be_selected_by_time_window() -> None:
    alarms = [
        {"alarmEventRecordId": "1", "alarmRaisedTime": "2024-05-01T08:00:00Z"},
        {"alarmEventRecordId": "2", "alarmRaisedTime": "2024-05-01T10:30:00+02:00"},
        {"alarmEventRecordId": "3", "alarmRaisedTime": "2024-05-01T12:00:00Z"},
    ]
    window = parse_filter("(gte,alarmRaisedTime,2024-05-01T08:00:00Z);(lt,alarmRaisedTime,2024-05-01T11:00:00Z)")
    assert [a["alarmEventRecordId"] for a in alarms if window.matches(a)] == ["1", "2"]


# --- lists and nested attributes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,tags,edge)", True),  # eq on a list: any element equals
        ("(eq,tags,core)", False),
        ("(neq,tags,edge)", False),  # neq on a list: no element equals
        ("(neq,tags,core)", True),
        ("(cont,tags,du)", True),  # cont on a list: membership
        ("(cont,tags,ed)", False),  # ... not a substring of an element
        ("(cont,tags,core,du)", True),
        ("(ncont,tags,core)", True),
        ("(in,tags,core,edge)", True),
        ("(nin,tags,core,edge)", False),
        ("(gt,tags,e)", True),  # ordering: any element
        ("(eq,groups,x)", False),  # empty list
        ("(neq,groups,x)", True),
    ],
)
def test_list_attributes(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,extensions/zone,zone-a)", True),
        ("(eq,elements/resourceTypeId,t-fec)", True),  # a path through a list looks into every element
        ("(eq,elements/resourceTypeId,t-gpu)", False),
        ("(neq,elements/resourceTypeId,t-fec)", False),
        ("(gt,elements/extensions/cores,16)", True),
        ("(gt,elements/extensions/cores,32)", False),
        ("(eq,elements/parentId,r-1)", True),
        ("(eq,extensions/labels/node.kubernetes.io~1instance-type,m5.large)", True),  # ~1 is '/' in a key
        ("(eq,extensions/labels/a~0b,tilde)", True),  # ~0 is '~'
        ("(eq,extensions/labels/x~01y,literal)", True),  # ~01 is '~' then '1', not '/'
        ("(eq,extensions/zone/deeper,x)", False),  # walking into a string finds nothing
        ("(eq,extensions/missing/deeper,null)", True),
    ],
)
def test_nested_attributes(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_an_smo_can_find_every_fec_accelerator_in_a_pool() -> None:
    resources = [
        {"resourceId": "fec-0", "resourceTypeId": "t-fec", "parentId": "r-1"},
        {"resourceId": "gpu-0", "resourceTypeId": "t-gpu", "parentId": "r-1"},
        {"resourceId": "r-1", "resourceTypeId": "t-server"},
    ]
    fec = parse_filter("(eq,resourceTypeId,t-fec);(neq,parentId,null)")
    assert [r["resourceId"] for r in resources if fec.matches(r)] == ["fec-0"]
    top = parse_filter("(eq,parentId,null)")
    assert [r["resourceId"] for r in resources if top.matches(r)] == ["r-1"]


# --- null ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(eq,globalAssetId,null)", True),  # absent
        ("(eq,extensions/optional,null)", True),  # JSON null
        ("(eq,resourceId,null)", False),
        ("(neq,resourceId,null)", True),  # present
        ("(neq,globalAssetId,null)", False),
        ("(neq,extensions/optional,null)", False),
        ("(in,extensions/zone,zone-b,null)", False),
        ("(in,globalAssetId,zone-b,null)", True),
        ("(nin,globalAssetId,null)", False),
        ("(eq,groups,null)", False),  # an empty list is present
        ("(eq,elements/parentId,null)", True),  # one element has none
        ("(neq,globalAssetId,x)", True),  # absent is "not equal" to anything
        ("(gt,globalAssetId,a)", False),
        ("(eq,globalAssetId,'null')", False),  # quoted: the string null
    ],
)
def test_null(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_quoted_null_is_the_string_and_bare_null_is_no_value() -> None:
    assert parse_filter("(eq,a,'null')").groups[0][0].values == ("null",)
    assert parse_filter("(eq,a,null)").groups[0][0].values == (None,)
    assert matches("(eq,a,'null')", {"a": "null"})
    assert not matches("(eq,a,null)", {"a": "null"})


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte", "cont", "ncont"])
def test_null_with_an_operator_it_makes_no_sense_for_is_refused(op: str) -> None:
    assert f"null cannot be used with '{op}'" in refused(f"({op},a,null)")


# --- quoting ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("special", [",", "/", ")", "(", ";", "|", " ", "'", "\t", "\n"])
def test_every_special_character_can_be_quoted(special: str) -> None:
    value = f"a{special}b"
    quoted = "'" + value.replace("'", "''") + "'"
    flt = parse_filter(f"(eq,name,{quoted})")
    assert flt.groups[0][0].values == (value,)
    assert flt.matches({"name": value})
    assert flt.to_text() == f"(eq,name,{quoted})"


@pytest.mark.parametrize("special", ["/", "(", ";", "|", "'"])
def test_an_unquoted_special_character_is_refused(special: str) -> None:
    detail = refused(f"(eq,name,a{special}b)")
    assert f"found '{special}' at position 11" in detail
    assert "single-quote values that contain" in detail


def test_unquoted_comma_and_parenthesis_are_structure() -> None:
    assert "takes exactly one value, got 2" in refused("(eq,name,a,b)")
    assert "unexpected 'b' after a term at position 12" in refused("(eq,name,a)b)")


def test_doubled_quotes_stand_for_one_quote() -> None:
    assert parse_filter("(eq,name,'O''Brien')").groups[0][0].values == ("O'Brien",)
    assert parse_filter("(eq,name,'''')").groups[0][0].values == ("'",)
    assert parse_filter("(eq,name,'''''')").groups[0][0].values == ("''",)
    assert parse_filter("(eq,name,'')").groups[0][0].values == ("",)
    assert matches("(eq,description,'edge pool 1, rack (A); row|B / ''left''')")
    assert matches("(cont,description,'rack (A); row|B')")


def test_an_smo_filters_by_a_pool_name_with_spaces() -> None:
    assert parse_filter("(eq,name,'edge pool 1')").matches({"name": "edge pool 1"})


def test_the_peer_openapi_example_with_an_unquoted_space_works() -> None:
    """The O2 OpenAPI's own example, `filter=(eq,name,my cluster)`: spaces between words need no quotes."""
    flt = parse_filter("(eq,name,my cluster)")
    assert flt == parse_filter("(eq,name,'my cluster')")
    assert flt.matches({"name": "my cluster"})
    assert not flt.matches({"name": "my"})


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("(in,name,edge pool 1,core pool 2)", ("edge pool 1", "core pool 2")),
        ("(eq,name,two  spaces)", ("two  spaces",)),  # every inner space is part of the value, as given
        ("(cont,description,rack A)", ("rack A",)),
        ("(eq,name,null pool)", ("null pool",)),  # only the bare word null alone is "no value"
        ("(in,name,'a, b',c d,null)", ("a, b", "c d", None)),
        ("(eq,extensions/zone,zone a);(neq,name,b c)", ("zone a",)),
    ],
)
def test_unquoted_spaces_between_words_belong_to_the_value(text: str, values: tuple[str | None, ...]) -> None:
    flt = parse_filter(text)
    assert flt.groups[0][0].values == values
    assert parse_filter(flt.to_text()) == flt  # the canonical form quotes them and reads back the same


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # padding or part of the value? quoting says which
        ("(eq,name, my cluster)", "a value may not start with a space at position 10"),
        ("(eq,name,my cluster )", "a value may not end with a space at position 20"),
        ("(in,name,a ,b)", "a value may not end with a space at position 11"),
        # the structure characters stay structure, with or without spaces around them
        ("(eq,name,c6i.metal (amd64))", "expected ',' or ')' after a value, found '(' at position 20"),
        ("(eq,name,rack A,row 3)", "operator 'eq' takes exactly one value, got 2"),
        ("(eq,name,rack A, row 3)", "a value may not start with a space at position 17"),
        ("(eq,name,a b;c)", "found ';' at position 13"),
        ("(eq,name,a b|c)", "found '|' at position 13"),
        ("(eq,name,it's here)", "found ''' at position 12"),
        ("(eq,name,a\tb)", "found '\t' at position 11"),  # only the space is liberal: tabs and line breaks are quoted
        ("(eq,name,a b/c)", "found '/' at position 13"),
        # an unencoded '+' in a URL query arrives as a space: refused rather than silently compared as text
        ("(gte,alarmRaisedTime,2024-05-01T12:00:00 02:00)", "a space inside a timestamp at position 22; a '+'"),
        ("(lt,alarmRaisedTime,2024-05-01T12:00 0200)", "write it as %2B"),
    ],
)
def test_what_stays_ambiguous_is_still_refused(text: str, fragment: str) -> None:
    assert fragment in refused(text)


def test_spaces_outside_values_are_still_refused() -> None:
    assert "found ' ' at position 4" in refused("(eq ,name,a)")
    assert "found ' ' at position 9" in refused("(eq,name ,a)")
    assert "unexpected ' ' after a term" in refused("(eq,name,a) ")


def test_unicode_values_need_no_quotes() -> None:
    assert matches("(eq,name,Zürich-東京~1)", {"name": "Zürich-東京~1"})


def test_several_values_mix_quoted_and_bare() -> None:
    flt = parse_filter("(in,name,'a b',c,null,'null','')")
    assert flt.groups[0][0].values == ("a b", "c", None, "null", "")


# --- AND, OR, objectType ---------------------------------------------------------------------------------------------


def test_semicolon_is_and() -> None:
    assert matches("(eq,resourcePoolId,pool-a);(gt,extensions/cpus,32)")
    assert not matches("(eq,resourcePoolId,pool-a);(gt,extensions/cpus,64)")
    assert not matches("(eq,resourcePoolId,pool-b);(gt,extensions/cpus,32)")


def test_query_filters_refuse_or() -> None:
    assert "'|' (OR) is only allowed in subscription filters at position 18" in refused("(eq,a,b);(eq,c,d)|(eq,e,f)")


def test_subscription_filter_is_an_or_of_ands() -> None:
    flt = parse_subscription_filter("(eq,a,1);(eq,b,2)|(eq,c,3)")
    assert len(flt.groups) == 2
    assert flt.matches({"a": 1, "b": 2})
    assert flt.matches({"c": 3})
    assert not flt.matches({"a": 1, "c": 4})


def test_object_type_is_read_from_the_context_not_the_document() -> None:
    flt = parse_subscription_filter(
        "(eq,objectType,ResourcePoolInfo)|(eq,objectType,ResourceInfo);(eq,extensions/zone,a)"
    )
    assert flt.matches({"name": "p"}, {"objectType": "ResourcePoolInfo"})
    assert flt.matches({"extensions": {"zone": "a"}}, {"objectType": "ResourceInfo"})
    assert not flt.matches({"extensions": {"zone": "b"}}, {"objectType": "ResourceInfo"})
    assert not flt.matches({"objectType": "ResourcePoolInfo"})  # a document attribute of that name is not used
    assert parse_subscription_filter("(nin,objectType,CloudInfo,ResourceTypeInfo)").matches({}, {"objectType": "x"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("(eq,objectType,Pool)", "objectType 'Pool' is not one of CloudInfo, DeploymentManagerInfo"),
        ("(in,objectType,ResourceInfo,resourceinfo)", "'resourceinfo' is not one of"),
        ("(eq,objectType,null)", "objectType null is not one of"),
        ("(cont,objectType,Info)", "'objectType' takes only eq, neq, in, nin"),
        ("(eq,objectType/x,ResourceInfo)", "has no nested attributes"),
    ],
)
def test_object_type_values_are_checked(text: str, fragment: str) -> None:
    assert fragment in refused(text, subscription=True)


def test_object_type_is_an_ordinary_attribute_name_in_query_filters() -> None:
    assert parse_filter("(eq,objectType,anything)").pseudo_attributes == frozenset()


# --- syntax errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "filter: is empty"),
        ("eq,a,b", "expected '(' to start a term, found 'e' at position 1"),
        (" (eq,a,b)", "expected '(' to start a term, found ' ' at position 1"),
        ("(eq,a,b", "missing ')' at position 8; the term opened at position 1 is not closed"),
        ("(eq,a,", "missing value and ')' at position 7"),
        ("((eq,a,b))", "expected an operator, found '(' at position 2"),
        ("(eq,a,b))", "unexpected ')' after a term at position 9"),
        ("(eq,a,b)(eq,c,d)", "unexpected '(' after a term at position 9"),
        ("(eq,a,b)x", "unexpected 'x' after a term at position 9"),
        ("(eq,a,b);", "empty term at position 10"),
        (";(eq,a,b)", "empty term at position 1"),
        ("(eq,a,b);;(eq,c,d)", "empty term at position 10"),
        ("()", "expected an operator, found ')' at position 2"),
        ("(eq)", "expected ',' after operator 'eq', found ')' at position 4"),
        ("(eq a,b)", "expected ',' after operator 'eq', found ' ' at position 4"),
        ("(EQ,a,b)", "unknown operator 'EQ' at position 2"),
        ("(like,a,b)", "unknown operator 'like' at position 2; expected one of eq, neq, gt"),
        ("(eq,,b)", "expected an attribute name, found ',' at position 5"),
        ("(eq,a//b,c)", "expected an attribute name, found '/' at position 7"),
        ("(eq,/a,c)", "expected an attribute name, found '/' at position 5"),
        ("(eq,a/,c)", "expected an attribute name, found ',' at position 7"),
        ("(eq,a~2,b)", "invalid escape in attribute name at position 6"),
        ("(eq,a~,b)", "invalid escape in attribute name at position 6"),
        ("(eq,a b,c)", "expected ',' after attribute 'a', found ' ' at position 6"),
        ("(eq,a)", "operator 'eq' needs a value after attribute 'a' at position 6"),
        ("(eq,a,)", "empty value at position 7; write '' for the empty string"),
        ("(in,a,b,,c)", "empty value at position 9"),
        ("(eq,a,'b)", "unterminated quoted value at position 7"),
        ("(eq,a,'b'')", "unterminated quoted value at position 7"),
        ("(eq,a,'b'c)", "expected ',' or ')' after a value, found 'c' at position 10"),
        ("(eq,a,b'c')", "expected ',' or ')' after a value, found ''' at position 8"),
        ("(eq,a,(b))", "expected a value, found '(' at position 7"),
        ("(eq,a,b,c)", "operator 'eq' takes exactly one value, got 2 (term at position 1)"),
        ("(eq,x,y);(lte,a,1,2)", "operator 'lte' takes exactly one value, got 2 (term at position 10)"),
    ],
)
def test_syntax_errors_name_the_problem_and_position(text: str, fragment: str) -> None:
    assert fragment in refused(text)


@pytest.mark.parametrize("op", ["eq", "neq", "gt", "gte", "lt", "lte"])
def test_single_value_operators_take_exactly_one_value(op: str) -> None:
    assert parse_filter(f"({op},a,1)").groups[0][0].values == ("1",)
    assert f"operator '{op}' takes exactly one value, got 3" in refused(f"({op},a,1,2,3)")


@pytest.mark.parametrize("op", ["in", "nin", "cont", "ncont"])
def test_set_operators_take_one_or_more_values(op: str) -> None:
    assert parse_filter(f"({op},a,1)").groups[0][0].values == ("1",)
    assert parse_filter(f"({op},a,1,2,3)").groups[0][0].values == ("1", "2", "3")


def test_length_limit() -> None:
    many = ";".join(["(eq,a,b)"] * 400)  # 3599 characters: far more terms than any SMO writes
    assert len(parse_filter(many).groups[0]) == 400
    text = "(eq,a," + "x" * (MAX_FILTER_LENGTH - 7) + ")"
    assert len(text) == MAX_FILTER_LENGTH
    assert parse_filter(text).matches({"a": "x" * (MAX_FILTER_LENGTH - 7)})
    assert f"longer than {MAX_FILTER_LENGTH} characters" in refused(text + " ")
    assert "longer than" in refused("(" * 100_000)


# --- canonical text --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("(eq,name,'edge')", "(eq,name,edge)"),
        ("(eq,name,'a b')", "(eq,name,'a b')"),
        ("(eq,name,'null')", "(eq,name,'null')"),
        ("(eq,name,null)", "(eq,name,null)"),
        ("(eq,name,'')", "(eq,name,'')"),
        ("(eq,name,'it''s')", "(eq,name,'it''s')"),
        ("(eq,extensions/labels/a~1b~0c,x)", "(eq,extensions/labels/a~1b~0c,x)"),
        ("(in,a,1,'2',null)", "(in,a,1,2,null)"),
    ],
)
def test_to_text_is_canonical_and_parses_back(text: str, canonical: str) -> None:
    flt = parse_filter(text)
    assert flt.to_text() == canonical
    assert parse_filter(canonical) == flt


def test_parsed_model() -> None:
    assert parse_filter("(eq,extensions/zone,a);(in,b,1,null)") == Filter(
        groups=((Term("eq", ("extensions", "zone"), ("a",)), Term("in", ("b",), ("1", None))),)
    )


# --- attribute validation --------------------------------------------------------------------------------------------

POOL = FilterSchema(attributes=frozenset({"resourcePoolId", "name", "location"}))
RESOURCE_SCHEMA = FilterSchema(
    attributes=frozenset({"resourceId", "resourcePoolId", "elements", "tags"}),
    open_attributes=frozenset({"extensions", "elements"}),
)


def test_known_attributes_pass_validation() -> None:
    validate_filter(parse_filter("(eq,name,a);(eq,extensions/anything/below,x)"), POOL)
    validate_filter(parse_filter("(eq,elements/resourceTypeId,x);(eq,tags,a)"), RESOURCE_SCHEMA)


def test_an_unknown_attribute_is_named_in_the_error() -> None:
    with pytest.raises(InvalidQuery, match=r"unknown attribute 'nmae'; known attributes: extensions, location, name"):
        validate_filter(parse_filter("(eq,name,a);(eq,nmae,b)"), POOL)


def test_a_nested_path_under_a_simple_attribute_is_refused() -> None:
    with pytest.raises(InvalidQuery, match=r"attribute 'name' has no nested attributes \(in 'name/first'\)"):
        validate_filter(parse_filter("(eq,name/first,a)"), POOL)


def test_the_same_parsed_filter_can_be_checked_against_several_types() -> None:
    flt = parse_filter("(eq,resourceId,r-1)")
    validate_filter(flt, RESOURCE_SCHEMA)
    with pytest.raises(InvalidQuery, match="unknown attribute 'resourceId'"):
        validate_filter(flt, POOL)
    validate_filter(flt, POOL, RESOURCE_SCHEMA)  # a subscription filter may speak of any type


def test_pseudo_attributes_need_no_schema_entry() -> None:
    validate_filter(parse_subscription_filter("(eq,objectType,ResourcePoolInfo);(eq,name,a)"), POOL)


def test_selector_schemas_can_validate_filters() -> None:
    schema = SelectorSchema(attributes=frozenset({"id", "extensions"}), identifiers=frozenset({"id"}))
    validate_filter(parse_filter("(eq,extensions/zone,a)"), schema)
    with pytest.raises(InvalidQuery):
        validate_filter(parse_filter("(eq,name,a)"), schema)


# --- storage push-down -----------------------------------------------------------------------------------------------


def test_equality_terms_lists_top_level_eq_terms_a_store_can_index() -> None:
    flt = parse_filter("(eq,resourcePoolId,p1);(eq,extensions/zone,a);(in,resourceTypeId,t);(eq,x,null);(eq,b,2)")
    assert flt.equality_terms() == (("resourcePoolId", "p1"), ("b", "2"))


def test_equality_terms_is_empty_when_groups_are_ored() -> None:
    assert parse_subscription_filter("(eq,a,1)|(eq,b,2)").equality_terms() == ()
    assert parse_subscription_filter("(eq,objectType,CloudInfo);(eq,a,1)").equality_terms() == (("a", "1"),)
