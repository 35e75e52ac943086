"""Bad input never answers 500 (docs/security.md, "Hostile input"): malformed query values and bodies the JSON
parser cannot read are 400 ProblemDetails naming what was wrong, as an SMO would see them."""

from __future__ import annotations

import pytest

from tests.functional.conftest import Api, assert_problem

RESOURCE_TYPES = "/o2ims-infrastructureInventory/v1/resourceTypes"
SUBSCRIPTIONS = "/o2ims-infrastructureInventory/v1/subscriptions"
ALARMS = "/o2ims-infrastructureMonitoring/v1/alarms"
DEPLOYMENTS = "/o2dms/v1/deployments"
PACKAGES = "/o2dms/v1/deploymentPackages"
LISTS = [RESOURCE_TYPES, SUBSCRIPTIONS, ALARMS, DEPLOYMENTS, PACKAGES]


@pytest.mark.parametrize("path", LISTS, ids=lambda path: path.rsplit("/", 1)[-1])
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        pytest.param("limit=%C2%B2", "limit", id="superscript-two"),  # str.isdigit() says yes, int() says no
        pytest.param("limit=%D9%A3", "limit", id="arabic-three"),  # int() reads it; it is no O2 number
        pytest.param("limit=" + "9" * 5000, "limit", id="huge-limit"),  # beyond int()'s 4300-digit limit
        pytest.param("limit=-1", "limit", id="negative-limit"),
        pytest.param("nextpage_opaque_marker=%C2%B2", "nextpage_opaque_marker", id="superscript-marker"),
        pytest.param("nextpage_opaque_marker=" + "7" * 5000, "nextpage_opaque_marker", id="huge-page-number"),
        pytest.param("nextpage_opaque_marker=%00%FF", "nextpage_opaque_marker", id="binary-marker"),
        pytest.param("filter=%C2%B2", "filter", id="superscript-filter"),
        pytest.param("fields=%00", "fields", id="nul-field"),
    ],
)
def test_a_malformed_query_value_is_400_naming_the_parameter(api: Api, path: str, query: str, parameter: str) -> None:
    assert_problem(api.get(f"{path}?{query}"), 400, parameter)


def test_a_numeric_page_marker_in_ascii_digits_still_pages(api: Api) -> None:
    assert api.get(f"{RESOURCE_TYPES}?limit=1&nextpage_opaque_marker=1").status == 200


BODY_ROUTES = [
    pytest.param("POST", SUBSCRIPTIONS, id="subscriptions"),
    pytest.param("POST", DEPLOYMENTS, id="deployments"),
    pytest.param("PATCH", f"{ALARMS}/00000000-0000-4000-8000-000000000000", id="alarm"),  # parsed by hand
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(b"[" * 100_000, "nested", id="recursion"),  # RecursionError inside the json parser
        pytest.param(b"[" * 200 + b"]" * 200, "nested", id="too-deep"),  # parses; deeper than any O2 document
        pytest.param(b'{"callback": "\xff\xfe"}', "not valid JSON", id="not-utf8"),
        pytest.param(b'{"a": NaN}', "not valid JSON", id="nan"),  # not JSON, though Python's parser accepts it
        pytest.param(b"1" * 5000, "not valid JSON", id="huge-number"),  # beyond int()'s digit limit
    ],
)
def test_a_body_the_parser_cannot_read_is_400(api: Api, method: str, path: str, body: bytes, why: str) -> None:
    assert_problem(api.request(method, path, body=body), 400, why)
