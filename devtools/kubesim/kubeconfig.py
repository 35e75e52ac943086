"""Kubeconfig for a kubesim server: plain http, a static token user, cluster/context ``netweave-demo``."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

import yaml

CONTEXT = "netweave-demo"
TOKEN = "kubesim-token"  # the admin's static token: user kubernetes-admin in group system:masters (auth.py)


def render(url: str, name: str = CONTEXT, token: str = TOKEN, namespace: str = "default",
           user: str | None = None, ca_pem: bytes | None = None) -> str:
    """`ca_pem`: the CA of a TLS kubesim; an https URL without it skips verification (kubesim's own controllers)."""
    user = user or f"{name}-admin"
    cluster: dict[str, object] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    elif url.startswith("https:"):
        cluster["insecure-skip-tls-verify"] = True
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: str | os.PathLike[str], url: str, token: str = TOKEN, user: str | None = None,
          namespace: str = "default", ca_pem: bytes | None = None) -> Path:
    """Write atomically (readers such as a polling local stack never see a half-written file), mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(render(url, token=token, user=user, namespace=namespace, ca_pem=ca_pem))
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
