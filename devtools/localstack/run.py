"""`make run`: start moto, kubesim, the DTIAS simulator, the API and the event pump in one foreground process tree;
stop them all on exit.

python -m devtools.localstack [--api-port 8000] [--moto-port 4566] [--kube-port 6443] [--chart-port 8879]
                              [--dtias-port 8090] [--state-dir .local] [--relay]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from chalicelib import resources
from chalicelib.settings import settings_from_environment
from devtools.chart_repo import DEMO_CHARTS, BucketFront, ChartRepository, build_repository
from devtools.localstack import eks
from devtools.localstack.provision import provision
from devtools.token import local_secret, mint_token

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The first poll of a large real cluster (KUBECONFIG) takes a while; the demo site's takes seconds.
FIRST_POLL_SECONDS = 300


class Stack:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.chart_repository: ChartRepository | None = None
        self.bucket_front: BucketFront | None = None

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.state_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        child = subprocess.Popen(
            args, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent  # noqa: PLW1509 - no threads yet
        )
        self.children.append((name, child))
        return child

    def wait_until(self, name: str, ready: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        child = dict(self.children).get(name)
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.returncode}; see {self.state_dir / (name + '.log')}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not ready after {timeout:.0f}s; see {self.state_dir / (name + '.log')}")

    def stop(self) -> None:
        if self.chart_repository is not None:
            self.chart_repository.close()
        if self.bucket_front is not None:
            self.bucket_front.close()
        for _, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 5
        for _, child in reversed(self.children):
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()

    def first_exited(self) -> tuple[str, int] | None:
        for name, child in self.children:
            if child.poll() is not None:
                return name, child.returncode
        return None


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM if the stack's process dies, even by SIGKILL, so no service outlives `make run`."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: Ctrl-C and SIGTERM still stop every child through Stack.stop


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def _http_status(url: str, status: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == status
        except httpx.HTTPError:
            return False

    return check


def _require_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} ({what}) is in use; set another with the matching NETWEAVE_*_PORT variable")


def stack_environment(args: argparse.Namespace, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{args.moto_port}",
        AWS_ACCESS_KEY_ID=env.get("NETWEAVE_LOCAL_AWS_KEY", "testing"),
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        AWS_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        NETWEAVE_STAGE="dev",
        NETWEAVE_AUTH_SECRET=secret,
        NETWEAVE_PORT=str(args.api_port),
        NETWEAVE_CHART_REPOSITORY_URL=f"http://127.0.0.1:{args.chart_port}",
        PYTHONPATH=str(PROJECT_DIR),
        PATH=f"{PROJECT_DIR / '.local' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("AWS_PROFILE", None)
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # A local SMO receiver listens on loopback over plain http: admit exactly that, nothing else.
    env.setdefault("NETWEAVE_CALLBACK_ALLOW_HTTP", "true")
    env.setdefault("NETWEAVE_CALLBACK_HTTP_NETWORKS", "127.0.0.0/8")
    env.setdefault("NETWEAVE_CALLBACK_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setdefault("NETWEAVE_REPOSITORY_ALLOWED_NETWORKS", "127.0.0.0/8")  # the demo chart repository, in "the cluster"
    return env


def start(args: argparse.Namespace, stack: Stack) -> dict[str, str]:
    """Start every service; returns what a client needs (URLs, token, kubeconfig)."""
    python = sys.executable
    for port, what in ((args.api_port, "api"), (args.moto_port, "moto"), (args.chart_port, "chart repository")):
        _require_free(port, what)
    charts = args.state_dir / "charts"
    if not (charts / "index.yaml").is_file():
        build_repository(charts, DEMO_CHARTS)
    # Bound now (the port is ours), answering only after the last spawn: preexec_fn wants no threads running yet.
    stack.chart_repository = ChartRepository(charts, args.chart_port)
    secret = local_secret()
    env = stack_environment(args, secret)
    moto_url = env["AWS_ENDPOINT_URL"]
    # The repository netweave publishes of uploaded archives (charts/ of the packages bucket), fronted over HTTP as
    # CloudFront would: the local ArgoCD backend's chartRepositoryUrl (config/gateway.yaml).
    stack.bucket_front = BucketFront(_s3(env), settings_from_environment(env).bucket_name(resources.PACKAGES_BUCKET))
    env["NETWEAVE_ARCHIVE_REPOSITORY_URL"] = stack.bucket_front.url
    # moto with EKS's node group states (devtools/moto_aws.py), so pools created on the local stack provision
    stack.spawn("moto", [python, "-m", "devtools.moto_aws", "--host", "127.0.0.1", "--port", str(args.moto_port)], env)
    stack.wait_until("moto", _http_ok(f"{moto_url}/moto-api/data.json"))
    _provision(env)
    if os.environ.get("KUBECONFIG"):
        kubeconfig = os.environ["KUBECONFIG"]  # a real cluster: serve it instead of the simulated one
    else:
        _require_free(args.kube_port, "kubesim")
        kubeconfig = str(args.state_dir / "kubeconfig")
        region = env["AWS_DEFAULT_REGION"]
        eks.create_cluster(_session(env), region)  # the EKS cluster kubesim stands for (the `edge-aws` backend)
        stack.spawn(
            "kubesim",
            [python, "-m", "devtools.kubesim", "--port", str(args.kube_port), "--kubeconfig", kubeconfig],
            {**env, **eks.kubesim_environment(moto_url, region)},
        )
        stack.wait_until("kubesim", _http_ok(f"http://127.0.0.1:{args.kube_port}/version"))
        eks.point_at_kubesim(moto_url, region, kubeconfig)
    env["KUBECONFIG"] = kubeconfig
    redfish = _start_redfish(args, stack, env)
    _start_dtias(args, stack, env)
    api_url = f"http://127.0.0.1:{args.api_port}"
    stack.spawn("api", [python, "-m", "devtools.localstack.api_server", "--port", str(args.api_port)], env)
    stack.wait_until("api", _http_ok(f"{api_url}/health"))
    # Ready means ready (issue 16): the pump runs the first inventory and deployment polls before anything else, and
    # the banner waits for them and for /ready (which checks the stored snapshot), so the first GET after the banner
    # answers the whole O-Cloud and a subscription made then hears only later changes.
    first_polls = args.state_dir / "pump.ready"
    first_polls.unlink(missing_ok=True)
    stack.spawn("pump", [python, "-m", "devtools.localstack.pump", "--ready-file", str(first_polls)], env)
    stack.chart_repository.start()
    stack.bucket_front.start()
    stack.wait_until("pump", first_polls.exists, timeout=FIRST_POLL_SECONDS)
    stack.wait_until("api", _http_status(f"{api_url}/ready", 200), timeout=FIRST_POLL_SECONDS)
    if args.relay:
        _start_relay(args, stack, env)
    token = mint_token(secret)
    (args.state_dir / "token").write_text(token + "\n")
    return {
        "api": api_url,
        "moto": moto_url,
        "kubeconfig": kubeconfig,
        "token": token,
        "charts": env["NETWEAVE_CHART_REPOSITORY_URL"],
        "redfish": redfish,
        "dtias": env["NETWEAVE_DTIAS_URL"],
        "relay": args.relay_adapters if args.relay else "",
    }


# --- the Redfish fleet (issue 18): simulated iDRACs for the `redfish` backend of config/gateway.yaml ---------------

def _start_redfish(args: argparse.Namespace, stack: Stack, env: dict[str, str]) -> str:
    """Start devtools.redfish_sim (its aggregator on --redfish-port, its BMCs on the ports after it; all free ports
    by default) and point the gateway's `redfish` backend at it (NETWEAVE_REDFISH_URL). Returns the aggregator URL."""
    log = args.state_dir / "redfish-sim.log"
    log.unlink(missing_ok=True)
    stack.spawn("redfish-sim", [sys.executable, "-m", "devtools.redfish_sim", "--port", str(args.redfish_port)], env)
    ready: dict[str, Any] = {}

    def announced() -> bool:
        lines = log.read_text().splitlines() if log.exists() else []
        ready.update(next((json.loads(line) for line in lines if line.startswith("{")), {}))
        return bool(ready)

    stack.wait_until("redfish-sim", announced)
    env["NETWEAVE_REDFISH_URL"] = ready["aggregator"]
    env.setdefault("NETWEAVE_REDFISH_PASSWORD", "calvin")  # the simulator's (and iDRAC's factory) default
    return str(ready["aggregator"])


