"""Synthesised container logs for ``GET pods/{name}/log``: deterministic text that reflects the pod's fate."""

from __future__ import annotations

from typing import Any

from devtools.kubesim.controllers.kubelet import FAIL_TAG, image_tag
from devtools.kubesim.errors import bad_request

Obj = dict[str, Any]


def _lines(pod: Obj, container: Obj) -> list[tuple[str, str]]:
    status = pod.get("status") or {}
    started = status.get("startTime") or pod["metadata"].get("creationTimestamp", "")
    image = str(container.get("image", ""))
    node = pod["spec"].get("nodeName", "")
    name = container["name"]
    if image_tag(image) == FAIL_TAG:
        return [
            (started, f"kubesim: starting container {name} from image {image} on node {node}"),
            (started, "error: simulated failure: image tag 'fail' makes this container exit with code 1"),
            (started, "exiting with status 1"),
        ]
    lines = [(started, f"kubesim: starting container {name} from image {image} on node {node}")]
    if "nginx" in image:
        lines += [
            (started, "/docker-entrypoint.sh: Configuration complete; ready for start up"),
            (started, "nginx: [notice] start worker processes"),
        ]
    if status.get("phase") == "Succeeded":
        lines.append((started, f"kubesim: container {name} completed successfully"))
    else:
        lines.append((started, f"kubesim: container {name} is running (pod IP {status.get('podIP', '')})"))
    return lines


def render(pod: Obj, container_name: str | None, tail: int | None, timestamps: bool) -> str:
    containers = (pod["spec"].get("containers") or []) + (pod["spec"].get("initContainers") or [])
    if container_name is None:
        if len(pod["spec"].get("containers") or []) != 1:
            names = " ".join(c["name"] for c in pod["spec"].get("containers") or [])
            raise bad_request(f'a container name must be specified for pod {pod["metadata"]["name"]}, '
                              f"choose one of: [{names}]")
        container = pod["spec"]["containers"][0]
    else:
        found = next((c for c in containers if c["name"] == container_name), None)
        if found is None:
            raise bad_request(f'container {container_name} is not valid for pod {pod["metadata"]["name"]}')
        container = found
    lines = _lines(pod, container)
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    return "".join(f"{ts} {text}\n" if timestamps else f"{text}\n" for ts, text in lines)
