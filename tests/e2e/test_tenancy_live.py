"""Issue 14 item 1 against the running local stack, as the issue reproduced it: a second client
(`devtools.token --subject smo-b --scopes o2ims:read,o2ims:subscribe,...`) neither sees nor deletes the first
client's subscription; the stack's own token (every scope, `netweave:admin` included) sees it
(docs/o2-conventions.md §6, "Tenancy")."""

from __future__ import annotations

import uuid

import pytest

from devtools.token import SECRET_FILE, mint_token
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.xdist_group("stack")
SUBSCRIPTIONS = "/o2dms/v1/subscriptions"
SCOPES = {"o2ims:read", "o2ims:subscribe", "o2dms:read", "o2dms:write"}


def test_a_second_client_neither_lists_nor_reads_nor_deletes_the_first_clients_subscription(
        stack: LocalStack) -> None:
    secret = SECRET_FILE.read_text().strip()  # the stack's signing secret (devtools.token.local_secret)
    first = mint_token(secret, SCOPES, subject=f"smo-a-{uuid.uuid4().hex[:6]}")
    second = mint_token(secret, SCOPES, subject=f"smo-b-{uuid.uuid4().hex[:6]}")
    # A namespace no deployment uses: the subscription never receives anything, whatever else the stack runs.
    body = {"callback": f"http://127.0.0.1:9/{uuid.uuid4().hex}",  # "credentials" in the URL the issue worried about
            "filter": f"(eq,namespace,nowhere-{uuid.uuid4().hex[:8]})"}
    with stack.client(first) as a, stack.client(second) as b, stack.client() as admin:
        created = a.post(SUBSCRIPTIONS, json=body)
        assert created.status_code == 201, created.text
        item = f"{SUBSCRIPTIONS}/{created.json()['subscriptionId']}"
        assert created.json()["subscriptionId"] not in {s["subscriptionId"] for s in b.get(SUBSCRIPTIONS).json()}
        assert b.get(item).status_code == 404
        deleted = b.delete(item)
        assert deleted.status_code == 404 and deleted.headers["content-type"] == "application/problem+json"
        assert a.get(item).json()["callback"] == body["callback"]
        assert admin.get(item).status_code == 200
        assert a.delete(item).status_code == 200
