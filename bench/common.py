"""Shared by the benchmarks: emulated AWS and a simulated cluster in processes of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(args: list[str], ready_url: str) -> subprocess.Popen[bytes]:
    """moto and kubesim run in processes of their own, as in the local stack: sharing this process's GIL with the
    benchmark's threads would measure contention, not netweave."""
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{args[1]} did not start")


def start_kubesim(kubeconfig: Path, nodes: int | None = None) -> subprocess.Popen[bytes]:
    port = free_port()
    args = ["-m", "devtools.kubesim", "--port", str(port), "--kubeconfig", str(kubeconfig)]
    if nodes:
        args += ["--nodes", str(nodes)]
    return start_process(args, f"http://127.0.0.1:{port}/version")


def start_aws(tmp: Path, gateway: str, extra_env: dict[str, str] | None = None,
              local_stack_moto: bool = False) -> subprocess.Popen[bytes]:
    """moto with every table, queue and bucket, and this process's environment pointed at it (stage `bench`).
    `local_stack_moto`: the local stack's moto (devtools/moto_aws.py), whose SQS does not rescan a queue per message."""
    port = free_port()
    command = (["-m", "devtools.moto_aws", "--host", "127.0.0.1", "--port", str(port)] if local_stack_moto else
               ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
    server = start_process(command, f"http://127.0.0.1:{port}/moto-api/data.json")
    (tmp / "gateway.yaml").write_text(gateway)
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                      AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", NETWEAVE_STAGE="bench",
                      NETWEAVE_AUTH_SECRET=SECRET, POWERTOOLS_METRICS_DISABLED="true",
                      POWERTOOLS_LOG_LEVEL="WARNING", NETWEAVE_GATEWAY_CONFIG=str(tmp / "gateway.yaml"),
                      **(extra_env or {}))
    import boto3

    from chalicelib.settings import settings_from_environment
    from devtools.localstack.provision import provision

    provision(settings_from_environment(), boto3.session.Session())
    return server


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
