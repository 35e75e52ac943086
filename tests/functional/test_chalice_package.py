"""`chalice package --stage dev` produces a SAM template that cfn-lint accepts and that carries what
`.chalice/config.json` configures: per-function timeout, memory, reserved concurrency, layers and IAM policy, and the
SQS event sources of the queue consumers.

Packaging runs the real `chalice package` (bench/package_size.py's `package()`), with `AWS_DEFAULT_REGION` and
`NETWEAVE_STAGE` set and no AWS credentials at all (no keys, no profile, no instance metadata): it never calls AWS.
It packages a copy of the project whose requirements.txt is empty: the template does not depend on the
dependencies, while vendoring them would download ~40 MB of wheels for Lambda's platform (minutes, and the package
index) every time the app's code changes, since Chalice's cache key includes the app's files. The full package is
measured by `bench/package_size.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.package_size import package
from chalicelib import resources
from infra import stack_outputs

ROOT = Path(__file__).resolve().parents[2]
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
STAGE = "dev"

pytestmark = pytest.mark.xdist_group("chalice_package")

# Resource names Chalice gives the functions in sam.json.
LOGICAL_IDS = {"api_handler": "APIHandler", "poll_inventory": "PollInventory",
               "poll_inventory_on_change": "PollInventoryOnChange", "fan_out": "FanOut", "deliver": "Deliver",
               "run_dms_operation": "RunDmsOperation", "poll_deployments": "PollDeployments"}
CONSUMERS = {"fan_out": resources.EVENTS, "deliver": resources.DELIVERIES,
             "run_dms_operation": resources.DMS_OPERATIONS}
# cfn-lint findings that come from Chalice's own template and cannot be fixed from this project: none so far.
# Add a rule id here only with the reason it cannot be fixed in .chalice/ or app.py.
IGNORED_RULES: dict[str, str] = {}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(STAGE, tmp_path_factory.mktemp("chalice") / "out", dependencies=False, timeout=300)


@pytest.fixture(scope="module")
def sam(packaged: Path) -> Json:
    template: Json = json.loads((packaged / "sam.json").read_text())
    return template


@pytest.fixture(scope="module")
def configured() -> Json:
    config: Json = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config


def _function(sam: Json, name: str) -> Json:
    resource: Json = sam["Resources"][LOGICAL_IDS[name]]
    assert resource["Type"] == "AWS::Serverless::Function"
    properties: Json = resource["Properties"]
    return properties


def _settings(configured: Json, name: str) -> Json:
    settings: Json = configured["stages"][STAGE]["lambda_functions"][name]
    return settings


def test_cfn_lint_accepts_the_sam_template(packaged: Path, tmp_path: Path) -> None:
    """Linted as it is deployed: with a published layer's ARN where the committed config holds the placeholder
    (which cfn-lint, like Lambda, refuses: a stage deployed without infra.stack_outputs --helm-layer-arn fails)."""
    text = (packaged / "sam.json").read_text()
    assert stack_outputs.HELM_LAYER_PLACEHOLDER in text
    deployed = tmp_path / "sam.json"
    deployed.write_text(text.replace(stack_outputs.HELM_LAYER_PLACEHOLDER,
                                     "arn:aws:lambda:us-east-1:444455556666:layer:netweave-helm:3"))
    ignore = ["--ignore-checks", *IGNORED_RULES] if IGNORED_RULES else []
    result = subprocess.run([str(CFN_LINT), "--format", "json", *ignore, "--", str(deployed)],
                            capture_output=True, text=True, timeout=300, check=False)
    findings = json.loads(result.stdout or "[]")
    errors = [f"{f['Rule']['Id']} {f['Location']['Path']}: {f['Message']}" for f in findings
              if f["Level"] == "Error"]
    assert not errors, "\n".join(errors)
    assert result.returncode in (0, 4, 8), result.stderr  # 4 = warnings, 8 = informational only


def test_every_function_is_in_the_template(sam: Json) -> None:
    functions = {k for k, v in sam["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert functions == set(LOGICAL_IDS.values())


@pytest.mark.parametrize("name", sorted(LOGICAL_IDS))
def test_timeout_memory_concurrency_and_layers_as_configured(sam: Json, configured: Json, name: str) -> None:
    function, settings = _function(sam, name), _settings(configured, name)
    assert function["Timeout"] == settings["lambda_timeout"]
    assert function["MemorySize"] == settings["lambda_memory_size"]
    assert function.get("ReservedConcurrentExecutions") == settings.get("reserved_concurrency")
    assert function.get("Layers", []) == settings.get("layers", [])


def test_the_api_answers_within_api_gateways_29_seconds_and_workers_get_minutes(sam: Json) -> None:
    assert _function(sam, "api_handler")["Timeout"] <= 29
    for name in LOGICAL_IDS.keys() - {"api_handler", "fan_out"}:
        assert _function(sam, name)["Timeout"] >= 120, name
    for name in ("fan_out", "deliver", "run_dms_operation"):
        assert _function(sam, name)["Timeout"] == resources.FUNCTION_TIMEOUTS[name]


def test_functions_that_run_helm_have_the_layer_and_the_others_do_not(sam: Json) -> None:
    with_layer = {name for name in LOGICAL_IDS if _function(sam, name).get("Layers")}
    assert with_layer == {"api_handler", "run_dms_operation", "poll_deployments"}
    for name in with_layer:
        (arn,) = _function(sam, name)["Layers"]
        assert ":layer:netweave-helm:" in arn  # the placeholder or a published version (infra/layer.md)


@pytest.mark.parametrize("name", sorted(LOGICAL_IDS))
def test_each_function_has_its_own_role_with_its_groups_policy(sam: Json, configured: Json, name: str) -> None:
    role_id = _function(sam, name)["Role"]["Fn::GetAtt"][0]
    role = sam["Resources"][role_id]["Properties"]
    (policy,) = role["Policies"]
    expected = json.loads((ROOT / ".chalice" / _settings(configured, name)["iam_policy_file"]).read_text())
    assert policy["PolicyDocument"] == expected
    others = [n for n in LOGICAL_IDS if n != name]
    assert all(_function(sam, other)["Role"]["Fn::GetAtt"][0] != role_id for other in others)


@pytest.mark.parametrize("name", sorted(CONSUMERS))
def test_queue_consumers_have_their_sqs_event_source(sam: Json, name: str) -> None:
    events = _function(sam, name)["Events"]
    (source,) = events.values()
    assert source["Type"] == "SQS"
    queue = resources.queue_name(STAGE, CONSUMERS[name])
    assert source["Properties"]["Queue"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue}"}
    assert source["Properties"]["BatchSize"] == (1 if name == "run_dms_operation" else 10)


@pytest.mark.parametrize("name", sorted(CONSUMERS))
def test_sqs_pollers_never_exceed_the_reserved_concurrency(sam: Json, name: str) -> None:
    """A throttled SQS invocation returns its messages and counts a receive: with reserved concurrency below what
    Lambda's poller would use, messages reach the DLQ without ever failing (dms-operations allows 3 receives). The
    event source's MaximumConcurrency (>= 2) must therefore be set and not exceed the reserved concurrency."""
    function = _function(sam, name)
    (source,) = function["Events"].values()
    maximum = source["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
    assert maximum is not None and 2 <= maximum <= function["ReservedConcurrentExecutions"]


def test_schedules_and_the_cluster_event_rule_are_wired(sam: Json) -> None:
    assert _function(sam, "poll_inventory")["Events"]["PollInventoryEvent"]["Type"] == "Schedule"
    assert _function(sam, "poll_deployments")["Events"]["PollDeploymentsEvent"]["Type"] == "Schedule"
    (rule,) = _function(sam, "poll_inventory_on_change")["Events"].values()
    assert rule["Type"] == "CloudWatchEvent"
    assert set(rule["Properties"]["Pattern"]["source"]) == {"netweave", "aws.ec2", "aws.eks"}


def test_chalice_deploy_accepts_the_app_and_every_stage() -> None:
    """`chalice deploy` validates the app before any AWS call (`chalice package` does not): a route whose content types
    mix binary and text media types, among other things, stops every deploy there."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_configuration

    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    for stage in stages:
        config = CLIFactory(str(ROOT), environ={"NETWEAVE_STAGE": stage}).create_config_obj(chalice_stage_name=stage)
        validate_configuration(config)  # raises ValueError (what `chalice deploy` prints) on the first problem
