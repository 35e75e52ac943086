"""Bytecode in the deployment package (issue 20, docs/performance.md "Cold start").

`chalice package` zips sources only (wheels carry no .pyc), and Lambda's /var/task is read-only, so every cold start
compiles every module it imports and cannot keep the result. This adds, next to each source, the .pyc Lambda's
python3.11 runtime would write: in `__pycache__/<module>.cpython-311.pyc`, compiled as unchecked-hash pycs, which
Python uses without comparing them with the source's modification time (a zip keeps times to two seconds and no time
zone, so timestamp pycs could be judged stale and compiled again). Code objects name `/var/task/...` as their file,
where Lambda unpacks the package, so tracebacks in the logs name the deployed files.

    .venv/bin/python -m infra.bytecode .chalice/deployments/*.zip      # rewrites the zips in place

docs/deploy-aws.md §5 runs it on the zip `chalice package` leaves in Chalice's cache, which `chalice deploy` then
uploads as it is (Chalice reuses a cached zip while requirements.txt and the app's files are unchanged).

Only the API function's cold path is compiled (`API_COLD_PATH`): bytecode for the whole package would take the zip
from 42 to 64 MB, over Lambda's 50 MB for a direct upload (`chalice deploy`), and the package with the helm layer
over 250 MB unzipped; `kubernetes` alone would be 13 MB of it, for functions that run minutes, not milliseconds.
A package missing from the list is only compiled at each cold start, as before: bench/cold_start.py shows the figure.

Compile with the runtime's Python minor version (a .pyc of another version is ignored: it costs size, saves nothing),
so this refuses to run under any other.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

LAMBDA_PYTHON = (3, 11)  # .chalice/config.json has no runtime: Chalice picks python3.11 for this interpreter
TASK_ROOT = "/var/task"
# What the API function imports from init to its first DynamoDB-backed list, by top-level entry of the package
# (bench/cold_start.py lists the imports it found uncompiled).
API_COLD_PATH = (
    "app.py", "chalicelib", "chalice", "pydantic", "pydantic_core", "annotated_types", "typing_extensions.py",
    "typing_inspection", "aws_lambda_powertools", "jwt", "cryptography", "boto3", "botocore", "s3transfer",
    "urllib3", "dateutil", "jmespath", "six.py", "yaml", "httpx", "httpcore", "h11", "anyio", "sniffio", "idna",
    "certifi",
)


def compile_tree(directory: Path, entries: tuple[str, ...] = API_COLD_PATH) -> None:
    """Unchecked-hash .pyc files for the modules of `entries` (top-level files and packages of `directory`), their
    code naming /var/task/... as its file. A module that does not compile (a template named .py, code for another
    Python) is left as source."""
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(f"bytecode for Lambda's python{'.'.join(map(str, LAMBDA_PYTHON))} needs that Python, not "
                         f"{sys.version.split()[0]}")
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    for entry in entries:
        path = directory / entry
        if path.is_dir():
            compileall.compile_dir(str(path), ddir=f"{TASK_ROOT}/{entry}", quiet=2, workers=0,
                                   invalidation_mode=unchecked)
        elif path.is_file():
            compileall.compile_file(str(path), ddir=TASK_ROOT, quiet=2, invalidation_mode=unchecked)


def add_bytecode(archive: Path) -> Path:
    """Rewrite the deployment zip `archive` with the .pyc of its cold-path modules added. A .pyc already there for
    one of them is replaced: Chalice zips whatever chalicelib/__pycache__ of the checkout holds (timestamp pycs)."""
    with tempfile.TemporaryDirectory(prefix="netweave-bytecode-") as scratch:
        tree = Path(scratch) / "task"
        with zipfile.ZipFile(archive) as source:
            source.extractall(tree)
        compile_tree(tree)
        compiled = {path.relative_to(tree).as_posix(): path for path in sorted(tree.rglob("*.pyc"))}
        rewritten = Path(scratch) / "deployment.zip"
        with zipfile.ZipFile(archive) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename not in compiled:
                    target.writestr(info, source.read(info))
            for name, path in compiled.items():
                target.write(path, name)
        shutil.move(rewritten, archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archives", type=Path, nargs="+", help="deployment zips Chalice built")
    args = parser.parse_args(argv)
    for archive in args.archives:
        before = archive.stat().st_size
        add_bytecode(archive)
        print(f"{archive}: {before / 1e6:.1f} MB -> {archive.stat().st_size / 1e6:.1f} MB with bytecode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
