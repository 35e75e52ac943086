"""docs/deploy-aws.md, run command for command against a moto server (infra/rehearsal.py): the deploy path is product.

One test drives the whole sequence, because each step needs the state the previous one left: the stack, the layer,
`chalice deploy`, post-deploy, the deployed checks; then it breaks the deployed stage as a careless change would (a
layer, a route, a policy, a batch-failure setting) and `infra.deployed_checks` must name each break; a redeploy
and post-deploy repair it; a second redeploy must change nothing; the teardown must leave nothing of the stage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import deployed_checks, rehearsal

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"

pytestmark = pytest.mark.xdist_group("deploy-rehearsal")


def _lines(script: str) -> list[str]:
    """The commands of a script or a doc's code block: continuation lines joined, blanks and comments-only dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [" ".join(line.split()) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _documented(source: str) -> set[str]:
    text = (ROOT / source).read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return {line for block in blocks for line in _lines(block)}


@pytest.mark.parametrize("step", [*rehearsal.COMMANDS, rehearsal.CHECK, *rehearsal.REDEPLOY, *rehearsal.TEARDOWN,
                                  rehearsal.LEFTOVERS], ids=lambda step: step.name)
def test_every_rehearsed_command_is_one_the_guide_gives(step: rehearsal.Step) -> None:
    documented = _documented(step.source) | _documented("docs/deploy-aws.md")
    missing = [line for line in _lines(step.script) if line not in documented]
    assert not missing, f"{step.name}: not in {step.source}'s code blocks: {missing}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def account(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    project = rehearsal.project_copy(tmp_path / "project", with_dependencies=False)
    with rehearsal.moto_account(_free_port()) as aws:
        yield project, rehearsal.environment(STAGE, aws)


def _aws(env: dict[str, str], project: Path, *args: str) -> str:
    return subprocess.run(["aws", *args], cwd=project, env=env, check=True, capture_output=True, text=True).stdout


def _break_the_stage(project: Path, env: dict[str, str]) -> None:
    """What a hand-made change in the console, or a careless edit of the deploy, would leave."""
    _aws(env, project, "lambda", "update-function-configuration", "--function-name", "netweave-dev-run_dms_operation",
         "--layers", "[]")
    deployed = json.loads((project / ".chalice" / "deployed" / "dev.json").read_text())["resources"]
    api_id = next(r["rest_api_id"] for r in deployed if r.get("resource_type") == "rest_api")
    resources = json.loads(_aws(env, project, "apigateway", "get-resources", "--rest-api-id", api_id,
                                "--limit", "500"))["items"]
    packages = next(r["id"] for r in resources if r["path"] == "/o2dms/v1/deploymentPackages")
    _aws(env, project, "apigateway", "delete-method", "--rest-api-id", api_id, "--resource-id", packages,
         "--http-method", "POST")
    _aws(env, project, "iam", "put-role-policy", "--role-name", "netweave-dev-deliver", "--policy-name",
         "netweave-dev-deliver", "--policy-document",
         '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
    mappings = json.loads(_aws(env, project, "lambda", "list-event-source-mappings"))["EventSourceMappings"]
    fan_out = next(m["UUID"] for m in mappings if m["FunctionArn"].endswith(":netweave-dev-fan_out"))
    _aws(env, project, "lambda", "update-event-source-mapping", "--cli-input-json",
         json.dumps({"UUID": fan_out, "FunctionResponseTypes": []}))


def _assert_the_api_function_runs_the_zip_with_bytecode(project: Path, env: dict[str, str]) -> None:
    """docs/deploy-aws.md §5: `chalice deploy` uploads the zip `chalice package` cached and `infra.bytecode` rewrote."""
    deployed = json.loads(_aws(env, project, "lambda", "get-function-configuration", "--function-name",
                               "netweave-dev"))["CodeSha256"]
    zips = {base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode(): path
            for path in (project / ".chalice" / "deployments").glob("*.zip")}
    assert deployed in zips, f"the API function's code is none of the cached zips {sorted(zips.values())}"
    with zipfile.ZipFile(zips[deployed]) as archive:
        assert "__pycache__/app.cpython-311.pyc" in archive.namelist()
        assert "chalicelib/__pycache__/bootstrap.cpython-311.pyc" in archive.namelist()
        assert "swagger_ui/swagger-ui-bundle.js" in archive.namelist(), "the /docs page's files are packaged"


def test_the_guide_deploys_checks_redeploys_without_drift_and_tears_down(
        account: tuple[Path, dict[str, str]]) -> None:
    project, env = account
    progress: list[str] = []
    for step in rehearsal.COMMANDS:
        rehearsal.run_step(step, project, env, progress.append)
    env["LAYER_ARN"] = rehearsal.layer_arn(project, env)
    assert env["LAYER_ARN"].startswith("arn:aws:lambda:us-east-1:") and "<account>" not in env["LAYER_ARN"]
    _assert_the_api_function_runs_the_zip_with_bytecode(project, env)
    rehearsal.run_step(rehearsal.CHECK, project, env, progress.append)

    _break_the_stage(project, env)
    with pytest.raises(rehearsal.RehearsalFailed) as broken:
        rehearsal.run_step(rehearsal.CHECK, project, env, progress.append)
    report = str(broken.value)
    assert "netweave-dev-run_dms_operation: Layers is []" in report, report
    assert "REST API: POST /o2dms/v1/deploymentPackages missing" in report, report
    assert "its inline policy is not policy-dev-deliver.json" in report, report
    assert "netweave-dev-fan_out: mapping without ReportBatchItemFailures" in report, report

    for step in rehearsal.REDEPLOY:  # the guide's remedy: deploy, then post-deploy
        rehearsal.run_step(step, project, env, progress.append)
    rehearsal.run_step(rehearsal.CHECK, project, env, progress.append)
    rehearsal.run_step(rehearsal.REDEPLOY[0], project, env, progress.append)
    again = rehearsal.run_step(rehearsal.REDEPLOY[1], project, env, progress.append)
    assert re.search(r"^summary: \d+ unchanged$", again, flags=re.M), again

    env["REST_API_ID"] = deployed_checks.rest_api_id(project, STAGE) or ""
    for step in rehearsal.TEARDOWN:
        rehearsal.run_step(step, project, env, progress.append)
    rehearsal.run_step(rehearsal.LEFTOVERS, project, env, progress.append)
    assert all(line.startswith("rehearsal: ") and ": ok (" in line for line in progress), progress
