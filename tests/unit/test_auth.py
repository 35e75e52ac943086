"""Bearer-token checks: what an SMO with a good, bad or under-scoped token experiences."""

import time
from typing import Any

import jwt
import pytest

from chalicelib.api.auth import authenticate, bearer_token, require_scope
from chalicelib.domain.auth import Principal, Scope, scopes_from_claims
from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.settings import AuthSettings

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
SETTINGS = AuthSettings(issuer="iss-1", audience="netweave", shared_secret=SECRET, algorithms=("HS256",))


def token(secret: str = SECRET, **overrides: object) -> str:
    claims: dict[str, object] = {
        "sub": "smo-1",
        "iss": "iss-1",
        "aud": "netweave",
        "exp": int(time.time()) + 60,
        "scope": "o2ims:read o2dms:read",
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def test_valid_token_yields_subject_and_scopes() -> None:
    principal = authenticate(token(), SETTINGS)
    assert principal.subject == "smo-1"
    assert principal.has(Scope.IMS_READ) and principal.has(Scope.DMS_READ)
    assert not principal.has(Scope.DMS_DEPLOY)


@pytest.mark.parametrize(
    ("claims", "secret", "message"),
    [
        ({"exp": int(time.time()) - 3600}, SECRET, "expired"),
        ({"aud": "someone-else"}, SECRET, "audience"),
        ({"iss": "evil"}, SECRET, "untrusted issuer"),
        ({"sub": None}, SECRET, "'sub' claim"),
        ({"exp": None}, SECRET, "'exp' claim"),
        ({}, "another-secret-entirely-but-also-long-enough", "invalid"),
    ],
)
def test_bad_tokens_are_unauthorized(claims: dict[str, Any], secret: str, message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        authenticate(token(secret, **claims), SETTINGS)


def test_garbage_is_unauthorized() -> None:
    with pytest.raises(Unauthorized, match="invalid"):
        authenticate("not.a.jwt", SETTINGS)


def test_unsigned_token_is_refused() -> None:
    # alg "none" takes no key: PyJWT reads "" as None (which its annotations do not admit), the token is the same.
    unsigned = jwt.encode(
        {"sub": "x", "iss": "iss-1", "aud": "netweave", "exp": int(time.time()) + 60}, "", algorithm="none"
    )
    with pytest.raises(Unauthorized):
        authenticate(unsigned, SETTINGS)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_missing_or_non_bearer_authorization_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token({} if header is None else {"authorization": header})


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token({"authorization": "bearer abc.def.ghi"}) == "abc.def.ghi"


def test_missing_scope_is_forbidden_and_names_the_scope() -> None:
    with pytest.raises(Forbidden, match="o2dms:deploy"):
        require_scope(Principal("smo", frozenset({"o2dms:read"})), Scope.DMS_DEPLOY)


def test_scopes_are_read_from_scope_and_scp_claims() -> None:
    assert scopes_from_claims({"scope": "a b", "scp": ["c"]}) == {"a", "b", "c"}
    assert scopes_from_claims({"scp": "d e"}) == {"d", "e"}
    assert scopes_from_claims({}) == frozenset()


def test_unauthorized_carries_www_authenticate_header() -> None:
    with pytest.raises(Unauthorized) as raised:
        bearer_token({})
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")
