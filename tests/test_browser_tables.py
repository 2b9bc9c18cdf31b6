"""The table way in a real browser, end to end: a submitter downloads the dataset's CSV from its page, adds
next year's figure with a quote from its news item, uploads both on the drafts page and reads the figure in
the draft's diff; a publisher publishes it; the home page and the CSV download then have the new figure."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import assert_accessible, post_form, screenshot, sign_in
from .releasing import release_server

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT / "tests" / "tables" / "next-year-news.txt"  # test text, not a published figure
DATASET_PAGE = "data/annual-review-2012-13"
TABLE = "annual-review-2012-13.csv"
NEW_FIGURE = "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-safeguarded/2013-2014"
NEW_ROW = {
    "observation": "Children safeguarded and protected, 2013-2014",
    "statistic IRI": "https://w3id.org/ceopgraph/def/statistic/children-safeguarded",
    "reference period IRI": "http://reference.data.gov.uk/id/government-year/2013-2014",
    "value (integer)": "801",
    "unit of measure IRI": "https://w3id.org/ceopgraph/def/unit/child",
    "figure status IRI": "https://w3id.org/ceopgraph/def/figure-status/reported",
    "precision IRI": "https://w3id.org/ceopgraph/def/precision/exact",
    "quote": "In 2013/2014 the Centre safeguarded and protected 801 children",
}
NOTE = "Children safeguarded and protected in 2013-2014 added"


def _download(page: Page, button: str, to: Path) -> list[dict[str, str]]:
    """Click the download button ``button`` (its id) and read the CSV it saves as rows by header."""
    with page.expect_download() as started:
        page.locator(f"#{button}").click()
    download = started.value
    assert download.suggested_filename == TABLE
    download.save_as(to)
    return list(csv.DictReader(io.StringIO(to.read_text(encoding="utf-8"), newline="")))


def _with_row(rows: list[dict[str, str]], header: list[str], row: dict[str, str]) -> bytes:
    """The table's rows and one more, as a spreadsheet saves it (cells not named left blank)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([*rows, {name: row.get(name, "") for name in header}])
    return out.getvalue().encode("utf-8")


@pytest.mark.browser
def test_next_years_figure_is_added_from_a_table_and_published(page: Page, built_dist: Path, tmp_path: Path) -> None:
    assert NEWS.read_text(encoding="utf-8").count(NEW_ROW["quote"]) == 1
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log") as server:
        url = server.url
        try:
            # 1. The submitter signs in.
            sign_in(page, url, server.submitter)
            expect(page.locator("#me")).to_have_text("Sam Submitter")

            # 2. The current figures, from the dataset page's download button.
            page.goto(url + DATASET_PAGE)
            rows = _download(page, "table-csv", tmp_path / "downloaded.csv")
            header = list(rows[0])
            assert "children-safeguarded/2012-2013" in " ".join(r["observation IRI"] for r in rows)
            assert not [r for r in rows if r["observation IRI"] == NEW_FIGURE]

            # 3. Next year's row, as a spreadsheet would add it: the new figure's IRI left blank.
            edited = tmp_path / TABLE
            edited.write_bytes(_with_row(rows, header, NEW_ROW))

            # 4. Uploaded with its news item on the drafts page.
            page.goto(url + "drafts")
            expect(page.locator("#table-steps")).to_contain_text("Download the current figures as CSV")
            page.locator("#columns-1 summary").click()  # what each column means, open for the sweep
            screenshot(page, "tables-drafts-page")
            assert_accessible(page, "drafts page with the table way")
            page.get_by_label("Table (.csv or .xlsx)").set_input_files(edited)
            page.get_by_label("Source document", exact=False).set_input_files(NEWS)
            post_form(page, "Upload table", url + "drafts")
            expect(page).to_have_url(re.compile(re.escape(url + "drafts/") + r"[^/?#]+$"))
            draft_url = page.url

            # 5. The diff says, in words, that the figure is added.
            expect(page.locator("#verdict")).to_have_text("The draft conforms to the shapes")
            changes = page.locator("#figure-changes")
            expect(changes.locator("li")).to_have_text(["Children safeguarded and protected, 2013-2014: new, 801"])
            screenshot(page, "tables-draft-diff")
            assert_accessible(page, "draft page of a table")

            # 6. A publisher publishes it.
            post_form(page, "Sign out", url + "sign-out")
            sign_in(page, url, server.publisher)
            page.goto(draft_url)
            page.get_by_label("Release note (required)", exact=False).fill(NOTE)
            page.get_by_label("I have reviewed the changes above", exact=False).check()
            post_form(page, "Publish as release 2", draft_url + "/publish")
            expect(page.locator("#current")).to_have_text("release 2")

            # 7. The home page shows the new figure, and the CSV download has its row.
            page.goto(url)
            card = page.locator(".card").filter(has_text="801")
            for _ in range(40):  # each worker follows the release within its poll (half a second)
                if card.count():
                    break
                page.wait_for_timeout(500)
                page.reload()
            expect(card).to_have_count(1)
            expect(card).to_contain_text("Children safeguarded and protected")
            screenshot(page, "tables-home-after")
            after = _download(page, "figures-csv", tmp_path / "after.csv")
            (added,) = [r for r in after if r["observation IRI"] == NEW_FIGURE]
            assert (added["value (integer)"], added["quote"]) == ("801", NEW_ROW["quote"])
            assert len(after) == len(rows) + 1
        finally:
            page.goto("about:blank")  # nothing left loading from the server when it stops
