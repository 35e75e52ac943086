"""dtias_sim: a simulated Dell DTIAS (inventory, resource groups, jobs) for the local stack and tests. See README.md.

`start_dtias_sim` runs it as its own process on a loopback port, as the local stack does.
"""

from devtools.dtias_sim.process import DtiasSim, start_dtias_sim

__all__ = ["DtiasSim", "start_dtias_sim"]
