"""One live server for the whole W3C suite: every data file of the query tests, each its own named graph.

``serve --data`` names the graph of a Turtle, N-Triples or RDF/XML file after the file's IRI, which is also
the IRI the manifests give it. So the dataset a test describes (``qt:data`` merged into the default graph,
``qt:graphData`` as named graphs) is sent as the protocol's ``default-graph-uri``/``named-graph-uri``, and
one server answers every test: no server per dataset, and the store's own union default graph is never
what a test sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..live import LiveServer, running_server
from .manifest import QUERY_SUITES, data_files, load_suite, require_suite
from .protocol_data import write_protocol_data
from .queries import facts


def _served_files() -> list[Path]:
    files = set(data_files(QUERY_SUITES))
    for suite in QUERY_SUITES:
        for test in load_suite(suite):
            if test.query is not None and test.query.suffix == ".rq":
                files.update(facts(test.query).from_files)  # graphs a query names with FROM
    return sorted(files)


@pytest.fixture(scope="session")
def w3c_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_suite()  # SuiteMissing: run `make w3c-suite`
    folder = tmp_path_factory.mktemp("w3c")
    protocol = write_protocol_data(folder / "protocol.nq")
    data = [str(path) for path in _served_files()] + [str(protocol)]
    with running_server(["--data", *data, "--workers", "1"], folder / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def w3c_endpoint(w3c_server: LiveServer) -> str:
    return w3c_server.url + "sparql"
