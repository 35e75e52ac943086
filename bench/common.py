"""Shared by the benchmarks: emulated AWS and a simulated cluster in processes of their own."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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
    try:  # a bench that fails to set up must not leave its moto running
        (tmp / "gateway.yaml").write_text(gateway)
        os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "x",
                           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                           "NETWEAVE_STAGE": "bench", "NETWEAVE_AUTH_SECRET": SECRET,
                           "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                           "NETWEAVE_GATEWAY_CONFIG": str(tmp / "gateway.yaml"), **(extra_env or {})})
        import boto3

        from chalicelib.settings import settings_from_environment
        from devtools.localstack.provision import provision

        provision(settings_from_environment(), boto3.session.Session())
    except BaseException:
        server.terminate()
        raise
    return server


@contextmanager
def stdout_to(target: IO[Any]) -> Iterator[None]:
    """File descriptor 1 into `target`: a handler's log lines and EMF metrics, as Lambda would send them to CloudWatch
    Logs, whoever in the process writes them."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(target.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


MARKER_PARAMETER = "/aws/reference/secretsmanager/netweave/bench/marker-secret"
ISSUER = "https://idp.bench.test"


class IdentityProvider:
    """An RS256 identity provider: its private key signs the bench's tokens, its JWKS document is served locally."""

    def __init__(self, directory: Path) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks_path = directory / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [{**public, "kid": "bench-1", "use": "sig", "alg": "RS256"}]}))

    def token(self, scopes: str = "o2ims:read") -> str:
        import jwt

        claims = {"sub": "smo-bench", "iss": ISSUER, "aud": "netweave", "exp": int(time.time()) + 3600,
                  "scope": scopes}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench-1"})


@dataclass
class Responder:
    """devtools/dynamodb_responder.py in a process of its own, with the environment that points netweave at it."""

    process: subprocess.Popen[str]
    url: str
    marker_secret: str

    def environment(self, stage: str = "bench") -> dict[str, str]:
        """A production-like API function: tokens checked against the JWKS, the marker key read from SSM."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "NETWEAVE_STAGE": stage,
                "NETWEAVE_AUTH_JWKS_URL": f"{self.url}/jwks.json", "NETWEAVE_AUTH_ISSUER": ISSUER,
                "NETWEAVE_AUTH_AUDIENCE": "netweave", "NETWEAVE_MARKER_SECRET_SSM_PARAMETER": MARKER_PARAMETER}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_responder(resources: int, provider: IdentityProvider) -> Responder:
    marker_secret = secrets.token_urlsafe(32)
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.dynamodb_responder", "--resources", str(resources), "--jwks",
         str(provider.jwks_path), "--parameter", f"{MARKER_PARAMETER}={marker_secret}"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # PORT <n>, once its items are rendered and it listens
    if not line.startswith("PORT "):
        process.kill()
        raise SystemExit("devtools/dynamodb_responder.py did not start")
    return Responder(process, f"http://127.0.0.1:{line.split()[1]}", marker_secret)
