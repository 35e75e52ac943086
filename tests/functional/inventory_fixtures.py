"""A gateway wired to a kubesim cluster and its own set of tables, for inventory tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from chalicelib import config
from devtools.kubesim import KubeSim, start_kubesim
from devtools.localstack.provision import provision


@dataclass
class Site:
    kubesim: KubeSim
    stage: str
    adapter_id: str
    gateway_file: Path


def site_environment(tmp_dir: Path, nodes: int | None = None, adapter_id: str = "site-a",
                     more_adapters: str = "", stage: str | None = None) -> Iterator[Site]:
    """kubesim + a gateway.yaml naming it + tables of a stage of their own (other tests' backends stay out).

    `stage="dev"` reuses the session's tables and queues: needed where app.py's event-source decorators (whose
    queue names are fixed when app.py is imported) must see the test's messages."""
    kubesim = start_kubesim(nodes=nodes)
    kubeconfig = kubesim.write_kubeconfig(tmp_dir / "kubeconfig")
    gateway_file = tmp_dir / "gateway.yaml"
    gateway_file.write_text(
        "oCloud:\n  name: functional-site\n"
        f"imsAdapters:\n  - id: {adapter_id}\n    type: kubernetes\n    default: true\n"
        f"    options:\n      kubeconfig: {kubeconfig}\n" + more_adapters
    )
    stage = stage or f"t{uuid.uuid4().hex[:8]}"
    saved = {k: os.environ.get(k) for k in ("NETWEAVE_STAGE", "NETWEAVE_GATEWAY_CONFIG")}
    os.environ.update(NETWEAVE_STAGE=stage, NETWEAVE_GATEWAY_CONFIG=str(gateway_file))
    config.reset()
    provision(config.get_settings(), boto3.session.Session())
    try:
        yield Site(kubesim, stage, adapter_id, gateway_file)
    finally:
        kubesim.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        config.reset()


def prime_settings() -> None:
    """The Chalice test client re-applies the stage's environment (NETWEAVE_STAGE=dev) on every request; reading
    the settings once before the request pins this test's stage."""
    config.reset()
    config.get_settings()
