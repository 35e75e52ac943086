"""Pure parts of the helm DMS backend (helm_status), and the in-memory fake other services test against."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms import helm_status as mapping
from chalicelib.adapters.dms.port import DeploymentAdapter, DeploymentFailed, ReleaseSpec
from chalicelib.domain.errors import BackendUnavailable, NotFound
from tests.unit.fakes.dms import FakeDeploymentAdapter


@pytest.mark.parametrize(("stderr", "kind"), [
    ("Error: release: not found\n", "not-found"),
    ("Error: uninstall: Release not loaded: r1: release: not found", "not-found"),
    ('Error: UPGRADE FAILED: "r1" has no deployed releases', "not-found"),
    ('Error: Kubernetes cluster unreachable: Get "http://127.0.0.1:1/version": dial tcp 127.0.0.1:1: '
     "connect: connection refused", "unavailable"),
    ("Error: UPGRADE FAILED: context deadline exceeded", "failed"),
    ("Error: INSTALLATION FAILED: template: vdu/templates/x.yaml:3: function \"nope\" not defined", "failed"),
    # A warning mentioning the kubeconfig must not make a chart error look like an unreachable cluster.
    ("WARNING: Kubernetes configuration file is group-readable. Location: /tmp/kubeconfig\n"
     "Error: INSTALLATION FAILED: chart requires kubeVersion: >=1.99", "failed"),
])
def test_helm_errors_are_classified(stderr: str, kind: str) -> None:
    assert mapping.classify_error(stderr) == kind


def test_helm_message_keeps_the_error_masks_secrets_and_is_bounded() -> None:
    stderr = ("WARNING: something harmless\nError: UPGRADE FAILED: Get https://admin:hunter2@k8s/api: "
              "Authorization: Bearer abc.def.ghi failed; token=s3cr3t\n")
    message = mapping.helm_message(stderr)
    assert message.startswith("UPGRADE FAILED")
    assert "hunter2" not in message and "abc.def.ghi" not in message and "s3cr3t" not in message
    assert "WARNING" not in message
    assert len(mapping.helm_message("Error: " + "x" * 5000)) == mapping.MAX_MESSAGE


def test_helm_message_keeps_the_errors_helm_lists_after_error_occurred() -> None:
    stderr = ('Release "x" does not exist. Installing it now.\nError: 1 error occurred:\n\t* namespaces is forbidden: '
              'User "system:serviceaccount:netweave:netweave" cannot create resource "namespaces"\n\n')
    assert mapping.helm_message(stderr) == ('1 error occurred: * namespaces is forbidden: User '
                                            '"system:serviceaccount:netweave:netweave" cannot create resource '
                                            '"namespaces"')


def test_release_status_and_revision_from_helm_json() -> None:
    metadata = {"name": "du", "namespace": "ran", "revision": 4, "status": "pending-upgrade", "chart": "vdu",
                "version": "1.2.0", "appVersion": "2.0", "deployedAt": "2026-01-01T00:00:00Z"}
    status = mapping.release_status(metadata, [], [])
    assert (status.revision, status.status, status.chart_name, status.chart_version) == (4, "pending-upgrade",
                                                                                         "vdu", "1.2.0")
    assert mapping.release_state("uninstalled") == "unknown"
    entry = {"revision": 2, "updated": "t", "status": "superseded", "chart": "vdu-1.2.0", "app_version": "2.0",
             "description": "Upgrade complete"}
    assert mapping.revision(entry).status == "superseded"


@pytest.mark.parametrize(("listed", "chart"), [
    ("vdu-1.0.0", ("vdu", "1.0.0")),
    ("du-2-1.0.0", ("du-2", "1.0.0")),  # a name with a digit after a dash
    ("du-1.0.0-rc-1", ("du", "1.0.0-rc-1")),  # a pre-release with dashes
    ("cu-3.0.0+build.7", ("cu", "3.0.0+build.7")),
    ("odd-1.2", ("odd", "1.2")),  # not a whole SemVer version: what follows the last dash
])
def test_the_chart_helm_list_prints_is_split_into_name_and_version(listed: str, chart: tuple[str, str]) -> None:
    assert mapping.listed_chart(listed) == chart


def test_release_status_from_a_helm_list_entry_and_owners_from_the_namespaces_release_secrets() -> None:
    entry = {"name": "du-2", "namespace": "oran-du", "revision": "3", "updated": "2026-12-07T15:08:59Z",
             "status": "pending-upgrade", "chart": "du-2-1.0.0-rc-1", "app_version": "1.16.0"}
    status = mapping.listed_release_status(entry, [], [], owner="d-1")
    assert (status.name, status.revision, status.status, status.chart_name, status.chart_version, status.app_version,
            status.updated_at, status.owner) == ("du-2", 3, "pending-upgrade", "du-2", "1.0.0-rc-1", "1.16.0",
                                                 "2026-12-07T15:08:59Z", "d-1")

    def secret(name: str, version: int, **labels: str) -> dict[str, Any]:
        return {"metadata": {"labels": {"owner": "helm", "name": name, "version": str(version), **labels}}}

    secrets = [secret("du-2", 1, **{"netweave.io/deployment-id": "old"}), secret("du-2", 3),
               secret("du-2", 2, **{"netweave.io/deployment-id": "d-1"}),
               secret("cu", 1, **{"netweave.io/deployment-id": "d-2"})]
    owners = {name: labels.get("netweave.io/deployment-id") for name, labels in
              mapping.labels_by_release(secrets).items()}
    assert owners == {"du-2": None, "cu": "d-2"}  # the latest revision's labels decide, as for one release


def test_workloads_and_pods_from_cluster_objects() -> None:
    deployment = {"metadata": {"name": "du"}, "spec": {"replicas": 3},
                  "status": {"readyReplicas": 2, "availableReplicas": 2}}
    assert mapping.workload_status("Deployment", deployment).ready == 2
    daemon = {"metadata": {"name": "agent"}, "status": {"desiredNumberScheduled": 4, "numberReady": 4,
                                                        "numberAvailable": 3}}
    assert mapping.workload_status("DaemonSet", daemon).available == 3
    crashing = {"metadata": {"name": "du-1"}, "status": {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    pod = mapping.pod_status(crashing)
    assert (pod.ready, pod.restarts, pod.reason) == (False, 3, "CrashLoopBackOff")
    unscheduled = {"metadata": {"name": "du-2"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}
    assert mapping.pod_status(unscheduled).reason == "Unschedulable"
    assert pod.message is None


def test_an_unschedulable_pod_carries_the_schedulers_words_into_the_timeout_message() -> None:
    words = ("0/12 nodes are available: 3 node(s) had untolerated taint {dedicated: vdu}, 9 node(s) didn't match "
             "Pod's node affinity/selector. preemption: 0/12 nodes are available: 12 Preemption is not helpful for "
             "scheduling.")
    pending = {"metadata": {"name": "vdu-0"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": words}]}}
    assert mapping.pod_status(pending).message == words
    twin = {**pending, "metadata": {"name": "vdu-1"}}
    assert mapping.with_waiting_pods("context deadline exceeded", [pending, twin]) == (
        f"context deadline exceeded; pods not ready: vdu-0 Unschedulable ({words}), vdu-1 Unschedulable"), \
        "the scheduler's words once, not once per pod"


def test_readiness_timeout_names_the_waiting_pods() -> None:
    def pod(name: str, ready: bool) -> dict[str, Any]:
        state = {} if ready else {"waiting": {"reason": "ImagePullBackOff"}}
        return {"metadata": {"name": name}, "status": {
            "phase": "Pending", "conditions": [{"type": "Ready", "status": str(ready)}],
            "containerStatuses": [{"restartCount": 0, "state": state}]}}

    pods = [pod("du-ok", True), *(pod(f"du-{i}", False) for i in range(7))]
    message = mapping.with_waiting_pods("UPGRADE FAILED: context deadline exceeded", pods)
    assert message.endswith("pods not ready: du-0 ImagePullBackOff, du-1 ImagePullBackOff, du-2 ImagePullBackOff, "
                            "du-3 ImagePullBackOff, du-4 ImagePullBackOff and 2 more")
    assert mapping.with_waiting_pods("m", [pod("du-ok", True)]) == "m"


def _secret_field(release: dict[str, Any]) -> str:
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return base64.b64encode(helm_encoded).decode()


def test_chart_is_rebuilt_from_the_release_record() -> None:
    template = base64.b64encode(b"kind: Deployment\n").decode()
    release = {"chart": {"metadata": {"apiVersion": "v2", "name": "vdu", "version": "0.1.0"},
                         "values": {"replicaCount": 1}, "templates": [{"name": "templates/d.yaml", "data": template}],
                         "files": [{"name": ".helmignore", "data": ""}]}}
    files = mapping.chart_files(mapping.decode_release_record(_secret_field(release)))
    assert yaml.safe_load(files["Chart.yaml"])["name"] == "vdu"
    assert yaml.safe_load(files["values.yaml"]) == {"replicaCount": 1}
    assert files["templates/d.yaml"] == b"kind: Deployment\n"


@pytest.mark.parametrize("change", [
    {"metadata": {"name": "umbrella", "dependencies": [{"name": "sub", "version": "1"}]}},
    {"templates": [{"name": "../../etc/passwd", "data": ""}]},
])
def test_chart_rebuild_refuses_what_it_cannot_do_safely(change: dict[str, Any]) -> None:
    chart = {"metadata": {"name": "vdu", "version": "0.1.0"}, "templates": [], **change}
    with pytest.raises(ValueError, match=r"dependencies|unsafe"):
        mapping.chart_files({"chart": chart})


def test_fake_dms_adapter_follows_the_helm_lifecycle() -> None:
    fake = FakeDeploymentAdapter()
    adapter: DeploymentAdapter = fake  # the fake satisfies the port (checked by mypy when run on tests)
    installed = adapter.install(ReleaseSpec("du", "ran", "/p/vdu-0.1.0.tgz", {"replicaCount": 3}, owner="d1"))
    assert installed.workloads[0].ready == 3 and installed.owner == "d1"
    assert adapter.scale("du", "ran", 5, owner="d1").workloads[0].desired == 5
    with pytest.raises(DeploymentFailed):
        adapter.upgrade(ReleaseSpec("du", "ran", "/p/vdu-0.2.0.tgz", {"image": {"tag": "fail"}}, owner="d1"))
    assert adapter.status("du", "ran").status == "failed"
    rolled = adapter.rollback("du", "ran", owner="d1")
    assert (rolled.status, rolled.revision, rolled.workloads[0].ready) == ("deployed", 4, 5)
    assert [r.status for r in adapter.history("du", "ran")] == ["superseded", "superseded", "failed", "deployed"]
    assert len(adapter.logs("du", "ran", tail_lines=1)[0].lines) == 1
    adapter.uninstall("du", "ran", owner="d1")
    adapter.uninstall("du", "ran", owner="d1")
    with pytest.raises(NotFound):
        adapter.status("du", "ran")
    fake.unavailable = True
    with pytest.raises(BackendUnavailable):
        adapter.history("du", "ran")
    assert fake.calls[0] == ("install", "ran", "du")
