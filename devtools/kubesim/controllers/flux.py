"""A minimal Flux helm-controller that really installs (the source-controller, reduced to its status, is in
``flux_sources``).

HelmRelease: on a new generation or a ``reconcile.fluxcd.io/requestedAt`` request, after ``SYNC_DELAY`` (an
in-progress ``Reconciling`` status first), the chart is resolved from its source (``spec.chart.spec`` with a
HelmRepository or a GitRepository, or ``spec.chartRef`` to an OCIRepository) and the real ``helm upgrade --install
--wait`` runs against kubesim itself in the background hook (``flux_helm``); a GitRepository is cloned there with the
real ``git`` at its ref, and ``spec.chart.spec.chart`` is the chart's directory in it (version: Chart.yaml's, plus
``+<commit[:12]>`` as with ``reconcileStrategy: Revision``). Ready/Released and the history snapshot come from what helm
did: its revision number, its status, its message. A crash-looping workload fails the ``--wait`` after
``spec.timeout``. The controller adds ``finalizers.fluxcd.io`` like Flux does; deleting the HelmRelease runs
``helm uninstall`` in the background and only then drops the finalizer.

Sources: HelmRepository, OCIRepository and GitRepository report Ready with an artifact after ``SOURCE_DELAY``
(GitRepository: ``SYNC_DELAY``) without fetching anything; a URL, ref or path that cannot be fetched surfaces when
helm (or git) fetches the chart for a HelmRelease, with its message.
Helm pulls ``oci://`` charts itself; kubesim serves no OCI registry. Not simulated: drift detection, remediation
(retries, rollback), tests, ``valuesFrom``, ``dependsOn``, post-renderers, the HelmChart object, polling a
GitRepository's branch for new commits (a new HelmRelease generation or reconcile request clones again).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers import flux_helm
from devtools.kubesim.controllers.common import PODS, merge_conditions
from devtools.kubesim.controllers.gitops import (
    FLUX_FINALIZER,
    FLUX_HISTORY_LIMIT,
    GITREPOSITORIES,
    HELMRELEASES,
    HELMREPOSITORIES,
    OCIREPOSITORIES,
    REQUESTED_AT,
    GitOps,
    Key,
    Obj,
    digest,
)
from devtools.kubesim.errors import ApiError
from devtools.kubesim.store import Event

log = logging.getLogger("kubesim.flux")
Background = Callable[[Callable[[], Any], Callable[[Any], None]], None]
MAX_RELEASE_NAME = 53  # Helm's limit; Flux shortens longer names with a hash
INSTANCE = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class Plan:
    """One install/upgrade attempt of a HelmRelease generation (fixed when it starts)."""

    generation: int
    requested: str | None
    install: bool
    release: str
    namespace: str
    chart_name: str
    version: str
    values: Obj
    config_digest: str
    timeout: str
    max_history: int
    chart: flux_helm.Chart | None  # None: the source could not be resolved (see `error`)
    error: str | None = None


class Flux(GitOps):
    """Flux helm-controller: real installs through helm (the source-controller is `flux_sources.FluxSources`)."""

    watched = {HELMRELEASES: "helmreleases"}

    def __init__(self, cluster: Any, enqueue: Callable[[Key], None], schedule_later: Callable[[float, Key], None],
                 background: Background, api_url: Callable[[], str | None]) -> None:
        super().__init__(cluster, enqueue, schedule_later)
        self.background = background  # helm runs off the event loop: it talks to this very server
        self.api_url = api_url  # kubesim's own URL once it is listening (None before)
        self._running: set[str] = set()  # uids with a helm run in flight (one at a time per HelmRelease)
        self._finished: dict[str, tuple[Plan, flux_helm.Outcome]] = {}
        self._uninstalled: set[str] = set()
        self._stop = threading.Event()  # set on shutdown: running helm processes are killed

    def close(self) -> None:
        """kubesim is stopping: kill the helm runs (a ``--wait`` would otherwise outlive the server)."""
        self._stop.set()

    def reconcilers(self) -> dict[str, Callable[[str, str], None]]:
        return {"helmreleases": self.reconcile_helmrelease}

    def on_event(self, event: Event) -> None:
        if event.key == HELMRELEASES and event.old is not None and _only_our_finalizer_added(event.old,
                                                                                            event.entry.obj):
            return  # adding our finalizer is not a new input: keep the pending due time
        if event.key == HELMRELEASES and event.type == "DELETED":
            uid = event.entry.obj["metadata"]["uid"]
            self._finished.pop(uid, None)
            self._uninstalled.discard(uid)
        super().on_event(event)

    # -- HelmRelease ---------------------------------------------------------------------------------------------
    def reconcile_helmrelease(self, namespace: str, name: str) -> None:
        hr = self.cluster.find(HELMRELEASES, namespace, name)
        if hr is None:
            return
        if hr["metadata"].get("deletionTimestamp"):
            self._delete_release(hr)
            return
        hr = self._add_finalizer(hr)
        uid = hr["metadata"]["uid"]
        finished = self._finished.pop(uid, None)
        if finished is not None:
            self._record(hr, *finished)
            self.enqueue(("helmreleases", namespace, name))  # a newer generation may be waiting
            return
        if self._wants_action(hr):
            self._act(hr)

    def _wants_action(self, hr: Obj) -> bool:
        """A new generation or reconcile request, not suspended, and no helm run in flight for this HelmRelease."""
        meta, status = hr["metadata"], hr.get("status") or {}
        if meta["uid"] in self._running or (hr.get("spec") or {}).get("suspend"):
            return False
        requested = (meta.get("annotations") or {}).get(REQUESTED_AT)
        return bool(status.get("observedGeneration") != meta.get("generation", 1)
                    or status.get("lastHandledReconcileAt") != requested)

    def _act(self, hr: Obj) -> None:
        if not self._ripe(hr):
            self._progressing(hr, f"Fulfilling prerequisites (generation {hr['metadata'].get('generation', 1)})")
            return
        plan = self._plan(hr)
        if plan.chart is None or self._unchanged(hr, plan):
            self._record(hr, plan, flux_helm.Outcome(error=plan.error))
        else:
            self._start(hr, plan)

    def _add_finalizer(self, hr: Obj) -> Obj:
        """Flux's helm-controller puts its finalizer on every HelmRelease it reconciles."""
        finalizers = hr["metadata"].get("finalizers") or []
        if FLUX_FINALIZER in finalizers:
            return hr
        body = copy.deepcopy(hr)
        body["metadata"]["finalizers"] = [*finalizers, FLUX_FINALIZER]
        try:
            updated: Obj = self.cluster.update(self.cluster.resource(*HELMRELEASES), hr["metadata"]["namespace"],
                                               hr["metadata"]["name"], body)
        except ApiError:
            return hr
        return updated

    def _plan(self, hr: Obj) -> Plan:
        meta, spec = hr["metadata"], hr.get("spec") or {}
        history = (hr.get("status") or {}).get("history") or []
        target_ns = spec.get("targetNamespace") or meta.get("namespace", "")
        values = spec.get("values") or {}
        chart, chart_name, version, error = self._chart(meta.get("namespace", ""), spec)
        return Plan(generation=meta.get("generation", 1),
                    requested=(meta.get("annotations") or {}).get(REQUESTED_AT),
                    install=not any(h.get("status") == "deployed" for h in history),
                    release=release_name(meta["name"], spec), namespace=target_ns, chart_name=chart_name,
                    version=version, values=values, config_digest=digest(values),
                    timeout=flux_helm.duration(spec.get("timeout")),
                    max_history=int(spec.get("maxHistory") or FLUX_HISTORY_LIMIT), chart=chart, error=error)

    def _chart(self, namespace: str, spec: Obj) -> tuple[flux_helm.Chart | None, str, str, str | None]:
        """(where helm fetches it, chart name, version, why it cannot be resolved) from ``spec.chart.spec`` and its
        HelmRepository or GitRepository, or from ``spec.chartRef`` and its OCIRepository. A chart in Git is named
        after its directory and versioned by its ref until it is checked out (the helm run resolves both)."""
        chart_spec = (spec.get("chart") or {}).get("spec") or {}
        if chart_spec:
            name, version = str(chart_spec.get("chart", "")), str(chart_spec.get("version") or "*")
            ref = chart_spec.get("sourceRef") or {}
            ref_ns = ref.get("namespace") or namespace
            if ref.get("kind") == "GitRepository":
                return self._git_chart(ref_ns, str(ref.get("name", "")), name)
            repo = self.cluster.find(HELMREPOSITORIES, ref_ns, str(ref.get("name", "")))
            if ref.get("kind", "HelmRepository") != "HelmRepository" or repo is None:
                return None, name, version, (f"{ref.get('kind', 'HelmRepository')} '{ref_ns}/{ref.get('name')}' "
                                             "not found")
            url = str((repo.get("spec") or {}).get("url", ""))
            helm_version = "" if version == "*" else version
            if url.startswith("oci://"):  # a HelmRepository of type oci
                return flux_helm.Chart(f"{url.rstrip('/')}/{name}", helm_version), name, version, None
            return flux_helm.Chart(name, helm_version, repo=url), name, version, None
        ref = spec.get("chartRef") or {}
        ref_ns = ref.get("namespace") or namespace
        repo = self.cluster.find(OCIREPOSITORIES, ref_ns, str(ref.get("name", "")))
        if ref.get("kind") != "OCIRepository" or repo is None:
            return None, str(ref.get("name", "")), "", (f"{ref.get('kind', 'chartRef')} '{ref_ns}/{ref.get('name')}'"
                                                        " not found")
        repo_spec = repo.get("spec") or {}
        url = str(repo_spec.get("url", "")).rstrip("/")
        tag = str((repo_spec.get("ref") or {}).get("tag") or "latest")
        chart = flux_helm.Chart(url, tag, plain_http=bool(repo_spec.get("insecure")))
        return chart, url.rsplit("/", 1)[-1], tag, None

    def _git_chart(self, namespace: str, name: str, path: str
                   ) -> tuple[flux_helm.Chart | None, str, str, str | None]:
        repo = self.cluster.find(GITREPOSITORIES, namespace, name)
        chart_name = PurePosixPath(path.strip("/") or ".").name or path
        if repo is None:
            return None, chart_name, "", f"GitRepository '{namespace}/{name}' not found"
        repo_spec = repo.get("spec") or {}
        ref = {k: str(v) for k, v in (repo_spec.get("ref") or {}).items() if k in ("branch", "tag", "commit") and v}
        version = ref.get("commit") or ref.get("tag") or ref.get("branch") or "HEAD"
        git = flux_helm.GitSource(str(repo_spec.get("url", "")), ref)
        return flux_helm.Chart(path, "", git=git), chart_name, version, None

    def _deployed(self, hr: Obj, plan: Plan) -> tuple[str, str] | None:
        """(chart name, version) of the deployed release when it has these values, else None."""
        history = (hr.get("status") or {}).get("history") or []
        newest = history[0] if history else {}
        if newest.get("status") != "deployed" or newest.get("configDigest") != plan.config_digest:
            return None
        return str(newest.get("chartName")), str(newest.get("chartVersion"))

    def _unchanged(self, hr: Obj, plan: Plan) -> bool:
        """The deployed release already has this chart and these values: Flux runs no Helm action. (A chart from
        Git is compared once it is checked out, in the helm run.)"""
        return plan.chart is not None and plan.chart.git is None and \
            self._deployed(hr, plan) == (plan.chart_name, plan.version)

    def _start(self, hr: Obj, plan: Plan) -> None:
        url, uid = self.api_url(), hr["metadata"]["uid"]
        chart = plan.chart
        if url is None or chart is None:
            self._record(hr, plan, flux_helm.Outcome(error="kubesim is not serving yet: helm cannot reach it"))
            return
        key = ("helmreleases", hr["metadata"]["namespace"], hr["metadata"]["name"])
        deployed = self._deployed(hr, plan)
        self._running.add(uid)

        def work() -> flux_helm.Outcome:
            try:
                return flux_helm.upgrade(url, plan.release, plan.namespace, chart, plan.values, plan.timeout,
                                         plan.max_history, self._stop, deployed)
            except Exception as error:  # never lose the result: the HelmRelease would wait forever
                log.exception("helm upgrade of %s/%s failed", plan.namespace, plan.release)
                return flux_helm.Outcome(error=f"helm: {error!r}")

        def done(outcome: flux_helm.Outcome) -> None:
            self._running.discard(uid)
            self._finished[uid] = (plan, outcome)
            self.enqueue(key)

        action = "install" if plan.install else "upgrade"
        self._progressing(hr, f"Running '{action}' action with timeout of {plan.timeout}")
        self.background(work, done)

    def _progressing(self, hr: Obj, message: str) -> None:
        generation, stamp = hr["metadata"].get("generation", 1), now()
        status = copy.deepcopy(hr.get("status") or {})
        conditions = [
            {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": message,
             "lastTransitionTime": stamp, "observedGeneration": generation},
            {"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": message,
             "lastTransitionTime": stamp, "observedGeneration": generation}]
        status["conditions"] = merge_conditions(status.get("conditions"), conditions)
        self._write_status(HELMRELEASES, hr, status)

    def _record(self, hr: Obj, plan: Plan, outcome: flux_helm.Outcome) -> None:
        """Write what the attempt did: conditions, counters, and the revision helm recorded as a snapshot."""
        if outcome.chart is not None:  # a chart from Git, as checked out
            plan = dataclasses.replace(plan, chart_name=outcome.chart[0], version=outcome.chart[1])
        meta, stamp = hr["metadata"], now()
        status = copy.deepcopy(hr.get("status") or {})
        history: list[Obj] = list(status.get("history") or [])
        revision = outcome.revision
        if revision is not None and (not history or revision.number > int(history[0].get("version") or 0)):
            snapshot = {"name": plan.release, "namespace": plan.namespace, "version": revision.number,
                        "status": revision.status, "chartName": revision.chart or plan.chart_name,
                        "chartVersion": revision.chart_version or plan.version,
                        "appVersion": revision.app_version, "configDigest": plan.config_digest,
                        "firstDeployed": revision.first_deployed or stamp,
                        "lastDeployed": revision.last_deployed or stamp,
                        "digest": digest([plan.release, revision.number, revision.chart, revision.chart_version,
                                          plan.config_digest])}
            if revision.status == "deployed":
                history = [{**h, "status": "superseded"} if h.get("status") == "deployed" else h for h in history]
            history = [snapshot, *history][:plan.max_history]
        verb = "Helm install" if plan.install else "Helm upgrade"
        chart = f"{plan.chart_name}@{plan.version}"
        failed = outcome.error is not None
        if failed:
            reason = "InstallFailed" if plan.install else "UpgradeFailed"
            message = f"{verb} failed for release {plan.namespace}/{plan.release} with chart {chart}: " \
                      f"{outcome.error}{self._not_ready(plan)}"
            counter = "installFailures" if plan.install else "upgradeFailures"
            status[counter] = int(status.get(counter, 0)) + 1
        else:
            reason = "InstallSucceeded" if plan.install else "UpgradeSucceeded"
            number = history[0]["version"] if history else 0
            message = f"{verb} succeeded for release {plan.namespace}/{plan.release}.v{number} with chart {chart}"
            status.pop("installFailures", None)
            status.pop("upgradeFailures", None)
        conditions = [
            {"type": "Ready", "status": "False" if failed else "True", "reason": reason, "message": message,
             "lastTransitionTime": stamp, "observedGeneration": plan.generation},
            {"type": "Released", "status": "False" if failed else "True", "reason": reason, "message": message,
             "lastTransitionTime": stamp, "observedGeneration": plan.generation}]
        status["conditions"] = merge_conditions(status.get("conditions"), conditions)  # drops Reconciling
        status.update(observedGeneration=plan.generation, lastAttemptedGeneration=plan.generation,
                      lastAttemptedRevision=plan.version, lastAttemptedConfigDigest=plan.config_digest,
                      lastAttemptedReleaseAction="install" if plan.install else "upgrade", history=history,
                      storageNamespace=plan.namespace,
                      helmChart=f"{meta.get('namespace', '')}/{meta.get('namespace', '')}-{meta['name']}")
        if plan.requested is not None:
            status["lastHandledReconcileAt"] = plan.requested
        self._write_status(HELMRELEASES, hr, status)

    def _not_ready(self, plan: Plan) -> str:
        """Why ``--wait`` gave up, as Flux's status checks would say it: the release's pods that are not ready."""
        reasons = []
        for pod in self.cluster.store.objects(PODS):
            meta = pod["metadata"]
            if meta.get("namespace") != plan.namespace or (meta.get("labels") or {}).get(INSTANCE) != plan.release:
                continue
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (container.get("state") or {}).get("waiting") or {}
                if not container.get("ready") and waiting.get("reason"):
                    reasons.append(f"pod {meta['name']} container {container.get('name')}: {waiting['reason']}")
        return f" ({'; '.join(sorted(reasons)[:3])})" if reasons else ""

    def _delete_release(self, hr: Obj) -> None:
        """Uninstall in the background once the delay and any running action are over, then drop the finalizer."""
        meta, spec = hr["metadata"], hr.get("spec") or {}
        uid = meta["uid"]
        if FLUX_FINALIZER not in (meta.get("finalizers") or []) or not self._ripe(hr) or uid in self._running:
            return  # not ours, too early, or an install/upgrade is still running (its end brings us back)
        self._finished.pop(uid, None)
        if uid in self._uninstalled:
            self._uninstalled.discard(uid)
            self._finalize(HELMRELEASES, hr)
            return
        url = self.api_url()
        if url is None:
            self._finalize(HELMRELEASES, hr)
            return
        release = release_name(meta["name"], spec)
        namespace = spec.get("targetNamespace") or meta.get("namespace", "")
        timeout = flux_helm.duration(spec.get("timeout"))
        key = ("helmreleases", meta["namespace"], meta["name"])
        self._running.add(uid)

        def work() -> str | None:
            try:
                return flux_helm.uninstall(url, release, namespace, timeout, self._stop)
            except Exception as error:
                return repr(error)

        def done(error: str | None) -> None:
            if error is not None:  # real Flux would retry; kubesim lets the object go rather than stick
                log.warning("helm uninstall of %s/%s failed: %s", namespace, release, error)
            self._running.discard(uid)
            self._uninstalled.add(uid)
            self.enqueue(key)

        self.background(work, done)


def release_name(name: str, spec: Obj) -> str:
    """Flux's release name: ``spec.releaseName``, else ``<targetNamespace>-<name>`` or the name; shortened with a
    hash beyond Helm's 53 characters."""
    release = str(spec.get("releaseName") or (f"{spec['targetNamespace']}-{name}" if spec.get("targetNamespace")
                                              else name))
    if len(release) <= MAX_RELEASE_NAME:
        return release
    return f"{release[:40]}-{hashlib.sha256(release.encode()).hexdigest()[:12]}".replace(".", "-")


def _only_our_finalizer_added(old: Obj, new: Obj) -> bool:
    before, after = old["metadata"].get("finalizers") or [], new["metadata"].get("finalizers") or []
    return FLUX_FINALIZER not in before and after == [*before, FLUX_FINALIZER] and \
        old.get("spec") == new.get("spec") and not new["metadata"].get("deletionTimestamp")

