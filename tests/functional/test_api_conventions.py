"""The conventions every O2 route follows (docs/o2-conventions.md §1, §6): auth, ProblemDetails, 404/405, slashes,
flags."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from typing import Any

import jwt
import pytest

from chalicelib.api.routing import HTTP_METHODS
from chalicelib.observability import SERVICE, logger
from chalicelib.services import ocloud
from tests.functional.conftest import SECRET, Api, assert_problem, token_with

ROOT = "/o2ims-infrastructureInventory/v1"


def test_root_object_has_every_required_field(api: Api) -> None:
    reply = api.get(ROOT)
    assert reply.status == 200
    body = reply.json()
    for name in ("oCloudId", "globalCloudId", "globalcloudId", "name", "description", "serviceUri", "extensions"):
        assert name in body
    uuid.UUID(body["oCloudId"])
    assert body["globalcloudId"] == body["globalCloudId"]
    assert body["serviceUri"] == "http://gateway.test"
    assert None not in body.values()


def test_service_uri_is_the_api_root_the_client_sees_behind_the_gateway(api: Api) -> None:
    reply = api.get(
        ROOT, headers={"Host": "o2.operator.example", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    )
    assert reply.json()["serviceUri"] == "https://o2.operator.example"


def test_root_id_is_stable_across_calls(api: Api) -> None:
    assert api.get(ROOT).json()["oCloudId"] == api.get(ROOT).json()["oCloudId"]


def test_trailing_slash_and_bare_flags_are_accepted(api: Api) -> None:
    """The O-Cloud description has no large attributes: all_fields and exclude_default (bare or `=true`) both answer
    its default representation, as `fields` naming one of its attributes does."""
    default = api.get(ROOT).json()
    for path in (ROOT + "/", ROOT + "?all_fields", ROOT + "/?exclude_default", ROOT + "?all_fields=true",
                 ROOT + "?exclude_default=true", ROOT + "?fields=name"):
        reply = api.get(path)
        assert reply.status == 200, (path, reply.body)
        assert reply.json() == default, path


def test_unknown_query_parameter_is_a_400_naming_it(api: Api) -> None:
    assert_problem(api.get(ROOT + "?filtr=(eq,name,x)"), 400, "filtr")


def test_selector_naming_a_missing_attribute_is_a_400(api: Api) -> None:
    assert_problem(api.get(ROOT + "?fields=nonsense"), 400, "nonsense")


def test_exclude_fields_removes_but_keeps_identifiers(api: Api) -> None:
    default = api.get(ROOT).json()
    body = api.get(ROOT + "?exclude_fields=description,oCloudId,extensions").json()
    assert body == {k: v for k, v in default.items() if k not in ("description", "extensions")}
    assert body["oCloudId"] == default["oCloudId"]  # an identifier is never removed


def test_missing_token_is_401_problem(api: Api) -> None:
    reply = api.get(ROOT, token=None)
    assert_problem(reply, 401, "bearer token")
    challenge = reply.header("www-authenticate")
    assert challenge is not None and challenge.startswith("Bearer")


@pytest.mark.parametrize(
    "claims",
    [{"exp": int(time.time()) - 600}, {"aud": "other"}, {"iss": "elsewhere"}],
)
def test_expired_or_foreign_token_is_401(api: Api, claims: dict[str, Any]) -> None:
    base = {
        "sub": "smo",
        "iss": "netweave-local",
        "aud": "netweave",
        "exp": int(time.time()) + 600,
        "scope": "o2ims:read",
    }
    assert_problem(api.get(ROOT, token=jwt.encode({**base, **claims}, SECRET, algorithm="HS256")), 401)


def test_token_signed_with_another_key_is_401(api: Api) -> None:
    forged = jwt.encode(
        {"sub": "smo", "iss": "netweave-local", "aud": "netweave", "exp": int(time.time()) + 60, "scope": "o2ims:read"},
        "not-the-gateway-secret-but-long-enough-1234",
        algorithm="HS256",
    )
    assert_problem(api.get(ROOT, token=forged), 401, "invalid")


def test_token_without_the_scope_is_403(api: Api) -> None:
    assert_problem(api.get(ROOT, token=token_with("o2dms:read")), 403, "o2ims:read")
    reply = api.get(ROOT, token=token_with("o2ims:read"))
    assert reply.status == 200 and reply.json() == api.get(ROOT).json()


def test_unknown_path_is_404_problem(api: Api) -> None:
    assert_problem(api.get(ROOT + "/nope"), 404)
    assert_problem(api.get("/o2ims-infrastructureInventory/v3/resourcePools"), 404)  # v2 is served (issue 19)
    assert_problem(api.get("/totally/unknown", token=None), 404)


@pytest.mark.parametrize("method", [m for m in HTTP_METHODS if m != "GET"])
def test_wrong_method_on_a_known_path_is_405_with_allow(api: Api, method: str) -> None:
    reply = api.request(method, ROOT, body={} if method in ("POST", "PUT", "PATCH") else None)
    assert_problem(reply, 405, method)
    assert reply.header("allow") == "GET"


@pytest.mark.parametrize(
    ("service", "scope"),
    [
        ("/o2ims-infrastructureInventory", "o2ims:read"),
        ("/o2ims-infrastructureMonitoring", "o2ims:read"),
        ("/o2dms", "o2dms:read"),
    ],
)
def test_api_versions_in_both_forms(api: Api, service: str, scope: str) -> None:
    reply = api.get(f"{service}/v1/api_versions", token=token_with(scope))
    assert reply.status == 200
    assert reply.json() == {"uriPrefix": f"{service}/v1", "apiVersions": [{"version": "1.0.0"}]}
    served = [{"version": "1.0.0"}, {"version": "2.0.0"}] if service.endswith("Inventory") else [{"version": "1.0.0"}]
    reply = api.get(f"{service}/api_versions", token=token_with(scope))
    assert reply.status == 200
    assert reply.json() == {"uriPrefix": f"{service}/v1", "apiVersions": served}


def test_inventory_v2_api_versions_names_itself(api: Api) -> None:
    reply = api.get("/o2ims-infrastructureInventory/v2/api_versions", token=token_with("o2ims:read"))
    assert reply.json() == {"uriPrefix": "/o2ims-infrastructureInventory/v2", "apiVersions": [{"version": "2.0.0"}]}


def test_short_form_root_serves_the_same_object(api: Api) -> None:
    assert api.get("/o2ims/v1").json() == api.get(ROOT).json()


def test_health_is_open(api: Api) -> None:
    reply = api.get("/health", token=None)
    assert reply.status == 200 and reply.json() == {"status": "ok"}


def test_every_response_carries_a_request_id_and_honours_the_clients(api: Api) -> None:
    assert api.get(ROOT).header("x-request-id")
    assert api.get(ROOT, headers={"X-Request-Id": "smo-trace-42"}).header("x-request-id") == "smo-trace-42"
    assert api.get(ROOT, token=None, headers={"X-Request-Id": "smo-trace-43"}).header("x-request-id") == "smo-trace-43"


def test_a_bug_in_a_view_answers_500_problem_details_naming_the_request_id_it_is_logged_under(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise TypeError("unsupported operand type(s): token=s3cr3t")

    monkeypatch.setattr(ocloud, "describe_ocloud", broken)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logger.registered_formatter)  # formats as it is logged: with the request's keys
    logging.getLogger(SERVICE).addHandler(handler)
    try:
        supplied = api.get(ROOT, headers={"X-Request-Id": "smo-trace-500"})
        generated = api.get(ROOT)
    finally:
        logging.getLogger(SERVICE).removeHandler(handler)

    assert assert_problem(supplied, 500) == {
        "type": "https://netweave.io/problems/internal-server-error", "title": "Internal Server Error",
        "status": 500, "detail": "An internal error occurred.", "requestId": "smo-trace-500"}
    assert supplied.header("x-request-id") == "smo-trace-500" and b"s3cr3t" not in supplied.body
    assert assert_problem(generated, 500)["requestId"] == generated.header("x-request-id")
    errors = [json.loads(line) for line in log.getvalue().splitlines() if '"level":"ERROR"' in line]
    assert [(e["request_id"], e["error"]) for e in errors] == [
        ("smo-trace-500", "TypeError"), (generated.header("x-request-id"), "TypeError")]  # once per request
    assert all("TypeError: unsupported operand" in e["exception"] for e in errors)  # with the traceback
