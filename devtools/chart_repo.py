"""A real Helm chart repository (index.yaml + packaged charts) served over HTTP on 127.0.0.1.

Why: the simulated cluster's GitOps controllers and the `helm-repo` package type need somewhere to fetch charts from
with `helm template --repo URL --version V CHART`, exactly as they would from a hosted repository, but without the
network. The charts are `helm create` scaffolds whose Deployment also honours an optional `progressDeadlineSeconds`
value, so tests can make a rollout fail fast; without that value they render exactly as `helm create` made them.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEMO_CHARTS: tuple[tuple[str, str], ...] = (("vdu", "1.0.0"), ("vdu", "1.1.0"), ("cu", "3.0.0"))
HELM_TIMEOUT_SECONDS = 60

_DEADLINE = "spec:\n  {{- with .Values.progressDeadlineSeconds }}\n  progressDeadlineSeconds: {{ . }}\n  {{- end }}\n"


def helm_binary() -> str:
    """The project's `.local/bin/helm` (installed by `make setup`), else `helm` on PATH."""
    local = PROJECT_DIR / ".local" / "bin" / "helm"
    if local.is_file():
        return str(local)
    found = shutil.which("helm")
    if found is None:
        raise RuntimeError(f"helm not found at {local} nor on PATH: run `make setup`")
    return found


def build_repository(directory: Path, charts: Iterable[tuple[str, str]], app_version: str = "2.1.0") -> Path:
    """Package each (name, version) into `directory` and write its index.yaml; returns `directory`."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    helm = helm_binary()
    with tempfile.TemporaryDirectory(prefix="netweave-helm-") as home:
        env = {
            "HOME": home,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
            "PATH": "/usr/bin:/bin",
        }
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=directory))
        try:
            created: set[str] = set()
            for name, version in charts:
                if name not in created:
                    _run([helm, "create", name], work, env)
                    deployment = work / name / "templates" / "deployment.yaml"
                    text = deployment.read_text()
                    if text.count("\nspec:\n") != 1:
                        raise RuntimeError(f"unexpected `helm create` Deployment template in {deployment}")
                    deployment.write_text(text.replace("\nspec:\n", "\n" + _DEADLINE))
                    created.add(name)
                _run(
                    [helm, "package", name, "--version", version, "--app-version", app_version, "-d", str(directory)],
                    work,
                    env,
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _run([helm, "repo", "index", str(directory)], directory, env)
    return directory


def build_git_repository(directory: Path, chart: str, versions: Iterable[str]) -> Path:
    """A bare Git repository `directory` holding `helm create CHART` under `charts/CHART`, one commit and tag per
    version (the chart's version set to it). `git update-server-info` lets `ChartRepository` serve it to `git clone`
    over plain HTTP (Git's "dumb" protocol), as a Git server would for ArgoCD."""
    directory = directory.resolve()
    with tempfile.TemporaryDirectory(prefix="netweave-git-") as home:
        env = {"HOME": home, "HELM_CACHE_HOME": f"{home}/cache", "HELM_CONFIG_HOME": f"{home}/config",
               "HELM_DATA_HOME": f"{home}/data", "PATH": "/usr/bin:/bin", "GIT_AUTHOR_NAME": "netweave",
               "GIT_AUTHOR_EMAIL": "dev@netweave.invalid", "GIT_COMMITTER_NAME": "netweave",
               "GIT_COMMITTER_EMAIL": "dev@netweave.invalid"}
        work = Path(home) / "work"
        (work / "charts").mkdir(parents=True)
        _run(["git", "init", "--quiet", "--initial-branch", "main"], work, env)
        _run([helm_binary(), "create", chart], work / "charts", env)
        chart_yaml = work / "charts" / chart / "Chart.yaml"
        for version in versions:
            lines = chart_yaml.read_text().splitlines()
            chart_yaml.write_text("\n".join(f"version: {version}" if line.startswith("version:") else line
                                             for line in lines) + "\n")
            _run(["git", "add", "--all"], work, env)
            _run(["git", "commit", "--quiet", "--message", f"{chart} {version}"], work, env)
            _run(["git", "tag", version], work, env)
        _run(["git", "clone", "--quiet", "--bare", str(work), str(directory)], work, env)
        _run(["git", "update-server-info"], directory, env)
    return directory


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=HELM_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:3])} failed ({done.returncode}): {done.stderr.strip()}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass  # no access lines on stderr


class BucketFront:
    """Serve `prefix` of an S3 bucket read-only over HTTP on 127.0.0.1, as CloudFront with origin access control
    fronts the packages bucket's `charts/` prefix for ArgoCD or Flux in a real deployment: the repository netweave
    publishes of its uploaded archives. Reads with the given boto3 S3 client (moto locally)."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "charts/", port: int = 0) -> None:
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, kind = front.read(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bucket-front", daemon=True)

    def read(self, path: str) -> tuple[int, bytes, str]:
        key = self.prefix + path.split("?", 1)[0].lstrip("/")
        try:
            reply = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return 404, b"not found\n", "text/plain"
        except Exception as error:  # the origin failed: what a CDN answers then
            return 502, f"{error}\n".encode(), "text/plain"
        return 200, reply["Body"].read(), str(reply.get("ContentType") or "application/octet-stream")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> BucketFront:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BucketFront:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


class ChartRepository:
    """Serve `directory` on 127.0.0.1 (`port` 0: any free port). The socket is bound at once, so `url` is known;
    requests are answered from `start()` (or entering the context) until `close()` (or leaving it)."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ChartRepository:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="chart-repository", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ChartRepository:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
