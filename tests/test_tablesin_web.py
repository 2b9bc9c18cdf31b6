"""Tables in over HTTP (``web.releases``, ``POST /drafts``) with Flask's test client: a draft from a CSV body
and from a form's upload with its source document, the round trip (the release's own download makes a draft
that changes nothing; one figure changed with its quote changes that figure), and a refused table's problems
as JSON and as a page, with nothing made."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ceopgraph import tables, tablesin
from ceopgraph.config import Settings
from ceopgraph.web.services import of, table_guides

from .releasing import first_release_app, release_dump, releases_of
from .spreadsheets import workbook

ROOT = Path(__file__).resolve().parents[1]
TABLE = "annual-review-2012-13.csv"
SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
SINCE_LAUNCH_ROW = (
    "Children protected since launch · From CEOP's launch in 2006 to the end of government year 2012-2013"
)
OLD_QUOTE = "The total number of protected children in CEOP's seven year history is 2,255"
NEW_QUOTE = "The total number of protected children in CEOP's seven year history is 2,256"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with first_release_app(settings, built_dist, tmp_path_factory.mktemp("releases") / "data") as made:
        yield made


@pytest.fixture(scope="module")
def sam(app: Flask) -> dict[str, str]:
    _, secret = releases_of(app).tokens.create("submitter", "sam")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def download(app: Flask) -> bytes:
    """The current release's table, as a submitter downloads it."""
    return release_dump(app.test_client(), 1, TABLE)


