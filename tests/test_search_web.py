"""``/search`` over HTTP with Flask's test client: the page and JSON, the type filter and its counts, pages,
the 400s, the search box on every page, a search that follows a publish (and never mixes two releases), and
a draft's preview searching the draft."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from markupsafe import escape

from ceopgraph import search
from ceopgraph.config import Settings
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.releases.service import OPERATOR
from ceopgraph.validation.service import Submission
from ceopgraph.web import services as services_module
from ceopgraph.web.services import of

from .apps import embedded_app, release_app
from .releasing import changed, local_releases

JSON = {"Accept": "application/json"}
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
NEW_LABEL = (b'rdfs:label "Peter Davies"@en ;', b'rdfs:label "Peter Zanzibarquux Davies"@en ;')


@pytest.fixture(scope="module")
def app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    """The embedded default: no data directory, the built dataset indexed in memory."""
    with embedded_app(settings, built_dist) as made:
        yield made


def test_the_page_lists_results_with_marked_snippets(app: Flask) -> None:
    answer = app.test_client().get("/search?q=live+streaming")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "Proliferation of indecent images of children" in page
    assert "<mark>live</mark> <mark>streaming</mark>" in page
    assert '/def/threat-area/indecent-images"' in page
    assert answer.headers["Vary"] == "Accept"


def test_json_has_iri_label_types_snippet_score_and_facets(app: Flask) -> None:
    answer = app.test_client().get("/search?q=NCA", headers=JSON)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    found = answer.get_json()
    assert found["total"] >= 3 and found["pageSize"] == search.PAGE_SIZE and found["page"] == 1
    first = found["results"][0]
    assert first["label"] == "National Crime Agency"
    assert first["iri"].endswith("/id/organisation/nca")
    assert set(first) == {"iri", "label", "page", "types", "snippet", "score"}
    assert sum(f["count"] for f in found["facets"]) >= found["total"]
    assert found["next"] is None and found["previous"] is None


def test_the_type_filter_keeps_one_type_and_counts_every_one(app: Flask) -> None:
    client = app.test_client()
    every = client.get("/search?q=children", headers=JSON).get_json()
    counts = {f["type"]: f["count"] for f in every["facets"]}
    kept = client.get("/search", query_string={"q": "children", "type": SKOS_CONCEPT}, headers=JSON).get_json()
    assert kept["total"] == counts[SKOS_CONCEPT] < every["total"]
    assert all(SKOS_CONCEPT in r["types"] for r in kept["results"])
    page = client.get("/search?q=children").get_data(as_text=True)
    assert "By type" in page and "Concept</a> (" in page


def test_pages_link_to_each_other(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/search?q=a", headers=JSON).get_json()  # a prefix: most of the data
    assert first["total"] > search.PAGE_SIZE and len(first["results"]) == search.PAGE_SIZE
    assert first["previous"] is None and first["next"] is not None
    assert parse_qs(urlsplit(first["next"]).query) == {"q": ["a"], "page": ["2"]}
    second = client.get(first["next"], headers=JSON).get_json()
    assert second["page"] == 2 and second["previous"] == "/search?q=a"
    assert not {r["iri"] for r in first["results"]} & {r["iri"] for r in second["results"]}
    page = client.get(first["next"]).get_data(as_text=True)
    assert 'rel="prev"' in page and 'start="21"' in page


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"q": "x" * 201}, "at most 200"),
        ({"q": " ".join("abcdefghijk")}, "at most 10"),
        ({"q": "crime", "page": "0"}, "page must be"),
        ({"q": "crime", "page": "x"}, "page must be"),
        ({"q": "crime", "page": "99999999999999999999"}, "page must be"),
    ],
)
def test_bad_parameters_are_a_400_that_says_why(app: Flask, params: dict[str, str], says: str) -> None:
    client = app.test_client()
    as_json = client.get("/search", query_string=params, headers=JSON)
    assert as_json.status_code == 400 and says in as_json.get_json()["error"]
    as_page = client.get("/search", query_string=params)
    assert as_page.status_code == 400 and says in as_page.get_data(as_text=True)
    assert "Traceback" not in as_page.get_data(as_text=True)


@pytest.mark.parametrize("text", ['crime" OR "x', "NEAR(a b)", "names:crime", "a & !b <-> c:*", "{names}: x", "'"])
def test_operators_are_searched_as_words(app: Flask, text: str) -> None:
    answer = app.test_client().get("/search", query_string={"q": text}, headers=JSON)
    assert answer.status_code == 200
    assert answer.get_json()["words"] == search.words(text)


def test_the_query_is_escaped_on_the_page(app: Flask) -> None:
    page = app.test_client().get("/search", query_string={"q": '"><script>x</script>'}).get_data(as_text=True)
    assert "<script>x" not in page and str(escape('"><script>x</script>')) in page


def test_every_page_has_a_search_box(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/sparql", "/validate", "/search", "/doc/organisation/nca"):
        page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        form = re.search(r'<form class="site-search" role="search"[^>]*action="/search">(.*?)</form>', page, re.S)
        assert form is not None, path
        assert '<label for="site-search-q">' in form.group(1) and 'id="site-search-q"' in form.group(1)


# Releases ---------------------------------------------------------------------------------------------


def test_a_search_follows_the_release_a_worker_serves(tmp_path: Path, settings: Settings, built_dist: Path) -> None:
    """Publish a release with a new label: the worker's searches find it once it serves that release, not
    before (its index is already in the registry), and every answer is one release's rows."""
    data_dir = tmp_path / "data"
    releases = local_releases(data_dir)
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with release_app(settings, built_dist, data_dir) as made:
        client = made.test_client()
        store = of(made).store
        assert isinstance(store, ReleaseStore)
        before = client.get("/search?q=Peter+Davies", headers=JSON).get_json()
        assert before["release"] == 1 and before["results"][0]["label"] == "Peter Davies"
        assert client.get("/search?q=zanzibarquux", headers=JSON).get_json()["total"] == 0

        trig = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
        assert NEW_LABEL[0] in trig
        draft = releases.create_draft(OPERATOR, Submission(changed(trig, NEW_LABEL), "trig", "draft.trig"))
        assert releases.publish(OPERATOR, draft.id, None).n == 2
        assert releases.registry.search_indexed(2)  # made by the publish, with the release
        # Not yet served here: the worker still answers from release 1's rows alone.
        assert client.get("/search?q=zanzibarquux", headers=JSON).get_json()["total"] == 0

        assert store.refresh()
        after = client.get("/search?q=zanzibarquux", headers=JSON).get_json()
        assert after["release"] == 2 and [r["label"] for r in after["results"]] == ["Peter Zanzibarquux Davies"]
        both = client.get("/search?q=Peter+Davies", headers=JSON).get_json()
        assert both["release"] == 2 and both["total"] == before["total"]
        iris = [r["iri"] for r in both["results"]]
        assert len(iris) == len(set(iris))  # release 1's rows are still there, and never in the answer
        assert "Peter Davies" not in [r["label"] for r in both["results"]]