def _start_dtias(args: argparse.Namespace, stack: Stack, env: dict[str, str]) -> None:
    """The bare-metal site (config/gateway.yaml's `dc-fleet`): the DTIAS simulator, unless NETWEAVE_DTIAS_URL names
    a real DTIAS (whose credentials then come from NETWEAVE_DTIAS_USERNAME and NETWEAVE_DTIAS_PASSWORD)."""
    if os.environ.get("NETWEAVE_DTIAS_URL"):
        return
    _require_free(args.dtias_port, "DTIAS simulator")
    # A password of this run only: the simulator accepts it and the gateway reads it from its environment.
    env.update(NETWEAVE_DTIAS_URL=f"http://127.0.0.1:{args.dtias_port}", NETWEAVE_DTIAS_USERNAME="netweave",
               NETWEAVE_DTIAS_PASSWORD=secrets.token_urlsafe(16))
    stack.spawn("dtias-sim", [sys.executable, "-m", "devtools.dtias_sim", "--port", str(args.dtias_port),
                              "--state-dir", str(args.state_dir)], env)
    stack.wait_until("dtias-sim", _http_ok(f"{env['NETWEAVE_DTIAS_URL']}/_sim/health"))


def _start_relay(args: argparse.Namespace, stack: Stack, env: dict[str, str]) -> None:
    """The in-cluster relay (docs/relay.md) as a process: it watches the cluster and asks moto's EventBridge for a
    poll of the backends reading it, which the pump's played rule turns into `poll_inventory_on_change`."""
    log = args.state_dir / "relay.log"
    log.unlink(missing_ok=True)
    adapters = [a for a in args.relay_adapters.split(",") if a]
    command = [sys.executable, "-m", "relay", "--kubeconfig", env["KUBECONFIG"]]
    stack.spawn("relay", command + [f"--adapter-id={a}" for a in adapters], env)
    stack.wait_until("relay", lambda: log.exists() and "relay ready" in log.read_text())


