"""Request bodies and query strings: bad input becomes a 400 that names the offending field."""

import pytest
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import parse_body, parse_query
from chalicelib.domain.errors import BadRequest


class SubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    callback: str = Field(min_length=1)
    consumer_subscription_id: str | None = Field(default=None, alias="consumerSubscriptionId")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int | None = Field(default=None, ge=1, le=1000)


def test_a_valid_body_is_parsed_by_its_wire_names() -> None:
    body = parse_body(SubscriptionBody, b'{"callback": "https://smo/cb", "consumerSubscriptionId": "c-1"}')
    assert isinstance(body, SubscriptionBody)
    assert body.consumer_subscription_id == "c-1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "JSON request body is required"),
        (b"", "JSON request body is required"),
        (b"{not json", "not valid JSON"),
        (b"{}", "callback: Field required"),
        (b'{"callback": ""}', "callback: String should have at least 1 character"),
        (b'{"callback": "x", "subscriptionId": "mine"}', "subscriptionId: Extra inputs are not permitted"),
        (b"[1, 2]", "invalid body"),
    ],
)
def test_bad_bodies_are_400_naming_the_problem(raw: bytes | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_body(SubscriptionBody, raw)


@pytest.mark.parametrize(
    ("params", "message"),
    [({"limit": "0"}, "limit: Input should be greater than or equal to 1"), ({"limit": "many"}, "limit"),
     ({"sort": "x"}, "sort: Extra inputs are not permitted")],
)
def test_bad_query_parameters_are_400_naming_the_parameter(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_query(ListQuery, params)


def test_query_values_are_converted_to_their_types() -> None:
    query = parse_query(ListQuery, {"limit": "50"})
    assert isinstance(query, ListQuery) and query.limit == 50
