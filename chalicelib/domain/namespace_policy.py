"""Which namespaces a DMS backend may deploy into: the blast radius of an `o2dms:write` token (docs/security.md,
"Blast radius in the cluster").

A policy is per backend: `allow` patterns (shell-style `*`/`?`, and `{tenant}` for the caller's tenant, so
`"{tenant}-*"` gives every SMO its own namespaces), `deny` patterns, and the protected namespaces no backend may
touch unless the operator names them one by one in `allowProtected`: the cluster's own (`kube-*`), the GitOps
controllers' (`argocd`, `flux-system`, and any controller namespace a backend is configured with) and netweave's
(`netweave`). A chart installed there could replace the controllers that every other tenant depends on.

Deny wins over allow; the answer names the rule that decided, so an SMO knows what to ask the operator for.
"""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.domain.errors import UnprocessableContent

PROTECTED_NAMESPACES: tuple[str, ...] = ("kube-*", "argocd", "flux-system", "netweave")
TENANT_PLACEHOLDER = "{tenant}"


class NamespaceNotAllowed(UnprocessableContent):
    slug = "namespace-not-allowed"


@dataclass(frozen=True)
class NamespacePolicy:
    backend: str
    allow: tuple[str, ...] = ("*",)
    deny: tuple[str, ...] = ()
    protected: tuple[str, ...] = PROTECTED_NAMESPACES
    allow_protected: frozenset[str] = field(default_factory=frozenset)

    def check(self, namespace: str, tenant: str | None) -> None:
        """Raise `NamespaceNotAllowed` naming the deciding rule, unless this backend may deploy into `namespace`."""
        prefix = f"namespace '{namespace}' is not allowed for backend '{self.backend}'"
        if namespace not in self.allow_protected:
            rule = _first_match(namespace, self.protected, tenant)
            if rule is not None:
                raise NamespaceNotAllowed(
                    f"{prefix}: '{rule}' is protected (the cluster's, the GitOps controllers' or netweave's own "
                    "namespaces); an operator can lift it for this namespace with the backend's "
                    "namespaces.allowProtected")
        rule = _first_match(namespace, self.deny, tenant)
        if rule is not None:
            raise NamespaceNotAllowed(f"{prefix}: denied by the pattern '{rule}'")
        if _first_match(namespace, self.allow, tenant) is None:
            allowed = ", ".join(f"'{_render(p, tenant) or p}'" for p in self.allow) or "none"
            raise NamespaceNotAllowed(f"{prefix}: it matches none of the allowed patterns ({allowed})")


def protected_for(controller_namespaces: Iterable[str]) -> tuple[str, ...]:
    """The built-in protected patterns plus every controller namespace the configured backends use."""
    extra = [name for name in controller_namespaces if name and name not in PROTECTED_NAMESPACES]
    return (*PROTECTED_NAMESPACES, *dict.fromkeys(extra))


def _first_match(namespace: str, patterns: Iterable[str], tenant: str | None) -> str | None:
    for pattern in patterns:
        rendered = _render(pattern, tenant)
        if rendered is not None and fnmatch.fnmatchcase(namespace, rendered):
            return pattern
    return None


def _render(pattern: str, tenant: str | None) -> str | None:
    """The pattern with the tenant put in literally (its `*`, `?` or `[` must not widen the pattern); None when the
    pattern needs a tenant and the caller has none, so it matches nothing."""
    if TENANT_PLACEHOLDER not in pattern:
        return pattern
    if not tenant:
        return None
    return pattern.replace(TENANT_PLACEHOLDER, glob.escape(tenant))
