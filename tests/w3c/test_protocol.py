"""The W3C SPARQL 1.1 Protocol tests (``protocol/manifest.ttl``) as concrete HTTP exchanges with the live server.

The manifest names each test and describes it in prose only; the exchanges below are written from those
descriptions and from SPARQL 1.1 Protocol §2, against the server's own graphs (``protocol_data``: the
suite's tests name documents on a remote site, which this endpoint would never fetch). Every manifest
entry must have an exchange here, and every exchange a manifest entry. As in the suite, a positive test
needs a 2xx answer of the right media type (and, where it says so, the right content), a negative one a
4xx. The update tests are expected failures: the endpoint is read-only and answers 403. The negative
update tests pass: their update is refused (403, or 415 for a media type the endpoint does not take),
a 4xx as they require.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests
from rdflib import Graph, URIRef

from .endpoint import TIMEOUT_S, UpdateRefused
from .expected import READ_ONLY
from .manifest import load_suite, params_or_missing
from .protocol_data import DATA, DOCUMENT, THING
from .results import RESULTS_FORMATS, Table, parse_results

Exchange = Callable[[str], None]
EXCHANGES: dict[str, Exchange] = {}

RESULTS_TYPES = {media_type: fmt for fmt, media_type in RESULTS_FORMATS.values()}
BOOLEAN_TYPES = ("application/sparql-results+xml", "application/sparql-results+json")
# The RDF media types the suite accepts for CONSTRUCT and DESCRIBE (RDFa: text/html), with rdflib's parsers.
GRAPH_TYPES = {
    "application/rdf+xml": "xml",
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
}
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
D0, D1, D2, D3 = DATA


def exchange(name: str) -> Callable[[Exchange], Exchange]:
    def register(function: Exchange) -> Exchange:
        EXCHANGES[name] = function
        return function

    return register


def send(
    endpoint: str,
    method: str,
    params: list[tuple[str, str]] | None = None,
    content_type: str | None = None,
    body: bytes = b"",
) -> requests.Response:
    """One request as the test describes it: the URL's parameters, a body and its media type, or none."""
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.request(method, endpoint, params=params, data=body, headers=headers, timeout=TIMEOUT_S)


def form(*pairs: tuple[str, str]) -> bytes:
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs).encode()


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip()


def success(response: requests.Response, types: tuple[str, ...]) -> str:
    """A 2xx or 3xx answer in one of ``types``; its media type."""
    assert 200 <= response.status_code < 400, f"HTTP {response.status_code}: {response.text[:300]}"
    assert media_type(response) in types, f"{media_type(response)} is not one of {types}"
    return media_type(response)


def client_error(response: requests.Response) -> None:
    """A 4xx answer that says why (a short text, never a stack trace)."""
    assert 400 <= response.status_code < 500, f"expected a 4xx, got {response.status_code}: {response.text[:300]}"
    assert response.text.strip() and "Traceback" not in response.text


def boolean(response: requests.Response) -> bool:
    answer = parse_results(response.content, RESULTS_TYPES[success(response, BOOLEAN_TYPES)])
    assert isinstance(answer, bool)
    return answer


def table(response: requests.Response) -> Table:
    answer = parse_results(response.content, RESULTS_TYPES[success(response, tuple(RESULTS_TYPES))])
    assert isinstance(answer, Table)
    return answer


def column(answer: Table, name: str) -> set[str]:
    return {row[name][1] for row in answer.rows if name in row}


def update_refused(response: requests.Response) -> None:
    """An update the suite expects to succeed: the read-only endpoint's 403 is the expected failure."""
    if response.status_code == 403:
        raise UpdateRefused(response)
    raise AssertionError(f"the read-only endpoint answered an update with {response.status_code}: {response.text}")


# Queries -----------------------------------------------------------------------------------------


@exchange("query_get")
def query_get(endpoint: str) -> None:
    assert boolean(send(endpoint, "GET", [("query", "ASK {}")])) is True


@exchange("query_post_form")
def query_post_form(endpoint: str) -> None:
    assert boolean(send(endpoint, "POST", None, FORM, form(("query", "ASK {}")))) is True


@exchange("query_post_direct")
def query_post_direct(endpoint: str) -> None:
    assert boolean(send(endpoint, "POST", None, DIRECT, b"ASK {}")) is True


@exchange("query_dataset_default_graphs_get")
def query_dataset_default_graphs_get(endpoint: str) -> None:
    """One protocol default graph: it is the whole default graph."""
    params = [("default-graph-uri", D1)]
    assert boolean(send(endpoint, "GET", [("query", f"ASK {{ <{D1}> ?p ?o }}"), *params])) is True
    assert boolean(send(endpoint, "GET", [("query", f"ASK {{ <{D2}> ?p ?o }}"), *params])) is False


