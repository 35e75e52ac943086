"""Copy the infrastructure stack's outputs into `.chalice/config.json`, as the environment variables the code reads.

    python -m infra.stack_outputs --stack-name netweave-dev-infra --stage dev             # write config.json
    python -m infra.stack_outputs --stack-name netweave-dev-infra --stage dev --dry-run   # print the diff only

    python -m infra.stack_outputs --stack-name netweave-dev-infra --stage dev --helm-layer-arn "$LAYER_ARN"

Only `stages.<stage>.environment_variables` changes (and, with `--helm-layer-arn`, the helm layer in the `layers` of
the stage's functions that run helm); everything else in the file stays as it is. What is written:

- `NETWEAVE_STAGE`: the stage (the stack's `Stage` parameter must equal it: table and queue names derive from it);
- `NETWEAVE_PACKAGES_BUCKET`: the bucket's name when it is not the default `netweave-<stage>-packages` (removed when
  it is the default, so a stale override cannot survive a redeploy);
- `NETWEAVE_AUTH_SECRET_SSM_PARAMETER`: the Parameter Store reference of the token signing secret, unless the stage
  verifies tokens against an identity provider's keys (`NETWEAVE_AUTH_JWKS_URL`), where no shared secret is used;
- `NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER`: the Parameter Store reference of the SMO OAuth client secret;
- `NETWEAVE_MARKER_SECRET_SSM_PARAMETER`: the Parameter Store reference of the paging marker key;
- `NETWEAVE_QUEUE_URL_PREFIX`: what every queue URL of the stack starts with (`https://sqs.<region>.amazonaws.com/
  <account>/`), so a new container sends to a queue without first asking SQS for its URL (`GetQueueUrl`: one request
  per queue and container, docs/performance.md "Fan-out").

The committed config names no account: its helm layer entries are the placeholder `HELM_LAYER_PLACEHOLDER`, which
Lambda refuses as an ARN, until `--helm-layer-arn` puts the published layer's ARN in (infra/layer.md).

Table and queue names are not configured: the code derives them from the stage. They are checked instead, so a stack
deployed for another stage or from an older template is refused before Chalice deploys functions that would miss it.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import resources
from infra import generate

CONFIG_PATH = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
STAGE_VARIABLE = "NETWEAVE_STAGE"
BUCKET_VARIABLE = "NETWEAVE_PACKAGES_BUCKET"
QUEUE_URL_PREFIX_VARIABLE = "NETWEAVE_QUEUE_URL_PREFIX"
JWKS_VARIABLE = "NETWEAVE_AUTH_JWKS_URL"
PLAIN_AUTH_SECRET_VARIABLE = "NETWEAVE_AUTH_SECRET"
HELM_LAYER_NAME = "netweave-helm"
HELM_LAYER_PLACEHOLDER = "arn:aws:lambda:<region>:<account>:layer:netweave-helm:<version>"
# Stack states whose outputs describe resources that exist (a rolled-back update keeps the previous outputs).
USABLE_STATUSES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)

Json = dict[str, Any]


class StackMismatch(Exception):
    """The stack's outputs do not describe what this code, for this stage, expects to find."""


@dataclass
class Changes:
    """Environment variables to set (name -> value) and to remove, with notes for the operator."""

    assign: dict[str, str] = field(default_factory=dict)
    remove: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    helm_layer: str | None = None  # the published layer's ARN, for the functions whose `layers` name netweave-helm


def expected_names(stage: str) -> dict[str, str]:
    """Output key -> the physical name the code derives for `stage` (tables, queues and their DLQs)."""
    expected = {f"{generate.table_id(t)}Name": resources.physical_name(stage, t.logical_name) for t in resources.TABLES}
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            expected[f"{generate.queue_id(queue, dead_letter)}Name"] = resources.queue_name(stage, queue, dead_letter)
    return expected


def _required(outputs: Mapping[str, str], key: str) -> str:
    if key not in outputs:
        raise StackMismatch(f"the stack has no output {key}: was it deployed from infra/template.yaml?")
    return outputs[key]


def environment_changes(outputs: Mapping[str, str], stage: str, current: Mapping[str, str]) -> Changes:
    """What the stage's environment must become, given the stack's outputs (output key -> value).

    `current` is the environment the stage has now (top-level variables overlaid with the stage's), to decide
    what the stack's values mean for it. Pure: no AWS call, no file."""
    deployed_stage = _required(outputs, generate.STAGE_OUTPUT)
    if deployed_stage != stage:
        raise StackMismatch(f"the stack was deployed with Stage={deployed_stage}, not {stage}")
    wrong = {key: (outputs.get(key), name) for key, name in expected_names(stage).items() if outputs.get(key) != name}
    if wrong:
        listed = ", ".join(f"{key}={got!r} (expected {want!r})" for key, (got, want) in sorted(wrong.items()))
        raise StackMismatch(f"the stack's resources are not the ones resources.py names: {listed}")

    changes = Changes(assign={STAGE_VARIABLE: stage})
    bucket_key = f"{generate.bucket_id(resources.PACKAGES_BUCKET)}Name"
    bucket = _required(outputs, bucket_key)
    if bucket == resources.physical_name(stage, resources.PACKAGES_BUCKET.logical_name):
        changes.remove.add(BUCKET_VARIABLE)
    else:
        changes.assign[BUCKET_VARIABLE] = bucket

    changes.assign[QUEUE_URL_PREFIX_VARIABLE] = queue_url_prefix(outputs, stage)
    for secret in generate.SECRETS:
        parameter = _required(outputs, f"{secret.logical_id}ParameterName")
        if secret is generate.AUTH_SECRET and current.get(JWKS_VARIABLE):
            changes.notes.append(
                f"{secret.environment_variable} left as it is: the stage verifies tokens with {JWKS_VARIABLE}"
            )
            continue
        changes.assign[secret.environment_variable] = parameter
    if current.get(PLAIN_AUTH_SECRET_VARIABLE) and not current.get(JWKS_VARIABLE):
        changes.notes.append(
            f"{PLAIN_AUTH_SECRET_VARIABLE} is set in config.json and wins over the secret in Secrets Manager: remove it"
        )
    return changes


