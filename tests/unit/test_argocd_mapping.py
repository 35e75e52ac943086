"""Pure ArgoCD mapping: Application bodies, sync outcomes, release states and revisions."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dms import argocd_mapping as mapping
from chalicelib.adapters.dms.port import ChartSource

SETTINGS = mapping.AppSettings(project="default", destination_server="https://kubernetes.default.svc",
                               automated_sync=False, prune=True, self_heal=True)
SOURCE = mapping.argocd_source(ChartSource("helm-repo", "https://charts.example.com", "1.0.0", chart="du"), "du",
                               {"replicaCount": 2})
OLD = {**SOURCE, "targetRevision": "0.9.0"}


def app(sync: str = "Synced", health: str = "Healthy", phase: str = "Succeeded", result: Any = SOURCE,
        history: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    status = {"sync": {"status": sync, "revision": "1.0.0"}, "health": {"status": health, "message": "boom"},
              "operationState": {"phase": phase, "message": "op msg", "syncResult": {"source": result}},
              "history": history if history is not None else [{"id": 0, "source": SOURCE, "revision": "1.0.0",
                                                                 "deployedAt": "2024-01-01T00:00:00Z"}]}
    return {"metadata": {"name": "du"}, "spec": {"project": "p", "source": SOURCE,
                                                 "destination": {"namespace": "ns"}}, "status": status, **extra}


def test_application_body_without_automated_sync_and_git_source() -> None:
    git = mapping.argocd_source(ChartSource("git", "https://git.example.com/r.git", "main", path="charts/du"),
                                "du", {})
    body = mapping.application("du", "ns", git, SETTINGS, "d-1")
    assert body["metadata"]["labels"] == {"netweave.io/deployment-id": "d-1",
                                          "app.kubernetes.io/managed-by": "netweave"}
    assert body["spec"]["syncPolicy"] == {"syncOptions": ["CreateNamespace=true"]}
    assert body["spec"]["source"] == {"repoURL": "https://git.example.com/r.git", "targetRevision": "main",
                                      "path": "charts/du", "helm": {"releaseName": "du", "valuesObject": {}}}
    assert mapping.sync_operation("1.0.0", OLD)["sync"] == {"revision": "1.0.0", "prune": False, "source": OLD}


@pytest.mark.parametrize(("obj", "synced", "expected"), [
    (app(), True, "succeeded"),
    (app(result=OLD), True, "pending"),  # the previous sync's state is not the new one's
    (app(phase="Running", health="Progressing"), True, "pending"),
    (app(operation={"sync": {}}), True, "pending"),
    (app(health="Degraded", phase="Failed", sync="OutOfSync"), True, "failed"),
    (app(sync="OutOfSync"), True, "pending"),
    (app(sync="OutOfSync"), False, "succeeded"),  # a rollback leaves the app OutOfSync with its spec
])
def test_outcome(obj: dict[str, Any], synced: bool, expected: str) -> None:
    assert mapping.outcome(obj, SOURCE, synced) == expected


def test_release_states_and_status() -> None:
    assert mapping.release_state(app()) == "deployed"
    assert mapping.release_state(app(health="Degraded", phase="Failed")) == "failed"
    assert mapping.release_state(app(phase="Running", health="Progressing")) == "pending-upgrade"
    assert mapping.release_state(app(sync="OutOfSync", health="Missing", phase="", history=[])) == "pending-install"
    gone = app()
    gone["metadata"]["deletionTimestamp"] = "now"
    assert mapping.release_state(gone) == "uninstalling"
    status = mapping.release_status(app(), [], [])
    assert (status.namespace, status.revision, status.chart_name, status.chart_version, status.updated_at) == (
        "ns", 1, "du", "1.0.0", "2024-01-01T00:00:00Z")
    assert status.details == {"argocd": {"project": "p", "syncStatus": "Synced", "healthStatus": "Healthy",
                                         "revision": "1.0.0"}}
    assert mapping.message(app(health="Degraded")) == "boom"  # a sync that succeeded is not what went wrong
    assert mapping.message(app(health="Degraded", phase="Failed")) == "boom; op msg"


def test_the_message_names_degraded_resources() -> None:
    obj = app(health="Degraded")
    obj["status"]["health"] = {"status": "Degraded"}
    obj["status"]["resources"] = [
        {"kind": "Service", "name": "du", "health": {"status": "Healthy"}},
        {"kind": "Deployment", "name": "du", "health": {
            "status": "Degraded", "message": 'Deployment "du" exceeded its progress deadline'}}]
    assert mapping.message(obj) == 'Deployment/du: Deployment "du" exceeded its progress deadline'


def invalid(destination: dict[str, Any], message: str) -> dict[str, Any]:
    """An Application ArgoCD refuses to compare or sync: what its controller writes (no sync ever ran)."""
    obj = app(sync="Unknown", health="Unknown", phase="", result=None, history=[])
    obj["spec"]["destination"] = destination
    obj["status"]["health"] = {"status": "Unknown"}
    obj["status"]["conditions"] = [{"type": "InvalidSpecError", "message": message}]
    return obj


@pytest.mark.parametrize(("destination", "message"), [
    ({"server": "https://edge-7:6443", "namespace": "ns"}, "cluster 'https://edge-7:6443' has not been configured"),
    ({"server": "https://edge-7:6443", "namespace": "ns"}, "application destination server 'https://edge-7:6443' "
                                                           "and namespace 'ns' do not match any of the allowed "
                                                           "destinations in project 'p'"),
    ({"name": "edge-7", "namespace": "ns"},
     "unable to find destination server: there are no clusters with this name: edge-7"),
    ({"namespace": "ns"}, "Destination server missing from app spec"),
    ({"server": "https://kubernetes.default.svc", "namespace": "ns"},
     "application repo https://charts.example.com is not permitted in project 'p'"),
])
def test_an_application_argocd_will_not_sync_has_failed_with_its_words(destination: dict[str, Any],
                                                                       message: str) -> None:
    obj = invalid(destination, message)
    assert mapping.invalid_spec(obj) == message
    assert mapping.outcome(obj, SOURCE, True) == mapping.outcome(obj, SOURCE, False) == "failed"
    assert mapping.release_state(obj) == "failed"
    assert message in mapping.message(obj)
    obj["operation"] = {"sync": {}}  # a manual sync asked for: ArgoCD will not run it either
    assert mapping.outcome(obj, SOURCE, True) == "failed"


def test_an_invalid_spec_condition_left_from_the_previous_destination_is_not_taken_for_the_new_one() -> None:
    obj = invalid({"server": "https://kubernetes.default.svc", "namespace": "ns"},
                  "cluster 'https://edge-7:6443' has not been configured")
    assert mapping.invalid_spec(obj) is None
    assert mapping.outcome(obj, SOURCE, True) == "pending"  # ArgoCD's next refresh replaces the condition


def test_application_names_carry_the_namespace_and_the_release_keeps_its_name() -> None:
    assert mapping.application_name("du", "site-1") == "site-1.du"
    named = app()
    named["metadata"]["name"] = "ns.du"
    assert (mapping.release_name(named), mapping.instance_labels(named)) == ("du", ("ns.du",))
    assert mapping.instance_labels(app()) == ()  # named like its release (before names carried the namespace)


def test_revisions_and_history_entries() -> None:
    history = [{"id": 3, "source": OLD, "revision": "0.9.0"}, {"id": 4, "source": SOURCE, "revision": "1.0.0"}]
    obj = app(history=history)
    assert [(r.revision, r.status, r.chart) for r in mapping.revisions(obj)] == [
        (4, "superseded", "du-0.9.0"), (5, "deployed", "du-1.0.0")]
    assert mapping.revision_number(obj) == 5
    assert mapping.history_entry(obj, None) == history[0]
    assert mapping.history_entry(obj, 5) == history[1]
    assert mapping.history_entry(obj, 1) is None
    assert mapping.history_entry(app(), None) is None
