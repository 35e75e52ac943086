"""What the peer contract check (tests/e2e/test_peer_contract.py, docs/o2-conformance.md) sends and how it judges
the answers: schemathesis cases from a peer file, half of them pointed at objects that exist on the stack (so item
answers are bodies to validate, not only 404s), and the checks of the positive and negative modes."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, status_code_conformance

from tests.peer_schema import response_errors, schema_errors

_PARAMETER = re.compile(r"/\{(\w+)\}$")
# A subscription id path parameter: its values come from the subscriptions this run made, never from the stack's
# others (the run deletes what it substitutes, and other tests' subscriptions are not its to delete).
SUBSCRIPTION_IDS = ("subscriptionId", "alarmSubscriptionId")


def external_refs(document: Any) -> list[str]:
    """Every `$ref` of the loaded document that points outside it (a fetch over the network, for a fuzzer)."""
    text = json.dumps(document)
    return [ref for ref in re.findall(r'"\$ref": "([^"]*)"', text) if not ref.startswith("#")]


@dataclass
class Known:
    """Path parameters of objects the stack holds, per path template, and the subscriptions this run created."""

    client: httpx.Client
    document: dict[str, Any]
    callback: str  # the run's receiver: every subscription the run creates notifies it
    per_path: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)  # id parameter name -> ids this run created

    def parameter_sets(self, template: str, limit: int = 8) -> list[dict[str, str]]:
        """Real values for the template's path parameters: list each parent collection, take the ids it shows."""
        if template not in self.per_path:
            self.per_path[template] = self._discover(template, limit)
        return self.per_path[template]

    def _discover(self, template: str, limit: int) -> list[dict[str, str]]:
        trimmed = template
        while "{" in trimmed and not _PARAMETER.search(trimmed):
            trimmed = trimmed.rsplit("/", 1)[0]  # `.../{resourceTypeId}/alarmDictionary`: the type's ids
        found = _PARAMETER.search(trimmed)
        if found is None:
            return [{}]
        name, collection = found.group(1), trimmed[: found.start()]
        if name in SUBSCRIPTION_IDS:
            return []
        sets = []
        for parent in self.parameter_sets(collection, limit)[:3]:
            answer = self.client.get(collection.format(**parent))
            items = answer.json() if answer.status_code == 200 else []
            sets += [{**parent, name: str(item[name])} for item in items[:limit] if name in item]
        return sets


def real_case(case: Any, known: Known, pick: int) -> Any:
    """The generated case, its path parameters replaced by those of an existing object (`pick` chooses which), and a
    subscription body's callback by the run's receiver (what an SMO creating a subscription sends)."""
    template = case.operation.path
    names = set(case.path_parameters or {})
    subscription = next((n for n in SUBSCRIPTION_IDS if n in names), None)
    if subscription is not None:
        ids = known.created.get(subscription, [])
        if ids:
            chosen = ids.pop() if case.method.upper() == "DELETE" else ids[pick % len(ids)]
            case.path_parameters = {**case.path_parameters, subscription: chosen}
    elif names:
        sets = known.parameter_sets(template)
        if sets:
            case.path_parameters = {**case.path_parameters, **sets[pick % len(sets)]}
    if case.method.upper() == "POST" and isinstance(case.body, dict) and "callback" in case.body:
        case.body = {"callback": known.callback, "consumerSubscriptionId": str(uuid.uuid4())}
    elif isinstance(case.body, dict):  # a client generated from the peer's file sends only the members it defines
        defined = _body_members(known.document, template, case.method.lower())
        case.body = {member: value for member, value in case.body.items() if member in defined}
    return case


def _body_members(document: dict[str, Any], path: str, method: str) -> set[str]:
    body = document["paths"][path][method]["requestBody"]["content"]
    [schema] = [media["schema"] for media in body.values()]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def strategy(operation: Any, mode: GenerationMode, known: Known) -> Any:
    generated = operation.as_strategy(mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    pointed = st.tuples(generated, st.integers(0, 2**32)).map(lambda pair: real_case(pair[0], known, pair[1]))
    return st.one_of(generated, pointed)


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


def _problem_details(name: str, response: Any, case: Any) -> None:
    media = "".join(response.headers.get("content-type", []))  # schemathesis keeps each header's values in a list
    assert media.startswith("application/problem+json"), f"{case.operation.label}: {response.status_code} {media}"
    errors = schema_errors("common.yaml", "ProblemDetails", response.json())
    assert errors == [], f"{case.operation.label}: {response.status_code} ProblemDetails: {errors[:3]}"


def positive_checks(name: str) -> list[Callable[..., bool | None]]:
    """A valid request: a documented status; a 2xx body the peer's schema accepts beyond the declared deviations
    (an `exclude_fields` the client sends removes what it names: deviation 8); a 4xx is ProblemDetails."""

    def peer_schema_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
        status = response.status_code
        if 200 <= status < 300 and response.content and "exclude_fields" not in (case.query or {}):
            errors = response_errors(name, case.operation.path, response.json(), case.method.lower(), str(status))
            assert errors == [], f"{case.operation.label} {status}: {errors[:3]}"
        elif 400 <= status < 500:
            _problem_details(name, response, case)
        return None

    return [no_server_error, status_code_conformance, peer_schema_conformance]


def negative_checks(name: str) -> list[Callable[..., bool | None]]:
    """A malformed request (a value, type or body the peer's file forbids): refused with a 4xx ProblemDetails."""

    def refused_with_problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
        if 400 <= response.status_code < 500:
            _problem_details(name, response, case)
            return None
        # schemathesis' own judge of an accepted negative case: it fails it unless the mutation did not survive
        # serialization (an empty extra query parameter is not sent, a number in a query string is a string...)
        negative_data_rejection(ctx, response, case)
        return None

    return [no_server_error, refused_with_problem_details]


def operations(schema: Any) -> Iterator[Any]:
    from schemathesis.core.result import Ok

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # an operation the peer's file fails to describe
        yield result.ok()
