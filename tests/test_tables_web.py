"""A cube's table on the web: the CSV and its CSVW metadata by extension and by ``Accept``, found by the
CSVW rules, and nothing of the kind for what is not a cube. Each test runs on the served dumps' files and on
the table built for the request (data served without its tables, as a draft's preview is), which must agree."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from ceopgraph import tables
from ceopgraph.config import Settings, load_settings

from .apps import embedded_app

ROOT = Path(__file__).resolve().parents[1]
BASE = load_settings(environ={}, root=ROOT).base_uri
CUBE = "/data/annual-review-2012-13"
CSV = CUBE + ".csv"
METADATA = CSV + "-metadata.json"


@pytest.fixture(scope="module")
def built_per_request(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path
) -> Iterator[Flask]:
    """An app over the built dataset whose dumps folder holds no table files: its tables are built per request."""
    dist = tmp_path_factory.mktemp("without-tables")
    for dump in built_dist.glob("ceopgraph.*"):
        shutil.copy(dump, dist / dump.name)
    with embedded_app(settings, dist) as made:
        yield made


@pytest.fixture(params=["served-file", "built-per-request"])
def client(request: pytest.FixtureRequest) -> FlaskClient:
    found: Flask = request.getfixturevalue("app" if request.param == "served-file" else "built_per_request")
    return found.test_client()


def test_the_built_dumps_hold_each_cubes_table(built_dist: Path, expected: tables.CubeTable) -> None:
    assert (built_dist / expected.file_name).read_bytes() == expected.csv()
    assert (built_dist / expected.metadata_name).read_bytes() == expected.metadata_json()


@pytest.mark.parametrize(("name", "media_type"), [(CSV, "text/csv"), (METADATA, "application/csvm+json")])
def test_the_tables_download_beside_the_dumps(app: Flask, built_dist: Path, name: str, media_type: str) -> None:
    file_name = name.rpartition("/")[2]
    with app.test_client().get(f"/dumps/{file_name}") as served:
        assert served.status_code == 200 and served.mimetype == media_type
        assert served.data == (built_dist / file_name).read_bytes()
        if media_type == "text/csv":
            assert (
                served.headers["Link"]
                == f'<{file_name}-metadata.json>; rel="describedby"; type="application/csvm+json"'
            )


def test_a_table_too_large_to_build_for_a_request_says_so(
    built_per_request: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served release's tables are files whatever their size; one built per request (a draft's preview)
    is refused past ``MAX_BUILT_ROWS`` rows, with the count and where the published tables are."""
    monkeypatch.setattr(tables, "MAX_BUILT_ROWS", 7)
    answer = built_per_request.test_client().get(CSV, headers={"Accept": "text/plain"})
    assert answer.status_code == 422
    assert "has 8 rows, more than the 7 built for one request" in answer.get_data(as_text=True)
    monkeypatch.setattr(tables, "MAX_BUILT_ROWS", 8)
    assert built_per_request.test_client().get(CSV).status_code == 200


@pytest.mark.parametrize("path", [CUBE, CUBE + ".ttl", CUBE + ".html"])
def test_a_cubes_other_answers_link_to_its_table(client: FlaskClient, path: str) -> None:
    link = client.get(path).headers["Link"]
    assert f'<{CSV}>; rel="alternate"; type="text/csv"' in link
    assert f'<{METADATA}>; rel="alternate"; type="application/csvm+json"' in link
    assert "text/csv" not in client.get("/doc/organisation/ceop").headers["Link"]


@pytest.mark.parametrize("path", [CUBE, "/data/ceopgraph"])
def test_the_cube_and_the_dataset_name_the_csv_distribution_which_dereferences(client: FlaskClient, path: str) -> None:
    graph = Graph().parse(data=client.get(path, headers={"Accept": "text/turtle"}).data, format="turtle")
    (distribution,) = graph.objects(URIRef(BASE + CUBE[1:]), DCAT.distribution)
    assert (distribution, DCAT.downloadURL, URIRef(BASE + CSV[1:])) in graph
    answer = client.get("/" + str(distribution)[len(BASE) :], headers={"Accept": "text/turtle"})
    assert answer.status_code == 200
    itself = Graph().parse(data=answer.data, format="turtle")
    assert set(itself.predicate_objects(distribution)) == set(graph.predicate_objects(distribution))
    assert client.get("/data/ceopgraph/distribution/table/no-such-cube").status_code == 404


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
