"""``/validate``: every corpus case's report reaches the client as the engine made it, in every report
format, and a sample of cases POSTed in every input format gets that report; refusals get the right
status with zero outbound requests; the guide and the example come from the shapes and the data; a
validation past its time limit is killed."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF
from werkzeug.test import TestResponse

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import SH, prefix_map
from ceopgraph.rdfio import guess_format, parse_rdf
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.guide import submission_guide
from ceopgraph.validation.report import Report
from ceopgraph.validation.service import (
    MAX_RESULTS_SHOWN,
    SentReport,
    Submission,
    ValidationPool,
    ValidationTimeout,
    ValidatorConfig,
)
from ceopgraph.web.body import BodyRefused
from ceopgraph.web.services import of
from ceopgraph.web.validation import EXAMPLE_NAME, REPORT_TYPES, report_page

from .apps import embedded_app
from .conftest import ROOT
from .listener import Listener
from .submissions import BLANK_NODE, MUTATIONS, Corpus, Mutation, absolute
from .test_rdfio import REFUSED, bounded, hostile

# A property shape, a SHACL-SPARQL consistency check, a Data Cube IC, a warning, a provenance check.
SAMPLE = ["figure-as-string", "inconsistent-monthly-mean", "IC-12-duplicate-observation", "concept-without-definition"]
SAMPLE_MUTATIONS = [m for m in MUTATIONS if m.name in SAMPLE]
LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with embedded_app(settings, built_dist, validation_processes=3) as made:
        yield made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def submission_bytes(graph: Graph, fmt: RdfFormat, settings: Settings) -> bytes:
    return rdfio.serialise(graph, fmt, prefix_map(settings.scheme))


_BNODE = re.compile(r"^[nN]?[0-9a-f]{20,}$|^_:")


def normalised(document: dict[str, object]) -> dict[str, object]:
    """Blank nodes get fresh labels on every parse: compare them as one placeholder."""
    results = document["results"]
    assert isinstance(results, list)
    for result in results:
        for key in ("focusNode", "resultPath", "value"):
            if isinstance(result[key], str) and _BNODE.match(result[key]):
                result[key] = "_:blank"
    results.sort(key=lambda r: json.dumps(r, sort_keys=True))
    return document


def post(client: FlaskClient, data: bytes, fmt: RdfFormat, accept: str = "application/json"):  # type: ignore[no-untyped-def]
    return client.post("/validate", data=data, headers={"Content-Type": fmt.media_type, "Accept": accept})


# The corpus: what the engine reported reaches the client ------------------------------------------


def engine_json(corpus: Corpus, name: str) -> dict[str, object]:
    """The corpus case's report as ``ceopgraph validate --format json`` prints it: the session's one
    validation of that case (``Corpus``), never a second one."""
    return normalised(json.loads(corpus.report(name).to_json()))


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_every_invalid_submission_reaches_the_client_as_the_engine_reported_it(
    mutation: Mutation, corpus: Corpus, settings: Settings
) -> None:
    """What a validation worker sends for a report (``SentReport.of``) and the server renders from it
    (``SentReport.report``) is the engine's report in every format, for every case of the corpus."""
    report = corpus.report(mutation.name)
    sent = SentReport.of(report).report()
    for render in ("to_json", "to_csv", "to_text", "to_turtle", "to_jsonld"):
        assert getattr(sent, render)() == getattr(report, render)(), render
    document = engine_json(corpus, mutation.name)
    assert document["conforms"] is (mutation.severity != "Violation")
    shape = absolute(settings, mutation.shape)
    focus = "_:blank" if mutation.focus == BLANK_NODE else absolute(settings, mutation.focus)
    assert any(
        r["focusNode"] == focus and shape in (r["sourceShape"], r["sourceConstraint"])
        for r in document["results"]  # type: ignore[attr-defined]
    )


