"""Kubeconfig for a kubesim server: plain http, a static token user, cluster/context ``netweave-demo``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

CONTEXT = "netweave-demo"
TOKEN = "kubesim-token"  # kubesim accepts any token; clients just need one to send


def render(url: str, name: str = CONTEXT, token: str = TOKEN, namespace: str = "default") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": f"{name}-admin", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin", "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: str | os.PathLike[str], url: str) -> Path:
    """Write atomically (readers such as a polling local stack never see a half-written file), mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(render(url))
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
