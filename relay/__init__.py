"""The in-cluster relay (docs/relay.md): watches the objects the `kubernetes` IMS backend reads and asks EventBridge
for an immediate inventory poll of that backend when one changes, a burst of changes coalesced into few requests.

Independent of chalicelib and Chalice: it runs as a Deployment of its own, with its own small image."""
