"""The Flux source-controller reduced to its status: HelmRepository, OCIRepository and GitRepository report Ready
with an artifact after ``SOURCE_DELAY`` without fetching anything; a URL, ref or path that cannot be fetched surfaces
when the helm-controller (``flux``) fetches the chart for a HelmRelease, with helm's or git's message."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers.common import merge_conditions
from devtools.kubesim.controllers.gitops import (
    GITREPOSITORIES,
    HELMREPOSITORIES,
    OCIREPOSITORIES,
    GitOps,
    digest,
)
from devtools.kubesim.resources import StoreKey


class FluxSources(GitOps):
    watched = {HELMREPOSITORIES: "helmrepositories", OCIREPOSITORIES: "ocirepositories",
               GITREPOSITORIES: "gitrepositories"}

    def reconcilers(self) -> dict[str, Callable[[str, str], None]]:
        return {plural: functools.partial(self.reconcile_source, key) for key, plural in self.watched.items()}

    def reconcile_source(self, key: StoreKey, namespace: str, name: str) -> None:
        repo = self.cluster.find(key, namespace, name)
        if repo is None or self._finalize(key, repo):
            return
        spec = repo.get("spec") or {}
        generation = repo["metadata"].get("generation", 1)
        status = copy.deepcopy(repo.get("status") or {})
        if status.get("observedGeneration") == generation or spec.get("suspend"):
            return
        stamp = now()
        if not self._ripe(repo):
            cond = {"type": "Ready", "status": "Unknown", "reason": "Progressing",
                    "message": "building artifact", "lastTransitionTime": stamp, "observedGeneration": generation}
            status["conditions"] = merge_conditions(status.get("conditions"), [cond])
            self._write_status(key, repo, status)
            return
        url = spec.get("url", "")
        if key == OCIREPOSITORIES:
            ref = spec.get("ref") or {}
            revision = f"{ref.get('tag') or 'latest'}@{digest(url + str(ref))}"
            message = f"stored artifact for digest '{revision}'"
        elif key == GITREPOSITORIES:  # a made-up commit: nothing is cloned until a HelmRelease needs the chart
            ref = spec.get("ref") or {}
            commit = str(ref.get("commit") or digest([url, ref])[7:47])
            named = ref.get("tag") or ref.get("branch")
            revision = f"{named}@sha1:{commit}" if named else f"sha1:{commit}"
            message = f"stored artifact for revision '{revision}'"
        else:
            revision = digest([url, generation])[7:]
            message = f"stored artifact: revision '{revision}'"
        cond = {"type": "Ready", "status": "True", "reason": "Succeeded", "message": message,
                "lastTransitionTime": stamp, "observedGeneration": generation}
        status["conditions"] = merge_conditions(status.get("conditions"), [cond])
        kind = {OCIREPOSITORIES: "ocirepository", GITREPOSITORIES: "gitrepository"}.get(key, "helmrepository")
        status.update(observedGeneration=generation, url=url, artifact={
            "revision": revision, "digest": digest(revision), "lastUpdateTime": stamp,
            "path": f"{kind}/{namespace}/{name}/index.tar.gz",
            "url": f"http://source-controller.flux-system.svc.cluster.local./{kind}/{namespace}/{name}/index.tar.gz"})
        self._write_status(key, repo, status)