@exchange("query_dataset_default_graphs_post")
def query_dataset_default_graphs_post(endpoint: str) -> None:
    """Two protocol default graphs (in the URL of a direct POST): the default graph is their merge."""
    params = [("default-graph-uri", D1), ("default-graph-uri", D2)]
    query = f"ASK {{ <{D1}> a <{DOCUMENT}> . <{D2}> a <{DOCUMENT}> }}"
    assert boolean(send(endpoint, "POST", params, DIRECT, query.encode())) is True


NAMED_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"


@exchange("query_dataset_named_graphs_post")
def query_dataset_named_graphs_post(endpoint: str) -> None:
    body = form(("query", NAMED_GRAPHS), ("named-graph-uri", D1), ("named-graph-uri", D2))
    assert column(table(send(endpoint, "POST", None, FORM, body)), "g") == {D1, D2}


@exchange("query_dataset_named_graphs_get")
def query_dataset_named_graphs_get(endpoint: str) -> None:
    params = [("query", NAMED_GRAPHS), ("named-graph-uri", D1), ("named-graph-uri", D2)]
    assert column(table(send(endpoint, "GET", params)), "g") == {D1, D2}


@exchange("query_dataset_full")
def query_dataset_full(endpoint: str) -> None:
    """Default and named graphs together: the thing is in the default graph, the documents in named ones."""
    query = f"SELECT DISTINCT ?x ?g WHERE {{ ?x a ?type . GRAPH ?g {{ ?doc a <{DOCUMENT}> }} }}"
    params = [("default-graph-uri", D3), ("named-graph-uri", D1), ("named-graph-uri", D2)]
    answer = table(send(endpoint, "POST", params, DIRECT, query.encode()))
    assert {(row["x"][1], row["g"][1]) for row in answer.rows if row["x"][1] == THING} == {(THING, D1), (THING, D2)}
    assert column(answer, "g") == {D1, D2}


@exchange("query_multiple_dataset")
def query_multiple_dataset(endpoint: str) -> None:
    """FROM in the query and a protocol dataset: the protocol's is used (§2.1.4)."""
    query = f"ASK FROM <{D1}> {{ <{D2}> ?p ?o }}"
    assert boolean(send(endpoint, "POST", [("default-graph-uri", D2)], DIRECT, query.encode())) is True
    assert boolean(send(endpoint, "POST", None, DIRECT, query.encode())) is False  # without it, FROM rules


@exchange("query_content_type_select")
def query_content_type_select(endpoint: str) -> None:
    answer = table(send(endpoint, "POST", None, DIRECT, b"SELECT (1 AS ?value) {}"))
    assert column(answer, "value") == {"1"}


@exchange("query_content_type_ask")
def query_content_type_ask(endpoint: str) -> None:
    assert boolean(send(endpoint, "POST", None, DIRECT, b"ASK {}")) is True


def graph_answer(response: requests.Response) -> Graph:
    fmt = success(response, tuple(GRAPH_TYPES))
    return Graph().parse(data=response.content, format=GRAPH_TYPES[fmt])


@exchange("query_content_type_describe")
def query_content_type_describe(endpoint: str) -> None:
    response = send(endpoint, "POST", [("default-graph-uri", D1)], DIRECT, f"DESCRIBE <{D1}>".encode())
    assert (URIRef(D1), None, URIRef(DOCUMENT)) in graph_answer(response)


@exchange("query_content_type_construct")
def query_content_type_construct(endpoint: str) -> None:
    """Relative IRIs resolve against the service's base IRI, which here is the endpoint's URL."""
    query = b"CONSTRUCT { <s> <p> 1 } WHERE {}"
    graph = graph_answer(send(endpoint, "POST", None, DIRECT, query))
    base = endpoint.rsplit("/", 1)[0] + "/"
    assert {(str(s), str(p), str(o)) for s, p, o in graph} == {(base + "s", base + "p", "1")}


# Refused queries: a 4xx --------------------------------------------------------------------------


@exchange("bad_query_method")
def bad_query_method(endpoint: str) -> None:
    client_error(send(endpoint, "PUT", [("query", "ASK {}")]))


@exchange("bad_multiple_queries")
def bad_multiple_queries(endpoint: str) -> None:
    client_error(send(endpoint, "GET", [("query", "ASK {}"), ("query", "SELECT * {}")]))


@exchange("bad_query_wrong_media_type")
def bad_query_wrong_media_type(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, "text/plain", b"ASK {}"))


@exchange("bad_query_missing_form_type")
def bad_query_missing_form_type(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, None, form(("query", "ASK {}"))))


@exchange("bad_query_missing_direct_type")
def bad_query_missing_direct_type(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, None, b"ASK {}"))


@exchange("bad_query_non_utf8")
def bad_query_non_utf8(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, DIRECT + "; charset=UTF-16", "ASK {}".encode("utf-16")))


@exchange("bad_query_syntax")
def bad_query_syntax(endpoint: str) -> None:
    client_error(send(endpoint, "GET", [("query", "ASK {")]))


