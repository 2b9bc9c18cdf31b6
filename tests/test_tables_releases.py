"""Every release's dumps hold each cube's CSV and its CSVW metadata, with their hashes, listed where the
releases are (``/releases``, a release's page, the releases' DCAT), served as CSVW finds them; the six RDF
dumps stay what they were."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS

from ceopgraph import tables
from ceopgraph.config import Settings
from ceopgraph.conneg import RDF_FORMATS
from ceopgraph.namespaces import OGL_V3
from ceopgraph.releases import drafting
from ceopgraph.releases.content import Version
from ceopgraph.urischeme import DUMP_STEM
from ceopgraph.web.services import of

from .apps import embedded_app
from .releasing import local_releases

CSV = "annual-review-2012-13.csv"
METADATA = CSV + "-metadata.json"
RDF_DUMPS = {f"{DUMP_STEM}.{f.extension}" for f in RDF_FORMATS}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    data_dir = tmp_path_factory.mktemp("releases") / "data"
    assert local_releases(data_dir).ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with embedded_app(settings, built_dist, data_dir=data_dir) as made:
        yield made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _recorded(app: Flask) -> dict[str, str]:
    releases = of(app).releases
    assert releases is not None
    release = releases.registry.release(1)
    assert release is not None
    return release.dumps


def test_a_release_records_its_tables_beside_the_six_dumps(app: Flask, built_dist: Path) -> None:
    """The same files as the build writes: release 1 is the built dataset."""
    assert set(_recorded(app)) == RDF_DUMPS | {CSV, METADATA}
    for name in (CSV, METADATA):
        assert hashlib.sha256((built_dist / name).read_bytes()).hexdigest() == _recorded(app)[name]


@pytest.mark.parametrize(
    ("name", "media_type"),
    [(CSV, "text/csv"), (METADATA, "application/csvm+json")],
)
def test_each_file_is_served_as_recorded(
    app: Flask, client: FlaskClient, union: Graph, name: str, media_type: str
) -> None:
    with client.get(f"/releases/1/dumps/{name}") as served:  # a file answer: closed once read
        assert served.status_code == 200 and served.mimetype == media_type
        body, link = served.data, served.headers.get("Link")
    assert hashlib.sha256(body).hexdigest() == _recorded(app)[name]
    listed = client.get("/releases", headers={"Accept": "application/json"}).get_json()
    (first,) = [r for r in listed["releases"] if r["release"] == 1]
    assert first["dumps"][name]["sha256"] == _recorded(app)[name]
    assert f"/releases/1/dumps/{name}" in client.get("/releases/1").data.decode("utf-8")
    if name == CSV:
        (dataset,) = tables.datasets(union)
        assert body == tables.cube_table(union, dataset).csv()
        assert link == f'<{METADATA}>; rel="describedby"; type="application/csvm+json"'


def test_the_releases_dcat_lists_the_table_with_its_media_type(client: FlaskClient, settings: Settings) -> None:
    graph = Graph().parse(data=client.get("/releases", headers={"Accept": "text/turtle"}).data, format="turtle")
    scheme = settings.scheme
    url = scheme.release_dump(1, CSV)
    (distribution,) = graph.subjects(DCAT.downloadURL, url)
    assert (scheme.release(1), DCAT.distribution, distribution) in graph
    assert (distribution, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/text/csv")) in graph
    names = {str(d) for d in graph.objects(scheme.release(1), DCAT.distribution)}
    assert len(names) == len(RDF_DUMPS) + 2  # one distribution per file, none named twice
    assert (distribution, DCAT.accessURL, url) in graph  # DCAT-AP's mandatory one: the file itself
    assert (distribution, DCTERMS.license, OGL_V3) in graph


def test_the_tables_change_nothing_in_the_six_dumps(
    built_dist: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    releases = local_releases(built_dist.parent / "unused")
    content = releases._built_content(built_dist / "ceopgraph.trig")[0]
    version = Version(1, "2026-01-01T00:00:00Z", None)
    with_tables = drafting.render(content, settings.scheme, version)
    monkeypatch.setattr(tables, "table_files", lambda graph: {})
    without = drafting.render(content, settings.scheme, version)
    assert set(with_tables) == set(without) | {CSV, METADATA}
    assert {name: with_tables[name] for name in without} == without


def test_the_releases_page_names_the_table_files(client: FlaskClient) -> None:
    html = client.get("/releases").data.decode("utf-8")
    links = re.findall(r'href="/releases/1/dumps/([^"]+)">([^<]+)</a>', html)
    assert (CSV, "CSV") in links and (METADATA, "CSVW") in links
    assert ("ceopgraph.jsonld", "jsonld") in links
