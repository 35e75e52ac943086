"""The DTIAS simulator for a test module, and the gateway.yaml entry of a `dtias` backend reading it with the
simulator's credentials (devtools/dtias_sim)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from devtools.dtias_sim import DtiasSim, start_dtias_sim
from devtools.dtias_sim.process import USERNAME


def running_sim(state_dir: Path) -> Iterator[DtiasSim]:
    simulator = start_dtias_sim(state_dir)
    try:
        yield simulator
    finally:
        simulator.stop()


def dtias_adapter_yaml(sim: DtiasSim, password_env: str, extra: str = "") -> str:
    """An imsAdapters entry `dc-fleet`; `extra`: more option lines (6-space indented)."""
    return (f"  - id: dc-fleet\n    type: dtias\n    options:\n      baseUrl: {sim.url}\n      username: {USERNAME}\n"
            f"      passwordEnv: {password_env}\n{extra}      jobPollSeconds: 0.01\n")