def _row(result: dict[str, str | None]) -> tuple[str, ...]:
    """The columns the CSV shares with the JSON; a CSV cell may carry the formula guard "'"."""
    focus = result["focusNode"] or ""
    return (
        "_:blank" if _BNODE.match(focus) else focus,
        result["severity"] or "",
        result["sourceShape"] or "",
        result["message"] or "",
        (result["value"] or "").removeprefix("'"),
    )


def _triples(report: Graph) -> set[tuple[str, str, str]]:
    return {
        (
            "_:blank" if isinstance(report.value(r, SH.focusNode), BNode) else str(report.value(r, SH.focusNode)),
            str(report.value(r, SH.sourceShape)),
            str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
        )
        for r in report.subjects(RDF.type, SH.ValidationResult)
    }


def _expected(document: dict[str, object]) -> set[tuple[str, str, str]]:
    results = document["results"]
    assert isinstance(results, list)
    return {(r["focusNode"], r["sourceShape"], r["severity"]) for r in results}


def assert_says(media_type: str, body: str, expected: dict[str, object]) -> None:
    """A report in ``media_type`` says what ``expected`` (a normalised JSON report) says: the verdict and
    every result, as far as the format carries them."""
    results = expected["results"]
    assert isinstance(results, list) and results, "the mutation must be reported"
    if media_type == "application/json":
        assert normalised(json.loads(body)) == expected
    elif media_type == "text/csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert sorted(_row(r) for r in rows) == sorted(_row(r) for r in results)
    elif media_type in ("text/turtle", "application/ld+json"):
        report = Graph().parse(data=body, format="turtle" if media_type == "text/turtle" else "json-ld")
        assert (None, SH.conforms, Literal(expected["conforms"])) in report
        assert _triples(report) == _expected(expected)
    elif media_type == "text/html":
        assert "does not conform" in body if not expected["conforms"] else "The submission conforms" in body
        for result in results:
            assert str(escape(result["message"])) in body
            if result["focusNode"] != "_:blank":
                assert str(escape(result["focusNode"])) in body
    else:
        assert media_type == "text/plain", media_type
        assert body.startswith("Data conforms" if expected["conforms"] else "Data does not conform")
        for result in results:
            assert f"{result['severity']}: {result['message']}" in body
            if result["focusNode"] != "_:blank":
                assert f"<{result['focusNode']}>" in body


def rendered(report: Report, media_type: str, app: Flask) -> str:
    """``report`` in ``media_type`` as ``POST /validate`` renders it (the page through the view's own
    renderer), in process."""
    if media_type == "text/html":
        with app.test_request_context("/validate", method="POST"):
            return report_page(report, status=200).get_data(as_text=True)
    makers: dict[str, Callable[[], str | bytes]] = {
        "application/json": report.to_json,
        "text/csv": report.to_csv,
        "text/turtle": report.to_turtle,
        "application/ld+json": report.to_jsonld,
        "text/plain": report.to_text,
    }
    made = makers[media_type]()
    return made.decode() if isinstance(made, bytes) else made


@pytest.mark.parametrize("media_type", REPORT_TYPES)
@pytest.mark.parametrize("mutation", SAMPLE_MUTATIONS, ids=[m.name for m in SAMPLE_MUTATIONS])
def test_every_report_format_says_what_the_report_says(
    mutation: Mutation, media_type: str, corpus: Corpus, app: Flask
) -> None:
    """One ``Report`` per sample case, rendered in each report format the service offers."""
    report = corpus.report(mutation.name)
    assert_says(media_type, rendered(report, media_type, app), engine_json(corpus, mutation.name))


