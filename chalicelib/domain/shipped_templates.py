"""The infrastructure templates netweave ships (docs/provisioning.md "Templates"), as plain data: the registry of
`infrastructure_templates.py` builds them like an operator's configured ones, so both pass the same checks.

Each schema accepts exactly what its backend accepts in shape, so a request the schema lets through is never refused
later for the form of a parameter (what a backend may still refuse is what only it knows: an instance type unknown
in its region, a site without free servers). The shapes come from `chalicelib/adapters/ims/aws_pools.py` and
`aws.py` (node groups) and `chalicelib/adapters/ims/dtias.py` (`create_resource_pool`).
"""

from __future__ import annotations

from typing import Any

_STRINGS_63 = {"type": "string", "minLength": 1, "maxLength": 63}

# EKS CreateNodegroup: label keys and values 1-63 characters; at most 50 taints, keys 1-63, values 0-63.
_EKS_LABELS = {"type": "object", "propertyNames": _STRINGS_63, "additionalProperties": _STRINGS_63,
               "description": "Kubernetes labels of the pool's nodes"}
_EKS_TAINTS = {
    "type": "array",
    "maxItems": 50,
    "description": "Kubernetes taints of the pool's nodes, in EKS CreateNodegroup's shape",
    "items": {
        "type": "object",
        "required": ["key", "effect"],
        "additionalProperties": False,
        "properties": {
            "key": _STRINGS_63,
            "value": {"type": "string", "maxLength": 63},
            "effect": {"enum": ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]},
        },
    },
}

EKS_NODEGROUP_POOL: dict[str, Any] = {
    "name": "eks-nodegroup-pool",
    "version": "1.0.0",
    "description": "A resource pool of an EKS managed node group: size, instance type, labels, taints, CPU pinning",
    "kind": "eks-nodegroup",
    "parameterSchema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["size"],
        "additionalProperties": False,
        "properties": {
            "poolName": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_-]{0,62}$",
                         "description": "the node group's name; derived from the request id when absent"},
            # The upper bound is the gateway's limit (NETWEAVE_POOL_MAX_REPLICAS), checked where pools are created.
            "size": {"type": "integer", "minimum": 0, "description": "nodes in the pool"},
            "minSize": {"type": "integer", "minimum": 0},
            "maxSize": {"type": "integer", "minimum": 1},
            "instanceType": {"type": "string", "minLength": 1, "description": "EC2 instance type of the nodes"},
            "labels": _EKS_LABELS,
            "taints": _EKS_TAINTS,
            "cpuPinning": {"type": "boolean",
                           "description": "kubelet static CPU manager policy, through a launch template"},
            "capacityType": {"enum": ["ON_DEMAND", "SPOT"]},
            "amiType": {"type": "string", "minLength": 1},
            "diskSize": {"type": "integer", "minimum": 1, "description": "GiB per node"},
            "clusterName": {"type": "string", "minLength": 1,
                            "description": "the EKS cluster; needed only where the backend serves several"},
            "location": {"type": "string", "minLength": 1},
        },
    },
    "defaults": {"instanceType": "m5.large", "cpuPinning": False},
    "characteristics": {"backendType": "aws", "resourceKind": "EKS managed node group"},
    "extensions": {},
}

DTIAS_BAREMETAL_POOL: dict[str, Any] = {
    "name": "dtias-baremetal-pool",
    "version": "1.0.0",
    "description": "A resource pool of bare-metal servers: a Dell DTIAS resource group of N servers at a site",
    "kind": "dtias-resource-group",
    "parameterSchema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["size", "location"],
        "additionalProperties": False,
        "properties": {
            "poolName": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,52}$",
                         "description": "the resource group's name; derived from the request id when absent"},
            "size": {"type": "integer", "minimum": 1, "description": "servers to allocate"},
            "location": {"type": "string", "minLength": 1, "description": "the DTIAS site name or O2 site id"},
            "resourceProfileId": {"type": "string", "description": "the DTIAS resource profile the servers get"},
            "sourcePool": {"type": "string", "minLength": 1,
                           "description": "the DTIAS resource pool at the site; default: the site's default pool"},
            "serverLabels": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "only servers carrying these labels are allocated"},
        },
    },
    "defaults": {},
    "characteristics": {"backendType": "dtias", "resourceKind": "DTIAS resource group"},
    "extensions": {},
}

SHIPPED_TEMPLATES: tuple[dict[str, Any], ...] = (EKS_NODEGROUP_POOL, DTIAS_BAREMETAL_POOL)
