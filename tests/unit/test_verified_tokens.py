"""A container remembers the tokens it verified (chalicelib/api/auth.py `VerifiedTokens`): the same token on the next
request is not decoded again, yet every verdict an SMO sees stays the one a full verification gives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from chalicelib.api import auth
from chalicelib.api.auth import VerifiedTokens, authenticate
from chalicelib.domain.auth import Principal, Scope
from chalicelib.domain.errors import Unauthorized
from chalicelib.settings import AuthSettings

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
SETTINGS = AuthSettings(issuer="iss-1", audience="netweave", shared_secret=SECRET, algorithms=("HS256",),
                        leeway_seconds=0)


def token(expires_in: int = 60, **claims: object) -> str:
    body = {"sub": "smo-1", "iss": "iss-1", "aud": "netweave", "exp": int(time.time()) + expires_in,
            "scope": "o2ims:read", **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    auth.verified_tokens.clear()
    yield
    auth.verified_tokens.clear()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full verification PyJWT makes."""
    seen: list[str] = []
    real = jwt.decode

    def counting(text: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_the_same_token_is_verified_once_and_names_the_same_caller(decodes: list[str]) -> None:
    sent = token()
    callers = [authenticate(sent, SETTINGS) for _ in range(3)]
    assert callers[0].subject == "smo-1" and callers[0].has(Scope.IMS_READ)
    assert callers == [callers[0]] * 3
    assert decodes == [sent]


def test_a_token_accepted_under_other_settings_is_judged_afresh(decodes: list[str]) -> None:
    sent = token()
    authenticate(sent, SETTINGS)
    with pytest.raises(Unauthorized, match="audience"):
        authenticate(sent, SETTINGS.model_copy(update={"audience": "someone-else"}))
    assert len(decodes) == 2


def test_a_remembered_token_is_refused_once_it_expires_as_a_fresh_one_is() -> None:
    sent = token(expires_in=1)
    assert authenticate(sent, SETTINGS).subject == "smo-1"
    expiry = jwt.decode(sent, options={"verify_signature": False})["exp"]
    while time.time() < expiry:  # the token's own clock, not a measured duration: at most a second
        time.sleep(0.05)
    with pytest.raises(Unauthorized, match="expired"):
        authenticate(sent, SETTINGS)


def test_refused_tokens_are_not_remembered(decodes: list[str]) -> None:
    sent = token(iss="evil")
    for _ in range(2):
        with pytest.raises(Unauthorized, match="untrusted issuer"):
            authenticate(sent, SETTINGS)
    assert len(decodes) == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lasts_until_the_token_expires_but_never_longer_than_the_key_cache() -> None:
    clock, caller = Clock(), Principal("smo-1")
    tokens = VerifiedTokens(size=4, max_age=300, clock=clock)
    tokens.put(("short", ()), caller, expires=clock.now + 10)
    tokens.put(("long", ()), caller, expires=clock.now + 3600)
    clock.now += 9
    assert tokens.get(("short", ())) == caller
    clock.now += 1
    assert tokens.get(("short", ())) is None  # its exp (with the leeway) is reached: verified afresh
    clock.now += 289
    assert tokens.get(("long", ())) == caller
    clock.now += 1
    assert tokens.get(("long", ())) is None  # a key withdrawn from the JWKS is not trusted longer than before


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    clock = Clock()
    tokens = VerifiedTokens(size=2, max_age=300, clock=clock)
    for name in ("a", "b"):
        tokens.put((name, ()), Principal(name), expires=clock.now + 60)
    assert tokens.get(("a", ())) is not None  # "b" is now the least recently used
    tokens.put(("c", ()), Principal("c"), expires=clock.now + 60)
    assert [tokens.get((name, ())) is not None for name in ("a", "b", "c")] == [True, False, True]
