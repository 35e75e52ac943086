"""The per-client subscription quota (docs/security.md, "Limits and disclosure") against real DynamoDB (moto): the
count per token subject, across kinds, under concurrency, and for subscriptions created before owners were counted."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.subscription_store import SubscriptionQuotaExceeded, SubscriptionStore, owner_key
from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.services.subscriptions import CallbackPorts, NewSubscription, create_subscription
from chalicelib.settings import settings_from_environment
from devtools.token import mint_token
from tests.functional.conftest import SECRET, Api, Reply, assert_problem, serving

INVENTORY = "/o2ims-infrastructureInventory/v1/subscriptions"
ALARMS = "/o2ims-infrastructureMonitoring/v1/alarmSubscriptions"
DMS = "/o2dms/v1/subscriptions"


def callback() -> str:
    return f"https://93.184.215.14/smo/{uuid.uuid4().hex}"  # a public address literal: no DNS lookup


@pytest.fixture()
def limited(api: Api) -> Iterator[Components]:
    """The API with a quota of 2 subscriptions per client."""
    settings = settings_from_environment({**os.environ, "NETWEAVE_MAX_SUBSCRIPTIONS_PER_CLIENT": "2"})
    components = Components(settings)
    with serving(components):
        yield components


def post(api: Api, collection: str, subject: str) -> Reply:
    token = mint_token(SECRET, ALL_SCOPES, subject=subject)
    return api.request("POST", collection, token=token, body={"callback": callback()})


def test_one_more_than_the_quota_is_403_naming_it_and_other_clients_are_unaffected(api: Api,
                                                                                   limited: Components) -> None:
    smo, other = f"smo-{uuid.uuid4()}", f"smo-{uuid.uuid4()}"
    first = post(api, INVENTORY, smo)
    assert first.status == 201, first.body
    assert post(api, DMS, smo).status == 201  # every kind counts towards one quota
    body = assert_problem(post(api, ALARMS, smo), 403, "quota exceeded: at most 2 subscriptions per client")
    assert body["type"].endswith("/quota-exceeded")
    assert post(api, ALARMS, other).status == 201
    assert api.request("DELETE", f"{INVENTORY}/{first.json()['subscriptionId']}").status == 200
    assert post(api, ALARMS, smo).status == 201  # deleting one frees its place


def test_concurrent_creations_never_overshoot_the_quota(limited: Components, serial_moto_url: str) -> None:
    # moto's transactions are not isolated under concurrent requests (DynamoDB's are): one request at a time
    store = SubscriptionStore(boto3.client("dynamodb", endpoint_url=serial_moto_url),
                              limited.settings.table_name(resources.SUBSCRIPTIONS))
    callbacks = CallbackPorts(limited.settings.callbacks.policy(), resolve)
    owner = f"smo-{uuid.uuid4()}"

    def attempt(_: int) -> str:
        request = NewSubscription(SubscriptionKind.INVENTORY, callback(), owner=owner)
        try:
            return str(create_subscription(store, request, callbacks, max_per_owner=3)["subscriptionId"])
        except SubscriptionQuotaExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert len([o for o in outcomes if o != "refused"]) == 3, outcomes
    assert store.owned(owner) == 3


def test_a_subscription_created_before_owners_were_counted_can_still_be_deleted(limited: Components) -> None:
    store = limited.subscription_store
    owner = f"smo-{uuid.uuid4()}"
    callbacks = CallbackPorts(limited.settings.callbacks.policy(), resolve)
    created = create_subscription(store, NewSubscription(SubscriptionKind.INVENTORY, callback(), owner=owner),
                                  callbacks)
    store.client.delete_item(TableName=store.table, Key={"subscriptionId": {"S": owner_key(owner)}})  # as before
    subscription = store.get(str(created["subscriptionId"]))
    assert subscription is not None
    store.delete(subscription)
    assert store.get(subscription.subscription_id) is None
    assert store.owned(owner) == 0