def test_a_draft_preview_searches_the_draft(tmp_path: Path, settings: Settings, built_dist: Path) -> None:
    data_dir = tmp_path / "data"
    releases = local_releases(data_dir)
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    trig = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
    draft = releases.create_draft(OPERATOR, Submission(changed(trig, NEW_LABEL), "trig", "draft.trig"))
    _, secret = releases.tokens.create("publisher", "pat")
    bearer = {"Authorization": f"Bearer {secret}"}
    with embedded_app(settings, built_dist, data_dir=data_dir) as made:
        client = made.test_client()
        view = client.get(f"/drafts/{draft.id}/view/search?q=zanzibarquux", headers={**bearer, **JSON})
        assert view.status_code == 200, view.data
        found = view.get_json()
        assert [r["label"] for r in found["results"]] == ["Peter Zanzibarquux Davies"]
        assert found["results"][0]["page"].startswith(f"/drafts/{draft.id}/view/")
        assert "no-store" in view.headers["Cache-Control"]
        page = client.get(f"/drafts/{draft.id}/view/search?q=zanzibarquux", headers=bearer).get_data(as_text=True)
        assert f'action="/drafts/{draft.id}/view/search"' in page  # the header's box searches the draft too
        assert client.get("/search?q=zanzibarquux", headers=JSON).get_json()["total"] == 0  # not published
        assert client.get(f"/drafts/{draft.id}/view/search?q=x").status_code in (401, 403)  # signed out


def test_a_release_without_an_index_is_indexed_when_a_worker_loads_it(
    tmp_path: Path, settings: Settings, built_dist: Path
) -> None:
    """A registry imported, or made before search, has releases with no index: the follower makes it
    before it serves the release, so the first search finds it."""
    data_dir = tmp_path / "data"
    releases = local_releases(data_dir)
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with releases.registry.transaction() as tx:
        tx.keep_search(set())
    assert not releases.registry.search_indexed(1)
    with release_app(settings, built_dist, data_dir) as made:
        assert releases.registry.search_indexed(1)
        found = made.test_client().get("/search?q=NCA", headers=JSON).get_json()
        assert found["release"] == 1 and found["results"][0]["label"] == "National Crime Agency"


def test_requests_at_once_for_data_without_an_index_make_it_once(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A draft's (or the served data's) in-memory index is made in the request: eight requests at once for the
    same data made it eight times; now one makes it and the others wait for it."""
    made: list[int] = []
    original = services_module.documents_of

    def counted(store: Any) -> list[search.Document]:
        made.append(1)
        time.sleep(0.2)  # long enough for every request to arrive while it is being made
        return original(store)

    monkeypatch.setattr(services_module, "documents_of", counted)
    indexes = services_module.MemoryIndexes()
    store = of(app).store
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: indexes.of(store), range(8)))
    assert len(made) == 1 and all(index is found[0] for index in found)
