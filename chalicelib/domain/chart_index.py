"""The Helm repository index (`index.yaml`) of the chart archives netweave stores, so GitOps backends (ArgoCD, Flux)
can deploy uploaded packages: they fetch charts from a repository, never from netweave's API. Pure.

The index is written as JSON, which is YAML: Helm reads it with its YAML loader. Chart URLs are relative to the
index (`sha256/<hex>.tgz`, the archives' content addresses under the same `charts/` prefix), which Helm resolves
against the repository URL, so the index never needs to know where the operator serves the bucket from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from chalicelib.domain.packages import DeploymentPackage


def chart_index(packages: Iterable[DeploymentPackage], generated_at: str) -> str:
    """`index.yaml` listing every archive package, versions of one chart newest upload first."""
    entries: dict[str, list[dict[str, object]]] = {}
    for package in sorted(packages, key=lambda p: (p.name, p.uploaded_at, p.version), reverse=True):
        if not package.package_type.has_archive:
            continue
        entry: dict[str, object] = {"apiVersion": "v2", "name": package.name, "version": package.version,
                                    "digest": package.digest, "created": package.uploaded_at,
                                    "urls": [f"sha256/{package.digest}.tgz"]}
        if package.app_version:
            entry["appVersion"] = package.app_version
        if package.description:
            entry["description"] = package.description
        entries.setdefault(package.name, []).append(entry)
    index = {"apiVersion": "v1", "entries": dict(sorted(entries.items())), "generated": generated_at}
    return json.dumps(index, indent=1) + "\n"


def listed(index_text: str | None) -> dict[str, set[str]]:
    """chart name → versions an index lists (an absent or unreadable index lists nothing)."""
    try:
        entries = json.loads(index_text or "{}").get("entries") or {}
    except ValueError:
        return {}
    return {name: {str(e.get("version")) for e in versions} for name, versions in entries.items()}
