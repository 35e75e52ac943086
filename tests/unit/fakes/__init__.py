"""In-memory fakes of the ports, for unit tests of services (design §5: fakes through ports)."""
