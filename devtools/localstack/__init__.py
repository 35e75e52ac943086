"""The local stack: moto (AWS), kubesim (Kubernetes), the API under `chalice local`, and the event pump."""
