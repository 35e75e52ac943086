"""Bad input never answers 500 (docs/security.md, "Hostile input"): malformed query values and bodies the JSON
parser cannot read are 400 ProblemDetails naming what was wrong, as an SMO would see them."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from chalicelib.bootstrap import Components
from chalicelib.domain.paging import MarkerCodec
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
    pytest.param("POST", "/o2dms/v1/deploymentTemplates", id="deploymentTemplates"),
    pytest.param("POST", "/o2ims-infrastructureProvisioning/v1/provisioningRequests", id="provisioningRequests"),
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


# --- paging markers: signed for one list, checked against its key before DynamoDB sees them ------------------------

STRING = {"S": "00000000-0000-4000-8000-000000000000"}
# Every list that pages by marker: its path, the scope its markers are signed for, a key of the shape it issues.
MARKED_LISTS = [
    pytest.param(RESOURCE_TYPES, "inventory/ResourceTypeInfo/", {"pk": {"S": "ResourceTypeInfo"}, "sk": STRING},
                 id="resourceTypes"),
    pytest.param(SUBSCRIPTIONS, "subscriptions/inventory", {"subscriptionId": STRING, "kind": {"S": "inventory"}},
                 id="inventory-subscriptions"),
    pytest.param("/o2ims-infrastructureMonitoring/v1/alarmSubscriptions", "subscriptions/alarm",
                 {"subscriptionId": STRING, "kind": {"S": "alarm"}}, id="alarm-subscriptions"),
    pytest.param("/o2dms/v1/subscriptions", "subscriptions/dms", {"subscriptionId": STRING, "kind": {"S": "dms"}},
                 id="dms-subscriptions"),
    pytest.param(ALARMS, "alarms", {"alarmEventRecordId": STRING}, id="alarms"),
    pytest.param(DEPLOYMENTS, "deployments", {"pk": {"S": "Deployment"}, "sk": STRING}, id="deployments"),
    pytest.param(PACKAGES, "deploymentPackages", {"packageId": STRING}, id="deploymentPackages"),
    pytest.param("/o2dms/v1/deploymentTemplates", "deploymentTemplates", {"deploymentTemplateId": STRING},
                 id="deploymentTemplates"),
    pytest.param("/o2ims-infrastructureProvisioning/v1/provisioningRequests", "provisioningRequests",
                 {"provisioningRequestId": STRING}, id="provisioningRequests"),
]


def _gateway_codec(components: Components) -> MarkerCodec:
    return MarkerCodec(components.settings.marker_key(components.secret))


@pytest.mark.parametrize(("path", "scope", "key"), MARKED_LISTS)
def test_a_marker_the_list_issued_is_accepted(api: Api, components: Components, path: str, scope: str,
                                              key: dict[str, Any]) -> None:
    marker = _gateway_codec(components).encode(scope, key)
    assert api.get(f"{path}?nextpage_opaque_marker={marker}").status == 200


@pytest.mark.parametrize(("path", "scope", "key"), MARKED_LISTS)
def test_a_tampered_foreign_or_reshaped_marker_is_400(api: Api, components: Components, path: str, scope: str,
                                                      key: dict[str, Any]) -> None:
    codec = _gateway_codec(components)
    issued = codec.encode(scope, key)
    other_key = {name: {"S": "ffffffff-ffff-4fff-8fff-ffffffffffff"} for name in key}
    forged_payload = codec.encode(scope, other_key).split(".")[0]
    unsigned = base64.urlsafe_b64encode(json.dumps({"v": 1, "k": key}).encode()).decode().rstrip("=")  # v1 format
    bad = {
        "tampered": f"{forged_payload}.{issued.split('.')[1]}",
        "another list's": codec.encode("inventory/ResourcePoolInfo/", key),
        "extra attribute": codec.encode(scope, {**key, "pk2": {"S": "x"}}),
        "number-typed": codec.encode(scope, {name: {"N": "1"} for name in key}),
        "another key's": MarkerCodec(b"guessed").encode(scope, key),
        "unsigned": unsigned,
    }
    for what, marker in bad.items():
        body = assert_problem(api.get(f"{path}?nextpage_opaque_marker={marker}"), 400, "nextpage_opaque_marker")
        assert body["detail"] == "nextpage_opaque_marker: invalid", what


@pytest.mark.parametrize(
    ("path", "scope", "key"),
    [
        pytest.param(DEPLOYMENTS, "deployments", {"pk": {"S": "Operation"}, "sk": STRING}, id="deployments"),
        pytest.param(RESOURCE_TYPES, "inventory/ResourceTypeInfo/", {"pk": {"S": "ResourcePoolInfo"}, "sk": STRING},
                     id="resourceTypes"),
        pytest.param(SUBSCRIPTIONS, "subscriptions/inventory", {"subscriptionId": STRING, "kind": {"S": "dms"}},
                     id="subscriptions"),
    ],
)
def test_a_signed_marker_into_another_partition_is_400(api: Api, components: Components, path: str, scope: str,
                                                       key: dict[str, Any]) -> None:
    # Defence in depth: were the marker key known, a forged key still may not leave the list's partition.
    marker = _gateway_codec(components).encode(scope, key)
    assert_problem(api.get(f"{path}?nextpage_opaque_marker={marker}"), 400, "nextpage_opaque_marker")


def test_markers_the_gateway_hands_out_page_and_are_url_safe(api: Api) -> None:
    for n in range(3):  # callbacks at an address literal: no DNS lookup
        created = api.request("POST", SUBSCRIPTIONS, body={"callback": f"https://93.184.215.14/smo/{n}"})
        assert created.status == 201, created.body
    link = api.get(f"{SUBSCRIPTIONS}?limit=2").header("Link")
    assert link is not None
    marker = link.split("nextpage_opaque_marker=")[1].split(">")[0]
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", marker)
    second = api.get(f"{SUBSCRIPTIONS}?limit=2&nextpage_opaque_marker={marker}")
    assert second.status == 200 and len(second.json()) >= 1