def _edited(table: bytes, iri: str, **cells: str) -> bytes:
    """``table`` with the named cells of one observation's row changed (by header)."""
    rows = list(csv.reader(io.StringIO(table.decode("utf-8"), newline="")))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == iri:
            for name, value in cells.items():
                row[header.index(name)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _source_text() -> str:
    return (ROOT / "data" / "source" / "ceop-annual-review-2012-13-news.txt").read_text(encoding="utf-8")


def _figures(answer: Any) -> list[dict[str, Any]]:
    figures: list[dict[str, Any]] = answer.get_json()["figures"]
    return figures


def test_the_download_uploaded_unchanged_makes_a_draft_that_changes_nothing(
    app: Flask, sam: dict[str, str], download: bytes
) -> None:
    client = app.test_client()
    answer = client.post("/drafts", data=download, headers={**sam, "Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.data
    made = answer.get_json()
    assert made["conforms"] is True and made["made_from"] == 1
    diff = client.get(f"/drafts/{made['id']}/diff", headers=sam).get_json()
    assert diff["statements"] == {"added": 0, "removed": 0, "changed": 0}
    assert diff["figures"] == [] and diff["subjects"] == []


def test_one_figure_changed_with_its_quote_in_an_uploaded_source_changes_that_figure(
    app: Flask, sam: dict[str, str], download: bytes
) -> None:
    client = app.test_client()
    table = _edited(download, SINCE_LAUNCH, **{"value (integer)": "2256", "quote": NEW_QUOTE})
    source = _source_text().replace(OLD_QUOTE, NEW_QUOTE)
    form = {
        "file": (io.BytesIO(table), TABLE, "text/csv"),
        "source": (io.BytesIO(source.encode("utf-8")), "revised-news.txt", "text/plain"),
    }
    answer = client.post("/drafts", data=form, headers=sam, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.data
    made = answer.get_json()
    assert made["source"] == TABLE
    assert made["conforms"] is True, made["report"]
    diff = client.get(f"/drafts/{made['id']}/diff", headers=sam).get_json()
    (figure,) = _figures_of(diff)
    assert (figure["iri"], figure["before"], figure["after"]) == (SINCE_LAUNCH, "2255", "2256")
    in_the_table = f"row {SINCE_LAUNCH_ROW}: 2255 → 2256"  # the change as the table's editor reads it
    assert figure["row_change"] == in_the_table
    page = client.get(f"/drafts/{made['id']}", headers={**sam, "Accept": "text/html"}).get_data(as_text=True)
    assert re.search(r'<ul id="row-changes"><li>([^<]*)</li></ul>', page).group(1) == in_the_table.replace("'", "&#39;")  # type: ignore[union-attr]
    segment = (
        "https://w3id.org/ceopgraph/id/news-item/ceop-annual-review-2012-13/segment/children-protected-since-launch"
    )
    document = "https://w3id.org/ceopgraph/id/news-item/revised-news"
    changed = {
        s["iri"]: [(c["predicate"].rsplit("#", 1)[-1], c["after"]) for c in s["changes"]] for s in diff["subjects"]
    }
    assert set(changed) == {SINCE_LAUNCH, segment, segment + "/quote", document}  # the segment cites the new source
    assert changed[segment + "/quote"] == [("exact", NEW_QUOTE)]
    # The draft's preview has the table as the draft would publish it, built for the request; the public one
    # is still the release's file.
    previewed = client.get(f"/drafts/{made['id']}/view/data/{TABLE}", headers=sam)
    assert previewed.status_code == 200 and previewed.mimetype == "text/csv"
    assert previewed.data == table  # exactly the table uploaded: the round trip holds for the draft too
    with client.get(f"/data/{TABLE}") as public:
        assert public.data == download


def _figures_of(diff: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = diff["figures"]
    return found


def test_a_table_with_problems_makes_no_draft_and_lists_them(app: Flask, sam: dict[str, str], download: bytes) -> None:
    client = app.test_client()
    registry = releases_of(app).registry
    before = registry.rows("drafts")
    table = _edited(download, SINCE_LAUNCH, **{"value (integer)": "=SUM(A1:A2)", "quote": "words nowhere"})
    answer = client.post("/drafts", data=table, headers={**sam, "Content-Type": "text/csv"})
    assert answer.status_code == 400, answer.data
    problems = answer.get_json()["problems"]
    assert [(p["row"], p["column"], p["value"]) for p in problems] == [
        (2, "value (integer)", "=SUM(A1:A2)"),
        (2, "quote", "words nowhere"),  # one upload lists every problem of a row
    ]
    assert registry.rows("drafts") == before
    page = client.post("/drafts", data=table, headers={**sam, "Content-Type": "text/csv", "Accept": "text/html"})
    assert page.status_code == 400 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert 'id="row-2"' in text and "<mark>=SUM(A1:A2)</mark>" in text and "not a whole number" in text
    assert registry.rows("drafts") == before


NEW_TABLE = ROOT / "tests" / "tables" / "review-2013-14.csv"  # a dataset the release does not have
NEW_SOURCE = NEW_TABLE.with_name("review-2013-14-news.txt")


def test_a_table_of_a_new_dataset_needs_a_title_and_makes_it_from_its_source(app: Flask, sam: dict[str, str]) -> None:
    client = app.test_client()

    def form(**fields: str) -> dict[str, Any]:
        return {
            "file": (io.BytesIO(NEW_TABLE.read_bytes()), NEW_TABLE.name, "text/csv"),
            "source": (io.BytesIO(NEW_SOURCE.read_bytes()), NEW_SOURCE.name, "text/plain"),
            **fields,
        }

    refused = client.post("/drafts", data=form(), headers=sam, content_type="multipart/form-data")
    assert refused.status_code == 400
    (problem,) = refused.get_json()["problems"]
    assert (problem["row"], problem["column"]) == (2, "dataset IRI") and "title" in problem["message"]
    answer = client.post(
        "/drafts", data=form(title="Review 2013/14: figures"), headers=sam, content_type="multipart/form-data"
    )
    assert answer.status_code == 201, answer.data
    made = answer.get_json()
    diff = client.get(f"/drafts/{made['id']}/diff", headers=sam).get_json()
    added = {s["iri"] for s in diff["subjects"]}
    assert "https://w3id.org/ceopgraph/data/annual-review-2013-14" in added
    assert "https://w3id.org/ceopgraph/data/annual-review-2013-14/children-safeguarded/2012-2013" in added
    assert diff["statements"]["removed"] == 0 and diff["statements"]["changed"] == 0
    assert made["conforms"] is True, made["report"]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_a_workbook_uploaded_unchanged_changes_nothing_and_one_with_a_formula_makes_no_draft(
    app: Flask, sam: dict[str, str], download: bytes
) -> None:
    client = app.test_client()
    rows = list(csv.reader(io.StringIO(download.decode("utf-8"), newline="")))
    form = {"file": (io.BytesIO(workbook(rows)), "annual-review-2012-13.xlsx", XLSX)}
    answer = client.post("/drafts", data=form, headers=sam, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.data
    diff = client.get(f"/drafts/{answer.get_json()['id']}/diff", headers=sam).get_json()
    assert diff["statements"] == {"added": 0, "removed": 0, "changed": 0}
    rows[1][rows[0].index("value (integer)")] = "=!=2255+1"
    registry = releases_of(app).registry
    before = registry.rows("drafts")
    refused = client.post("/drafts", data=workbook(rows), headers={**sam, "Content-Type": XLSX})
    assert refused.status_code == 400, refused.data
    (problem,) = refused.get_json()["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (2, "value (integer)", "=2255+1")
    assert registry.rows("drafts") == before


def test_a_draft_is_replaced_by_a_table(app: Flask, sam: dict[str, str], download: bytes) -> None:
    client = app.test_client()
    made = client.post("/drafts", data=download, headers={**sam, "Content-Type": "text/csv"}).get_json()
    table = _edited(download, SINCE_LAUNCH, observation="Children protected since launch, to 2012-2013")
    answer = client.put(f"/drafts/{made['id']}", data=table, headers={**sam, "Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.data
    diff = client.get(f"/drafts/{made['id']}/diff", headers=sam).get_json()
    (subject,) = diff["subjects"]
    assert subject["iri"] == SINCE_LAUNCH
    assert [c["after"] for c in subject["changes"]] == ["Children protected since launch, to 2012-2013"]


def test_the_drafts_page_form_uploads_a_table_with_its_source_and_a_refusal_is_a_page(
    app: Flask, download: bytes
) -> None:
    """As a browser does: signed in, the drafts page's table form with its CSRF secret; a good table goes to its
    draft's page, a bad one answers the problems page, which marks the cell at fault."""
    client = app.test_client()
    _, secret = releases_of(app).tokens.create("submitter", "Form Tester")
    html = {"Accept": "text/html"}
    assert client.post("/sign-in", data={"token": secret}, headers=html).status_code == 303
    page = client.get("/drafts", headers=html).get_data(as_text=True)
    form = re.search(r'<form[^>]*id="table-form".*?</form>', page, re.S)
    assert form is not None and 'name="source"' in form.group(0) and 'name="title"' in form.group(0)
    found = re.search(r'name="csrf" value="([^"]+)"', form.group(0))
    assert found is not None
    csrf = found.group(1)

    def upload(table: bytes) -> Any:
        fields = {
            "csrf": csrf,
            "file": (io.BytesIO(table), TABLE, "text/csv"),
            "source": (io.BytesIO(_source_text().encode("utf-8")), "news.txt", "text/plain"),
            "title": "",
        }
        return client.post("/drafts", data=fields, headers=html, content_type="multipart/form-data")

    made = upload(download)
    assert made.status_code == 303 and re.search(r"/drafts/[0-9a-f]{32}$", made.headers["Location"])
    shown = client.get(made.headers["Location"], headers=html)
    assert shown.status_code == 200 and 'id="verdict"' in shown.get_data(as_text=True)
    refused = upload(_edited(download, SINCE_LAUNCH, **{"unit of measure IRI": ""}))
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    text = refused.get_data(as_text=True)
    assert 'id="row-2"' in text and "unit of measure is required" in text and 'class="problem"' in text


def test_a_figure_whose_quote_does_not_say_it_is_a_draft_the_shapes_find_wrong(
    app: Flask, sam: dict[str, str], download: bytes
) -> None:
    """The table becomes RDF and is validated as any draft: 2256 with the words still saying 2,255 is a draft
    with a violation of the value-in-words rule, not a refused table."""
    client = app.test_client()
    table = _edited(download, SINCE_LAUNCH, **{"value (integer)": "2256"})
    answer = client.post("/drafts", data=table, headers={**sam, "Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.data
    made = answer.get_json()
    assert made["conforms"] is False and made["violations"] == 1
    (result,) = made["report"]["results"]
    assert result["focusNode"] == SINCE_LAUNCH and "the words it cites do not contain that number" in result["message"]


@pytest.mark.parametrize(
    ("table", "status", "says"),
    [
        (b"quote\r\n" + b"x\r\n" * (tablesin.MAX_ROWS + 1), 413, "more than 10,000 rows"),
        (",".join(f"c{i}" for i in range(tablesin.MAX_COLUMNS + 1)).encode() + b"\r\n", 400, "65 columns"),
    ],
    ids=["too many rows", "too many columns"],
)
def test_a_table_past_its_bounds_is_refused_with_its_status(
    app: Flask, sam: dict[str, str], table: bytes, status: int, says: str
) -> None:
    answer = app.test_client().post("/drafts", data=table, headers={**sam, "Content-Type": "text/csv"})
    assert answer.status_code == status, answer.data
    body = answer.get_json()
    assert says in (body["error"] if status == 413 else body["problems"][0]["message"])


def _order(text: str, *marks: str) -> list[int]:
    found = [text.find(mark) for mark in marks]
    assert -1 not in found, [m for m, at in zip(marks, found, strict=True) if at == -1]
    return found


def test_the_guide_explains_the_table_way_first_with_the_live_csv_as_its_template(app: Flask) -> None:
    text = app.test_client().get("/validate").get_data(as_text=True)
    table_way, steps, rdf = _order(text, 'id="table-way"', 'id="table-steps"', 'id="submit"')
    assert table_way < steps < rdf
    assert f'href="/data/{TABLE}" type="text/csv" download' in text
    assert 'href="/drafts"' in text  # where to upload it
    assert "ceopgraph draft create figures.csv --source news.txt" in text
    # What each column means, one row per column of the download, in its order.
    header = next(csv.reader(io.StringIO(release_dump(app.test_client(), 1, TABLE).decode("utf-8"))))
    shown = re.findall(r'<th scope="row"><code>([^<]+)</code></th>', text)
    assert [c.replace("&#39;", "'") for c in shown] == header


def test_the_drafts_page_explains_the_table_way_before_its_forms_and_rdf_last(app: Flask, sam: dict[str, str]) -> None:
    answer = app.test_client().get("/drafts", headers={**sam, "Accept": "text/html"})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    steps, table_form, rdf_form = _order(text, 'id="table-steps"', 'id="table-form"', 'id="rdf-way"')
    assert steps < table_form < rdf_form
    assert f'href="/data/{TABLE}"' in text and 'href="#table-form-heading"' in text
    assert 'id="columns-1"' in text


def test_a_cube_too_large_to_build_a_table_of_is_left_out_of_the_guide(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guide is made in a request: a cube past the rows one request builds is left to its dumps."""
    store = of(app).store
    assert [g.file_name for g in table_guides(store)] == [TABLE]
    monkeypatch.setattr(tables, "MAX_BUILT_ROWS", 1)
    assert table_guides(store) == []
