"""What Flux's helm-controller does with the Helm SDK, done with the real ``helm`` binary against kubesim itself:
``helm upgrade --install --wait`` for an install or upgrade, ``helm status`` for the revision it recorded, and
``helm uninstall`` when a HelmRelease is deleted. Helm's release Secrets are therefore real, so ``helm list`` and
``helm history`` against kubesim show Flux's releases.

A chart in a GitRepository is cloned with the real ``git`` first (``git clone --quiet``, ``--branch`` for a tag or
branch, ``git checkout`` for a commit; never shallow: Git's dumb HTTP transport cannot) and installed from its
directory. Like Flux's ``reconcileStrategy: Revision``, its version becomes ``<Chart.yaml version>+<commit[:12]>``
(written into the cloned Chart.yaml, so helm records it).

Everything here blocks (``--wait`` lasts until the workload is ready or the timeout passes) and talks to kubesim over
HTTP, so it must run in a worker thread (the controller manager's ``background`` hook), never on kubesim's event loop,
which has to answer helm. Every run has its own Helm home and kubeconfig (for ``api_url``) in a temporary directory.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devtools.kubesim import kubeconfig

Obj = dict[str, Any]
DEFAULT_TIMEOUT = "5m0s"  # HelmRelease spec.timeout default
MAX_MESSAGE = 500
_MARGIN_SECONDS = 60  # on top of helm's own --timeout, before the subprocess is killed
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_GIT_TIMEOUT = 60.0
_VERSION_LINE = re.compile(r"^version:.*$", re.MULTILINE)


@dataclass(frozen=True)
class GitSource:
    """A GitRepository's URL and ``spec.ref`` (``branch``, ``tag`` or ``commit``; none: the default branch)."""

    url: str
    ref: Obj


@dataclass(frozen=True)
class Chart:
    """Where helm fetches the chart: a name in the repository ``repo`` (``--repo``), an ``oci://`` reference, or
    the directory ``ref`` of the Git repository ``git``."""

    ref: str
    version: str
    repo: str | None = None
    plain_http: bool = False
    git: GitSource | None = None


@dataclass(frozen=True)
class Revision:
    """The newest revision helm recorded for a release (``helm status -o json``)."""

    number: int
    status: str
    chart: str
    chart_version: str
    app_version: str
    first_deployed: str
    last_deployed: str


@dataclass(frozen=True)
class Outcome:
    error: str | None = None  # helm's (or git's) message when it failed
    revision: Revision | None = None  # None: helm has no release of that name, or it was not run
    chart: tuple[str, str] | None = None  # a chart from Git: (name, version) as checked out


def duration(value: Any) -> str:
    """A Go duration as helm's ``--timeout`` takes it (``spec.timeout``), else Flux's default."""
    text = str(value or "").strip()
    return text if _DURATION.match(text) else DEFAULT_TIMEOUT


def seconds(value: str) -> float:
    return sum(float(number) * _UNIT[unit] for number, unit in _PART.findall(value))


def upgrade(api_url: str, release: str, namespace: str, chart: Chart, values: Obj, timeout: str,
            max_history: int, stop: threading.Event | None = None,
            deployed: tuple[str, str] | None = None) -> Outcome:
    """``helm upgrade --install --wait``, then the revision helm recorded (also after a failure). A chart from Git
    is checked out first; when it is the `deployed` (name, version) with the same values, helm is not run."""
    with tempfile.TemporaryDirectory(prefix="kubesim-flux-") as tmp:
        work = Path(tmp)
        values_file = work / "values.yaml"
        values_file.write_text(json.dumps(values))  # JSON is YAML
        resolved = None
        if chart.git is None:
            args = ["upgrade", "--install", release, chart.ref]
        else:
            directory, error, resolved = _checkout(chart.git, chart.ref, work, stop)
            if error is not None:
                return Outcome(error, _status(api_url, work, release, namespace, stop))
            if resolved is not None and resolved == deployed:
                return Outcome(chart=resolved)  # Flux runs no Helm action for an unchanged chart and values
            args = ["upgrade", "--install", release, str(directory)]
        if chart.repo is not None:
            args += ["--repo", chart.repo]
        if chart.plain_http:
            args.append("--plain-http")
        if chart.git is None:
            args += ["--version", chart.version]
        args += ["--namespace", namespace, "--create-namespace", "--values", str(values_file), "--wait",
                 "--timeout", timeout, "--history-max", str(max_history)]
        error = _helm(api_url, work, args, seconds(timeout) + _MARGIN_SECONDS, stop)
        if error is not None and chart.git is not None:  # paths in the clone as paths in the repository
            error = error.replace(f"{(work / 'repo').resolve()}/", "")
        return Outcome(error, _status(api_url, work, release, namespace, stop), resolved)


