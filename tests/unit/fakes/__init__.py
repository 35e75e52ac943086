"""In-memory fakes of the ports, for unit tests of services (docs/architecture.md §5: fakes through ports)."""
