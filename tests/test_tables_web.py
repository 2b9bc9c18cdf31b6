"""A cube's table on the web: the CSV and its CSVW metadata by extension and by ``Accept``, found by the
CSVW rules, and nothing of the kind for what is not a cube."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from ceopgraph import tables
from ceopgraph.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
BASE = load_settings(environ={}, root=ROOT).base_uri
CUBE = "/data/annual-review-2012-13"
CSV = CUBE + ".csv"
METADATA = CSV + "-metadata.json"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def expected(union: Graph) -> tables.CubeTable:
    (dataset,) = tables.datasets(union)
    return tables.cube_table(union, dataset)


@pytest.mark.parametrize(
    ("path", "accept", "media_type", "location"),
    [
        (CSV, None, "text/csv", None),
        (CSV, "text/html", "text/csv", None),
        (CUBE, "text/csv", "text/csv", CSV),
        (CUBE, "text/html;q=0.5, text/csv", "text/csv", CSV),
        (METADATA, None, "application/csvm+json", None),
        (CUBE, "application/csvm+json", "application/csvm+json", METADATA),
    ],
)
def test_the_table_by_extension_and_by_accept(
    client: FlaskClient,
    expected: tables.CubeTable,
    path: str,
    accept: str | None,
    media_type: str,
    location: str | None,
) -> None:
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers.get("Content-Location") == location
    if media_type == "text/csv":
        assert response.data == expected.csv()
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    else:
        assert json.loads(response.data) == expected.metadata()
    assert ("Accept" in response.vary) == (path == CUBE)


def test_the_csv_names_its_metadata_as_csvw_finds_it(client: FlaskClient) -> None:
    """CSVW "Model for Tabular Data" 5.2 and 5.3: a describedby Link, and ``{csv}-metadata.json``; the
    metadata's ``url`` names the CSV back (5.1: metadata that does not is ignored)."""
    response = client.get(CSV)
    link = response.headers["Link"]
    assert link == f'<{METADATA}>; rel="describedby"; type="application/csvm+json"'
    metadata = client.get(METADATA)
    assert metadata.status_code == 200
    assert urljoin("http://localhost" + METADATA, metadata.json["url"]) == "http://localhost" + CSV  # type: ignore[index]


def test_the_csv_is_a_tidy_table_a_spreadsheet_opens(client: FlaskClient, union: Graph) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get(CSV).data.decode("utf-8"))))
    assert len(rows) == 8
    assert rows[0]["statistic"] and rows[0]["observation IRI"].startswith("https://")


def test_a_conditional_request_for_the_csv_is_answered_304(client: FlaskClient) -> None:
    first = client.get(CSV)
    assert first.headers["ETag"]
    again = client.get(CSV, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("path", "cube_path"),
    [
        ("/doc/organisation/ceop.csv", CSV),
        ("/doc/organisation/ceop.csv-metadata.json", METADATA),
        ("/def/statistic/children-safeguarded.csv", CSV),
        ("/data/no-such-cube.csv", CSV),
        ("/data/.csv-metadata.json", METADATA),
    ],
)
def test_only_a_cube_has_a_table(client: FlaskClient, path: str, cube_path: str) -> None:
    assert client.get(cube_path).status_code == 200
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("path", "accept", "status", "media_type"),
    [
        ("/doc/organisation/ceop", "text/csv", 406, None),
        ("/doc/organisation/ceop", "text/csv, text/turtle;q=0.5", 200, "text/turtle"),
        (CUBE, "text/csv, text/turtle;q=0.5", 200, "text/csv"),
        (CUBE, "text/turtle, text/csv;q=0.5", 200, "text/turtle"),
        (CUBE, "text/*", 200, "text/html"),
        (CUBE, "*/*", 200, "text/html"),
        (CUBE, None, 200, "text/html"),
    ],
)
def test_csv_is_offered_by_cubes_only_and_never_before_what_the_client_prefers(
    client: FlaskClient, path: str, accept: str | None, status: int, media_type: str | None
) -> None:
    """Each case beside the one that only the table answers: the cube's document in CSV, by ``Accept``."""
    assert client.get(CUBE, headers={"Accept": "text/csv"}).mimetype == "text/csv"
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == status
    if media_type is not None:
        assert response.mimetype == media_type


@pytest.mark.parametrize(("page", "button"), [("/", "figures-csv"), (CUBE, "table-csv")])
def test_a_download_button_where_people_look(client: FlaskClient, page: str, button: str) -> None:
    html = client.get(page, headers={"Accept": "text/html"}).data.decode("utf-8")
    found = re.search(rf'<a class="button" id="{button}" href="([^"]+)" type="text/csv" download>', html)
    assert found is not None
    assert found.group(1) == CSV
    assert f'href="{METADATA}"' in html
    assert client.get(found.group(1)).mimetype == "text/csv"


@pytest.mark.parametrize("page", ["/doc/organisation/ceop", "/def/statistic/children-safeguarded"])
def test_no_table_button_on_what_is_not_a_cube(client: FlaskClient, page: str) -> None:
    assert 'id="table-csv"' in client.get(CUBE, headers={"Accept": "text/html"}).data.decode("utf-8")
    assert "table-download" not in client.get(page, headers={"Accept": "text/html"}).data.decode("utf-8")


@pytest.mark.parametrize("path", ["/.well-known/void", "/.well-known/void?format=ttl"])
def test_the_dataset_description_lists_the_csv_as_a_dcat_distribution(client: FlaskClient, path: str) -> None:
    graph = Graph().parse(data=client.get(path, headers={"Accept": "text/turtle"}).data, format="turtle")
    cube = URIRef(BASE + CUBE[1:])
    (distribution,) = graph.objects(cube, DCAT.distribution)
    url = URIRef(BASE + CSV[1:])
    assert set(graph.predicate_objects(distribution)) >= {
        (RDF.type, DCAT.Distribution),
        (DCAT.downloadURL, url),
        (DCAT.mediaType, URIRef("http://www.iana.org/assignments/media-types/text/csv")),
        (DCTERMS.conformsTo, URIRef("http://www.w3.org/TR/tabular-data-model/")),
    }
    assert client.get("/" + str(url)[len(BASE) :]).mimetype == "text/csv"
