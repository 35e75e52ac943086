"""A simulated fleet of Dell PowerEdge servers speaking DMTF Redfish (devtools/redfish_sim/README.md)."""
