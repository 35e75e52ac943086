"""A stand-in for the AWS Lambda Python runtime, run by tests/functional/test_lambda_zip.py as

    python -I -S -B runtime.py TASK_DIR RUNTIME_DIR HANDLER RESULT_FD

in an isolated interpreter: no site-packages, no project checkout, no current directory on sys.path. sys.path is what
Lambda gives a function: the unpacked deployment package (Lambda's /var/task) first, then the packages the runtime
itself provides (/var/runtime: boto3 and its dependencies), then the standard library. Only the standard library may
be imported here before the handler: anything else would hide a package missing from the zip.

Like Lambda, it imports the handler once (the init phase; a failure is reported and ends the process), then invokes
it once per event read from stdin (one JSON object a line: {"event": ..., "timeout_ms": ...}), with a context object
of Lambda's shape. Each outcome goes to RESULT_FD as one JSON line: {"ready": true} after init, then {"result": ...}
or {"error": traceback}; a result that is not JSON is an error, as Lambda cannot marshal it. stdout and stderr are
the function's logs. Like Lambda's REPORT line, each outcome also carries its duration: `init_ms` (the handler's
import) and `duration_ms` (an invocation), wall and CPU (`*_cpu_ms`, this process's), for bench/cold_start.py.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import IO, Any

ACCOUNT = "123456789012"


class Context:
    """The attributes and method of Lambda's context object that handlers read."""

    def __init__(self, timeout_ms: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _send(results: IO[str], message: dict[str, Any]) -> None:
    results.write(json.dumps(message) + "\n")
    results.flush()


def _since(wall: float, cpu: float) -> tuple[float, float]:
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> int:
    task_dir, runtime_dir, handler, result_fd = sys.argv[1:5]
    started = time.perf_counter(), time.process_time()
    sys.path[:0] = [task_dir, runtime_dir]
    results = os.fdopen(int(result_fd), "w")
    try:
        module_name, attribute = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), attribute)
    except BaseException:
        _send(results, {"initError": traceback.format_exc()})
        return 1
    init_ms, init_cpu_ms = _since(*started)
    _send(results, {"ready": True, "init_ms": init_ms, "init_cpu_ms": init_cpu_ms})
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter(), time.process_time()
        try:
            result = function(request["event"], Context(int(request["timeout_ms"])))
            duration_ms, cpu_ms = _since(*started)
            reply = json.dumps({"result": result, "duration_ms": duration_ms, "duration_cpu_ms": cpu_ms})
        except Exception:
            reply = json.dumps({"error": traceback.format_exc()})
        sys.stdout.flush()
        sys.stderr.flush()
        results.write(reply + "\n")
        results.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
