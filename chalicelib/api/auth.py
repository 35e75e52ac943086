"""Bearer-token (JWT) verification for the API function's HTTP middleware.

Done in middleware rather than a Chalice authorizer because an authorizer can only deny with 403, while a missing or
invalid token must get 401 ProblemDetails (docs/o2-conventions.md §6).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.api.ports import ports
from chalicelib.domain.auth import Principal, Scope, scopes_from_claims
from chalicelib.domain.errors import Forbidden, NetweaveError, Unauthorized
from chalicelib.domain.tenancy import MAX_TENANT_LENGTH, Access
from chalicelib.settings import AuthSettings

_current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)

# How long a JWKS key stays trusted without asking the identity provider again (PyJWKClient's `lifespan`), and so
# also the longest a verified token is taken on trust (`VerifiedTokens`).
KEY_CACHE_SECONDS = 300


def current_principal() -> Principal:
    principal = _current_principal.get()
    if principal is None:
        raise Unauthorized("no authenticated caller")
    return principal


def set_principal(principal: Principal | None) -> None:
    _current_principal.set(principal)


def current_access() -> Access:
    """The caller's view of tenancy (docs/o2-conventions.md §6, "Tenancy"), for services that filter by owner."""
    principal = current_principal()
    tenancy = ports().settings.tenancy
    return Access(principal.tenant, principal.is_admin, tenancy.default_tenant, tenancy.packages_per_tenant)


def bearer_token(headers: Any) -> str:
    value: str | None = headers.get("authorization") if headers is not None else None
    if not value:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <JWT>'")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must use the Bearer scheme")
    return token.strip()


class VerifiedTokens:
    """Tokens this container verified, by their exact text, with the caller they name: an SMO sends the same token
    with every request until it expires, and decoding it twice (for its key id, then to verify) on each request was
    a sizeable share of the gateway's own work on a warm list (docs/performance.md "API overhead").

    Sound because a token's verdict can change with time only through `exp` (signature, issuer, audience, tenant and
    scopes are fixed by its bytes and the settings, which are part of the key; `nbf` and `iat` can only become
    valid): an entry is used while `exp` (with the leeway) has not passed, and for at most `max_age` seconds, the
    JWKS key cache's lifespan, so a key the identity provider withdraws stops being trusted no later than without
    this cache. Past either bound the token is verified afresh, so an expired one is refused exactly as before. Only
    successes are kept; bounded (least recently used out) so a flood of distinct tokens cannot grow a Lambda
    container's memory."""

    def __init__(self, size: int = 256, max_age: float = KEY_CACHE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._size, self._max_age, self._clock = size, max_age, clock
        self._entries: OrderedDict[tuple[str, tuple[Any, ...]], tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()  # `chalice local` serves requests on threads

    def get(self, key: tuple[str, tuple[Any, ...]]) -> Principal | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[1]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple[str, tuple[Any, ...]], principal: Principal, expires: float) -> None:
        with self._lock:
            self._entries[key] = (principal, min(expires, self._clock() + self._max_age))
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_tokens = VerifiedTokens()


def authenticate(token: str, settings: AuthSettings | None = None) -> Principal:
    settings = settings or ports().settings.auth
    key = (token, _verdict_inputs(settings))
    principal = verified_tokens.get(key)
    if principal is None:
        principal, claims = _verify(token, settings)
        # PyJWT refuses a token once `exp <= now - leeway`; `_verify` required `exp` and PyJWT checked it is an int
        verified_tokens.put(key, principal, int(claims["exp"]) + settings.leeway_seconds)
    return principal


def _verdict_inputs(settings: AuthSettings) -> tuple[Any, ...]:
    """What besides the token decides whether it is accepted and whom it names."""
    return (settings.issuer, settings.audience, settings.jwks_url, settings.shared_secret,
            settings.shared_secret_ssm_parameter, settings.algorithms, settings.leeway_seconds, settings.tenant_claim)


def _verify(token: str, settings: AuthSettings) -> tuple[Principal, dict[str, Any]]:
    import jwt  # PyJWT pulls in `cryptography`; only requests that carry a token pay for it

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=_verification_key(token, settings),
            algorithms=list(settings.algorithms),
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": list(dict.fromkeys(["exp", "iss", "aud", "sub", settings.tenant_claim]))},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the bearer token has expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("the bearer token is not meant for this audience") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("the bearer token comes from an untrusted issuer") from None
    except jwt.MissingRequiredClaimError as error:
        raise Unauthorized(f"the bearer token lacks the '{error.claim}' claim") from None
    except (jwt.PyJWTError, ValueError):
        raise Unauthorized("the bearer token is invalid") from None
    principal = Principal(
        subject=str(claims["sub"]),
        scopes=scopes_from_claims(claims),
        client_id=str(claims.get("client_id") or claims.get("azp") or "") or None,
        tenant=_tenant(claims, settings.tenant_claim),
    )
    return principal, claims


def _tenant(claims: dict[str, Any], claim: str) -> str:
    """The tenant claim's value: a non-empty string (a number is read as its decimal form), else no tenant we can
    file records under, so the token is refused rather than mapped to some shared owner."""
    value = claims.get(claim)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TENANT_LENGTH:
        raise Unauthorized(f"the bearer token's '{claim}' claim (its tenant) must be a non-empty string of at most "
                           f"{MAX_TENANT_LENGTH} characters")
    return value


def require_scope(principal: Principal, scope: Scope) -> None:
    if not principal.has(scope):
        raise Forbidden(f"this operation needs the '{scope.value}' scope")


def _verification_key(token: str, settings: AuthSettings) -> Any:
    if settings.jwks_url:
        import jwt

        from chalicelib.domain.errors import ServiceUnavailable

        try:
            return _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as error:  # the token may be fine: only its judge is away
            raise ServiceUnavailable("the identity provider's signing keys cannot be fetched; retry later") \
                from error
        except (jwt.PyJWTError, ValueError) as error:  # a key we cannot find means we cannot trust the token
            raise Unauthorized(f"the bearer token's signing key is unknown: {type(error).__name__}") from None
    if settings.shared_secret:
        return settings.shared_secret
    if settings.shared_secret_ssm_parameter:
        return ports().secret(settings.shared_secret_ssm_parameter)
    raise NetweaveError("token verification is not configured on this gateway")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> Any:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=KEY_CACHE_SECONDS, timeout=5)
