"""`make run` stops every process it started when the user presses Ctrl-C."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import start_stack, stop_stack

pytestmark = pytest.mark.xdist_group("lifecycle")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_every_service(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    api_port = int(stack.api.rsplit(":", 1)[1])
    assert _listening(api_port)
    assert stop_stack(stack) == 0
    assert not _listening(api_port)
    for log in ("moto.log", "kubesim.log", "api.log", "pump.log"):
        assert (tmp_path / log).exists(), f"{log} was not written"


def test_services_die_with_the_stack_even_when_it_is_killed(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    api_port = int(stack.api.rsplit(":", 1)[1])
    stack.process.kill()  # SIGKILL: no chance to clean up
    stack.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _listening(api_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(api_port)
