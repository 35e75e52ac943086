"""The clusters the simulated ArgoCD knows, and its check of an Application's destination against them.

As in ArgoCD: the in-cluster server ``https://kubernetes.default.svc`` (named ``in-cluster``) is always known, and
every Secret labelled ``argocd.argoproj.io/secret-type: cluster`` in the ``argocd`` namespace declares one more (its
``server`` and ``name`` keys; one that declares the in-cluster server renames it). An Application whose destination
is none of them is accepted by the API server, but the application controller neither compares nor syncs it: it
reports a condition ``InvalidSpecError`` with ArgoCD's words (``util/argo.ValidatePermissions``), and sync and health
``Unknown``. kubesim is one cluster: an Application to any registered cluster deploys into kubesim itself.

Not simulated: AppProject destination rules (every project allows every destination, as ArgoCD's ``default``
project does), so ArgoCD's "do not match any of the allowed destinations in project" never appears.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from devtools.kubesim.resources import StoreKey

Obj = dict[str, Any]
SECRETS: StoreKey = ("", "secrets")
ARGOCD_NAMESPACE = "argocd"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
IN_CLUSTER_NAME, IN_CLUSTER_SERVER = "in-cluster", "https://kubernetes.default.svc"
INVALID_SPEC = "InvalidSpecError"
DESTINATION_MISSING = "Destination server missing from app spec"  # ArgoCD's errDestinationMissing


def is_cluster_secret(obj: Obj | None) -> bool:
    meta = (obj or {}).get("metadata") or {}
    return meta.get("namespace") == ARGOCD_NAMESPACE and (meta.get("labels") or {}).get(SECRET_TYPE_LABEL) == "cluster"


def registered(secrets: list[Obj]) -> list[tuple[str, str]]:
    """(name, server) of every cluster ArgoCD knows, given the Secrets of its namespace; in-cluster first."""
    clusters = {IN_CLUSTER_SERVER: IN_CLUSTER_NAME}
    for secret in secrets:
        if not is_cluster_secret(secret):
            continue
        data = secret.get("data") or {}
        server = _decoded(data.get("server"))
        if server:
            clusters[server] = _decoded(data.get("name")) or clusters.get(server, "")
    return [(name, server) for server, name in clusters.items()]


def destination_error(spec: Obj, clusters: list[tuple[str, str]]) -> str | None:
    """ArgoCD's InvalidSpecError message for the Application's destination, None when it is a known cluster."""
    destination = spec.get("destination") or {}
    name, server = str(destination.get("name") or ""), str(destination.get("server") or "")
    if name and server:
        return f"application destination can't have both name and server defined: {name} {server}"
    if name:
        return _by_name(name, clusters)
    if not server:
        return DESTINATION_MISSING
    if server not in {s for _, s in clusters}:
        return f"cluster '{server}' has not been configured"
    return None


def _by_name(name: str, clusters: list[tuple[str, str]]) -> str | None:
    """A destination given by cluster name must name exactly one cluster."""
    servers = [s for n, s in clusters if n == name]
    if not servers:
        return f"unable to find destination server: there are no clusters with this name: {name}"
    if len(servers) > 1:
        return (f"unable to find destination server: there are {len(servers)} clusters with the same name: "
                f"[{' '.join(servers)}]")
    return None


def _decoded(value: Any) -> str:
    if not value:
        return ""
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
