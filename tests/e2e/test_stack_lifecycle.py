"""`make run` stops every process it started — moto, kubesim, the DTIAS simulator, the API, the event pump — and
frees every port it listened on (theirs and its own chart servers'), whether the user presses Ctrl-C, the stack gets
SIGTERM, or it is killed outright.

What the stack started is read from /proc before the signal: every process below it (with its start time, so a
reused pid is never taken for a survivor) and every TCP port those processes listen on."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStack, start_stack
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("lifecycle")

# What each service's command line carries (devtools/localstack/run.py starts them).
SERVICES = {"moto": "devtools.moto_aws", "kubesim": "devtools.kubesim", "api": "devtools.localstack.api_server",
            "pump": "devtools.localstack.pump", "dtias-sim": "devtools.dtias_sim",
            "redfish-sim": "devtools.redfish_sim"}
STOP_SECONDS = 20  # the stack gives its children 5 s before it kills them; the rest is slack for a busy machine
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # clock ticks after boot (/proc/<pid>/stat field 22): a reused pid has another
    command: str


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, start time) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[19])


def _command(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    return ""


def descendants(root: int) -> list[Proc]:
    """Every live process below `root`, however deep."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
    found, queue = [], list(children.get(root, []))
    while queue:
        pid = queue.pop()
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z":
            found.append(Proc(pid, stat[2], _command(pid)))
            queue += children.get(pid, [])
    return found


def running(proc: Proc) -> bool:
    """Still there: the same process (not a reused pid), and not a zombie (a zombie has exited)."""
    stat = _stat(proc.pid)
    return stat is not None and stat[2] == proc.started and stat[0] != "Z"


def listening_ports(pids: list[int]) -> set[int]:
    """The TCP ports these processes listen on (IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == _LISTEN and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Started:
    stack: LocalStack
    processes: list[Proc]
    ports: set[int]


def started_stack(state_dir: Path) -> Started:
    """A ready stack, with what it started: each service a process of its own, and the ports of all of them."""
    stack = start_stack(state_dir, own_process_group=True)
    processes = descendants(stack.process.pid)
    commands = [p.command for p in processes]
    for service, marker in SERVICES.items():
        assert any(marker in c for c in commands), f"no {service} process ({marker}) below the stack: {commands}"
    ports = listening_ports([stack.process.pid, *(p.pid for p in processes)])
    api_port, chart_port = (int(url.rsplit(":", 1)[1]) for url in (stack.api, stack.chart_repository))
    # api, chart repository, moto, kubesim, and the bucket front (the archive repository ArgoCD reads)
    assert {api_port, chart_port} <= ports and len(ports) >= 5, f"listening ports: {sorted(ports)}"
    return Started(stack, processes, ports)


def assert_everything_stopped(started: Started) -> None:
    """Every process the stack started exits, and no port any of them held is still served, within STOP_SECONDS."""

    def survivors() -> list[str]:
        return [f"{p.pid} {p.command}" for p in started.processes if running(p)]

    with contextlib.suppress(AssertionError):
        wait_until(lambda: not survivors(), STOP_SECONDS)
    left = survivors()
    assert not left, f"still running {STOP_SECONDS} s after the stack stopped: {left}"
    still_open = [port for port in sorted(started.ports) if _listening(port)]
    assert not still_open, f"ports still served after the stack stopped: {still_open}"


@pytest.fixture()
def cleanup() -> Iterator[list[Started]]:
    """Whatever a failing test leaves running is killed, by pid, once it has been reported."""
    stacks: list[Started] = []
    yield stacks
    for started in stacks:
        if started.stack.process.poll() is None:
            started.stack.process.kill()
            started.stack.process.wait(timeout=10)
        for proc in started.processes:
            if running(proc):  # the same process we recorded, not a reused pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)


def test_ctrl_c_stops_every_service(tmp_path: Path, cleanup: list[Started]) -> None:
    started = started_stack(tmp_path)
    cleanup.append(started)
    os.killpg(started.stack.process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
    assert started.stack.process.wait(timeout=30) == 0
    assert_everything_stopped(started)
    for log in ("moto.log", "kubesim.log", "api.log", "pump.log"):
        assert (tmp_path / log).exists(), f"{log} was not written"


def test_sigterm_stops_every_service(tmp_path: Path, cleanup: list[Started]) -> None:
    """`kill <pid>` (or a supervisor stopping the stack): only the stack gets the signal; it stops its children."""
    started = started_stack(tmp_path)
    cleanup.append(started)
    started.stack.process.send_signal(signal.SIGTERM)
    assert started.stack.process.wait(timeout=30) == 0
    assert_everything_stopped(started)


def test_services_die_with_the_stack_even_when_it_is_killed(tmp_path: Path, cleanup: list[Started]) -> None:
    started = started_stack(tmp_path)
    cleanup.append(started)
    started.stack.process.kill()  # SIGKILL: no chance to clean up; the children get SIGTERM from the kernel
    started.stack.process.wait(timeout=10)
    assert_everything_stopped(started)
