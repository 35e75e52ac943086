"""Error bodies an SMO receives, and the readiness report an operator reads."""

import json

import pytest
from chalice import Response

from chalicelib.api import problems
from chalicelib.domain.errors import MethodNotAllowed, NotFound
from chalicelib.services.readiness import CachedReadiness, Probe, check_readiness, inventory_snapshot_probe


def test_domain_error_becomes_problem_details_with_its_headers() -> None:
    response = problems.from_error(MethodNotAllowed("PATCH", ["DELETE", "GET"]))
    body = json.loads(response.body)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Allow"] == "DELETE, GET"
    assert body == {
        "type": "https://netweave.io/problems/method-not-allowed",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "PATCH is not supported here; allowed: DELETE, GET",
    }


def test_problem_details_never_carry_instance_or_null() -> None:
    body = json.loads(problems.from_error(NotFound("no such pool")).body)
    assert set(body) == {"type", "title", "status", "detail"}
    assert None not in body.values()


def test_chalice_error_bodies_are_rewritten() -> None:
    chalice_415 = Response(
        body={"Code": "UnsupportedMediaType", "Message": "Unsupported media type: text/plain"}, status_code=415
    )
    rewritten = problems.from_chalice_response(chalice_415)
    assert rewritten.headers["Content-Type"] == "application/problem+json"
    assert json.loads(rewritten.body)["detail"] == "Unsupported media type: text/plain"


def test_chalice_500_hides_internal_details() -> None:
    chalice_500 = Response(body={"Code": "InternalServerError", "Message": "Traceback: secret"}, status_code=500)
    assert "secret" not in problems.from_chalice_response(chalice_500).body


def test_successful_responses_pass_untouched() -> None:
    ok = Response(body={"a": 1}, status_code=200)
    assert problems.from_chalice_response(ok) is ok


def test_readiness_reports_each_failing_dependency_without_its_message() -> None:
    def broken() -> None:
        raise ConnectionError("password=hunter2")

    report = check_readiness([("dynamodb:t", lambda: None), ("sqs:q", broken)])
    assert report.status == "not ready"
    checks = report.checks or []
    assert [(c.name, c.ok) for c in checks] == [("dynamodb:t", True), ("sqs:q", False)]
    assert checks[1].detail == "ConnectionError"


class _Markers:
    def __init__(self, *polled: str) -> None:
        self.polled = set(polled)
        self.reads: list[str] = []

    def manifest(self, backend: str) -> object | None:
        self.reads.append(backend)
        return object() if backend in self.polled else None


@pytest.mark.parametrize(
    ("polled", "detail"),
    [((), "none yet"), (("edge",), "none yet for core"), (("edge", "core"), None)],
)
def test_ready_needs_the_first_snapshot_of_every_backend(polled: tuple[str, ...], detail: str | None) -> None:
    markers = _Markers(*polled)
    report = check_readiness([inventory_snapshot_probe(markers, ["edge", "core"])])
    checks = report.checks or []
    assert [(c.name, c.ok, c.detail) for c in checks] == [("inventory snapshot", detail is None, detail)]
    assert report.status == ("ready" if detail is None else "not ready")
    assert markers.reads == ["edge", "core"]  # one marker read per backend


def test_a_gateway_without_ims_backends_is_not_ready() -> None:
    """A deployed zip without its gateway.yaml serves an empty O-Cloud: /ready says why instead of 'ready'."""
    report = check_readiness([inventory_snapshot_probe(_Markers(), [])])
    assert report.status == "not ready"
    assert (report.checks or [])[0].detail == (
        "no IMS backend is configured (chalicelib/gateway.yaml or NETWEAVE_GATEWAY_CONFIG)")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cached_readiness_probes_again_only_once_the_report_is_ttl_old() -> None:
    clock, rounds = _Clock(), []
    healthy = True

    def probe() -> None:
        if not healthy:
            raise ConnectionError("down")

    def probes() -> list[Probe]:
        rounds.append(clock.now)
        return [("dynamodb:t", probe)]

    cache = CachedReadiness(probes, ttl_seconds=5, clock=clock)
    assert cache.report().status == "ready"
    healthy = False
    clock.now += 4.9
    assert cache.report().status == "ready"  # still the cached report
    clock.now += 0.1
    assert cache.report().status == "not ready"
    clock.now += 1
    assert cache.report().status == "not ready"  # a failed report is cached too: an outage is not amplified
    assert rounds == [100.0, 105.0]


def test_cached_readiness_with_ttl_zero_probes_every_time() -> None:
    rounds: list[int] = []

    def probes() -> list[Probe]:
        rounds.append(1)
        return []

    cache = CachedReadiness(probes, ttl_seconds=0, clock=_Clock())
    cache.report()
    cache.report()
    assert len(rounds) == 2
