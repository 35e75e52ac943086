"""Tokens from an identity provider that publishes its keys as a JWKS (the production set-up), over real HTTP."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.api.auth import authenticate
from chalicelib.bootstrap import Components
from chalicelib.domain.errors import ServiceUnavailable, Unauthorized
from chalicelib.settings import AuthSettings, settings_from_environment
from tests.functional.conftest import Api, free_port, serving

PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PROVIDER_KEY.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def provider_token(key: rsa.RSAPrivateKey = PROVIDER_KEY, kid: str = "key-1", **claims: object) -> str:
    body = {
        "sub": "smo-prod",
        "iss": "https://idp.test",
        "aud": "netweave",
        "exp": int(time.time()) + 300,
        "scope": "o2ims:read",
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def settings(url: str) -> AuthSettings:
    return AuthSettings(issuer="https://idp.test", audience="netweave", jwks_url=url, algorithms=("RS256",))


def test_token_signed_by_the_providers_key_is_accepted(jwks_url: str) -> None:
    principal = authenticate(provider_token(), settings(jwks_url))
    assert principal.subject == "smo-prod" and "o2ims:read" in principal.scopes


def test_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    with pytest.raises(Unauthorized, match="invalid"):
        authenticate(provider_token(OTHER_KEY), settings(jwks_url))


def test_token_naming_an_unknown_key_id_is_refused(jwks_url: str) -> None:
    with pytest.raises(Unauthorized, match="signing key is unknown"):
        authenticate(provider_token(kid="rotated-away"), settings(jwks_url))


def test_hs256_token_cannot_pass_as_rs256(jwks_url: str) -> None:
    forged = jwt.encode(
        {"sub": "x", "iss": "https://idp.test", "aud": "netweave", "exp": int(time.time()) + 60},
        "guess-of-a-secret-that-is-long-enough-123",
        algorithm="HS256",
        headers={"kid": "key-1"},
    )
    with pytest.raises(Unauthorized):
        authenticate(forged, settings(jwks_url))


def test_api_accepts_provider_tokens_when_configured_with_a_jwks_url(api: Api, jwks_url: str) -> None:
    env = {**os.environ, "NETWEAVE_AUTH_JWKS_URL": jwks_url, "NETWEAVE_AUTH_ISSUER": "https://idp.test"}
    with serving(Components(settings_from_environment(env))):
        reply = api.get("/o2ims-infrastructureInventory/v1", token=provider_token())
        assert reply.status == 200 and reply.json()["oCloudId"], reply.body  # the O-Cloud, as any reader sees it
        assert api.get("/o2ims-infrastructureInventory/v1", token=provider_token(OTHER_KEY)).status == 401


def test_an_identity_provider_that_cannot_be_reached_is_a_503_not_a_401() -> None:
    closed = f"http://127.0.0.1:{free_port()}/jwks.json"  # nothing listens there
    with pytest.raises(ServiceUnavailable, match="signing keys cannot be fetched") as raised:
        authenticate(provider_token(), settings(closed))
    assert raised.value.headers == {"Retry-After": "30"}


def test_api_answers_503_problem_details_while_the_jwks_is_unreachable_and_401_for_an_unknown_key(
    api: Api, jwks_url: str
) -> None:
    root = "/o2ims-infrastructureInventory/v1"

    def configured(url: str) -> Components:
        env = {**os.environ, "NETWEAVE_AUTH_JWKS_URL": url, "NETWEAVE_AUTH_ISSUER": "https://idp.test"}
        return Components(settings_from_environment(env))

    with serving(configured(f"http://127.0.0.1:{free_port()}/jwks.json")):
        unreachable = api.get(root, token=provider_token())
    assert (unreachable.status, unreachable.header("content-type")) == (503, "application/problem+json")
    assert unreachable.header("retry-after") == "30"
    assert unreachable.json() == {
        "type": "https://netweave.io/problems/service-unavailable", "title": "Service Unavailable", "status": 503,
        "detail": "the identity provider's signing keys cannot be fetched; retry later"}

    with serving(configured(jwks_url)):
        unknown = api.get(root, token=provider_token(kid="rotated-away"))
    assert (unknown.status, unknown.header("content-type")) == (401, "application/problem+json")
    assert unknown.json()["detail"] == "the bearer token's signing key is unknown: PyJWKClientError"
    assert unknown.header("www-authenticate") == 'Bearer realm="netweave"'