def _session(env: dict[str, str]) -> Any:
    """A boto3 session with the stack's credentials; its clients need `endpoint_url=env["AWS_ENDPOINT_URL"]`."""
    import boto3

    session = boto3.session.Session(region_name=env["AWS_DEFAULT_REGION"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    return _Endpoint(session, env["AWS_ENDPOINT_URL"])


class _Endpoint:
    """A session whose clients talk to the local stack's moto."""

    def __init__(self, session: Any, url: str) -> None:
        self._session, self._url = session, url

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._url)


def _s3(env: dict[str, str]) -> Any:
    return _session(env).client("s3")


def _describe(charts: tuple[tuple[str, str], ...]) -> str:
    """("vdu", "1.0.0"), ("vdu", "1.1.0"), ("cu", "3.0.0") -> "vdu 1.0.0, 1.1.0; cu 3.0.0"."""
    versions: dict[str, list[str]] = {}
    for name, version in charts:
        versions.setdefault(name, []).append(version)
    return "; ".join(f"{name} {', '.join(listed)}" for name, listed in versions.items())


def _provision(env: dict[str, str]) -> None:
    import boto3

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        provision(settings_from_environment(env), boto3.session.Session())
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _banner(info: dict[str, str], state_dir: Path) -> str:
    return "\n".join(
        [
            "netweave local stack ready",
            f"  API         {info['api']}   (OpenAPI: {info['api']}/openapi.json)",
            f"  AWS (moto)  {info['moto']}",
            f"  kubeconfig  {info['kubeconfig']}",
            f"  DTIAS       {info['dtias']}   (bare-metal site dc-newark-1, dc-chicago-1; docs/dtias-backend.md)",
            f"  logs        {state_dir}/*.log",
            f"  token       written to {state_dir / 'token'}:",
            info["token"],
            f'  try: curl -H "Authorization: Bearer $(cat {state_dir / "token"})" \\',
            f"         {info['api']}/o2ims-infrastructureInventory/v1",
            f"Chart repository: {info['charts']} ({_describe(DEMO_CHARTS)}) - register with packageType helm-repo",
            f"Redfish fleet: {info['redfish']} (root/calvin; knobs under /_sim/, devtools/redfish_sim/README.md)",
            *([f"Relay: watching the cluster for {info['relay']} (log {state_dir / 'relay.log'})"]
              if info.get("relay") else []),
            "Ctrl-C stops everything.",
        ]
    )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack as cleanly as Ctrl-C does


# How a service ends when the Ctrl-C meant for the whole foreground group (or a SIGTERM) reaches it before the stack
# has stopped it: a stop that was asked for, not a failure.
_STOPPED_BY_SIGNAL = {-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the netweave local stack in the foreground.")
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("NETWEAVE_PORT", "8000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("NETWEAVE_MOTO_PORT", "4566")))
    parser.add_argument("--kube-port", type=int, default=int(os.environ.get("NETWEAVE_KUBE_PORT", "6443")))
    parser.add_argument("--chart-port", type=int, default=int(os.environ.get("NETWEAVE_CHART_PORT", "8879")))
    parser.add_argument("--redfish-port", type=int, default=int(os.environ.get("NETWEAVE_REDFISH_PORT", "0")),
                        help="the Redfish simulator's aggregator (0: a free port)")
    parser.add_argument("--dtias-port", type=int, default=int(os.environ.get("NETWEAVE_DTIAS_PORT", "8090")))
    parser.add_argument("--state-dir", type=Path, default=PROJECT_DIR / ".local")
    parser.add_argument("--relay", action="store_true", default=os.environ.get("NETWEAVE_RELAY", "") == "true",
                        help="also run the in-cluster relay: cluster changes polled within a second (docs/relay.md)")
    parser.add_argument("--relay-adapters", default=os.environ.get("NETWEAVE_RELAY_ADAPTERS", "demo-cluster,edge-aws"),
                        help="the backends reading the cluster, comma-separated")
    args = parser.parse_args()
    args.state_dir = args.state_dir.resolve()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(args.state_dir)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # even when started with SIGINT ignored (as some supervisors do)
    code = 0
    try:
        print(_banner(start(args, stack), args.state_dir), flush=True)
        while (exited := stack.first_exited()) is None:
            time.sleep(0.5)
        if exited[1] in _STOPPED_BY_SIGNAL:
            print(f"{exited[0]} was stopped by a signal; stopping the local stack", flush=True)
        else:
            print(f"{exited[0]} exited with {exited[1]}; stopping the stack", file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        print("stopping the local stack", flush=True)
    except RuntimeError as error:
        print(f"local stack failed: {error}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
