"""Which repositories a helm-repo or git package may name (docs/security.md, "Outbound requests"). Pure: addresses
are resolved elsewhere.

netweave never fetches a `repositoryUrl` itself: ArgoCD or Flux does, from inside the cluster, where a URL can reach
services no SMO should (the API server, in-cluster registries, the node's metadata endpoint). So a repository is
checked at registration with the outbound address policy, and in-cluster repositories — internal addresses, `*.svc`
and `*.cluster.local` names, single-label names the cluster's DNS search path completes — are admitted only when an
operator lists them (NETWEAVE_REPOSITORY_ALLOWED_HOSTS, NETWEAVE_REPOSITORY_ALLOWED_NETWORKS). Metadata addresses
never. A name the gateway cannot resolve is refused unless listed: what it would reach in the cluster is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chalicelib.domain.callback_policy import (
    METADATA_ADDRESSES,
    Callback,
    IPAddress,
    IPNetwork,
    embedded_ipv4,
    is_internal,
)
from chalicelib.domain.packages import PackageRequestInvalid

_SCP_LIKE = re.compile(r"^(?P<user>[^@/\s]+)@(?P<host>[^:/\s\[\]]+):(?!//)")  # git@host:org/repo.git
_DEFAULT_PORTS = {"https": 443, "http": 80, "oci": 443, "ssh": 22}
_IN_CLUSTER_SUFFIXES = (".svc", ".cluster.local")
_HINT = ("in-cluster repositories must be listed by an operator in NETWEAVE_REPOSITORY_ALLOWED_HOSTS or "
         "NETWEAVE_REPOSITORY_ALLOWED_NETWORKS")


class RepositoryRefused(PackageRequestInvalid):
    """A repositoryUrl a GitOps backend must not be pointed at: 400."""


@dataclass(frozen=True)
class RepositoryPolicy:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)  # names; "*.example" admits every subdomain
    allowed_networks: tuple[IPNetwork, ...] = ()


def repository_target(url: str) -> Callback:
    """Host and port of an http(s)://, oci://, ssh:// or scp-like (git@host:path) repository URL."""
    scp = _SCP_LIKE.match(url)
    if scp and "://" not in url:
        return Callback(url, "ssh", scp["host"].lower(), 22)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RepositoryRefused("repositoryUrl: is not a valid URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise RepositoryRefused("repositoryUrl: must be an http(s)://, oci://, ssh:// or git@host: URL with a host")
    return Callback(url, parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme])


def check_repository(target: Callback, addresses: Iterable[IPAddress], policy: RepositoryPolicy) -> None:
    resolved = list(addresses)
    host = target.host
    if any(embedded_ipv4(a) in METADATA_ADDRESSES for a in resolved):
        raise RepositoryRefused(f"repositoryUrl: '{host}' resolves to a cloud metadata address")
    if _listed(host, policy.allowed_hosts):
        return
    if host.endswith(_IN_CLUSTER_SUFFIXES) or ("." not in host and ":" not in host):
        raise RepositoryRefused(f"repositoryUrl: '{host}' names an in-cluster host; {_HINT}")
    if not resolved:
        raise RepositoryRefused(f"repositoryUrl: host '{host}' does not resolve; {_HINT}")
    for address in resolved:
        if is_internal(address) and not any(embedded_ipv4(address) in n or address in n
                                            for n in policy.allowed_networks):
            raise RepositoryRefused(f"repositoryUrl: '{host}' resolves to {address}, an internal address; {_HINT}")


def _listed(host: str, allowed: frozenset[str]) -> bool:
    return host in allowed or any(entry.startswith("*.") and host.endswith(entry[1:]) for entry in allowed)
