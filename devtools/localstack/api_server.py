"""`chalice local` with API Gateway's configured gateway responses in front (see `gateway.py`).

Runs Chalice's own local server (same route matching, same event shape as `chalice local`); only the responses
API Gateway itself would produce are rewritten.
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalGatewayException, create_local_server
from chalice.utils import UI

from devtools.localstack.gateway import gateway_response, is_missing_route, unknown_method_response

PROJECT_DIR = Path(__file__).resolve().parents[2]


class GatewayMappedHandler(ChaliceRequestHandler):  # type: ignore[misc]
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config) -> None:
        self.resource_paths = list(app_object.routes)  # before the base class, which handles the request
        super().__init__(request, client_address, server, app_object=app_object, config=config)

    def __getattr__(self, name: str) -> Any:
        # The stdlib handler looks up `do_<VERB>` and answers an HTML 501 when it is missing; Chalice defines only
        # the verbs API Gateway routes. Any other verb gets the API's own 405 (or 404) instead.
        if name.startswith("do_"):
            return self._unknown_method
        raise AttributeError(name)

    def _unknown_method(self) -> None:
        self._parse_payload()  # read a body if one came, so the kept-alive connection stays in step
        status, headers, body = unknown_method_response(self.command, self.path, self.resource_paths)
        self._send_http_response(status, dict(headers), body)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if is_missing_route(error.CODE, error.body):
            status, headers, body = gateway_response("MISSING_AUTHENTICATION_TOKEN")
            self._send_http_response(status, dict(headers), body)
            return
        super()._send_error_response(error)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Access lines come from the app's structured logs; the stdlib's stderr lines would only duplicate them."""


def serve(host: str, port: int, stage: str) -> None:
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    # Lambda sees the stage's environment variables; so does the local API (values already set locally win, so the
    # local stack can point the app at moto and a local signing secret).
    for name, value in config.scope(stage, "api_handler").environment_variables.items():
        os.environ.setdefault(name, value)
    server = create_local_server(config.chalice_app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(  # type: ignore[assignment]
        GatewayMappedHandler, app_object=config.chalice_app, config=config
    )
    UI().write(f"api ready on http://{host}:{port}\n")
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NETWEAVE_PORT", "8000")))
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args()
    serve(args.host, args.port, args.stage)


if __name__ == "__main__":
    main()
