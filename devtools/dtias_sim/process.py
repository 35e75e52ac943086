"""The simulator as a child process on a loopback port, for tests (the local stack spawns it itself)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT_DIR = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "netweave", "dtias-local-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DtiasSim:
    process: subprocess.Popen[bytes]
    url: str

    def knob(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a `/_sim/` knob (`settings`, `servers/<name>`)."""
        reply = httpx.post(f"{self.url}/_sim/{path}", json=body, timeout=10)
        reply.raise_for_status()
        answer: dict[str, Any] = reply.json()
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_dtias_sim(state_dir: Path | None = None, timeout: float = 30) -> DtiasSim:
    port = _free_port()
    args = [sys.executable, "-m", "devtools.dtias_sim", "--port", str(port)]
    if state_dir is not None:
        args += ["--state-dir", str(state_dir)]
    env = {**os.environ, "NETWEAVE_DTIAS_USERNAME": USERNAME, "NETWEAVE_DTIAS_PASSWORD": PASSWORD,
           "PYTHONPATH": str(PROJECT_DIR)}
    process = subprocess.Popen(args, cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim = DtiasSim(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dtias-sim exited with {process.returncode}")
        try:
            if httpx.get(f"{sim.url}/_sim/health", timeout=1).status_code == 200:
                return sim
        except httpx.HTTPError:
            time.sleep(0.1)
    sim.stop()
    raise RuntimeError(f"dtias-sim was not ready after {timeout:.0f}s")
