"""Who is calling and what they may do: scopes of docs/o2-conventions.md §6. Pure data, no token handling here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    IMS_READ = "o2ims:read"
    IMS_SUBSCRIBE = "o2ims:subscribe"
    IMS_WRITE = "o2ims:write"
    DMS_READ = "o2dms:read"
    DMS_WRITE = "o2dms:write"
    DMS_DEPLOY = "o2dms:deploy"
    OPERATE = "netweave:operate"  # operators: dead deliveries, replay, attempt logs
    ADMIN = "netweave:admin"  # sees and manages every tenant's objects; assigns owners (docs/o2-conventions.md §6)


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    tenant: str = ""  # the configured tenant claim's value (docs/o2-conventions.md §6); empty: the subject

    def __post_init__(self) -> None:
        if not self.tenant:
            object.__setattr__(self, "tenant", self.subject)

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes

    @property
    def is_admin(self) -> bool:
        return self.has(Scope.ADMIN)


def scopes_from_claims(claims: dict[str, object]) -> frozenset[str]:
    """OAuth2 puts scopes in `scope` (space-separated); Azure AD and others use `scp` (string or list)."""
    found: set[str] = set()
    for key in ("scope", "scp"):
        value = claims.get(key)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(str(item) for item in value)
    return frozenset(found)
