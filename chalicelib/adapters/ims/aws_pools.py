"""Validation of pool requests for the `aws` backend: EKS node group names, sizes, instance types and options.

Pure, like `aws_mapping`: `aws.py` turns a validated request into EKS calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.ims.port import PoolRequest
from chalicelib.domain.errors import BadRequest, UnprocessableContent

# EKS node group names: 1-63 characters, a letter or digit first, then letters, digits, '-' and '_'.
NODEGROUP_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,62}$")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT", "CAPACITY_BLOCK")
TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")  # EKS's spelling of the Kubernetes effects
MAX_TAINTS, MAX_TAINT_KEY, MAX_TAINT_VALUE = 50, 63, 63  # EKS's limits on a node group's taints


def _int_field(value: Any, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadRequest(f"{field} must be an integer >= {minimum}")
    return value


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NODEGROUP_NAME.fullmatch(name):
        raise BadRequest("name must be 1-63 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def requested_replicas(request: PoolRequest) -> int | None:
    value = request.replicas if request.replicas is not None else request.extensions.get("replicas")
    return None if value is None else _int_field(value, "extensions.replicas")


def requested_instance_type(request: PoolRequest, default: str | None) -> str:
    value = request.instance_type or request.extensions.get("instanceType") or default
    if not isinstance(value, str) or not value:
        raise BadRequest("extensions.instanceType is required (no default instance type is configured)")
    return value


def _bounds(extensions: Mapping[str, Any]) -> tuple[int | None, int | None]:
    low, high = extensions.get("minSize"), extensions.get("maxSize")
    return (
        None if low is None else _int_field(low, "extensions.minSize"),
        None if high is None else _int_field(high, "extensions.maxSize", 1),
    )


def _checked(scaling: dict[str, int]) -> dict[str, int]:
    if not scaling["minSize"] <= scaling["desiredSize"] <= scaling["maxSize"]:
        raise BadRequest("extensions.replicas must lie between extensions.minSize and extensions.maxSize")
    return scaling


def create_scaling(replicas: int | None, extensions: Mapping[str, Any]) -> dict[str, int]:
    """Without explicit bounds a new pool has exactly `replicas` nodes (EKS wants maxSize >= 1)."""
    desired = 1 if replicas is None else replicas
    low, high = _bounds(extensions)
    return _checked(
        {
            "minSize": desired if low is None else low,
            "maxSize": max(desired, 1) if high is None else high,
            "desiredSize": desired,
        }
    )


def update_scaling(
    current: Mapping[str, int], replicas: int | None, extensions: Mapping[str, Any]
) -> dict[str, int] | None:
    """The new scaling config, or None when the request changes nothing. Bounds widen just enough to admit the new
    size, so a resize never fails on an old minSize/maxSize."""
    low, high = _bounds(extensions)
    if replicas is None and low is None and high is None:
        return None
    desired = current.get("desiredSize", 0) if replicas is None else replicas
    return _checked(
        {
            "minSize": min(current.get("minSize", 0), desired) if low is None else low,
            "maxSize": max(current.get("maxSize", 1), desired, 1) if high is None else high,
            "desiredSize": desired,
        }
    )


def optional_create_fields(extensions: Mapping[str, Any]) -> dict[str, Any]:
    """The node group settings an SMO may choose besides name, size and instance type."""
    fields: dict[str, Any] = {}
    capacity_type = extensions.get("capacityType")
    if capacity_type is not None:
        if capacity_type not in CAPACITY_TYPES:
            raise BadRequest(f"extensions.capacityType must be one of {', '.join(CAPACITY_TYPES)}")
        fields["capacityType"] = capacity_type
    if extensions.get("diskSize") is not None:
        fields["diskSize"] = _int_field(extensions["diskSize"], "extensions.diskSize", 1)
    if extensions.get("amiType") is not None:
        if not isinstance(extensions["amiType"], str):
            raise BadRequest("extensions.amiType must be a string")
        fields["amiType"] = extensions["amiType"]
    labels = extensions.get("labels")
    if labels is not None:
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise BadRequest("extensions.labels must be an object of strings")
        fields["labels"] = dict(labels)
    if extensions.get("taints") is not None:
        fields["taints"] = requested_taints(extensions["taints"])
    return fields


def _taint(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"key", "value", "effect"}:
        raise BadRequest(f"{field} must be an object with key, value and effect")
    key, text, effect = value.get("key"), value.get("value", ""), value.get("effect")
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAINT_KEY:
        raise BadRequest(f"{field}.key must be a string of 1-{MAX_TAINT_KEY} characters")
    if not isinstance(text, str) or len(text) > MAX_TAINT_VALUE:
        raise BadRequest(f"{field}.value must be a string of at most {MAX_TAINT_VALUE} characters")
    if effect not in TAINT_EFFECTS:
        raise BadRequest(f"{field}.effect must be one of {', '.join(TAINT_EFFECTS)}")
    return {"key": key, "value": text, "effect": str(effect)} if text else {"key": key, "effect": str(effect)}


def requested_taints(value: Any) -> list[dict[str, str]]:
    """`extensions.taints`: the node group's Kubernetes taints, in EKS's form and within EKS's limits."""
    if not isinstance(value, list) or len(value) > MAX_TAINTS:
        raise BadRequest(f"extensions.taints must be a list of at most {MAX_TAINTS} taints")
    return [_taint(taint, f"extensions.taints[{i}]") for i, taint in enumerate(value)]


