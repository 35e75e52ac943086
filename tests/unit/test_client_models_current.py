"""The client library's models are generated from the gateway's OpenAPI document; a route or model change that is
not regenerated fails here (the fix: `python -m devtools.client_models`)."""

from __future__ import annotations

from devtools.client_models import MODELS, gateway_document, generate


def test_the_committed_client_models_match_the_gateways_openapi_document() -> None:
    assert MODELS.read_text() == generate(gateway_document()), (
        "client/src/netweave_client/models.py is stale: run python -m devtools.client_models"
    )


def test_every_object_schema_of_the_document_has_a_client_model() -> None:
    from netweave_client import models

    schemas = gateway_document()["components"]["schemas"]
    assert {name for name in schemas if not hasattr(models, name)} == set()