def _accepted(mutation: Mutation, fmt: RdfFormat) -> str:
    """The report format one POST asks for: over a sample case's six input formats, each report format
    once; over an input format's sample cases, four of the six."""
    shift = SAMPLE_MUTATIONS.index(mutation) + RDF_FORMATS.index(fmt)
    return list(REPORT_TYPES)[shift % len(REPORT_TYPES)]


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
@pytest.mark.parametrize("mutation", SAMPLE_MUTATIONS, ids=[m.name for m in SAMPLE_MUTATIONS])
def test_every_input_format_over_http_gives_the_engines_report(
    mutation: Mutation, fmt: RdfFormat, client: FlaskClient, corpus: Corpus, settings: Settings
) -> None:
    """The sample case written in each input format and POSTed once: parsed, validated in a worker and
    rendered, the answer says what the engine said of the data before it was written out."""
    data = submission_bytes(corpus.data(mutation.name), fmt, settings)
    media_type = _accepted(mutation, fmt)
    answer = post(client, data, fmt, media_type)
    assert answer.status_code == 200
    assert answer.mimetype == media_type
    assert_says(media_type, answer.get_data(as_text=True), engine_json(corpus, mutation.name))


@pytest.mark.parametrize("mutation", SAMPLE_MUTATIONS[:2], ids=[m.name for m in SAMPLE_MUTATIONS[:2]])
def test_the_command_line_prints_the_engines_json(
    mutation: Mutation, corpus: Corpus, settings: Settings, tmp_path: Path
) -> None:
    """The real command, in its own process, prints the report the service's engine made (the service
    answers that report: ``test_every_input_format_over_http_gives_the_engines_report``)."""
    turtle = FORMATS_BY_NAME["turtle"]
    (tmp_path / "submission.ttl").write_bytes(submission_bytes(corpus.data(mutation.name), turtle, settings))
    done = subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", "validate", str(tmp_path / "submission.ttl"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 1, done.stderr
    assert normalised(json.loads(done.stdout)) == engine_json(corpus, mutation.name)


# The form ----------------------------------------------------------------------------------------


def test_a_text_value_is_shown_as_text_against_the_number_its_rule_expects(
    client: FlaskClient, corpus: Corpus, settings: Settings
) -> None:
    """Regression: the text "790" showed as "790", like the valid number; and the rule linked to raw SHACL."""
    data = submission_bytes(corpus.data("figure-as-string"), FORMATS_BY_NAME["turtle"], settings)
    page = post(client, data, FORMATS_BY_NAME["turtle"], "text/html").get_data(as_text=True)
    shown = 'the text "790" (xsd:string); expected a number (xsd:integer/decimal)'
    assert f'<td><code class="value">{escape(shown)}</code></td>' in page
    assert re.search(r'Rule:\s*<a href="/validate#rule-ObservationShape-obsValue">', page)
    entry = page[page.index('<li id="rule-ObservationShape-obsValue">') :]
    entry = entry[: entry.index("</li>")]
    assert "Example of a fix" in entry and "sdmx-measure:obsValue" in entry
    document = json.loads(post(client, data, FORMATS_BY_NAME["turtle"]).get_data(as_text=True))
    assert shown in [r["valueText"] for r in document["results"]]


def test_pasted_text_is_recognised_and_reported_as_html(
    client: FlaskClient, corpus: Corpus, settings: Settings
) -> None:
    text = submission_bytes(corpus.data("negative-count"), FORMATS_BY_NAME["turtle"], settings).decode()
    answer = client.post("/validate", data={"text": text, "format": "auto"}, headers={"Accept": "text/html"})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'class="badge badge-violation"' in page and "does not conform" in page
    # the rule's entry in the guide on this page (what it wants, an example of a fix), and its SHACL
    assert re.search(r'Rule:\s*<a href="/validate#rule-ObservationShape-count-not-negative">', page)
    assert 'id="rule-ObservationShape-count-not-negative"' in page
    assert '<a class="iri-small" href="/def/shapes/ObservationShape/count-not-negative">' in page
    assert '<td><code class="value">the number -790 (xsd:integer)</code></td>' in page  # the offending value
    assert str(escape(text[:200])) in page  # the text stays in the box, escaped


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_an_uploaded_file_is_read_by_its_extension(fmt: RdfFormat, client: FlaskClient, dataset: Dataset) -> None:
    data = rdfio.serialise(dataset, fmt)
    upload = (io.BytesIO(data), f"published.{fmt.extension}")
    answer = client.post("/validate", data={"file": upload, "format": "auto"}, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"conforms": True, "results": []}


