"""Scheduler + kubelet: bind pods to matching nodes, then report them Running/Ready, Succeeded, or crashing.

A container whose image tag is ``fail`` (``nginx:fail``) is the failure knob: with restartPolicy Always it sits in
CrashLoopBackOff and never becomes ready; with restartPolicy Never its pod ends Failed.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers.common import NODES, PODS, condition
from devtools.kubesim.controllers.scheduling import fits, unschedulable_message

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]
FAIL_TAG = "fail"


def image_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def fails(pod: Obj) -> bool:
    spec = pod.get("spec", {})
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    return any(image_tag(str(c.get("image", ""))) == FAIL_TAG for c in containers)


class Kubelet:
    def __init__(self, cluster: Cluster, enqueue: Callable[[tuple[str, str, str]], None],
                 schedule_later: Callable[[float, tuple[str, str, str]], None], ready_delay: float = 0.0) -> None:
        self.cluster = cluster
        self.enqueue = enqueue
        self.schedule_later = schedule_later
        self.ready_delay = ready_delay
        self.load: dict[str, int] = {}  # pods bound per node, to spread like the default scheduler's scoring
        self._due: dict[str, float] = {}  # pod uid -> monotonic time its containers finish starting

    def reconcile(self, namespace: str, name: str) -> None:
        pod = self.cluster.find(PODS, namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return
        node_name = pod["spec"].get("nodeName")
        if not node_name:
            self._schedule(pod)
            return
        node = self.cluster.find(NODES, "", node_name)
        if node is None:
            return
        desired = self._desired_status(pod, node)
        if desired is not None:
            self.cluster.write_status(self.cluster.resource(*PODS), pod, desired)

    def _schedule(self, pod: Obj) -> None:
        spec = pod["spec"]
        candidates = [n for n in self.cluster.store.objects(NODES) if fits(spec, n)]
        rt = self.cluster.resource(*PODS)
        if not candidates:
            self._unschedulable(pod)
            return
        chosen = min(candidates, key=lambda n: (self.load.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
        node_name = chosen["metadata"]["name"]
        self.load[node_name] = self.load.get(node_name, 0) + 1
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node_name
        meta = pod["metadata"]
        self.cluster.update(rt, meta["namespace"], meta["name"], bound)

    def _unschedulable(self, pod: Obj) -> None:
        """Pending with PodScheduled=False/Unschedulable and the scheduler's message, rewritten only when the
        message changes (a node came or went), as the scheduler does on each failed attempt."""
        message = unschedulable_message(pod["spec"], self.cluster.store.objects(NODES))
        status = copy.deepcopy(pod.get("status") or {})
        current: Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
        if current.get("reason") == "Unschedulable" and current.get("message") == message:
            return
        status["phase"] = "Pending"
        status["conditions"] = [condition("PodScheduled", False, "Unschedulable", message, now())]
        self.cluster.write_status(self.cluster.resource(*PODS), pod, status)

    def pending_pods(self) -> list[Obj]:
        return [p for p in self.cluster.store.objects(PODS) if not p["spec"].get("nodeName")]

    def _desired_status(self, pod: Obj, node: Obj) -> Obj | None:
        status = pod.get("status") or {}
        if self._reported(status):
            return None  # a started pod keeps its status until it is deleted
        stamp = now()
        if self.ready_delay:
            uid = pod["metadata"]["uid"]
            due = self._due.get(uid)
            if due is None:
                self._due[uid] = time.monotonic() + self.ready_delay
                self.schedule_later(self.ready_delay, ("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]))
                return self._creating(pod, node, stamp)
            if time.monotonic() < due:
                return None
            del self._due[uid]
        return self._running(pod, node, status.get("startTime") or stamp, stamp)

    @staticmethod
    def _reported(status: Obj) -> bool:
        statuses = status.get("containerStatuses") or []
        creating = any((cs.get("state") or {}).get("waiting", {}).get("reason") == "ContainerCreating"
                       for cs in statuses)
        initialized = any(c.get("type") == "Initialized" for c in status.get("conditions") or [])
        return bool(statuses) and initialized and not creating

    def _creating(self, pod: Obj, node: Obj, stamp: str) -> Obj:
        status = self._base(pod, node, stamp)
        status["phase"] = "Pending"
        status["conditions"] = [condition("PodScheduled", True, "", "", stamp)]
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
             "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
            for c in pod["spec"].get("containers") or []]
        return status

    def _base(self, pod: Obj, node: Obj, stamp: str) -> Obj:
        old = pod.get("status") or {}
        host_ip = next((a["address"] for a in node.get("status", {}).get("addresses") or []
                        if a.get("type") == "InternalIP"), "10.0.0.1")
        pod_ip = old.get("podIP") or (host_ip if pod["spec"].get("hostNetwork") else self.cluster.allocate_pod_ip())
        return {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                "startTime": old.get("startTime") or stamp, "qosClass": old.get("qosClass", "BestEffort")}

    def _running(self, pod: Obj, node: Obj, started: str, stamp: str) -> Obj:
        status = self._base(pod, node, stamp)
        status["startTime"] = started
        crash, restart = fails(pod), pod["spec"].get("restartPolicy", "Always")
        if crash and restart == "Never":
            phase, ready, reason = "Failed", False, "PodFailed"
        elif crash:
            phase, ready, reason = "Running", False, "ContainersNotReady"
        elif restart == "Always":
            phase, ready, reason = "Running", True, ""
        else:
            phase, ready, reason = "Succeeded", False, "PodCompleted"
        status["phase"] = phase
        message = "" if ready else f"containers with unready status: [{_names(pod)}]"
        status["conditions"] = [
            condition("PodReadyToStartContainers", phase == "Running", "", "", stamp),
            condition("Initialized", True, "PodCompleted" if phase == "Succeeded" else "", "", stamp),
            condition("Ready", ready, reason, message, stamp),
            condition("ContainersReady", ready, reason, message, stamp),
            condition("PodScheduled", True, "", "", stamp),
        ]
        for cond in status["conditions"]:
            if not cond["reason"]:
                del cond["reason"], cond["message"]
        status["containerStatuses"] = [_container_status(pod, c, phase, crash, started, stamp)
                                       for c in pod["spec"].get("containers") or []]
        return status


def _names(pod: Obj) -> str:
    return " ".join(c["name"] for c in pod["spec"].get("containers") or [])


def _container_status(pod: Obj, container: Obj, phase: str, crash: bool, started: str, stamp: str) -> Obj:
    image = str(container.get("image", ""))
    seed = f'{pod["metadata"]["uid"]}/{container["name"]}'
    container_id = "containerd://" + hashlib.sha256(seed.encode()).hexdigest()
    repo = image if "/" in image.split(":", 1)[0] else f"docker.io/library/{image}"
    image_id = repo.split(":")[0] + "@sha256:" + hashlib.sha256(image.encode()).hexdigest()
    base = {"name": container["name"], "image": image, "imageID": image_id, "containerID": container_id,
            "restartCount": 0, "lastState": {}}
    if phase in ("Succeeded", "Failed"):
        code = 1 if crash else 0
        terminated = {"exitCode": code, "reason": "Error" if crash else "Completed", "startedAt": started,
                      "finishedAt": stamp, "containerID": container_id}
        return {**base, "ready": False, "started": False, "state": {"terminated": terminated}}
    if crash and image_tag(image) == FAIL_TAG:
        message = f'back-off 40s restarting failed container={container["name"]} pod={pod["metadata"]["name"]}' \
                  f'_{pod["metadata"]["namespace"]}({pod["metadata"]["uid"]})'
        last = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started, "finishedAt": stamp,
                               "containerID": container_id}}
        return {**base, "ready": False, "started": False, "restartCount": 3, "lastState": last,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}}}
    return {**base, "ready": not crash, "started": True, "state": {"running": {"startedAt": started}}}
