"""The W3C SPARQL 1.1 test suite's query, syntax, result-format, federation and update manifests, run
against the live endpoint over HTTP and checked with rdflib's parsers.

Each manifest entry is one test, named ``suite/name``. Query evaluation: the test's dataset goes in the
protocol parameters (``qt:data`` as ``default-graph-uri``, ``qt:graphData`` as ``named-graph-uri``; the
query's own ``FROM`` when it has one), the answer is asked for in the format of the expected result file
(XML, JSON, CSV, TSV, or Turtle for graphs) and compared with it (``results``). Syntax tests: a positive
one must be answered (200), a negative one refused as malformed (400). Update tests send the update, which
this read-only endpoint refuses (``expected``: every expected failure, with its reason).
"""

from __future__ import annotations

import pytest

from .endpoint import EMPTY_GRAPH, Dataset, ask_endpoint, refusal, send_update
from .expected import expected_failure
from .manifest import (
    MANIFEST_SUITES,
    NOT_RUN,
    PROTOCOL_SUITES,
    W3CTest,
    included_suites,
    iri_of,
    load_suite,
    params_or_missing,
)
from .queries import facts, with_base
from .results import (
    GRAPH_MEDIA_TYPE,
    RESULTS_FORMATS,
    Answer,
    ResultMismatch,
    check,
    expected_answer,
    parse_graph,
    parse_results,
)

EVALUATION = ("QueryEvaluationTest", "CSVResultFormatTest")
POSITIVE_SYNTAX = ("PositiveSyntaxTest11", "PositiveUpdateSyntaxTest11")
NEGATIVE_SYNTAX = ("NegativeSyntaxTest11", "NegativeUpdateSyntaxTest11")
MEDIA_TYPES = {media_type: fmt for fmt, media_type in RESULTS_FORMATS.values()}
ANY_ANSWER = "application/sparql-results+json, text/turtle;q=0.9"


class AcceptedMalformed(AssertionError):
    """The endpoint answered a query or update the suite says is malformed."""


def _params() -> list[object]:
    params: list[object] = []
    for suite in MANIFEST_SUITES:
        for test in load_suite(suite):
            expected = expected_failure(test)
            marks = [pytest.mark.xfail(reason=expected.reason, raises=expected.raises, strict=True)] if expected else []
            params.append(pytest.param(test, id=test.id, marks=marks))
    return params


@pytest.mark.parametrize("test", params_or_missing(_params))
def test_w3c(w3c_endpoint: str, test: W3CTest) -> None:
    if test.is_update:
        run_update(w3c_endpoint, test)
    elif test.kind in EVALUATION:
        run_evaluation(w3c_endpoint, test)
    elif test.kind in POSITIVE_SYNTAX + NEGATIVE_SYNTAX:
        run_syntax(w3c_endpoint, test)
    else:
        pytest.fail(f"{test.id}: no runner for tests of type {test.kind}")


def _dataset(test: W3CTest) -> Dataset | None:
    """The dataset the manifest describes, or None when the query names its own (FROM / FROM NAMED)."""
    assert test.query is not None
    if facts(test.query).dataset_clause:
        return None
    return Dataset(tuple(iri_of(p) for p in test.data) or (EMPTY_GRAPH,), tuple(iri_of(p) for p in test.graph_data))


def run_evaluation(endpoint: str, test: W3CTest) -> None:
    assert test.query is not None and test.result is not None
    accept = RESULTS_FORMATS[test.result.suffix][1] if test.result.suffix in RESULTS_FORMATS else GRAPH_MEDIA_TYPE
    response = ask_endpoint(endpoint, with_base(test.query), _dataset(test), accept)
    if response.status_code != 200:
        raise refusal(response)
    expected = expected_answer(test.result)  # after the answer: service07's cannot be read (an empty binding)
    media_type = response.headers["Content-Type"].split(";")[0].strip()
    if media_type != accept:
        raise ResultMismatch(f"asked for {accept}, the endpoint answered {media_type}")
    actual: Answer
    if media_type == GRAPH_MEDIA_TYPE:
        actual = parse_graph(response.content, "turtle", iri_of(test.query))
    else:
        actual = parse_results(response.content, MEDIA_TYPES[media_type])
    check(expected, actual, facts(test.query).ordered)


def run_syntax(endpoint: str, test: W3CTest) -> None:
    assert test.query is not None
    # As written, without a BASE: relative IRIs resolve against the endpoint, which is as valid.
    text = test.query.read_text(encoding="utf-8")
    response = ask_endpoint(endpoint, text, _dataset(test), ANY_ANSWER)
    if test.kind in POSITIVE_SYNTAX:
        if response.status_code != 200:
            raise refusal(response)
    elif response.status_code != 400:
        raise AcceptedMalformed(f"a malformed query was answered with {response.status_code}: {response.text[:200]}")


def run_update(endpoint: str, test: W3CTest) -> None:
    assert test.query is not None
    response = send_update(endpoint, test.query.read_text(encoding="utf-8"))
    if response.status_code == 403:
        raise refusal(response)  # UpdateRefused: the endpoint is read-only
    if test.kind in NEGATIVE_SYNTAX and response.status_code == 400:
        return
    raise AssertionError(f"the read-only endpoint answered an update with {response.status_code}: {response.text}")


def test_every_suite_is_run_or_says_why_not() -> None:
    """Every folder manifest-all.ttl includes is run (here or by the protocol modules) or listed in NOT_RUN."""
    assert set(included_suites()) == set(MANIFEST_SUITES) | set(PROTOCOL_SUITES) | set(NOT_RUN)
