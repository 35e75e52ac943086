"""Which exceptions of a Kubernetes API call mean "the cluster cannot be used right now", as opposed to a bug of
netweave's: adapters turn only these into `BackendUnavailable`, so a TypeError in a mapping stays a TypeError instead
of marking every deployment of the backend unreachable and being retried.

`kubernetes` is imported on first call, never at module level: the registry imports the adapters in the API function.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.domain.errors import BackendUnavailable


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The API's error answers (TLS failures arrive as status 0), urllib3's transport failures (refused, reset,
    timed out, retries exhausted), socket and OS errors, and credentials (exec plugins, tokens) that fail to refresh
    in the middle of a request."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError

    return ApiException, HTTPError, OSError, ConfigException


def read_errors() -> tuple[type[BaseException], ...]:
    """What a best-effort read may give up on: a failing cluster, or credentials that cannot be loaded (which
    `Cluster` raises as BackendUnavailable)."""
    return (BackendUnavailable, *transport_errors())


@cache
def credential_errors() -> tuple[type[BaseException], ...]:
    """What loading a kubeconfig or the pod's service account raises: the loader's own ConfigException, missing or
    unreadable files, bad YAML or base64, an OIDC refresh that cannot reach its provider. A kubeconfig of the wrong
    shape (a string where a mapping belongs) breaks the loader with lookup errors, which netweave's own code in that
    call cannot raise: it only hands over a path and a context name."""
    import yaml
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError

    return ConfigException, OSError, ValueError, yaml.YAMLError, HTTPError, AttributeError, KeyError, TypeError


def forbidden_message(error: BaseException) -> str | None:
    """The API server's own words when it refused a request (403: netweave's RBAC does not allow it), else None.

    A refusal is not an outage: retrying cannot help until an operator changes the RBAC, so adapters report it as a
    failed operation naming what was refused (docs/security.md, "Blast radius in the cluster")."""
    if getattr(error, "status", None) != 403:
        return None
    body: Any = getattr(error, "body", None)
    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        message = None
    return str(message or getattr(error, "reason", None) or "forbidden")
