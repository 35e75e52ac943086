"""Running the deployment package as Lambda runs it (tests/functional/test_lambda_zip.py): the package built, unpacked
and each of its functions started in an isolated interpreter (devtools/lambda_sim/runtime.py), with the events
Lambda's services send: API Gateway REST proxy events (payload format 1.0), SQS batches, EventBridge schedules."""

from __future__ import annotations

import base64
import datetime as dt
import filecmp
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.package_size import package
from infra.bytecode import add_bytecode

PROJECT_DIR = Path(__file__).resolve().parents[2]

RUNTIME = Path(__file__).resolve().with_name("runtime.py")
BUILD_PROJECT = PROJECT_DIR / ".local" / "lambda-zip" / "project"  # Chalice's cache survives in its .chalice/
ACCOUNT = "123456789012"
REGION = "us-east-1"
API_ID = "zip0test01"
# What Lambda's python3.11 runtime provides besides the standard library (/var/runtime): boto3 and its dependencies.
# The deployment package vendors its own boto3 (requirements.txt), which comes first on sys.path and wins.
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "s3transfer", "urllib3", "dateutil", "six")

Json = dict[str, Any]


class LambdaInitError(AssertionError):
    """The function's module could not be imported (Lambda reports Runtime.ImportModuleError)."""


class LambdaInvokeError(AssertionError):
    """The handler raised, or returned something Lambda cannot marshal."""


def build_package(out_dir: Path, stage: str, *, bytecode: bool = True) -> Path:
    """The real `chalice package` with the dependencies, from a clean copy of the project in `.local/lambda-zip/`,
    with the bytecode the deployment adds unless told not to (infra/bytecode.py, docs/deploy-aws.md §5): Chalice
    reuses its build while requirements.txt and the app's files are unchanged; other builds are removed."""
    package(stage, out_dir, dependencies=True, timeout=1200, project=BUILD_PROJECT)
    for build in (BUILD_PROJECT / ".chalice" / "deployments").glob("*.zip"):
        if not filecmp.cmp(build, out_dir / "deployment.zip", shallow=False):
            build.unlink()
    if bytecode:
        add_bytecode(out_dir / "deployment.zip")
    return out_dir


def unpack(archive: Path, target: Path) -> Path:
    """The zip extracted into an empty directory, as Lambda extracts it into /var/task."""
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    return target


def runtime_packages(target: Path) -> Path:
    """A directory with only what Lambda's runtime adds to sys.path: links to this interpreter's copies of them."""
    target.mkdir(parents=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)
    return target


def altered(task_dir: Path, target: Path, changes: Mapping[str, str | None]) -> Path:
    """A view of the unpacked package with some files changed: a path mapped to None is left out (`yaml`,
    `chalicelib/handlers/dms.py`), one mapped to text is written. Top-level entries are links to the original, except
    those holding a change, which are copied."""
    touched = {path.partition("/")[0] for path in changes}
    target.mkdir(parents=True)
    for entry in task_dir.iterdir():
        if entry.name not in touched:
            (target / entry.name).symlink_to(entry)
        elif entry.is_dir() and entry.name not in changes:
            shutil.copytree(entry, target / entry.name)
    for path, text in changes.items():
        if text is not None:
            (target / path).write_text(text)
        elif (target / path).exists():
            (target / path).unlink()
    return target


def without(task_dir: Path, target: Path, missing: str) -> Path:
    """The unpacked package with `missing` left out."""
    return altered(task_dir, target, {missing: None})