class PoolNotHonoured(UnprocessableContent):
    """A well-formed pool request EKS cannot carry out as asked (docs/aws-backend.md, "The seed's pool body")."""

    slug = "pool-not-honoured"


# The static CPU manager policy is a Linux kubelet feature; Windows nodes have no CPU manager.
_NO_CPU_MANAGER = ("WINDOWS_",)
_USER_DATA_BOUNDARY = "NETWEAVE"


def requested_cpu_pinning(extensions: Mapping[str, Any]) -> bool:
    value = extensions.get("cpuPinning", False)
    if not isinstance(value, bool):
        raise PoolNotHonoured("extensions.cpuPinning must be true or false")
    return value


def check_cpu_pinning(pinning: bool, instance_type: str, vcpus: int | None, ami_type: str | None) -> None:
    """Refuse pinning where the kubelet cannot pin: no CPU manager (Windows), or no CPU left to pin (one vCPU stays
    with the system)."""
    if not pinning:
        return
    if ami_type and ami_type.startswith(_NO_CPU_MANAGER):
        raise PoolNotHonoured(f"extensions.cpuPinning: amiType {ami_type} has no static CPU manager policy")
    if vcpus is not None and vcpus < 2:
        raise PoolNotHonoured(f"extensions.cpuPinning: instance type {instance_type} has {vcpus} vCPU; pinning needs "
                              "at least 2 (one stays reserved for the system)")


def cpu_pinning_user_data() -> str:
    """The user data of the launch template a pinned pool's nodes boot with: an Amazon Linux 2023 `NodeConfig`
    (nodeadm) setting the kubelet's `cpuManagerPolicy: static` and reserving one CPU for the system, which the
    static policy requires. MIME multi-part, as EKS merges it with its own bootstrap part."""
    node_config = "\n".join([
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  kubelet:",
        "    config:",
        "      cpuManagerPolicy: static",
        "      reservedSystemCPUs: \"0\"",
    ])
    return "\n".join([
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{_USER_DATA_BOUNDARY}"',
        "",
        f"--{_USER_DATA_BOUNDARY}",
        "Content-Type: application/node.eks.aws",
        "",
        node_config,
        "",
        f"--{_USER_DATA_BOUNDARY}--",
        "",
    ])


def cpu_pinning_template(disk_size: int | None) -> dict[str, Any]:
    """The launch template data of a pinned pool: the user data above, and the disk size EKS then wants here."""
    import base64

    template: dict[str, Any] = {"UserData": base64.b64encode(cpu_pinning_user_data().encode()).decode()}
    if disk_size is not None:
        template["BlockDeviceMappings"] = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": disk_size}}]
    return template
