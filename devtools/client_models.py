"""Generate the client library's models (`client/src/netweave_client/models.py`) from the gateway's own OpenAPI
document with datamodel-code-generator, so the client's types cannot drift from what the gateway serves.

    python -m devtools.client_models           # rewrite the module
    python -m devtools.client_models --check   # exit 1 if the committed module is stale (a test runs this)

The generator's version is pinned in requirements-dev.txt: its output is compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODELS = PROJECT_DIR / "client" / "src" / "netweave_client" / "models.py"
HEADER = (
    "# ruff: noqa: E501\n"
    "# Generated from the gateway's OpenAPI document by `python -m devtools.client_models`; do not edit by hand."
)
_OPTIONS = (
    "--input-file-type", "openapi", "--output-model-type", "pydantic_v2.BaseModel", "--target-python-version", "3.11",
    # Python names in snake case, wire names kept as aliases; either populates a model
    "--snake-case-field", "--allow-population-by-field-name",
    # a newer gateway may add attributes: an older client keeps them instead of failing
    "--extra-fields", "allow",
    "--use-standard-collections", "--use-union-operator", "--use-annotated", "--field-constraints",
    "--set-default-enum-member", "--capitalise-enum-members", "--disable-timestamp", "--use-schema-description",
    "--use-double-quotes", "--formatters", "builtin", "--custom-file-header", HEADER,
)


def gateway_document() -> dict[str, Any]:
    import app  # registers every route, so the document is complete
    from chalicelib.api.openapi import openapi_document
    from chalicelib.domain.alarms import Severity

    del app
    document = openapi_document()
    # JSON Schema has no names for integer enum members; the gateway's own give the client `Severity.CLEARED`
    # instead of `Severity.integer_5`
    severity = document["components"]["schemas"]["Severity"]
    severity["x-enum-varnames"] = [Severity(value).name for value in severity["enum"]]
    return document


def nullable_inline(node: Any) -> Any:
    """`anyOf: [{type: X, ...constraints}, {type: null}]` (pydantic's `X | None`) becomes `type: [X, null]`: the
    generator would otherwise make a RootModel per optional constrained field, with a `None` default its type
    does not admit."""
    if isinstance(node, list):
        return [nullable_inline(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: nullable_inline(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        [other] = [option for option in options if option != {"type": "null"}]
        if "$ref" not in other and isinstance(other.get("type"), str):
            merged = {key: value for key, value in node.items() if key != "anyOf"}
            merged.update(other)
            merged["type"] = [other["type"], "null"]
            return merged
    return node


def generate(document: dict[str, Any]) -> str:
    with tempfile.TemporaryDirectory() as work:
        source, output = Path(work) / "openapi.json", Path(work) / "models.py"
        source.write_text(json.dumps(nullable_inline(document), indent=1))
        subprocess.run(
            [sys.executable, "-m", "datamodel_code_generator", "--input", str(source), "--output", str(output),
             *_OPTIONS],
            check=True, capture_output=True, text=True,
        )
        return output.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed module is not up to date")
    args = parser.parse_args(argv)
    text = generate(gateway_document())
    if args.check:
        if not MODELS.exists() or MODELS.read_text() != text:
            print(f"{MODELS.relative_to(PROJECT_DIR)} is stale: run python -m devtools.client_models", file=sys.stderr)
            return 1
        return 0
    MODELS.parent.mkdir(parents=True, exist_ok=True)
    MODELS.write_text(text)
    print(f"wrote {MODELS.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