# Updates: the negative tests pass (any update is refused); the positive ones are expected failures ----


@exchange("bad_update_get")
def bad_update_get(endpoint: str) -> None:
    client_error(send(endpoint, "GET", [("update", "CLEAR ALL")]))


@exchange("bad_multiple_updates")
def bad_multiple_updates(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, FORM, form(("update", "CLEAR NAMED"), ("update", "CLEAR DEFAULT"))))


@exchange("bad_update_wrong_media_type")
def bad_update_wrong_media_type(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, "text/plain", b"CLEAR NAMED"))


@exchange("bad_update_missing_form_type")
def bad_update_missing_form_type(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, None, form(("update", "CLEAR NAMED"))))


@exchange("bad_update_non_utf8")
def bad_update_non_utf8(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, UPDATE + "; charset=UTF-16", "CLEAR NAMED".encode("utf-16")))


@exchange("bad_update_syntax")
def bad_update_syntax(endpoint: str) -> None:
    client_error(send(endpoint, "POST", None, FORM, form(("update", "CLEAR XYZ"))))


@exchange("bad_update_dataset_conflict")
def bad_update_dataset_conflict(endpoint: str) -> None:
    """using-named-graph-uri and a WITH clause together (SPARQL 1.1 Protocol §2.2.3)."""
    update = f'WITH <{D1}> DELETE {{ ?doc <{DOCUMENT}> "x" }} WHERE {{ ?doc a <{DOCUMENT}> }}'
    client_error(send(endpoint, "POST", None, FORM, form(("using-named-graph-uri", D2), ("update", update))))


INSERT = f'INSERT {{ GRAPH <{D0}> {{ ?doc <{DOCUMENT}> "seen" }} }} WHERE {{ ?doc a <{DOCUMENT}> }}'


@exchange("update_dataset_default_graph")
def update_dataset_default_graph(endpoint: str) -> None:
    update_refused(send(endpoint, "POST", [("using-graph-uri", D1)], UPDATE, INSERT.encode()))


@exchange("update_dataset_default_graphs")
def update_dataset_default_graphs(endpoint: str) -> None:
    update_refused(send(endpoint, "POST", [("using-graph-uri", D1), ("using-graph-uri", D2)], UPDATE, INSERT.encode()))


@exchange("update_dataset_named_graphs")
def update_dataset_named_graphs(endpoint: str) -> None:
    update = f'INSERT {{ GRAPH <{D0}> {{ ?g <{DOCUMENT}> "seen" }} }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}'
    params = [("using-named-graph-uri", D1), ("using-named-graph-uri", D2)]
    update_refused(send(endpoint, "POST", params, UPDATE, update.encode()))


@exchange("update_dataset_full")
def update_dataset_full(endpoint: str) -> None:
    params = [("using-graph-uri", D3), ("using-named-graph-uri", D1), ("using-named-graph-uri", D2)]
    update_refused(send(endpoint, "POST", params, UPDATE, INSERT.encode()))


@exchange("update_post_form")
def update_post_form(endpoint: str) -> None:
    update_refused(send(endpoint, "POST", None, FORM, form(("update", f"CLEAR GRAPH <{D0}>"))))


@exchange("update_post_direct")
def update_post_direct(endpoint: str) -> None:
    update_refused(send(endpoint, "POST", None, UPDATE, f"CLEAR GRAPH <{D0}>".encode()))


@exchange("update_base_uri")
def update_base_uri(endpoint: str) -> None:
    update = f"INSERT DATA {{ GRAPH <{D0}> {{ <{D0}> <{DOCUMENT}> <relative> }} }}"
    update_refused(send(endpoint, "POST", None, UPDATE, update.encode()))


# The tests -----------------------------------------------------------------------------------------

READ_ONLY_MARK = pytest.mark.xfail(reason=READ_ONLY.reason, raises=READ_ONLY.raises, strict=True)


def _params() -> list[object]:
    return [
        pytest.param(
            test.name, id=f"protocol/{test.name}", marks=[READ_ONLY_MARK] if _positive_update(test.name) else []
        )
        for test in load_suite("protocol")
    ]


def _positive_update(name: str) -> bool:
    return name.startswith("update_")


@pytest.mark.parametrize("name", params_or_missing(_params))
def test_protocol(w3c_endpoint: str, name: str) -> None:
    assert name in EXCHANGES, f"protocol test {name} has no exchange"
    EXCHANGES[name](w3c_endpoint)


def test_every_exchange_is_a_manifest_test() -> None:
    assert set(EXCHANGES) == {test.name for test in load_suite("protocol")}


def test_updates_changed_nothing(w3c_endpoint: str) -> None:
    """After every refused update above, the protocol graphs hold what they held."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    params = [("query", query), *(("named-graph-uri", g) for g in DATA)]
    assert column(table(send(w3c_endpoint, "GET", params)), "n") == {str(2 * len(DATA) + 1)}
