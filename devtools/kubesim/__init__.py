"""kubesim: a simulated Kubernetes API server (plus minimal controllers) for the local stack, tests and benchmarks.

Real ``helm``/``kubectl`` binaries and the official ``kubernetes`` client work against it. See README.md.
"""

from devtools.kubesim.cluster import Cluster
from devtools.kubesim.kubeconfig import CONTEXT
from devtools.kubesim.runner import KubeSim, build, start_kubesim

__all__ = ["CONTEXT", "Cluster", "KubeSim", "build", "start_kubesim"]
