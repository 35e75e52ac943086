"""bench/change_to_smo.py --quick: 20 node changes, 5 subscriptions, with the relay and with the schedule alone.

No timing is asserted (a loaded test machine decides timings). What is asserted is what the figures rest on: every
change reached every subscriber exactly once, in order per object, signed with the subscription's secret; the relay
coalesced the burst (fewer poll requests than changes) and the schedule-only run made none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR


@pytest.mark.timeout(600)
def test_every_change_reaches_every_subscriber_once_and_the_relay_coalesces(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETWEAVE_"))}  # the bench's own
    figures = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "bench/change_to_smo.py", "--quick", "--json", str(figures)],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    relay, schedule = json.loads(figures.read_text())
    for run in (relay, schedule):
        assert (run["changes"], run["subscriptions"]) == (20, 5)
        assert run["order"] == {"duplicates": 0, "outOfOrder": 0, "missing": 0, "unverified": 0}, run
        assert run["items"]["deliver"] >= 20 * 5, run  # each subscriber was sent each change
    assert 1 <= relay["putEvents"] < relay["changes"], relay
    assert schedule["putEvents"] == 0, schedule
    assert "write -> verified notification: p50" in done.stdout, done.stdout