def _checkout(git: GitSource, path: str, work: Path, stop: threading.Event | None
              ) -> tuple[Path, str | None, tuple[str, str] | None]:
    """Clone `git` at its ref into `work`: (the chart directory, git's message when it failed, the chart's (name,
    version) when its Chart.yaml is there). A missing chart directory is left for helm to report."""
    target = work / "repo"
    args = ["git", "clone", "--quiet"]  # not shallow: Git's dumb HTTP transport (the test servers) cannot
    named = git.ref.get("tag") or git.ref.get("branch")
    if named and not git.ref.get("commit"):
        args += ["--branch", str(named)]
    error = _run("git clone", [*args, git.url, str(target)], work, _GIT_TIMEOUT, stop)
    if error is None and git.ref.get("commit"):
        error = _run("git checkout", ["git", "-C", str(target), "checkout", "--quiet", str(git.ref["commit"])],
                     work, _GIT_TIMEOUT, stop)
    out: list[str] = []
    if error is None:
        error = _run("git rev-parse", ["git", "-C", str(target), "rev-parse", "HEAD"], work, _GIT_TIMEOUT, stop,
                     out)
    if error is not None:
        return target, error, None
    directory = (target / path.strip("/")).resolve()
    return directory, None, _stamp_version(directory, out[0].strip()[:12])


def _stamp_version(directory: Path, commit: str) -> tuple[str, str] | None:
    """Flux's `reconcileStrategy: Revision`: the chart's version gets the commit as build metadata."""
    manifest = directory / "Chart.yaml"
    try:
        meta = yaml.safe_load(manifest.read_text())
        name, version = str(meta["name"]), f"{str(meta['version']).split('+', 1)[0]}+{commit}"
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None  # helm says what is wrong with the chart directory
    text = _VERSION_LINE.sub(f"version: {json.dumps(version)}", manifest.read_text(), count=1)
    manifest.write_text(text)
    return name, version


def uninstall(api_url: str, release: str, namespace: str, timeout: str,
              stop: threading.Event | None = None) -> str | None:
    """``helm uninstall --wait``; None when it worked or there was nothing to uninstall, else helm's message."""
    with tempfile.TemporaryDirectory(prefix="kubesim-flux-") as tmp:
        return _helm(api_url, Path(tmp), ["uninstall", release, "--namespace", namespace, "--ignore-not-found",
                                          "--wait", "--timeout", timeout], seconds(timeout) + _MARGIN_SECONDS, stop)


def _status(api_url: str, work: Path, release: str, namespace: str, stop: threading.Event | None) -> Revision | None:
    out: list[str] = []
    if _helm(api_url, work, ["status", release, "--namespace", namespace, "--output", "json"], 60, stop, out):
        return None  # "release: not found" (a chart that could not be fetched records nothing)
    try:
        doc = json.loads(out[0])
        info, meta = doc.get("info") or {}, (doc.get("chart") or {}).get("metadata") or {}
        return Revision(int(doc["version"]), str(info.get("status", "unknown")), str(meta.get("name", "")),
                        str(meta.get("version", "")), str(meta.get("appVersion", "")),
                        _stamp(info.get("first_deployed")), _stamp(info.get("last_deployed")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _stamp(value: Any) -> str:
    """Helm's RFC 3339 time with nanoseconds, as Kubernetes writes times (seconds, ``Z``)."""
    text = str(value or "")
    return text[:19] + "Z" if len(text) >= 19 else text


def _helm(api_url: str, work: Path, args: list[str], timeout: float, stop: threading.Event | None = None,
          out: list[str] | None = None) -> str | None:
    """Run helm against kubesim; None on success (stdout appended to `out`), else helm's message. Setting `stop`
    (kubesim is shutting down) kills it, so no ``--wait`` outlives the server."""
    from devtools.chart_repo import helm_binary

    config = work / "kubeconfig"
    if not config.exists():
        config.write_text(kubeconfig.render(api_url))
    try:
        command = [helm_binary(), *args, "--kubeconfig", str(config)]
    except RuntimeError as error:
        return f"helm {args[0]}: {error}"[:MAX_MESSAGE]
    return _run(f"helm {args[0]}", command, work, timeout, stop, out)


def _run(name: str, command: list[str], work: Path, timeout: float, stop: threading.Event | None = None,
         out: list[str] | None = None) -> str | None:
    """Run helm or git in `work`; None on success (stdout appended to `out`), else its message: helm's as it says
    it, git's after ``<name> failed:``."""
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": str(work / "cache"),
           "HELM_CONFIG_HOME": str(work / "config"), "HELM_DATA_HOME": str(work / "data"),
           "GIT_TERMINAL_PROMPT": "0"}
    is_git = command[0] == "git"
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                   cwd=work)
    except OSError as error:
        return f"{name}: {error}"[:MAX_MESSAGE]
    deadline = time.monotonic() + timeout
    while True:
        try:
            stdout, stderr = process.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                process.kill()
                process.communicate()
                return f"{name}: {'kubesim stopped' if stop and stop.is_set() else 'timed out'}"
    if process.returncode != 0:
        lines = [line.removeprefix("Error: ").removeprefix("fatal: ").removeprefix("error: ")
                 for line in stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        message = " ".join(lines) or f"{name} exited with {process.returncode}"
        return (f"{name} failed: {message}" if is_git else message)[:MAX_MESSAGE]
    if out is not None:
        out.append(stdout)
    return None
