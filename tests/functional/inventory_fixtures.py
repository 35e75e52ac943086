"""A gateway wired to a kubesim cluster and its own set of tables, for inventory tests: its settings are built
from the session's environment plus its own stage and gateway.yaml; the environment itself stays untouched."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from chalicelib.bootstrap import Components
from chalicelib.settings import settings_from_environment
from devtools.kubesim import KubeSim, start_kubesim
from devtools.kubesim.controllers.nodegroups import NodeGroupSettings
from devtools.localstack.provision import provision


@dataclass
class Site:
    kubesim: KubeSim
    stage: str
    adapter_id: str
    gateway_file: Path
    components: Components


def site_environment(tmp_dir: Path, nodes: int | None = None, adapter_id: str = "site-a",
                     more_adapters: str = "", stage: str | None = None,
                     node_groups: NodeGroupSettings | None = None) -> Iterator[Site]:
    """kubesim + a gateway.yaml naming it + tables of a stage of their own (other tests' backends stay out).

    `stage="dev"` reuses the session's tables and queues: needed where app.py's event-source decorators (whose
    queue names are fixed when app.py is imported) must see the test's messages. `node_groups`: kubesim also plays
    EKS's node-group controller for that cluster."""
    kubesim = start_kubesim(nodes=nodes, node_groups=node_groups)
    kubeconfig = kubesim.write_kubeconfig(tmp_dir / "kubeconfig")
    gateway_file = tmp_dir / "gateway.yaml"
    gateway_file.write_text(
        "oCloud:\n  name: functional-site\n"
        f"imsAdapters:\n  - id: {adapter_id}\n    type: kubernetes\n    default: true\n"
        f"    options:\n      kubeconfig: {kubeconfig}\n" + more_adapters
    )
    stage = stage or f"t{uuid.uuid4().hex[:8]}"
    # kubesim's ArgoCD and Flux fetch from repositories the tests serve on 127.0.0.1: an in-cluster repository
    settings = settings_from_environment({**os.environ, "NETWEAVE_STAGE": stage,
                                          "NETWEAVE_GATEWAY_CONFIG": str(gateway_file),
                                          "NETWEAVE_REPOSITORY_ALLOWED_NETWORKS": "127.0.0.0/8"})
    provision(settings, boto3.session.Session())
    try:
        yield Site(kubesim, stage, adapter_id, gateway_file, Components(settings))
    finally:
        kubesim.stop()

