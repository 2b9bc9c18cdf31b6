"""``/validate`` on a real server (gunicorn, validation worker processes): 16 submissions at once all
answered with their own report, a validation past the configured time limit answered 503, and the
latency of the service on the real data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from rdflib import Dataset, Graph

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import prefix_map

from .live import LiveServer, running_server
from .submissions import BLANK_NODE, MUTATIONS, Mutation, absolute, mutate

TURTLE = {"Content-Type": "text/turtle", "Accept": "application/json"}


def turtle(graph: Graph, settings: Settings) -> bytes:
    return rdfio.serialise(graph, FORMATS_BY_NAME["turtle"], prefix_map(settings.scheme))


def reported(document: dict[str, object], mutation: Mutation, settings: Settings) -> bool:
    shape, focus = absolute(settings, mutation.shape), absolute(settings, mutation.focus)
    results = document["results"]
    assert isinstance(results, list)

    def is_focus(node: str) -> bool:  # a blank node focus: any node that is not an IRI
        return not node.startswith(("http://", "https://")) if mutation.focus == BLANK_NODE else node == focus

    return any(is_focus(r["focusNode"]) and shape in (r["sourceShape"], r["sourceConstraint"]) for r in results)


def test_sixteen_concurrent_validations_are_all_answered_correctly(
    live_server: LiveServer, union: Graph, settings: Settings
) -> None:
    cases: list[tuple[Mutation | None, bytes]] = [(None, turtle(union, settings))]
    cases += [(m, turtle(mutate(union, settings, m.update), settings)) for m in MUTATIONS[:: len(MUTATIONS) // 15][:15]]
    assert len(cases) == 16

    def submit(body: bytes) -> tuple[int, dict[str, object], float]:
        started = time.perf_counter()
        answer = requests.post(live_server.url + "validate", data=body, headers=TURTLE, timeout=60)
        return answer.status_code, answer.json(), time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(submit, [body for _, body in cases]))
    for (mutation, _), (status, document, _) in zip(cases, answers, strict=True):
        assert status == 200
        if mutation is None:
            assert document == {"conforms": True, "results": []}
        else:
            assert document["conforms"] is (mutation.severity != "Violation"), mutation.name
            assert reported(document, mutation, settings), mutation.name
    assert max(seconds for *_, seconds in answers) < 30


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """A server whose validation time limit is far below what the published data takes."""
    log = tmp_path_factory.mktemp("logs") / "impatient.log"
    env = {"CEOPGRAPH_VALIDATION_TIMEOUT_S": "0.02", "CEOPGRAPH_VALIDATION_PROCESSES": "1"}
    with running_server(["--dist", str(built_dist), "--workers", "1"], log, env) as server:
        yield server


def test_a_validation_past_the_time_limit_is_a_503(
    impatient_server: LiveServer, dataset: Dataset, settings: Settings
) -> None:
    body = rdfio.serialise(dataset, FORMATS_BY_NAME["trig"], prefix_map(settings.scheme))
    started = time.perf_counter()
    answers = [
        requests.post(
            impatient_server.url + "validate",
            data=body,
            headers={"Content-Type": "application/trig", "Accept": "text/plain"},
            timeout=30,
        )
        for _ in range(3)  # the first may wait for the worker to start: also past the limit
    ]
    assert time.perf_counter() - started < 30
    for answer in answers:
        assert answer.status_code == 503
        assert "0.02 s limit" in answer.text
        assert answer.headers["Retry-After"] == "5"
    assert requests.get(impatient_server.url + "healthz", timeout=10).status_code == 200  # still serving


def test_the_published_data_validates_over_http_in_well_under_two_seconds(
    live_server: LiveServer, dataset: Dataset, settings: Settings
) -> None:
    body = rdfio.serialise(dataset, FORMATS_BY_NAME["trig"], prefix_map(settings.scheme))
    headers = {"Content-Type": "application/trig", "Accept": "application/json"}
    requests.post(live_server.url + "validate", data=body, headers=headers, timeout=60)  # workers warm
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        answer = requests.post(live_server.url + "validate", data=body, headers=headers, timeout=60)
        timings.append(time.perf_counter() - started)
        assert json.loads(answer.text) == {"conforms": True, "results": []}
    assert sorted(timings)[2] < 2.0, timings
