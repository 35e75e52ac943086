"""Developer tooling for netweave (local stack helpers, simulators)."""