def snapshot(directory: Path) -> dict[str, tuple[int, float]]:
    """Every file under `directory` with its size and modification time: Lambda's /var/task is read-only."""
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime)
            for p in directory.rglob("*") if p.is_file()}


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the SAM template `chalice package` wrote: what Lambda would run and with which settings."""

    name: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    events: Json
    layers: tuple[str, ...]


def functions_of(sam: Json) -> dict[str, FunctionSpec]:
    """The template's functions by their names in app.py (the API's is Chalice's `api_handler`)."""
    found = {}
    for resource in sam["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        handler = properties["Handler"]
        name = "api_handler" if handler == "app.app" else handler.removeprefix("app.")
        found[name] = FunctionSpec(name, handler, dict(properties.get("Environment", {}).get("Variables", {})),
                                   int(properties["Timeout"]), int(properties["MemorySize"]),
                                   properties.get("Events", {}), tuple(properties.get("Layers", [])))
    return found


class LambdaFunction:
    """One function's execution environment: a process that imported the handler (init) and takes invocations."""

    def __init__(self, spec: FunctionSpec, task_dir: Path, runtime_dir: Path, environment: dict[str, str],
                 log_path: Path, scratch: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        scratch.mkdir(parents=True, exist_ok=True)
        env = {
            # what Lambda sets for every function (docs.aws.amazon.com/lambda "Defined runtime environment variables")
            "AWS_LAMBDA_FUNCTION_NAME": f"netweave-{spec.name}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LAMBDA_TASK_ROOT": str(task_dir),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": str(scratch),  # Lambda's writable /tmp; no HOME, as in Lambda
            **spec.environment,
            **environment,
        }
        read_fd, write_fd = os.pipe()
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(RUNTIME), str(task_dir), str(runtime_dir), spec.handler,
                 str(write_fd)],
                cwd=task_dir, env=env, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True,
                pass_fds=(write_fd,))
        os.close(write_fd)
        self.results: IO[str] = os.fdopen(read_fd)
        ready = self._next(timeout=120)
        if "initError" in ready:
            self.stop()
            raise LambdaInitError(f"{spec.name}: init failed\n{ready['initError']}")
        self.init_report: Json = ready  # the init's duration, as Lambda's REPORT line gives it (runtime.py)
        self.last_report: Json = {}  # the last invocation's

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _next(self, timeout: float) -> Json:
        readable, _, _ = select.select([self.results], [], [], timeout)
        line = self.results.readline() if readable else ""
        if not line:
            self.stop()
            raise LambdaInvokeError(f"{self.spec.name}: no answer within {timeout:g} s (exit code "
                                    f"{self.process.poll()})\n{self.logs()[-4000:]}")
        answer: Json = json.loads(line)
        return answer

    def invoke(self, event: Json, timeout: float | None = None) -> Any:
        """The handler's return value for `event`; raises LambdaInvokeError with its traceback and logs if it failed."""
        assert self.process.stdin is not None
        # Not the function's timeout: the test does not claim to show Lambda's limits (docs/deploy-aws.md, "What the
        # suite proves about the package"), and a loaded test machine may be slower than Lambda. The handler still
        # sees its own timeout through the context.
        limit = 240 if timeout is None else timeout
        self.process.stdin.write(json.dumps({"event": event, "timeout_ms": self.spec.timeout * 1000}) + "\n")
        self.process.stdin.flush()
        answer = self._next(limit)
        if "error" in answer:
            raise LambdaInvokeError(f"{self.spec.name} failed:\n{answer['error']}\n{self.logs()[-4000:]}")
        self.last_report = answer
        return answer["result"]

    def stop(self) -> None:
        """Lambda ends an execution environment with SIGTERM (then SIGKILL), not by waiting for its threads."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()


@dataclass
class ApiReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def api_event(method: str, path: str, resource: str | None = None, *, stage: str = "api",
              headers: dict[str, str] | None = None, body: bytes | None = None, binary: bool = False,
              query: dict[str, list[str]] | None = None) -> Json:
    """An API Gateway REST API proxy integration event (payload format 1.0), as the gateway sends it: `resource` is
    the route's template (`/a/{id}`), `path` the concrete path; a binary media type arrives base64-encoded."""
    resource = resource or path
    sent = {"Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com", "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "443", "X-Forwarded-For": "198.51.100.7", "User-Agent": "smo-client/1.0",
            "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}", **(headers or {})}
    template, concrete = resource.strip("/").split("/"), path.strip("/").split("/")
    parameters = {t[1:-1]: c for t, c in zip(template, concrete, strict=True) if t.startswith("{")}
    now = dt.datetime.now(dt.UTC)
    encoded = base64.b64encode(body).decode() if body is not None and binary else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {k: [v] for k, v in sent.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": resource, "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex[:16], "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}", "accountId": ACCOUNT, "protocol": "HTTP/1.1", "stage": stage,
            "domainPrefix": API_ID, "requestTimeEpoch": int(now.timestamp() * 1000), "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "smo-client/1.0", "accountId": None,
                         "caller": None, "user": None, "userArn": None, "accessKey": None, "cognitoIdentityId": None,
                         "cognitoIdentityPoolId": None, "cognitoAuthenticationType": None,
                         "cognitoAuthenticationProvider": None, "principalOrgId": None},
            "domainName": sent["Host"], "apiId": API_ID,
        },
        "body": encoded if encoded is not None else (body.decode() if body is not None else None),
        "isBase64Encoded": encoded is not None,
    }


def api_reply(response: Json) -> ApiReply:
    """What API Gateway makes of the function's proxy response."""
    assert isinstance(response.get("statusCode"), int), response
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = ",".join(str(v) for v in values)
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    return ApiReply(response["statusCode"], headers, body)


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_name: str) -> Json:
    """The batch Lambda's SQS poller hands a function: one record per received message, system attributes as
    received (MessageGroupId, ApproximateReceiveCount, ... as strings)."""
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": dict(m.get("Attributes", {})), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION} for m in messages]}


def eventbridge_event(source: str, detail_type: str, detail: Json) -> Json:
    """An EventBridge event as a rule delivers it to its target."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": ACCOUNT, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION,
            "resources": [], "detail": detail}


def scheduled_event(rule: str) -> Json:
    """An EventBridge schedule's event."""
    return {**eventbridge_event("aws.events", "Scheduled Event", {}),
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"]}
