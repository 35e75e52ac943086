"""Run the simulator in its own process (tests, benchmarks) and turn its `/_sim/` knobs."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class RedfishSim:
    process: subprocess.Popen[str]
    aggregator: str
    bmcs: dict[str, str] = field(default_factory=dict)  # service tag -> base URL

    def knob(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(f"{self.aggregator}/_sim/{path}", json.dumps(body or {}).encode(),
                                         {"Content-Type": "application/json"}, method="POST" if body is not None
                                         else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
        return json.loads(data) if data else None

    def set_health(self, tag: str, health: str, rollup: str | None = None) -> None:
        self.knob(f"servers/{tag}/health", {"health": health, **({"rollup": rollup} if rollup else {})})

    def set_down(self, tag: str, down: bool) -> None:
        self.knob(f"servers/{tag}/down", {"down": down})

    def expire_sessions(self) -> None:
        self.knob("sessions/expire", {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_redfish_sim(servers: int = 5, page_size: int = 50, username: str = "root", password: str = "calvin",
                      port: int = 0, tls_ca_file: Path | None = None) -> RedfishSim:
    """Start `python -m devtools.redfish_sim` on loopback and wait for its ready line (every port listening).
    `tls_ca_file`: the BMCs serve https, and the CA that signed their certificate is written there."""
    tls = ["--tls-ca-file", str(tls_ca_file)] if tls_ca_file else []
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.redfish_sim", "--port", str(port), "--servers", str(servers),
         "--page-size", str(page_size), "--username", username, "--password", password, *tls],
        cwd=_PROJECT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise RuntimeError(f"redfish_sim exited with {process.returncode} before it was ready")
    ready = json.loads(line)
    return RedfishSim(process, ready["aggregator"], ready["bmcs"])
