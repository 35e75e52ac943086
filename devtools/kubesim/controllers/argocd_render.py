"""What ArgoCD's repo-server does for a Helm source: fetch the chart and render it with the real ``helm template``.

A chart from a Helm repository (``repoURL`` + ``chart`` + ``targetRevision``) is rendered with ``--repo``; a chart in
Git (``path``) is cloned with ``git`` at ``targetRevision`` first. Runs in a worker thread (the subprocesses take
0.1 to 1 s); every render has its own Helm home, so concurrent renders never share a cache.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
TIMEOUT = 60
MAX_MESSAGE = 500


@dataclass(frozen=True)
class Rendered:
    manifests: tuple[Obj, ...] = ()
    error: str | None = None


def render(source: Obj, release: str, namespace: str) -> Rendered:
    """The chart's manifests with the source's values, or the error ArgoCD would report."""
    try:
        with tempfile.TemporaryDirectory(prefix="kubesim-argocd-") as work:
            return Rendered(tuple(_template(source, release, namespace, Path(work))))
    except _RenderError as error:
        return Rendered(error=str(error))
    except Exception as error:  # no helm binary, unparsable output: still an answer, or the sync would hang
        return Rendered(error=f"rendering failed: {error}")


class _RenderError(Exception):
    pass


def _template(source: Obj, release: str, namespace: str, work: Path) -> list[Obj]:
    from devtools.chart_repo import helm_binary

    helm_source = source.get("helm") or {}
    args = [helm_binary(), "template", helm_source.get("releaseName") or release]
    if source.get("chart"):
        args += [str(source["chart"]), "--repo", str(source.get("repoURL", "")),
                 "--version", str(source.get("targetRevision") or "")]
    else:
        args.append(str(_checkout(source, work) / str(source.get("path") or ".")))
    args += ["--namespace", namespace, "--skip-tests"]  # ArgoCD runs no Helm test hooks
    for index, values in enumerate(_values_files(helm_source)):
        path = work / f"values-{index}.yaml"
        path.write_text(values)
        args += ["--values", str(path)]
    for param in helm_source.get("parameters") or []:
        flag = "--set-string" if param.get("forceString") else "--set"
        args += [flag, f"{param.get('name')}={param.get('value')}"]
    out = _run(args, work, "helm template")
    return [doc for doc in yaml.safe_load_all(out) if isinstance(doc, dict) and doc.get("kind")]


def _values_files(helm_source: Obj) -> list[str]:
    files = []
    if helm_source.get("values"):
        files.append(str(helm_source["values"]))
    if helm_source.get("valuesObject"):
        files.append(json.dumps(helm_source["valuesObject"]))  # JSON is YAML
    return files


def _checkout(source: Obj, work: Path) -> Path:
    target = work / "repo"
    revision = str(source.get("targetRevision") or "HEAD")
    args = ["git", "clone", "--quiet"]  # not shallow: Git's dumb HTTP transport (the test servers) cannot
    if revision != "HEAD":
        args += ["--branch", revision]
    _run([*args, str(source.get("repoURL", "")), str(target)], work, "git clone")
    return target


def _run(args: list[str], work: Path, what: str) -> str:
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": str(work / "cache"),
           "HELM_CONFIG_HOME": str(work / "config"), "HELM_DATA_HOME": str(work / "data"),
           "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=work, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _RenderError(f"{what}: {error}") from error
    if done.returncode != 0:
        lines = [line.removeprefix("Error: ") for line in done.stderr.splitlines() if line.strip()]
        message = " ".join(lines) or f"exit {done.returncode}"
        raise _RenderError(f"{what} failed: {message[:MAX_MESSAGE]}")
    return done.stdout