def queue_url_prefix(outputs: Mapping[str, str], stage: str) -> str:
    """The part every queue URL shares before the queue's name; refused unless each URL is that prefix + its name,
    as the code will build them."""
    urls = {resources.queue_name(stage, queue, dead_letter):
            _required(outputs, f"{generate.queue_id(queue, dead_letter)}Url")
            for queue in resources.QUEUES for dead_letter in (False, True)}
    prefixes = {url[: -len(name)] for name, url in urls.items() if url.endswith(f"/{name}")}
    if len(prefixes) != 1 or len(urls) != sum(url.endswith(f"/{name}") for name, url in urls.items()):
        listed = sorted(urls.values())
        raise StackMismatch(f"the stack's queue URLs do not share one prefix before their names: {listed}")
    return prefixes.pop()


def stage_environment(config: Json, stage: str) -> dict[str, str]:
    """The environment a stage's functions get: top-level variables overlaid with the stage's (as Chalice does)."""
    stage_config = config.get("stages", {}).get(stage)
    if stage_config is None:
        raise StackMismatch(f"stage {stage} is not in .chalice/config.json: add it (with its IAM policy) first")
    return {**config.get("environment_variables", {}), **stage_config.get("environment_variables", {})}


def apply_changes(config: Json, stage: str, changes: Changes) -> Json:
    """A copy of `config` with the stage's environment variables changed; everything else (and key order) kept."""
    updated = copy.deepcopy(config)
    stage_config = updated.get("stages", {}).get(stage)
    if stage_config is None:
        raise StackMismatch(f"stage {stage} is not in .chalice/config.json: add it (with its IAM policy) first")
    environment: dict[str, str] = stage_config.setdefault("environment_variables", {})
    for name in changes.remove:
        environment.pop(name, None)
    environment.update(changes.assign)
    if changes.helm_layer is not None:
        _set_helm_layer(stage_config, changes.helm_layer)
    return updated


def _set_helm_layer(stage_config: Json, arn: str) -> None:
    if f":layer:{HELM_LAYER_NAME}:" not in arn or not arn.startswith("arn:"):
        raise StackMismatch(f"--helm-layer-arn {arn!r} is not a version ARN of the {HELM_LAYER_NAME} layer")
    found = False
    for function in stage_config.get("lambda_functions", {}).values():
        layers = function.get("layers")
        if layers:
            function["layers"] = [arn if f":layer:{HELM_LAYER_NAME}:" in layer else layer for layer in layers]
            found = found or any(f":layer:{HELM_LAYER_NAME}:" in layer for layer in layers)
    if not found:
        raise StackMismatch(f"no function of the stage has a {HELM_LAYER_NAME} layer to set")


def render_config(config: Json) -> str:
    return json.dumps(config, indent=2) + "\n"


def config_diff(before: str, after: str, path: str = ".chalice/config.json") -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path))


def updated_config_text(config_text: str, stage: str, outputs: Mapping[str, str],
                        helm_layer: str | None = None) -> tuple[str, Changes]:
    config: Json = json.loads(config_text)
    changes = environment_changes(outputs, stage, stage_environment(config, stage))
    changes.helm_layer = helm_layer
    return render_config(apply_changes(config, stage, changes)), changes


# ---- the thin AWS / file side --------------------------------------------------------------------------------

def read_stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    if not stacks:
        raise StackMismatch(f"no stack {stack_name}")
    stack = stacks[0]
    if stack["StackStatus"] not in USABLE_STATUSES:
        raise StackMismatch(f"stack {stack_name} is {stack['StackStatus']}: wait for it, or fix and redeploy it")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def main(argv: list[str] | None = None, cloudformation: Any = None) -> int:
    parser = argparse.ArgumentParser(description="Write the infra stack's outputs into .chalice/config.json.")
    parser.add_argument("--stack-name", required=True, help="the stack deployed from infra/template.yaml")
    parser.add_argument("--stage", required=True, help="the Chalice stage (must equal the stack's Stage parameter)")
    parser.add_argument("--config", type=Path, default=CONFIG_PATH, help="default: .chalice/config.json")
    parser.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region")
    parser.add_argument("--helm-layer-arn", help="the published netweave-helm layer version (infra/layer.md)")
    parser.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    args = parser.parse_args(argv)

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if cloudformation is None:
            cloudformation = boto3.session.Session(region_name=args.region).client("cloudformation")
        outputs = read_stack_outputs(cloudformation, args.stack_name)
        before = args.config.read_text()
        after, changes = updated_config_text(before, args.stage, outputs, args.helm_layer_arn)
    except (StackMismatch, BotoCoreError, ClientError, OSError) as error:  # say what failed, not a traceback
        print(f"stack_outputs: {error}", file=sys.stderr)
        return 1
    for note in changes.notes:
        print(f"note: {note}", file=sys.stderr)
    diff = config_diff(before, after, str(args.config))
    sys.stdout.write(diff or f"{args.config}: stage {args.stage} is up to date\n")
    if not args.dry_run and after != before:
        args.config.write_text(after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