def test_a_chosen_format_overrides_the_file_name(client: FlaskClient, dataset: Dataset) -> None:
    data = rdfio.serialise(dataset, FORMATS_BY_NAME["nquads"])
    upload = (io.BytesIO(data), "submission.txt")
    answer = client.post("/validate", data={"file": upload, "format": "nquads"}, content_type="multipart/form-data")
    assert answer.get_json() == {"conforms": True, "results": []}
    upload = (io.BytesIO(data), "submission.ttl")  # the name says Turtle: wrong, and reported as such
    answer = client.post("/validate", data={"file": upload, "format": "auto"}, content_type="multipart/form-data")
    assert answer.status_code == 400 and b"turtle syntax error at line 1" in answer.data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .", "turtle"),
        ("<http://a.example/s> <http://a.example/p> <http://a.example/o> .", "turtle"),
        ('<http://a.example/s> <http://a.example/p> "x"@en <http://a.example/g> .', "nquads"),
        ("@prefix ex: <http://example.org/> .\nex:g { ex:a ex:b ex:c }", "trig"),
        ("GRAPH <http://a.example/g> { <http://a.example/s> <http://a.example/p> 1 }", "trig"),
        ('{"@id": "http://a.example/s"}', "jsonld"),
        ('[{"@id": "http://a.example/s"}]', "jsonld"),
        ("[ a <http://a.example/C> ] .", "turtle"),
        ('<?xml version="1.0"?>\n<rdf:RDF/>', "rdfxml"),
        ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "rdfxml"),
        ("<!DOCTYPE rdf:RDF>", "rdfxml"),
    ],
)
def test_format_is_guessed_from_the_content(text: str, expected: str) -> None:
    assert guess_format(text.encode()).name == expected


@pytest.mark.parametrize("how", ["form", "body"])
def test_nothing_submitted_is_a_400(how: str, client: FlaskClient) -> None:
    if how == "form":
        answer = client.post("/validate", data={"text": "  ", "format": "auto"})
    else:
        answer = client.post("/validate", data=b"", headers={"Content-Type": "text/turtle"})
    assert answer.status_code == 400 and b"nothing to validate" in answer.data


# Refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "body", "where"),
    [
        ("turtle", "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b ex:c ex:d .\n", "line 3, column"),
        ("ntriples", "<http://a.example/s> <http://a.example/p> <http://a.example/o> .\n<x> .\n", "line 2, column"),
        ("jsonld", '{\n  "@id": \n}', "line 3, column"),
        (
            "rdfxml",
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://a.example/">\n'
            '  <rdf:Description rdf:about="http://a.example/s">\n    <ex:p>1</ex:q>\n',
            "line 3, column",
        ),
        ("trig", "<http://a.example/g> {\n <http://a.example/s> <http://a.example/p> \n}", "line 3, column"),
    ],
)
def test_unreadable_input_is_a_400_naming_line_and_column(fmt: str, body: str, where: str, client: FlaskClient) -> None:
    answer = post(client, body.encode(), FORMATS_BY_NAME[fmt], "text/plain, application/json")
    assert answer.status_code == 400
    assert where in answer.get_data(as_text=True)
    assert "Traceback" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("content_type", ["text/n3", "application/octet-stream", "image/png", None])
def test_unknown_media_type_is_a_415(content_type: str | None, client: FlaskClient) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.post("/validate", data=b"<a> <b> <c> .", headers=headers)
    assert answer.status_code == 415
    assert b"text/turtle" in answer.data  # says what would be accepted


def test_nothing_acceptable_is_a_406_before_any_work(client: FlaskClient) -> None:
    answer = client.post(
        "/validate", data=b"not even RDF", headers={"Content-Type": "text/turtle", "Accept": "image/png"}
    )
    assert answer.status_code == 406
    assert b"text/csv" in answer.data


@pytest.fixture(scope="module")
def small_app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with embedded_app(settings, built_dist, max_submission_bytes=2000) as made:
        yield made


