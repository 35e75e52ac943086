"""Tenancy: whose a subscription, deployment, operation or (optionally) package is, and who may see it. Pure.

Every such record stores the tenant that created it (`owner`: the value of the token claim
`NETWEAVE_TENANT_CLAIM`, `sub` by default). One rule decides visibility everywhere (docs/o2-conventions.md §6,
"Tenancy"): an admin (scope `netweave:admin`) sees every record; anyone else sees the records of their own tenant.
A record stored before tenancy has no owner: it belongs to `NETWEAVE_DEFAULT_TENANT`, or, when that is unset, to
no one (only admins see it). A record another tenant may not see is answered exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MAX_TENANT_LENGTH = 256  # a claim value longer than this is no tenant name we store


class Viewer(Protocol):
    """Whoever looks: a token's principal, or a subscription receiving events."""

    @property
    def tenant(self) -> str | None: ...

    @property
    def is_admin(self) -> bool: ...


def effective_owner(owner: str | None, default_tenant: str | None) -> str | None:
    """The tenant a record belongs to: its recorded owner, else (stored before tenancy) the default tenant."""
    return owner if owner else default_tenant


def visible(owner: str | None, viewer: Viewer, default_tenant: str | None) -> bool:
    """The one rule: admins see everything; others see what belongs to their tenant, nothing that belongs to no
    one."""
    if viewer.is_admin:
        return True
    belongs_to = effective_owner(owner, default_tenant)
    return belongs_to is not None and belongs_to == viewer.tenant


@dataclass(frozen=True)
class Access:
    """One request's (or one subscription's) view of tenancy: who looks, and the gateway's tenancy settings."""

    tenant: str | None
    is_admin: bool = False
    default_tenant: str | None = None
    packages_per_tenant: bool = False  # False: packages are a shared catalogue every tenant sees

    def sees(self, owner: str | None) -> bool:
        return visible(owner, self, self.default_tenant)

    def sees_package(self, owner: str | None) -> bool:
        return not self.packages_per_tenant or self.sees(owner)


def receives(event_owner: str | None, subscription_owner: str | None, all_tenants: bool,
             default_tenant: str | None) -> bool:
    """Whether a DMS subscription gets an event of a deployment owned by `event_owner`: the same rule, with the
    subscription as the viewer (its tenant is its own effective owner; one created by an admin gets every tenant's)."""
    viewer = Access(effective_owner(subscription_owner, default_tenant), all_tenants, default_tenant)
    return viewer.sees(event_owner)
