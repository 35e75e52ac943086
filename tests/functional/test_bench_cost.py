"""The quick variant of bench/cost.py runs against moto, kubesim and a live receiver and prints its table (issue 20).

No price or timing is asserted (a loaded test machine decides timings, and prices change): what is asserted is what
the table rests on — every notification the bench priced was delivered with a valid signature, each section has its
total, and the unchanged poll wrote nothing.
"""

from __future__ import annotations

import re

from tests.functional.test_bench_api_cold_start import run_bench


def test_the_cost_bench_prices_an_idle_month_api_requests_and_notifications() -> None:
    out = run_bench("cost.py", timeout=600)
    received = re.search(r"the receiver got (\d+) notifications, (\d+) with a valid signature \(expected (\d+)\)", out)
    assert received and received[1] == received[2] == received[3], out
    unchanged = re.search(r"unchanged inventory poll: .*WRU (\S+);", out)
    assert unchanged and float(unchanged[1]) == 0, out  # nothing changed, nothing written
    for section in ("idle, per month", "fixed per stage, per month", "per million API requests",
                    "per million notifications"):
        assert re.search(rf"^\| \*\*{re.escape(section)}\*\* \| \*\*total\*\* \| \*\*\d+\.\d\d\*\* \|", out, re.M), (
            section, out)