@pytest.mark.parametrize("how", ["body", "chunked-body", "file", "text"])
def test_a_submission_over_the_limit_is_a_413(how: str, small_app: Flask, listener: Listener) -> None:
    data = b"# " + b"x" * 3000 + b"\n<http://a.example/s> <http://a.example/p> <http://a.example/o> .\n"
    client = small_app.test_client()
    if how == "body":
        answer = client.post("/validate", data=data, headers={"Content-Type": "text/turtle"})
    elif how == "chunked-body":  # no Content-Length: the limit applies while reading
        answer = client.post(
            "/validate",
            input_stream=io.BytesIO(data),
            headers={"Content-Type": "text/turtle", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it for chunked bodies
        )
    elif how == "file":
        answer = client.post(
            "/validate", data={"file": (io.BytesIO(data), "big.ttl")}, content_type="multipart/form-data"
        )
    else:
        answer = client.post("/validate", data={"text": data.decode()}, content_type="multipart/form-data")
    assert answer.status_code == 413, answer.data
    assert b"limit of 2,000 bytes" in answer.data
    assert listener.requests == 0


@pytest.mark.parametrize(("name", "reason"), REFUSED, ids=[n for n, _ in REFUSED])
@pytest.mark.parametrize("how", ["body", "pasted"])
def test_hostile_input_is_refused_without_any_request(
    name: str, reason: str, how: str, client: FlaskClient, listener: Listener, tmp_path: Path
) -> None:
    path = hostile(name, listener.url, tmp_path)
    data = path.read_bytes()
    if how == "body":
        fmt = rdfio.format_for_path(path)
        answer = bounded(lambda: post(client, data, fmt, "text/plain"))
    else:  # the format is guessed from the content: the same refusals apply
        answer = bounded(
            lambda: client.post("/validate", data={"text": data.decode()}, headers={"Accept": "text/plain"})
        )
    assert answer.status_code == 400
    assert reason in answer.get_data(as_text=True)
    assert listener.requests == 0


@pytest.mark.parametrize(
    ("fmt", "data", "reason"),
    [
        ("jsonld", b"[" * 1000, "the submission: the JSON nests deeper than 256 levels"),
        ("jsonld", b'{"http://a.example/p": ' * 5000 + b"1" + b"}" * 5000, "nests deeper than 256 levels"),
        ("turtle", b"<http://a.example/s> <http://a.example/p> " + b"(" * 100_000, "syntax error at line 1, column"),
        ("trig", b"<http://a.example/g> { <http://a.example/s> " + b"<http://a.example/p> [ " * 100_000, "line 1"),
    ],
    ids=["1000-json-arrays", "5000-json-objects", "100000-turtle-collections", "100000-trig-blank-nodes"],
)
def test_deep_nesting_is_a_400_not_a_dead_worker(fmt: str, data: bytes, reason: str, client: FlaskClient) -> None:
    answer = bounded(lambda: post(client, data, FORMATS_BY_NAME[fmt], "text/plain"))
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert reason in answer.get_data(as_text=True)


def test_pasted_text_of_200000_newlines_is_guessed_at_once_and_a_400(client: FlaskClient) -> None:
    """Regression: guessing its format took minutes in the server's own process, outside any worker."""
    text = "\n" * 200_000 + "x"
    answer = bounded(lambda: client.post("/validate", data={"text": text}, headers={"Accept": "text/plain"}))
    assert answer.status_code == 400
    assert "the pasted text: turtle syntax error at line 200001" in answer.get_data(as_text=True)


@pytest.mark.parametrize("name", ["own-shapes.ttl", "owl-imports.ttl"])
def test_shapes_and_imports_in_a_submission_are_never_run_or_followed(
    name: str, client: FlaskClient, listener: Listener, tmp_path: Path
) -> None:
    data = hostile(name, listener.url, tmp_path).read_bytes()
    answer = bounded(lambda: post(client, data, FORMATS_BY_NAME["turtle"]))
    assert answer.status_code == 200
    document = answer.get_json()
    assert all("exfiltrated" not in r["message"] for r in document["results"])
    assert all("/def/shapes/" in r["sourceShape"] for r in document["results"])  # only our shapes ran
    assert listener.requests == 0


# The time limit ----------------------------------------------------------------------------------


def test_a_validation_past_its_time_limit_is_killed_and_the_pool_recovers(settings: Settings, union: Graph) -> None:
    config = ValidatorConfig(str(settings.shapes_dir), settings.base_uri, LIMIT)
    pool = ValidationPool(config, 1, memory_mb=1536)
    data = submission_bytes(union, FORMATS_BY_NAME["ntriples"], settings)
    submission = Submission(data, "ntriples", "published")
    try:
        assert bounded(lambda: pool.validate(submission, 60.0)).conforms  # started and warm
        worker = pool._workers._idle[0]  # the only worker
        with pytest.raises(ValidationTimeout, match=r"longer than the 0\.01 s limit"):
            bounded(lambda: pool.validate(submission, 0.01))
        assert worker.process.poll() is not None, "the worker past the limit was killed"
        assert bounded(lambda: pool.validate(submission, 60.0)).conforms  # a fresh worker took its place
    finally:
        pool.close()


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_validation_workers_are_forks_of_one_holder_of_the_shapes(settings: Settings, union: Graph) -> None:
    """pySHACL and the shapes are loaded once, by a holder the server starts; each worker is its fork (ready
    in milliseconds, sharing what the holder loaded), and a worker killed at its limit is replaced by a fork."""
    config = ValidatorConfig(str(settings.shapes_dir), settings.base_uri, LIMIT)
    pool = ValidationPool(config, 2, memory_mb=1536)
    submission = Submission(submission_bytes(union, FORMATS_BY_NAME["ntriples"], settings), "ntriples", "published")
    try:
        pool._workers.wait_ready()
        holders = {_parent(worker.process.pid) for worker in pool._workers._idle}
        assert len(pool._workers._idle) == 2 and len(holders) == 1 and os.getpid() not in holders
        killed = {worker.process.pid for worker in pool._workers._idle}
        with pytest.raises(ValidationTimeout):
            pool.validate(submission, 0.01)
        deadline = time.monotonic() + 30
        while len(pool._workers._idle) < 2 and time.monotonic() < deadline:  # its replacement on its way
            time.sleep(0.05)
        now = {worker.process.pid for worker in pool._workers._idle}
        assert len(now - killed) == 1 and {_parent(pid) for pid in now} == holders
        assert pool.validate(submission, 60.0).conforms
    finally:
        pool.close()


# The guide, the example, the page ----------------------------------------------------------------


def test_the_example_submission_conforms_without_warnings(
    client: FlaskClient, shapes: Graph, settings: Settings
) -> None:
    answer = client.get(f"/validate/{EXAMPLE_NAME}")
    assert answer.status_code == 200 and answer.mimetype == "text/turtle"
    assert "attachment" in answer.headers["Content-Disposition"]
    graph = parse_rdf(answer.data, FORMATS_BY_NAME["turtle"], EXAMPLE_NAME, LIMIT, settings.base_uri)
    assert len(graph) > 100
    assert (None, RDF.type, URIRef("http://purl.org/linked-data/cube#Observation")) in graph
    report = validate_graph(graph, shapes)
    assert report.conforms and report.results == (), report.to_text()
    assert post(client, answer.data, FORMATS_BY_NAME["turtle"]).get_json() == {"conforms": True, "results": []}


def test_the_guide_lists_every_constraint_of_the_shapes(client: FlaskClient, shapes: Graph, settings: Settings) -> None:
    page = client.get("/validate").get_data(as_text=True)
    constraints = {str(o) for p in (SH.property, SH.sparql) for o in shapes.objects(None, p)}
    assert constraints
    for iri in constraints:
        assert f'href="/{iri.removeprefix(settings.base_uri)}"' in page, iri
    listed = {rule.iri for section in submission_guide(shapes) for rule in section.rules}
    assert constraints <= listed


def test_the_page_has_a_form_and_no_inline_script(client: FlaskClient) -> None:
    answer = client.get("/validate")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="text"' in page and 'name="file"' in page
    assert '<label for="text">' in page and '<label for="file">' in page
    assert "<script" not in page and "style=" not in page
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def test_everything_from_a_submission_is_escaped(client: FlaskClient) -> None:
    text = (
        "<javascript:alert(1)> a <http://www.w3.org/2004/02/skos/core#Concept> ;\n"
        ' <http://www.w3.org/2004/02/skos/core#prefLabel> "<script>alert(1)</script>"@en .'
    )
    page = client.post("/validate", data={"text": text}, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


# A report that grows with the submission ---------------------------------------------------------


@pytest.fixture(scope="module")
def many_results(client_module: FlaskClient) -> dict[str, TestResponse]:
    """150 bare observations: each breaks about nine rules, some 1,350 results in all."""
    body = "@prefix qb: <http://purl.org/linked-data/cube#> .\n"
    body += "".join(f"<http://example.org/o{i}> a qb:Observation .\n" for i in range(150))
    answers: dict[str, TestResponse] = {}
    for name, accept in [("json", "application/json"), ("turtle", "text/turtle"), ("html", "text/html")]:
        answer = client_module.post("/validate", data=body, headers={"Content-Type": "text/turtle", "Accept": accept})
        assert answer.status_code == 200
        answers[name] = answer
    return answers


@pytest.fixture(scope="module")
def client_module(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_report_past_the_limit_sends_the_first_results_and_counts_the_rest(
    many_results: dict[str, TestResponse],
) -> None:
    document = many_results["json"].get_json()
    assert document["conforms"] is False
    assert len(document["results"]) == MAX_RESULTS_SHOWN
    assert document["omitted"] > 0
    assert many_results["json"].headers["X-Results-Omitted"] == str(document["omitted"])


def test_the_shacl_report_past_the_limit_holds_the_results_it_shows(many_results: dict[str, TestResponse]) -> None:
    report = Graph().parse(data=many_results["turtle"].get_data(as_text=True), format="turtle")
    assert len(set(report.subjects(RDF.type, SH.ValidationResult))) == MAX_RESULTS_SHOWN
    assert len(set(report.objects(None, SH.result))) == MAX_RESULTS_SHOWN
    assert (None, SH.conforms, Literal(False)) in report


def test_the_page_past_the_limit_says_how_many_results_it_leaves_out(many_results: dict[str, TestResponse]) -> None:
    omitted = many_results["json"].get_json()["omitted"]
    page = many_results["html"].get_data(as_text=True)
    assert f"The first {MAX_RESULTS_SHOWN} results are shown; {omitted} more are not." in page


def test_no_free_body_reader_is_a_503_to_retry_in_a_moment(settings: Settings, built_dist: Path) -> None:
    """Past ``body_readers`` bodies arriving at once, a body is refused at once, with when to try again."""
    arrived = threading.Event()

    class Trickle(io.RawIOBase):  # a body whose next byte has not arrived
        def read(self, size: int = -1) -> bytes:
            arrived.wait(10)
            return b""

    with embedded_app(settings, built_dist, body_readers=1) as app:
        slow = {"wsgi.input": Trickle(), "CONTENT_LENGTH": "10"}
        holder = threading.Thread(target=lambda: _refused(lambda: of(app).bodies.read(slow, 100)))
        holder.start()
        try:
            time.sleep(0.2)  # the only reader waits for the trickle
            answer = app.test_client().post("/validate", data=b"<a> <b> <c> .", content_type="text/turtle")
        finally:
            arrived.set()
            holder.join(timeout=15)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert "arriving slowly already" in answer.get_data(as_text=True)


def _refused(read: Callable[[], object]) -> None:
    with pytest.raises(BodyRefused):
        read()
