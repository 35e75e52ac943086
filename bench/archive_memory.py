"""Memory of chart archive inspection (docs/architecture.md §6, docs/security.md "Confinement"): the peak RSS
increase of netweave's own `check_archive` on hostile archives, each in a fresh process, against the upload limit.
Printed, never asserted.

    .venv/bin/python bench/archive_memory.py

Target: inspecting any archive raises the process's peak RSS by at most twice the upload limit
(`ArchiveLimits.max_compressed`), whatever the archive decompresses to. Each archive is built here as a stream
(devtools/hostile_archives.py), written to a file, and inspected by a child process that reads the file, imports
netweave, resets its RSS high-water mark, takes its RSS as the baseline, runs `check_archive` and reads the
high-water mark again (Linux /proc: `ru_maxrss` would carry the parent's peak over fork and exec); a second child
measures the same call with tracemalloc (what Python itself allocated). Runs in well under a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.services.package_archive import ArchiveLimits  # noqa: E402
from devtools import hostile_archives as hostile  # noqa: E402

MiB = 1024 * 1024
TARGET_FACTOR = 2

# Run in the child: only netweave's inspection between the two readings.
CHILD = """
import json, sys, time, tracemalloc
from pathlib import Path
from chalicelib.services.package_archive import check_archive
data = Path(sys.argv[1]).read_bytes()
traced = sys.argv[2] == "tracemalloc"
if traced:
    tracemalloc.start()
def status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)
# The high-water mark must be this call's: ru_maxrss carries the parent's over fork and exec, and this process's
# own imports would hide a smaller peak. Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
Path("/proc/self/clear_refs").write_text("5")
before = status_kib("VmRSS")
started = time.perf_counter()
try:
    outcome = "accepted: " + check_archive(data)
except Exception as error:
    outcome = f"{type(error).__name__}: {error}"
seconds = time.perf_counter() - started
after = status_kib("VmHWM")
peak = tracemalloc.get_traced_memory()[1] if traced else None
print(json.dumps({"rss_kib": after - before, "traced": peak, "seconds": seconds, "outcome": outcome}))
"""


def _cases() -> dict[str, Callable[[], Iterator[bytes]]]:
    return {
        "pax header, 512 MiB path": lambda: hostile.huge_pax_header(512 * MiB),
        "GNU long name, 256 MiB": lambda: hostile.huge_long_name(256 * MiB),
        "20,000 empty members": lambda: hostile.many_members(20_000),
        "global pax header, 2000 members": lambda: hostile.global_pax_records(2000),
        "8 KiB pax header per member, 1000": lambda: hostile.pax_per_member(1000),
        "member of 512 MiB of zeros": lambda: _zeros_member(512 * MiB),
        "member of 48 MiB (under the limit)": lambda: _zeros_member(48 * MiB),
        "a small genuine chart": lambda: iter([*hostile.chart(), *hostile.end()]),
    }


def _zeros_member(size: int) -> Iterator[bytes]:
    yield from hostile.chart()
    yield hostile.header("demo/big.bin", b"0", size)
    yield from hostile.filler(size, b"\0")
    yield from hostile.end()


def _measure(path: Path, mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    limit = ArchiveLimits().max_compressed
    budget_kib = TARGET_FACTOR * limit // 1024
    print(f"upload limit {limit / MiB:.0f} MiB; target: peak RSS increase <= {TARGET_FACTOR} x {limit / MiB:.0f} MiB"
          f" = {budget_kib / 1024:.0f} MiB per inspection\n")
    print(f"{'archive':34} {'compressed':>11} {'RSS +':>9} {'traced':>9} {'time':>7}  outcome")
    worst = 0
    with tempfile.TemporaryDirectory(prefix="netweave-bench-") as work:
        for name, pieces in _cases().items():
            path = Path(work) / "archive.tgz"
            started = time.perf_counter()
            path.write_bytes(hostile.gzipped(pieces()))
            built = time.perf_counter() - started
            rss, traced = _measure(path, "rss"), _measure(path, "tracemalloc")
            rss_kib = int(str(rss["rss_kib"]))
            worst = max(worst, rss_kib)
            print(f"{name:34} {path.stat().st_size / 1024:>8.0f} KiB {rss_kib / 1024:>5.1f} MiB "
                  f"{int(str(traced['traced'])) / MiB:>5.1f} MiB {float(str(rss['seconds'])):>6.2f}s  "
                  f"{str(rss['outcome'])[:110]}  (built in {built:.1f}s)")
    verdict = "met" if worst <= budget_kib else "NOT met"
    print(f"\nworst peak RSS increase {worst / 1024:.1f} MiB vs target {budget_kib / 1024:.0f} MiB: {verdict}")


if __name__ == "__main__":
    main()
