"""Ownership markers: how netweave recognises what it created, and refuses to install over, change or delete anything
else (docs/dms.md, "Ownership markers"; docs/security.md, "Ownership").

Every release, Application, HelmRelease and source object a DMS backend creates carries the deployment id under
`DEPLOYMENT_LABEL` (and `MANAGED_BY_LABEL: netweave`); every EKS node group the `aws` backend creates carries
`MANAGED_BY_TAG: netweave`. An object of the same name without the marker is the operator's (or another tool's), one
with another deployment's id is another deployment's: both are refused with `NotOwned` (409) before anything
changes. Pure: the adapters read the markers, this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.errors import Conflict

DEPLOYMENT_LABEL = "netweave.io/deployment-id"  # label (Kubernetes) whose value is the owning deployment's id
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"  # the well-known label, for people and `kubectl get -l`
MANAGED_BY = "netweave"
MANAGED_BY_TAG = "netweave.io/managed-by"  # AWS tag on the node groups netweave creates (value MANAGED_BY)
# Node label naming the one IMS backend that lists the node (docs/aws-backend.md, "Nodes of node groups"): the node
# groups the `aws` backend creates put it on their nodes, and every other backend leaves such nodes out.
IMS_ADAPTER_LABEL = "netweave.io/ims-adapter"


class NotOwned(Conflict):
    """An object of that name exists and netweave did not create it for this deployment: nothing was changed."""

    slug = "not-owned"


def deployment_labels(deployment_id: str) -> dict[str, str]:
    """The labels every Kubernetes object netweave creates for a deployment carries. A deployment id is a UUID,
    which is a valid label value (at most 63 characters of letters, digits and '-')."""
    return {DEPLOYMENT_LABEL: deployment_id, MANAGED_BY_LABEL: MANAGED_BY}


def owned_by(labels: Mapping[str, str] | None, deployment_id: str) -> bool:
    """Whether an object with these labels belongs to this deployment. An empty id never owns anything, so a caller
    that lost the id cannot match an unmarked object."""
    return bool(deployment_id) and (labels or {}).get(DEPLOYMENT_LABEL) == deployment_id


def require_owned(what: str, labels: Mapping[str, str] | None, deployment_id: str, adopt: str) -> None:
    """NotOwned naming `what` (e.g. "helm release 'vdu' in namespace 'ran'") unless it carries this deployment's
    marker. `adopt` says how an operator hands an existing object to netweave. Another deployment's id is not
    shown: it may belong to another tenant."""
    if owned_by(labels, deployment_id):
        return
    marker = (labels or {}).get(DEPLOYMENT_LABEL)
    whose = ("belongs to another netweave deployment" if marker else
             f"was not created by netweave (it has no {DEPLOYMENT_LABEL} label)")
    raise NotOwned(f"{what} {whose}: netweave does not install over, change or delete it, and nothing was changed. "
                   f"Choose another name, or have an operator remove it, or adopt it for deployment {deployment_id}: "
                   f"{adopt}")


def pool_owned(tags: Mapping[str, str] | None) -> bool:
    return (tags or {}).get(MANAGED_BY_TAG) == MANAGED_BY


def require_pool_owned(what: str, tags: Mapping[str, str] | None) -> None:
    """NotOwned unless the node group carries netweave's tag: pools netweave did not create are read-only to it."""
    if not pool_owned(tags):
        raise NotOwned(f"{what} was not created by netweave (it has no {MANAGED_BY_TAG}={MANAGED_BY} tag) and is "
                       f"not changed or deleted through O2; nothing was changed. An operator who wants netweave to "
                       f"manage it adds that tag to the node group.")
