"""Server-side defaulting a real API server performs on create/update, for the kinds clients depend on.

client-go based tools dereference defaulted fields (helm's readiness checks read ``*spec.replicas`` and the
rolling-update parameters), so these are not cosmetic: without them helm ``--wait`` panics or never finishes.
"""

from __future__ import annotations

import base64
import ipaddress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]


def _pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        image = str(container.get("image", ""))
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
        container.setdefault("imagePullPolicy", "Always" if tag == "latest" else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _template(obj: Obj) -> None:
    template = obj.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {})
    _pod_spec(template.setdefault("spec", {}))


def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _template(obj)


def _statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    _template(obj)


def _daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    _template(obj)


def _replicaset(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def _job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    for key, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6),
                       ("completionMode", "NonIndexed"), ("suspend", False),
                       ("podReplacementPolicy", "TerminatingOrFailed")):
        spec.setdefault(key, value)
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    job_labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                  "controller-uid": uid, "job-name": name}
    if not spec.get("manualSelector"):
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
        labels.update(job_labels)
    _template(obj)
    spec["template"]["spec"].setdefault("restartPolicy", "Never")


def _pod(obj: Obj) -> None:
    _pod_spec(obj.setdefault("spec", {}))
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    obj["status"].setdefault("qosClass", qos_class(obj["spec"]))


def qos_class(spec: Obj) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(r.get("limits", {}).get(k) and r.get("requests", r.get("limits", {})).get(k) ==
                     r["limits"][k] for r in resources for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def _secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    # Like the real server: stringData is write-only and folds into base64 data.
    for key, value in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode("ascii")


def _namespace(obj: Obj) -> None:
    name = obj["metadata"]["name"]
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def _service(cluster: Cluster, obj: Obj, old: Obj | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    old_spec = (old or {}).get("spec", {})
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or cluster.allocate_service_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    old_ports = {p.get("port"): p for p in old_spec.get("ports") or []}
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            port["nodePort"] = old_ports.get(port.get("port"), {}).get("nodePort") or cluster.allocate_node_port()
    status = obj.setdefault("status", {"loadBalancer": {}})
    if spec["type"] == "LoadBalancer" and not status.get("loadBalancer", {}).get("ingress"):
        # helm --wait requires a LoadBalancer to have an ingress address; a cloud controller would assign one.
        lb_ip = ipaddress.ip_address("172.18.255.1") + (int(ipaddress.ip_address(spec["clusterIP"])) % 250)
        status["loadBalancer"] = {"ingress": [{"ip": str(lb_ip), "ipMode": "VIP"}]}


def _pvc(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("storageClassName", "gp3")
    spec.setdefault("volumeName", f"pvc-{obj['metadata']['uid']}")
    requested = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
    # No provisioner runs here: claims bind at once so charts with PVCs pass helm --wait.
    obj["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "capacity": {"storage": requested}}


def _crd(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    names = spec.get("names", {})
    condition = {"lastTransitionTime": obj["metadata"].get("creationTimestamp"), "status": "True"}
    obj["status"] = {
        "acceptedNames": names,
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        "conditions": [
            {**condition, "type": "NamesAccepted", "reason": "NoConflicts", "message": "no conflicts found"},
            {**condition, "type": "Established", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ],
    }


_SIMPLE = {
    ("apps", "deployments"): _deployment,
    ("apps", "statefulsets"): _statefulset,
    ("apps", "daemonsets"): _daemonset,
    ("apps", "replicasets"): _replicaset,
    ("", "pods"): _pod,
    ("", "secrets"): _secret,
    ("", "namespaces"): _namespace,
    ("", "persistentvolumeclaims"): _pvc,
    ("apiextensions.k8s.io", "customresourcedefinitions"): _crd,
}


def on_create(cluster: Cluster, key: tuple[str, str], obj: Obj) -> None:
    if key == ("", "services"):
        _service(cluster, obj, None)
    elif key == ("batch", "jobs"):
        _job(obj)
    elif key in _SIMPLE:
        _SIMPLE[key](obj)


def on_update(cluster: Cluster, key: tuple[str, str], old: Obj, new: Obj) -> None:
    """Re-apply defaults after a replace/patch (a PUT body may omit them); status was already restored."""
    if key == ("", "services"):
        _service(cluster, new, old)
    elif key == ("batch", "jobs"):
        new.setdefault("spec", {}).setdefault("selector", old.get("spec", {}).get("selector"))
        _template(new)
    elif key == ("", "namespaces"):
        new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = new["metadata"]["name"]
    elif key == ("", "pods"):
        _pod_spec(new.setdefault("spec", {}))
    elif key in _SIMPLE:
        _SIMPLE[key](new)
