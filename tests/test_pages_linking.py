"""``/link``, "Link your data to ours": computed from the scheme and the store, every example live (its link
resolves, its query runs, its table's columns are the CSV's), linked from the home page and the header."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ceopgraph.config import Settings
from ceopgraph.web.pages import linking

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RESULTS = "application/sparql-results+json"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def page(client: FlaskClient) -> str:
    answer = client.get("/link", headers={"Accept": BROWSER})
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    return answer.get_data(as_text=True)


def _hrefs(page: str, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(' + pattern + r'[^"]*)"', page)]


def test_the_page_gives_every_uri_space_with_an_example_that_resolves(
    client: FlaskClient, page: str, settings: Settings
) -> None:
    for pattern, what in settings.scheme.spaces:
        assert f"<code>{pattern}…</code>" in page and html.escape(what) in page
    table = page[page.index('id="uri-spaces"') : page.index("</table>", page.index('id="uri-spaces"'))]
    examples = _hrefs(table, "/")
    assert len(examples) == len(settings.scheme.spaces)
    for href in examples:
        assert client.get(href, headers={"Accept": BROWSER}).status_code == 200, href


def test_the_reconciliation_service_and_the_openrefine_steps(page: str, settings: Settings) -> None:
    assert f'<code id="reconcile-url">{settings.scheme.base}reconcile</code>' in page
    steps = page[page.index('id="reconcile-steps"') : page.index("</ol>", page.index('id="reconcile-steps"'))]
    text = html.unescape(re.sub(r"<[^>]+>", "", steps))
    assert [
        text.index(s) for s in ("Reconcile → Start reconciling", "Add standard service", "Paste the URL")
    ] == sorted(text.index(s) for s in ("Reconcile → Start reconciling", "Add standard service", "Paste the URL"))


def test_each_example_query_opens_the_editor_and_finds_something(client: FlaskClient, page: str) -> None:
    links = _hrefs(page, "/sparql\\?")
    assert len(links) >= 3
    for href in links:
        (query,) = parse_qs(urlsplit(href).query)["query"]
        assert query in html.unescape(page)  # the text shown is the query linked
        editor = client.get(href, headers={"Accept": BROWSER})
        assert editor.status_code == 200 and editor.mimetype == "text/html", href
        answer = client.get(href, headers={"Accept": RESULTS})
        assert answer.status_code == 200, answer.data[:300]
        assert answer.get_json()["results"]["bindings"], query


def test_the_period_query_and_the_join_name_a_government_year(page: str) -> None:
    assert "http://reference.data.gov.uk/id/government-year/" in page


def test_the_table_join_uses_the_csv_s_own_columns(client: FlaskClient, page: str, settings: Settings) -> None:
    (href,) = [h for h in _hrefs(page, "/") if h.endswith(".csv")]
    with client.get(href) as answer:
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        header = next(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    for column in (linking.OBSERVATION_COLUMN, linking.PERIOD_COLUMN):
        assert column in header
        assert f"<code>{column}</code>" in page
    assert f'pd.read_csv("{settings.scheme.base}data/annual-review-2012-13.csv")' in html.unescape(page)
    assert f'on="{linking.PERIOD_COLUMN}"' in html.unescape(page)
    (formula,) = re.findall(r"=XLOOKUP\(A2, [^)]*\)", html.unescape(page))
    key, value = re.findall(r"!([A-Z]+):\1", formula)
    assert header[_index(key)] == linking.OBSERVATION_COLUMN
    assert header[_index(value)].startswith("value")


def _index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (7, "H"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ")])
def test_spreadsheet_column_letters(index: int, letters: str) -> None:
    assert linking._letter(index) == letters
    assert _index(letters) == index


def test_the_home_page_and_the_header_link_to_the_page(client: FlaskClient) -> None:
    home = client.get("/", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert 'id="link-your-data"' in home
    header = home[home.index('<nav aria-label="Main">') : home.index("</nav>")]
    assert 'href="/link"' in header


def test_the_page_is_conditional_like_the_others(client: FlaskClient) -> None:
    first = client.get("/link", headers={"Accept": BROWSER})
    etag = first.headers["ETag"]
    assert client.get("/link", headers={"Accept": BROWSER, "If-None-Match": etag}).status_code == 304
