"""End-to-end tier: the local stack (`python -m devtools.localstack`, what `make run` starts) over real HTTP."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT_DIR
from tests.functional.conftest import free_port


@dataclass
class LocalStack:
    process: subprocess.Popen[str]
    api: str
    token: str
    kubeconfig: Path
    state_dir: Path
    banner: str
    chart_repository: str  # the demo Helm repository's URL, from the banner's "Chart repository:" line

    def client(self, token: str | None = "default") -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)


def start_stack(state_dir: Path, timeout: float = 300, own_process_group: bool = False) -> LocalStack:
    """Start `python -m devtools.localstack` and wait for its banner. `own_process_group`: the stack leads a process
    group of its own, as a command started from a shell does, so a test can send a signal to the whole group (what a
    terminal does on Ctrl-C). The timeout is the stack's own first-poll bound: the banner waits for the first poll of
    the cluster and of the DTIAS fleet (about 20 s on a busy two-core machine; minutes before moto's SQS scans were
    made cheap, devtools/moto_aws.py `patch_sqs_scans`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETWEAVE_")) and k != "KUBECONFIG"}
    env["NETWEAVE_POLL_SECONDS"] = "1"  # the pump polls inventory every second: tests see changes quickly
    env["NETWEAVE_DELIVERY_FIRST_RETRY_SECONDS"] = "1"  # retries within seconds, not minutes
    env["NETWEAVE_EGRESS_NETWORKS"] = "127.0.0.0/8"  # whatever the fuzzer invents, the stack dials only this machine
    api_port, moto_port, kube_port, chart_port = free_port(), free_port(), free_port(), free_port()
    dtias_port = free_port()
    args = [
        sys.executable,
        "-m",
        "devtools.localstack",
        "--api-port",
        str(api_port),
        "--moto-port",
        str(moto_port),
        "--kube-port",
        str(kube_port),
        "--chart-port",
        str(chart_port),
        "--dtias-port",
        str(dtias_port),
        "--state-dir",
        str(state_dir),
    ]
    process = subprocess.Popen(
        args, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        process_group=0 if own_process_group else None,
    )
    output: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_forward_lines, args=(process, output), daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = output.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops everything"):
            token = (state_dir / "token").read_text().strip()
            [charts] = [ln.split()[2] for ln in lines if ln.startswith("Chart repository: ")]
            return LocalStack(
                process,
                f"http://127.0.0.1:{api_port}",
                token,
                state_dir / "kubeconfig",
                state_dir,
                "".join(lines),
                chart_repository=charts,
            )
    process.send_signal(signal.SIGINT)  # let it stop its children; kill only if it will not
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    logs = "".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in state_dir.glob("*.log"))
    raise AssertionError("the local stack did not become ready:\n" + "".join(lines) + logs)


def _forward_lines(process: subprocess.Popen[str], output: queue.Queue[str | None]) -> None:
    """Read the stack's stdout in a thread, so waiting for the banner never blocks on a half-read pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        output.put(line)
    output.put(None)


def stop_stack(stack: LocalStack) -> int:
    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(timeout=30)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    stop_stack(running)


def eventually(check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll `check` until it returns something truthy or `timeout` passes; returns its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def binary(name: str) -> str:
    path = PROJECT_DIR / ".local" / "bin" / name
    assert path.exists(), f"{path} is missing: run `make setup` (devtools/install_binaries.sh)"
    return str(path)
