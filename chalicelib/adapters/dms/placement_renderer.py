"""helm's `--post-renderer` for placement on a resource pool (docs/dms.md, "Placement on a resource pool").

helm runs it (no shell: helm execs it with its argument list) with the manifests it rendered on stdin and installs
what it prints on stdout. The one argument is the pool's node selector as a JSON object; every pod template the
manifests hold gets the pool's required node affinity (`chalicelib.domain.placement`), every other document is
passed on byte for byte.

helm needs an executable path for `--post-renderer` and gives it no interpreter, so `launcher()` writes a small
Python script naming this interpreter (`sys.executable`) and this code's root on `sys.path`, once per process, into
the temporary directory: the Lambda zip then needs no executable bit on any of its files and no `python3` on PATH,
and the local stack runs it with the venv's interpreter. Its content depends only on those two paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from chalicelib.domain.placement import placed, selector_problem

# helm separates documents with a `---` line; YAML itself ends a block scalar at a `---` in column 0, so a split
# on such lines never cuts a document in two.
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """YAML as the API server reads it, minus one PyYAML habit: an unquoted date stays the string it is (PyYAML
    would make it a `datetime` and print it back in another form)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class RenderError(ValueError):
    """The input or the selector cannot be handled: helm fails the install with this message."""


def render(manifests: str, selector: Mapping[str, str]) -> str:
    """The manifests with the pool's placement in every pod template; documents without one are unchanged."""
    problem = selector_problem(selector)
    if problem is not None:
        raise RenderError(f"placement: {problem}")
    chunks = _SEPARATOR.split(manifests)
    return "---".join(_render_document(chunk, selector) for chunk in chunks)


def _render_document(chunk: str, selector: Mapping[str, str]) -> str:
    try:
        document = yaml.load(chunk, Loader=_Loader)
    except yaml.YAMLError as error:
        raise RenderError(f"placement: helm rendered a document that is not YAML: {error}") from None
    if not isinstance(document, dict):
        return chunk
    result = placed(document, selector)
    if result is None:
        return chunk
    comments = "".join(line + "\n" for line in chunk.lstrip("\n").splitlines() if line.startswith("#"))
    return "\n" + comments + yaml.safe_dump(result, sort_keys=False, default_flow_style=False)


def parse_selector(argument: str) -> dict[str, str]:
    try:
        selector: Any = json.loads(argument)
    except ValueError as error:
        raise RenderError(f"placement: the node selector argument is not JSON: {error}") from None
    problem = selector_problem(selector)
    if problem is not None:
        raise RenderError(f"placement: {problem}")
    return {str(key): str(value) for key, value in selector.items()}


def main(argv: Sequence[str]) -> int:
    """`<launcher> '<selector JSON>'`: stdin to stdout; 1 with the reason on stderr (helm shows it)."""
    if len(argv) != 1:
        sys.stderr.write("usage: placement-renderer '<node selector as JSON>' < manifests\n")
        return 2
    try:
        sys.stdout.write(render(sys.stdin.read(), parse_selector(argv[0])))
    except RenderError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    return 0


def launcher(directory: Path | None = None) -> Path:
    """The executable helm runs as its post-renderer (see the module's docstring); written if missing."""
    root = str(Path(__file__).resolve().parents[3])
    interpreter = sys.executable
    if not interpreter or any(c.isspace() for c in interpreter):
        raise RenderError(f"placement: no interpreter path usable in a script's first line ({interpreter!r})")
    script = (f"#!{interpreter}\n"
              "# helm's --post-renderer for netweave's placement on a resource pool; written by\n"
              "# chalicelib/adapters/dms/placement_renderer.py\n"
              "import sys\n"
              "sys.dont_write_bytecode = True  # the code's directory is read-only in Lambda (/var/task)\n"
              f"sys.path.insert(0, {root!r})\n"
              "from chalicelib.adapters.dms.placement_renderer import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    digest = hashlib.sha256(script.encode()).hexdigest()[:16]
    base = directory or Path(tempfile.gettempdir()) / "netweave-helm"
    path = base / f"placement-renderer-{digest}"
    if _trusted(path, script):
        return path
    base.mkdir(parents=True, exist_ok=True)
    partial = base / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(descriptor, "w") as out:
        out.write(script)
    partial.replace(path)  # atomic: another worker in the same /tmp never runs a half-written script
    return path


def _trusted(path: Path, script: str) -> bool:
    """An existing launcher is reused only if it is ours, writable by no one else, and says exactly `script` (the
    temporary directory may be shared: docs/security.md, "Placement post-renderer")."""
    try:
        info = path.lstat()
        return (path.is_file() and not path.is_symlink() and info.st_uid == os.getuid()
                and not info.st_mode & 0o022 and path.read_text() == script)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
